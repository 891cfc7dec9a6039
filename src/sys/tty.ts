// Pseudo-terminals: the ioctl(2) shapes koffi needs spelled out (ioctl is variadic).
import { pollOne, readSome } from './calls.js';
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
  return makeRawKeepingInput(fd).restore;
}

// struct termios (Linux, x86_64 and arm64): c_lflag at byte 12, c_cc[] from byte 17.
const C_LFLAG = 12;
const C_CC = 17;
const ICANON = 0x2;
const VEOF = 4;
const POLLIN = 0x1;
const POLLHUP = 0x10;
/** Enough for any typeahead; bounds the loop should the terminal misbehave. */
const MAX_PENDING_READS = 64;

export interface RawTerminal {
  /** puts the previous settings back */
  restore: () => void;
  /** input typed before the switch, as raw mode would have delivered it */
  pending: Buffer;
}

/**
 * makeRaw for the terminal we read input from. Linux's line discipline
 * keeps an end-of-file typed in canonical mode (script(1) writes one as soon
 * as its own stdin ends) as a NUL byte in the input queue, and switching to
 * raw mode turns that marker into data: the reader gets a "\0" and the
 * container's pty echoes it as "^@". So the complete lines already queued
 * are read first, while the terminal is still canonical, an end-of-file
 * becoming the VEOF character (what raw mode passes on when it is typed
 * later); a partial line stays queued and reads the same in raw mode.
 */
export function makeRawKeepingInput(fd: number): RawTerminal {
  const saved = Buffer.alloc(TERMIOS_SIZE);
  check(tcgetattr(fd, saved) as number, 'tcgetattr');
  const pending = (saved.readUInt32LE(C_LFLAG) & ICANON) ? takeCanonicalLines(fd, saved[C_CC + VEOF] as number) : Buffer.alloc(0);
  const raw = Buffer.from(saved);
  cfmakeraw(raw);
  check(tcsetattr(fd, TCSANOW, raw) as number, 'tcsetattr');
  return { restore: () => { tcsetattr(fd, TCSANOW, saved); }, pending };
}

/** Every complete line (or end-of-file) queued on a canonical terminal, without blocking. */
function takeCanonicalLines(fd: number, eofChar: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < MAX_PENDING_READS; i++) {
    // A canonical terminal polls readable only with a whole line or an end-of-file queued.
    const ready = pollOne(fd, POLLIN, 0);
    if (!(ready & POLLIN) || (ready & POLLHUP)) break;
    let line: Buffer;
    try { line = readSome(fd, 4096); } catch { break; /* EAGAIN, EIO: nothing more to take */ }
    parts.push(line.length ? line : Buffer.from([eofChar]));
  }
  return Buffer.concat(parts);
}
