// Lets `node -r ./bench/register-ts.js bench/<name>.ts` run a benchmark straight from TypeScript:
// transpile only (npm run typecheck does the type checking), so the files keep their real paths and
// bench/record.ts finds BENCHMARKS.md next to it.
const fs = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  resolveJsonModule: true,
  inlineSourceMap: true,
};

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { fileName: filename, compilerOptions });
  module._compile(outputText, filename);
};
