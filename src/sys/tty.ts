// Pseudo-terminals: the ioctl(2) shapes koffi needs spelled out (ioctl is variadic).
import { check, libc } from './libc.js';

// asm-generic values, shared by x86_64 and arm64.
const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCSCTTY = 0x540e;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;

type Fn = (...args: unknown[]) => number;
let fns: { ioctlPtr: Fn; ioctlInt: Fn; dup2: Fn } | undefined;

function bind(): NonNullable<typeof fns> {
  if (!fns) {
    const lib = libc().koffi.load('libc.so.6');
    fns = {
      ioctlPtr: lib.func('ioctl', 'int', ['int', 'ulong', '...']) as unknown as Fn,
      ioctlInt: lib.func('ioctl', 'int', ['int', 'ulong', '...']) as unknown as Fn,
      dup2: lib.func('int dup2(int oldfd, int newfd)') as unknown as Fn,
    };
  }
  return fns;
}

/** The pty number of a master, after unlocking its slave. */
export function unlockPty(master: number): number {
  const f = bind();
  const zero = Buffer.alloc(4);
  check(f.ioctlPtr(master, TIOCSPTLCK, 'void *', zero), 'ioctl TIOCSPTLCK');
  const n = Buffer.alloc(4);
  check(f.ioctlPtr(master, TIOCGPTN, 'void *', n), 'ioctl TIOCGPTN');
  return n.readUInt32LE(0);
}

export interface WinSize { rows: number; cols: number }

export function setWinSize(fd: number, size: WinSize): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(size.rows, 0);
  ws.writeUInt16LE(size.cols, 2);
  check(bind().ioctlPtr(fd, TIOCSWINSZ, 'void *', ws), 'ioctl TIOCSWINSZ');
}

export function getWinSize(fd: number): WinSize | null {
  const ws = Buffer.alloc(8);
  if (Number(bind().ioctlPtr(fd, TIOCGWINSZ, 'void *', ws)) < 0) return null;
  return { rows: ws.readUInt16LE(0), cols: ws.readUInt16LE(2) };
}

/** Make the terminal open on fd the controlling terminal of this session. */
export function setControllingTerminal(fd: number): void {
  check(bind().ioctlInt(fd, TIOCSCTTY, 'int', 0), 'ioctl TIOCSCTTY');
}

export function dup2(oldfd: number, newfd: number): void {
  check(bind().dup2(oldfd, newfd), 'dup2');
}
