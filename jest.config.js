/** Tests run TypeScript through ts-jest; type errors are caught by `npm run typecheck`, which `npm test` runs first. */
module.exports = {
  testEnvironment: 'node',
  // nock keeps an interceptor on the global scope across test files; jest's soft clean-up of it only
  // produces a deprecation warning per file, so the clean-up is off.
  testEnvironmentOptions: { globalsCleanup: 'off' },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  testTimeout: 30000,
};
