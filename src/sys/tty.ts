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

// struct termios is 60 bytes on x86_64 and arm64 glibc: room to spare.
const TERMIOS_SIZE = 64;
const TCSANOW = 0;
const tcgetattr = libcFunction('int tcgetattr(int fd, _Out_ uint8_t *termios)');
const tcsetattr = libcFunction('int tcsetattr(int fd, int action, const uint8_t *termios)');
const cfmakeraw = libcFunction('void cfmakeraw(_Inout_ uint8_t *termios)');

/**
 * Put the terminal on fd fully raw, with cfmakeraw(3)'s settings (output
 * processing off too, unlike Node's setRawMode, which keeps ONLCR and so
 * turns the container pty's "\r\n" into "\r\r\n"). Returns a function that
 * puts the previous settings back.
 */
export function makeRaw(fd: number): () => void {
  const saved = Buffer.alloc(TERMIOS_SIZE);
  check(tcgetattr(fd, saved) as number, 'tcgetattr');
  const raw = Buffer.from(saved);
  cfmakeraw(raw);
  check(tcsetattr(fd, TCSANOW, raw) as number, 'tcsetattr');
  return () => { tcsetattr(fd, TCSANOW, saved); };
}
