// Typed wrappers over libc: each returns plainly or throws SysError naming
// the call, the errno and the path. Raw numbers stay inside sys/.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { AT_FDCWD, SYS, SOCK_CLOEXEC, AF_UNIX, SOCK_STREAM } from './constants.js';
import { SysError } from './errors.js';
import { check, lastErrno, libc, libcFunction } from './libc.js';

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  check(libc().mount(source, target, fstype, flags, data), 'mount', target);
}

export function umount(target: string, flags: number): void {
  check(libc().umount2(target, flags), 'umount2', target);
}

export function unshare(flags: number): void {
  check(libc().unshare(flags), 'unshare');
}

export function setns(fd: number, nstype: number, path?: string): void {
  check(libc().setns(fd, nstype), 'setns', path);
}

export function sethostname(name: string): void {
  check(libc().sethostname(name, Buffer.byteLength(name)), 'sethostname', name);
}

export function setdomainname(name: string): void {
  check(libc().setdomainname(name, Buffer.byteLength(name)), 'setdomainname', name);
}

/** The kernel's dev_t encoding of a major/minor pair. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function mknod(path: string, mode: number, dev: bigint): void {
  check(libc().mknod(path, mode, dev), 'mknod', path);
}

export function mkfifo(path: string, mode: number): void {
  check(libc().mkfifo(path, mode), 'mkfifo', path);
}

export function chroot(path: string): void {
  check(libc().chroot(path), 'chroot', path);
}

/** A connected pair of close-on-exec unix stream sockets. */
export function socketpair(): [number, number] {
  const fds = [0, 0];
  check(libc().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 'socketpair');
  return [fds[0] as number, fds[1] as number];
}

export function fcntl(fd: number, cmd: number, arg: number): number {
  return check(libc().fcntl(fd, cmd, arg), 'fcntl');
}

/**
 * open(2), close(2), read(2) and write(2) go through Node's fs, the same
 * system calls: through koffi each would be declared on its first call,
 * which cost the commands that take a container's lock (start, kill,
 * delete) 0.1-0.3 ms apiece. libuv always adds O_CLOEXEC to open, which
 * every caller asks for anyway. Node's error, as koffi's call would have
 * thrown it.
 */
function asSysError(err: unknown, syscall: string, path?: string): unknown {
  const errno = (err as NodeJS.ErrnoException).errno;
  return typeof errno === 'number' && errno < 0 ? new SysError(syscall, -errno, path) : err;
}

/** Node's error for an interrupted call (libuv retries EINTR for neither read nor write here). */
const interrupted = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'EINTR';

/** One read(2): at most `max` bytes; an empty buffer means end of file. */
export function readSome(fd: number, max: number): Buffer {
  const buf = Buffer.alloc(max);
  for (;;) {
    try {
      // No position: libuv calls read(2) itself.
      return buf.subarray(0, readSync(fd, buf, 0, max, null));
    } catch (err) {
      if (!interrupted(err)) throw asSysError(err, 'read');
    }
  }
}

export function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (err) {
      if (!interrupted(err)) throw asSysError(err, 'write');
    }
  }
}

export function close(fd: number): void {
  try { closeSync(fd); } catch (err) { throw asSysError(err, 'close'); }
}

export function open(path: string, flags: number, mode = 0): number {
  try { return openSync(path, flags, mode); } catch (err) { throw asSysError(err, 'open', path); }
}

export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  return check(libc().openat(dirfd, path, flags, mode), 'openat', path);
}

export function mkdirat(dirfd: number, path: string, mode: number): void {
  check(libc().mkdirat(dirfd, path, mode), 'mkdirat', path);
}

export function symlinkat(target: string, dirfd: number, path: string): void {
  check(libc().symlinkat(target, dirfd, path), 'symlinkat', path);
}

export function fchown(fd: number, uid: number, gid: number, path?: string): void {
  check(libc().fchown(fd, uid, gid), 'fchown', path);
}

export function fchmod(fd: number, mode: number, path?: string): void {
  check(libc().fchmod(fd, mode), 'fchmod', path);
}

export function flock(fd: number, op: number, path?: string): void {
  check(libc().flock(fd, op), 'flock', path);
}

/** waitpid(2); returns the pid (0 with WNOHANG and nothing ready) and the raw status. */
export function waitpid(pid: number, options: number): { pid: number; status: number } {
  const status = [0];
  for (;;) {
    const r = Number(libc().waitpid(pid, status, options));
    if (r >= 0) return { pid: r, status: status[0] as number };
    const errno = lastErrno();
    if (errno !== 4) throw new SysError('waitpid', errno, String(pid));
  }
}

export function prctl(option: number, arg2: number, name: string): void {
  check(libc().prctl(option, arg2, 0, 0, 0), `prctl ${name}`);
}

export function pidfdOpen(pid: number): number {
  return check(libc().syscall3(SYS.pidfd_open, pid, 0, 0), 'pidfd_open', String(pid));
}

export function pidfdSendSignal(pidfd: number, signal: number): void {
  check(libc().syscallSignal(SYS.pidfd_send_signal, pidfd, signal, null, 0), 'pidfd_send_signal');
}

/** poll(2) on one fd; true when `events` are ready within `timeoutMs` (-1 waits forever). */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  const pfd = { fd, events, revents: 0 };
  for (;;) {
    const r = Number(libc().poll(pfd, 1, timeoutMs));
    if (r >= 0) return r === 0 ? 0 : pfd.revents;
    const errno = lastErrno();
    if (errno !== 4) throw new SysError('poll', errno);
  }
}

export interface Rlimit { soft: bigint; hard: bigint }

export function setrlimit(resource: number, limit: Rlimit, name: string): void {
  check(libc().setrlimit(resource, { cur: limit.soft, max: limit.hard }), 'setrlimit', name);
}

export { AT_FDCWD };

export function kill(pid: number, signal: number): void {
  check(libc().kill(pid, signal), 'kill', String(pid));
}

/** The kernel's sigset_t: 1024 bits, signal n at bit n - 1. */
const SIGSET_BYTES = 128;
const SIG_UNBLOCK = 1;

/** Let the calling thread receive `signal` again (a pending one is delivered now). */
export function unblockSignal(signal: number): void {
  const set = Buffer.alloc(SIGSET_BYTES);
  set[(signal - 1) >> 3] = 1 << ((signal - 1) & 7);
  check(libc().sigprocmask(SIG_UNBLOCK, set, null), 'sigprocmask');
}

export function fchdir(fd: number, path?: string): void {
  check(libc().fchdir(fd), 'fchdir', path);
}

/** A close-on-exec unix stream socket connected to `path`. */
export function connectUnix(path: string): number {
  const addr = Buffer.alloc(110);
  if (Buffer.byteLength(path) > 107) throw new SysError('connect', 36 /* ENAMETOOLONG */, path);
  addr.writeUInt16LE(AF_UNIX, 0);
  addr.write(path, 2);
  const fd = check(libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 'socket');
  if (Number(libc().connect(fd, addr, addr.length)) < 0) {
    const errno = lastErrno();
    try { closeSync(fd); } catch {}
    throw new SysError('connect', errno, path);
  }
  return fd;
}


/** sched_setaffinity(2) of pid (0: the calling thread); mask is a cpu_set_t. */
export function schedSetaffinity(mask: Buffer, pid = 0): void {
  check(libc().schedSetaffinity(pid, mask.length, mask), 'sched_setaffinity');
}

/** personality(2): the execution domain and flags. */
export function personality(persona: number): void {
  check(libc().personality(persona), 'personality');
}

/** prlimit(2) on another process: set its limit. */
export function setrlimitOf(pid: number, resource: number, limit: Rlimit, name: string): void {
  check(libc().prlimit(pid, resource, { cur: limit.soft, max: limit.hard }, null), 'prlimit', `${name} of ${pid}`);
}

const renameat2 = libcFunction('renameat2', 'int', ['int', 'const char *', 'int', 'const char *', 'unsigned int']);
const RENAME_NOREPLACE = 1;

const RENAME_EXCHANGE = 2;

/** Swap what `a` and `b` name, atomically (both must exist). */
export function renameExchange(a: string, b: string): void {
  check(renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) as number, 'renameat2', b);
}

/** rename(2) that fails with EEXIST instead of replacing what `to` names (an empty directory, say). */
export function renameNoReplace(from: string, to: string): void {
  check(renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) as number, 'renameat2', to);
}
