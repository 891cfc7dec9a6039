// Compiled seccomp filters, kept for the next container with the same rules.
// libseccomp takes 15-25 ms of every create to compile an engine's default
// profile (~380 rules for three architectures: adding the rules, then
// generating the program); the engines send that same profile for nearly
// every container. The program depends only on the rules, on the libseccomp
// that compiled it and on the kernel it probed, so an entry is keyed by all
// of them, written out in full: the rules as numbers, the library's version,
// device, inode and path, and the boot's id (/proc/sys/kernel/random/boot_id,
// new at every boot, so a new kernel compiles afresh).
//
// The cache is a directory of ours beside the code caches (install/cachedir.ts),
// never the state root, which holds containers only. A filter is the
// container's sandbox, so an entry is used only when it is a regular file of
// our own that no one else may write, and when the key stored in it equals
// this key byte for byte (the file name, a hash of the key, only says where
// to look). Anything else is compiled afresh.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { cacheDir } from '../install/cachedir.js';
import { trace } from '../trace.js';
import type { CompileRequest } from '../sys/libseccomp.js';

/** How many filters the directory keeps; a write beyond it removes the oldest. */
export const MAX_CACHED_FILTERS = 32;
/** Larger than any filter and key a config can make (the kernel takes at most 4096 instructions, 32 KiB). */
const MAX_ENTRY_BYTES = 4 << 20;
const FORMAT = 'ocirun seccomp filter 1';

/** Everything the compiled program depends on, one fact a line. */
export function filterKey(req: CompileRequest, library: string, bootId: string): string {
  const lines = [FORMAT, `libseccomp ${library}`, `boot ${bootId}`, `default ${req.defaultAction}`, `arches ${req.arches.join(' ')}`];
  for (const r of req.rules) {
    let line = `${r.syscall} ${r.action}`;
    for (const a of r.args) line += ` ${a.index}:${a.op}:${a.a}:${a.b}`;
    lines.push(line);
  }
  return lines.join('\n');
}

/** The entry's file name: FNV-1a of the key, and its length. */
export function entryName(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return `${h.toString(16).padStart(8, '0')}-${key.length}`;
}

/** dir when it is a directory of ours that no one else may write (made if missing); else null. */
function ownDir(dir: string): string | null {
  try { mkdirSync(dir, { mode: 0o700 }); } catch { /* there already, or cannot be: checked below */ }
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o022) === 0 ? dir : null;
  } catch {
    return null;
  }
}

/** The program stored under `key` at path, or null when the file is missing, not trusted, or holds another key. */
export function readEntry(path: string, key: string): Buffer | null {
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW); } catch { return null; }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0 || st.size > MAX_ENTRY_BYTES) return null;
    const raw = readFileSync(fd);
    // The key (ASCII), a NUL, then the program: struct sock_filter, 8 bytes an instruction.
    const head = Buffer.from(`${key}\0`, 'latin1');
    const program = raw.subarray(head.length);
    if (raw.length <= head.length || !raw.subarray(0, head.length).equals(head) || program.length % 8 !== 0) return null;
    return program;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Store the program under `key`, whole or not at all (a temporary file renamed); failures are only traced. */
export function writeEntry(dir: string, name: string, key: string, program: Buffer): void {
  const tmp = `${dir}/${name}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeFileSync(fd, Buffer.concat([Buffer.from(`${key}\0`, 'latin1'), program]));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, `${dir}/${name}`);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* never made */ }
    trace(`seccomp: the compiled filter was not cached: ${(err as Error).message}`);
    return;
  }
  evictOldest(dir);
}

/** Down to MAX_CACHED_FILTERS files, the least recently written removed first (temporary files a crash left count too). */
function evictOldest(dir: string): void {
  let names: string[];
  try { names = readdirSync(dir); } catch { return; }
  if (names.length <= MAX_CACHED_FILTERS) return;
  const aged: { name: string; mtime: number }[] = [];
  for (const name of names) {
    try { aged.push({ name, mtime: statSync(`${dir}/${name}`).mtimeMs }); } catch { /* removed meanwhile */ }
  }
  aged.sort((a, b) => a.mtime - b.mtime);
  for (const { name } of aged.slice(0, aged.length - MAX_CACHED_FILTERS)) {
    try { unlinkSync(`${dir}/${name}`); } catch { /* removed meanwhile */ }
  }
}

function bootId(): string | null {
  try { return readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim() || null; } catch { return null; }
}

/**
 * The program for `req`: from the cache when an entry for exactly this
 * request, library and boot is there, else compile() (and keep what it
 * returns). Without a cache directory, a library identity or a boot id,
 * simply compile().
 */
export function cachedFilter(req: CompileRequest, library: () => string | null, compile: () => Buffer): Buffer {
  const base = cacheDir();
  const dir = base === undefined ? null : ownDir(`${base}/seccomp`);
  const lib = dir === null ? null : library();
  const boot = lib === null ? null : bootId();
  if (dir === null || lib === null || boot === null) return compile();
  const key = filterKey(req, lib, boot);
  const name = entryName(key);
  const cached = readEntry(`${dir}/${name}`, key);
  if (cached) {
    trace(`seccomp: filter of ${req.rules.length} rules from the cache (${name})`);
    return cached;
  }
  const program = compile();
  writeEntry(dir, name, key, program);
  trace(`seccomp: filter of ${req.rules.length} rules compiled and cached (${name})`);
  return program;
}
