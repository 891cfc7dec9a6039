// --status-fd of a lazy dump: the caller's fd that gets one zero byte once
// CRIU's page server waits for the restoring side (runc's protocol).
import { F_GETFL, O_RDWR, O_WRONLY } from '../sys/constants.js';
import { close, fcntl, writeAll } from '../sys/calls.js';

/** The fd must be open, for writing (runc checks the same before the dump). */
export function checkStatusFd(fd: number): void {
  let flags: number;
  try { flags = fcntl(fd, F_GETFL, 0); } catch (err) {
    throw new Error(`invalid --status-fd argument ${fd}: ${(err as Error).message}`, { cause: err });
  }
  if ((flags & (O_WRONLY | O_RDWR)) === 0) throw new Error(`invalid --status-fd argument ${fd}: not writable`);
}

/** Say "ready": one zero byte, then the fd is closed (the reader sees end of file next). */
export function sendStatusReady(fd: number): void {
  try { writeAll(fd, Buffer.alloc(1)); } finally { close(fd); }
}
