// The fds the runtime opens on the host side for a container's process and
// hands to it: the engine's console socket (the pty master goes back over
// it) and the seccomp notify listener. Both are connected here, as the
// runtime (a user-namespace init may not be allowed to connect), and placed
// above the fds --preserve-fds passes on.
import { F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, FD_CLOEXEC } from '../sys/constants.js';
import { close, connectUnix, fcntl } from '../sys/calls.js';

/** LISTEN_FDS, when LISTEN_PID says it is meant for us (sd_listen_fds' rule), else 0: fds 3.. handed on first. */
export function socketActivationFds(): number {
  const n = Number(process.env.LISTEN_FDS);
  if (!Number.isInteger(n) || n <= 0 || Number(process.env.LISTEN_PID) !== process.pid) return 0;
  return n;
}

/** Connect to the engine's --console-socket; the error names the flag. */
export function connectConsoleSocket(path: string): number {
  try {
    return connectUnix(path);
  } catch (err) {
    throw new Error(`--console-socket ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Connect to linux.seccomp.listenerPath; the error names the field. */
export function connectSeccompListener(path: string): number {
  try {
    return connectUnix(path);
  } catch (err) {
    throw new Error(`linux.seccomp.listenerPath: connect ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Move `fd` to the lowest free number at or above `min` (close-on-exec); the old number is closed. */
export function moveFdAbove(fd: number, min: number): number {
  try {
    return fcntl(fd, F_DUPFD_CLOEXEC, min);
  } finally {
    close(fd);
  }
}

/** Close an fd of ours. */
export function closeFd(fd: number): void {
  close(fd);
}

/** Close an fd that may be closed already (a stream that hit EIO closes its own). */
export function closeQuietly(fd: number): void {
  try { close(fd); } catch { /* closed */ }
}

/**
 * Let fd cross an execve of this process. Node marks the fds it inherits
 * close-on-exec at start-up: 0–2, and (measured in /proc/self/fdinfo) every
 * inherited fd from 3 up to a little past its own first fds (3, 4 and 9
 * were marked, 30 was not), so the fds ocirun passes on, from 3 up, would
 * be lost when ocirun re-executes itself. One that is not open is left so:
 * the command then reports it as it would have.
 */
export function keepAcrossExec(fd: number): void {
  let flags: number;
  try { flags = fcntl(fd, F_GETFD, 0); } catch { return; }
  if (flags & FD_CLOEXEC) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
}
