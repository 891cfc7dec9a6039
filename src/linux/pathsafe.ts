// Resolving paths inside a container root without letting symlinks or ".."
// escape it: every lookup goes through openat2(RESOLVE_IN_ROOT) from an fd on
// the root, and missing components are created relative to a verified parent.
import { statSync } from 'node:fs';
import { O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_PATH, O_WRONLY, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS } from '../sys/constants.js';
import { close, mkdirat, openat, openat2 } from '../sys/calls.js';
import { SysError } from '../sys/errors.js';

export type Create = 'dir' | 'file' | 'none';

/** Split "/a/b/../c" into clean components; ".." is left for the kernel to clamp at the root. */
export function pathComponents(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

function openInRoot(rootFd: number, rel: string): number {
  return openat2(rootFd, rel === '' ? '.' : rel, O_PATH | O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/**
 * An O_PATH fd on `path` inside the root held by rootFd, creating missing
 * directories (and, with create 'file', the last component as an empty file).
 * The caller closes it; `/proc/self/fd/<fd>` then names exactly that inode.
 */
export function resolveInRoot(rootFd: number, path: string, create: Create, mode = 0o755): number {
  const parts = pathComponents(path);
  let fd = openInRoot(rootFd, '');
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i] as string;
    const sofar = parts.slice(0, i + 1).join('/');
    let next: number;
    try {
      next = openInRoot(rootFd, sofar);
    } catch (err) {
      if (!(err instanceof SysError) || err.code !== 'ENOENT' || create === 'none') {
        close(fd);
        throw err;
      }
      const last = i === parts.length - 1;
      try {
        if (last && create === 'file') {
          // O_CREAT|O_EXCL never follows a symlink planted in the meantime.
          close(openat(fd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644));
        } else {
          mkdirat(fd, name, mode);
        }
      } catch (mkErr) {
        if (!(mkErr instanceof SysError) || mkErr.code !== 'EEXIST') {
          close(fd);
          throw mkErr;
        }
      }
      next = openInRoot(rootFd, sofar);
    }
    close(fd);
    fd = next;
  }
  return fd;
}

/** The magic link that names an fd's inode, usable as a mount target or source. */
export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** Whether a host path is a directory (for choosing what to create as a bind target). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

export { O_DIRECTORY };
