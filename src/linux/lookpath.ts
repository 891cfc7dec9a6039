// Finding the program to exec the way execvp(3) would, inside the container.
import { accessSync, constants, statSync } from 'node:fs';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The container env's PATH, or the default execvp uses. */
export function pathFromEnv(env: readonly string[]): string {
  const entry = env.findLast((e) => e.startsWith('PATH='));
  return entry === undefined ? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' : entry.slice(5);
}

/** Resolve args[0] against PATH (names with a slash are taken as they are, relative to cwd). */
export function lookPath(name: string, env: readonly string[], cwd: string): string {
  if (name.includes('/')) {
    const full = name.startsWith('/') ? name : `${cwd.replace(/\/$/, '')}/${name}`;
    try {
      statSync(full);
    } catch {
      throw new Error(`exec: "${name}": stat ${name}: no such file or directory`);
    }
    if (!isExecutableFile(full)) throw new Error(`exec: "${name}": permission denied`);
    return full;
  }
  for (const dir of pathFromEnv(env).split(':')) {
    const candidate = `${dir === '' ? '.' : dir}/${name}`;
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new Error(`exec: "${name}": executable file not found in $PATH`);
}
