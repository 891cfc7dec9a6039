// flock(2) locks on directories and files, and the no-replace rename: what
// the state store and the runtime root's registries build their crash
// safety on. A lock is an fd; closing it (or the death of our process)
// releases it.
import { LOCK_EX, LOCK_NB, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../sys/constants.js';
import { close, flock, open, renameNoReplace } from '../sys/calls.js';
import { SysError } from '../sys/errors.js';

/** Open a directory (O_RDONLY, close-on-exec) to lock it; throws when it cannot be opened. */
export function openDir(path: string): number {
  return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/** Take the exclusive lock on an open fd, waiting for it. */
export function lockExclusive(fd: number, path: string): void {
  flock(fd, LOCK_EX, path);
}

/** Lock a directory without waiting: the fd holding the lock, or -1 when someone else holds it (or the path is gone). */
export function tryLockDir(path: string): number {
  let fd: number;
  try {
    fd = openDir(path);
  } catch {
    return -1;
  }
  try {
    flock(fd, LOCK_EX | LOCK_NB, path);
    return fd;
  } catch {
    close(fd);
    return -1;
  }
}

/** Release a lock taken with one of the above (close its fd). */
export function unlock(fd: number): void {
  close(fd);
}

/**
 * rename(2) that never replaces what `to` names (not even an empty
 * directory): false when `to` exists, other failures thrown.
 */
export function renameIfAbsent(from: string, to: string): boolean {
  try {
    renameNoReplace(from, to);
    return true;
  } catch (err) {
    if (err instanceof SysError && (err.code === 'EEXIST' || err.code === 'ENOTEMPTY')) return false;
    throw err;
  }
}
