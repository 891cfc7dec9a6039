// Passing file descriptors over unix sockets (SCM_RIGHTS): the exec.fifo to
// the init, and a pty master to an engine's console socket.
import { lastErrno, libc, libcFunction } from './libc.js';
import { SysError } from './errors.js';
import { writeAll } from './calls.js';

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const CMSG_HDR = 16; // struct cmsghdr: size_t len; int level; int type

const sendmsg = libcFunction('long sendmsg(int fd, const void *msg, int flags)');
const recvmsg = libcFunction('long recvmsg(int fd, void *msg, int flags)');
const socketFn = libcFunction('int socket(int domain, int type, int protocol)');
const bindFn = libcFunction('int bind(int fd, const void *addr, uint32_t len)');
const listenFn = libcFunction('int listen(int fd, int backlog)');
const accept4 = libcFunction('int accept4(int fd, void *addr, void *len, int flags)');

/** struct msghdr (56 bytes on 64-bit) over one iovec and a control buffer. */
function msghdr(iov: Buffer, control: Buffer | null): Buffer {
  const { koffi } = libc();
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(BigInt(koffi.address(iov)), 16); // msg_iov
  msg.writeBigUInt64LE(1n, 24); // msg_iovlen
  if (control) {
    msg.writeBigUInt64LE(BigInt(koffi.address(control)), 32); // msg_control
    msg.writeBigUInt64LE(BigInt(control.length), 40); // msg_controllen
  }
  return msg;
}

function iovec(data: Buffer): Buffer {
  const { koffi } = libc();
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(data.length ? BigInt(koffi.address(data)) : 0n, 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  return iov;
}

/** Send `data` (at least one byte) with `fds` attached. */
export function sendWithFds(sock: number, data: Buffer, fds: readonly number[]): void {
  const control = Buffer.alloc(CMSG_HDR + 8 * Math.ceil((4 * fds.length) / 8));
  control.writeBigUInt64LE(BigInt(CMSG_HDR + 4 * fds.length), 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  fds.forEach((fd, i) => control.writeInt32LE(fd, CMSG_HDR + 4 * i));
  const iov = iovec(data);
  const msg = msghdr(iov, control);
  for (;;) {
    const n = Number(sendmsg(sock, msg, 0));
    // A stream socket may take part of it (a signal while sendmsg waited for
    // room): the fds went with that part, the rest follows as plain bytes,
    // or the peer would wait for it while we wait for its answer.
    if (n >= 0) {
      if (n < data.length) writeAll(sock, data.subarray(n));
      return;
    }
    const errno = lastErrno();
    if (errno !== 4) throw new SysError('sendmsg', errno);
  }
}

/**
 * One recvmsg: the bytes read (empty at EOF) and any fds that came with them
 * (close-on-exec). With `now`, it does not wait: nothing there yet comes back
 * as `again`.
 */
export function recvWithFds(sock: number, max: number, now = false): { data: Buffer; fds: number[]; again?: true } {
  const data = Buffer.alloc(max);
  const control = Buffer.alloc(CMSG_HDR + 4 * 16);
  const iov = iovec(data);
  const msg = msghdr(iov, control);
  let n: number;
  for (;;) {
    n = Number(recvmsg(sock, msg, MSG_CMSG_CLOEXEC | (now ? MSG_DONTWAIT : 0)));
    if (n >= 0) break;
    const errno = lastErrno();
    if (now && errno === EAGAIN) return { data: Buffer.alloc(0), fds: [], again: true };
    if (errno !== 4) throw new SysError('recvmsg', errno);
  }
  const fds: number[] = [];
  const controlLen = Number(msg.readBigUInt64LE(40));
  let off = 0;
  while (off + CMSG_HDR <= controlLen) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < CMSG_HDR) break;
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + CMSG_HDR; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    }
    off += (len + 7) & ~7;
  }
  return { data: data.subarray(0, n), fds };
}


function sockaddrUn(path: string): Buffer {
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(1 /* AF_UNIX */, 0);
  addr.write(path, 2);
  return addr;
}

/** A listening unix stream socket at path (tests and tools play the engine's part with it). */
export function listenUnix(path: string): number {
  const fd = Number(socketFn(1, 1 | 0o2000000, 0));
  if (fd < 0) throw new SysError('socket', lastErrno(), path);
  if (Number(bindFn(fd, sockaddrUn(path), 2 + Buffer.byteLength(path) + 1)) < 0) throw new SysError('bind', lastErrno(), path);
  if (Number(listenFn(fd, 8)) < 0) throw new SysError('listen', lastErrno(), path);
  return fd;
}

/** Accept one connection (blocking), close-on-exec. */
export function acceptUnix(fd: number): number {
  const conn = Number(accept4(fd, null, null, 0o2000000));
  if (conn < 0) throw new SysError('accept4', lastErrno());
  return conn;
}
