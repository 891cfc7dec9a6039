// Where ocirun is installed: the directory holding package.json, native/ and
// dist/. Found from this module's own location, which may be dist/,
// dist/chunks/ (bundled) or src/install/ (tests run from source).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let top: string | undefined;

/** This module's file: the bundle's __filename in dist/ (no URL to make and parse back), else import.meta.url's. */
function thisFile(): string {
  return typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
}

export function installDir(): string {
  if (top) return top;
  let dir = dirname(thisFile());
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return (top = dir);
    dir = dirname(dir);
  }
  throw new Error(`cannot find the ocirun installation above ${thisFile()}`);
}

/**
 * native/libocirun.so when built here (a checkout, the archive), else the
 * one prebuilt for this architecture that the npm package ships
 * (scripts/pack.mjs). The caller reports a missing library.
 */
export function nativeLibraryPath(): string {
  const built = join(installDir(), 'native', 'libocirun.so');
  if (existsSync(built)) return built;
  return join(installDir(), 'native', 'prebuilt', `linux-${process.arch}`, 'libocirun.so');
}
