// Paths and a container root, in the runtime. Resolving a path inside a
// root without letting symlinks or ".." escape it is native (sys/native.ts
// openInRoot, native/resolve.c), the same code the init resolves its mount
// targets with.
import { statSync } from 'node:fs';

/** The magic link that names an fd's inode, usable as a mount target or source. */
export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** Whether a host path is a directory, following symlinks (what a bind mount of it is). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}
