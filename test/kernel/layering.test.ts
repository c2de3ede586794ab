import fs from 'node:fs';
import path from 'node:path';

/*
 * Imports run downhill: the kernel (bot, core, domain, lib, db, http) never imports a feature module
 * or a platform, and no feature module imports a platform's wire format. A newcomer who adds such an
 * import gets told here, with the file and the line.
 */

const SRC = path.join(__dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every `from '…'` of a file that resolves under src/<top>/, as "file:line → target". */
function importsInto(files: string[], tops: string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    fs.readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
      const match = /from\s+['"](\.{1,2}\/[^'"]+)['"]/.exec(line);
      if (!match) return;
      const target = path.relative(SRC, path.resolve(path.dirname(file), match[1]));
      if (tops.some((top) => target === top || target.startsWith(`${top}${path.sep}`))) {
        found.push(`${path.relative(SRC, file)}:${index + 1} → ${target}`);
      }
    });
  }
  return found;
}

describe('layering', () => {
  it('the kernel imports no feature module and no platform', () => {
    const kernel = ['bot', 'core', 'domain', 'lib', 'db', 'http'].flatMap((dir) => sourceFiles(path.join(SRC, dir)));
    expect(importsInto(kernel, ['modules', 'platforms'])).toEqual([]);
  });

  it('feature modules do not import a platform', () => {
    expect(importsInto(sourceFiles(path.join(SRC, 'modules')), ['platforms'])).toEqual([]);
  });
});
