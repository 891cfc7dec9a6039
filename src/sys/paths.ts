// Where ocirun is installed: the directory holding package.json, native/ and
// dist/. Found from this module's own location, which may be dist/,
// dist/chunks/ (bundled) or src/sys/ (tests run from source).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let top: string | undefined;

export function installDir(): string {
  if (top) return top;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return (top = dir);
    dir = dirname(dir);
  }
  throw new Error(`cannot find the ocirun installation above ${fileURLToPath(import.meta.url)}`);
}

export function nativeLibraryPath(): string {
  return join(installDir(), 'native', 'libocirun.so');
}
