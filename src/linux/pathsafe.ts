// Resolving paths inside a container root, in the runtime (home.ts reads a
// passwd file this way), without letting symlinks or ".." escape it,
// creating what is missing on the way (as runc's securejoin + MkdirAll do).
// The init's own resolution is native (native/resolve.c). The walk goes
// one component at a time from an fd on the root: each step is opened O_NOFOLLOW relative to its parent's fd, a
// symlink is expanded by us (absolute targets restart at the root, ".."
// stops at the root), and missing parts are created relative to their
// verified parent. A symlink planted later cannot redirect a step.
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { ELOOP, ENOENT, O_CLOEXEC, O_CREAT, O_EXCL, O_NOFOLLOW, O_PATH, O_WRONLY } from '../sys/constants.js';
import { close, mkdirat, openat } from '../sys/calls.js';
import { SysError } from '../sys/errors.js';

export type Create = 'dir' | 'file' | 'none';

const MAX_SYMLINKS = 40;

/** Split "/a/b/../c" into components, keeping ".." for the walk to clamp at the root. */
export function pathComponents(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** The magic link that names an fd's inode, usable as a mount target or source. */
export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

function dupPath(fd: number): number {
  return openat(fd, '.', O_PATH | O_CLOEXEC);
}

/**
 * An O_PATH fd on `path` inside the root held by rootFd. With create 'dir'
 * missing directories are made; with 'file' the last component is made an
 * empty file. The caller closes the fd; `/proc/self/fd/<fd>` then names
 * exactly that inode.
 */
export function resolveInRoot(rootFd: number, path: string, create: Create, mode = 0o755): number {
  const stack: number[] = [dupPath(rootFd)]; // fds of the directories walked so far
  const closeAll = (): void => { for (const fd of stack) close(fd); };
  let remaining = pathComponents(path);
  let links = 0;
  try {
    while (remaining.length) {
      const name = remaining.shift() as string;
      const parent = stack[stack.length - 1] as number;
      if (name === '..') {
        if (stack.length > 1) close(stack.pop() as number);
        continue;
      }
      const at = `${fdPath(parent)}/${name}`;
      const st = lstatSync(at, { throwIfNoEntry: false });
      if (st?.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw new SysError('resolve', ELOOP, path);
        const target = readlinkSync(at);
        if (target.startsWith('/')) {
          while (stack.length > 1) close(stack.pop() as number);
        }
        remaining = [...pathComponents(target), ...remaining];
        continue;
      }
      if (!st) {
        if (create === 'none') throw new SysError('resolve', ENOENT, path);
        try {
          if (remaining.length === 0 && create === 'file') {
            // O_CREAT|O_EXCL never follows a symlink planted in the meantime.
            close(openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644));
          } else {
            mkdirat(parent, name, mode);
          }
        } catch (err) {
          if (!(err instanceof SysError) || err.code !== 'EEXIST') throw err;
          remaining.unshift(name); // someone made it meanwhile: look again
          continue;
        }
      }
      stack.push(openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    }
    const result = stack.pop() as number;
    closeAll();
    stack.length = 0;
    return result;
  } catch (err) {
    closeAll();
    throw err;
  }
}

/** Whether a host path is a directory, following symlinks (what a bind mount of it is). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}
