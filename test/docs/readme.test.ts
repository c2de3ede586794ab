import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The README must stand on its own: every file it points at is in the repository (issue 10, item 15). */
describe('README.md', () => {
  it('points at no file outside the repository', () => {
    expect(README).not.toMatch(/\.\.\//);
  });

  it('names only files and folders that exist in the repository', () => {
    const linked = [...README.matchAll(/\]\(([^)#\s]+)\)/g)].map((m) => m[1]).filter((target) => !/^[a-z]+:/.test(target));
    const quoted = [...README.matchAll(/`((?:src|test|examples|bot-cards|migrations|bench|docs)\/[\w./-]*)`/g)].map((m) => m[1]);
    const missing = [...linked, ...quoted].filter((file) => !fs.existsSync(path.join(ROOT, file)));
    expect(missing).toEqual([]);
  });

  it('says how long the install may take and how to chat with a server on another port', () => {
    expect(README).toContain('takes several minutes');
    expect(README).toMatch(/xinsheng chat --as \w+ --url http:\/\/127\.0\.0\.1:\d+/);
  });
});
