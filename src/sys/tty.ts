// Pseudo-terminals: the ioctl(2) shapes koffi needs spelled out (ioctl is variadic).
import { check, libcFunction } from './libc.js';

// asm-generic values, shared by x86_64 and arm64.
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;

// ioctl(2) is variadic: koffi takes the type of the third argument at each call.
const ioctl = libcFunction('ioctl', 'int', ['int', 'ulong', '...']);

export interface WinSize { rows: number; cols: number }

export function setWinSize(fd: number, size: WinSize): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(size.rows, 0);
  ws.writeUInt16LE(size.cols, 2);
  check(ioctl(fd, TIOCSWINSZ, 'void *', ws), 'ioctl TIOCSWINSZ');
}

export function getWinSize(fd: number): WinSize | null {
  const ws = Buffer.alloc(8);
  if (Number(ioctl(fd, TIOCGWINSZ, 'void *', ws)) < 0) return null;
  return { rows: ws.readUInt16LE(0), cols: ws.readUInt16LE(2) };
}

