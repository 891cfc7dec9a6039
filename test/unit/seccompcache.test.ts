// The seccomp filter cache's parts: the key names everything the program
// depends on, an entry is read back only when it is ours, unwritable by
// others and holds exactly this key, and the directory keeps at most
// MAX_CACHED_FILTERS entries, the oldest removed first.
import t from 'tap';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedFilter, entryName, filterKey, MAX_CACHED_FILTERS, readEntry, writeEntry } from '../../src/linux/seccompcache.js';
import { useCacheDir } from '../../src/install/cachedir.js';
import type { CompileRequest } from '../../src/sys/libseccomp.js';

const request = (): CompileRequest => ({
  defaultAction: 0x7fff0000,
  arches: [0x40000003],
  rules: [
    { syscall: 83, name: 'mkdir', action: 0x00050012, args: [] },
    { syscall: 62, name: 'kill', action: 0x00050001, args: [{ index: 1, op: 4, a: 10n, b: 0n }] },
  ],
});
const LIB = '2.5.4 fe:00 339871 /usr/lib/x86_64-linux-gnu/libseccomp.so.2.5.4';
const BOOT = '0e6f1c1e-1111-2222-3333-444455556666';
const program = (n: number) => Buffer.alloc(8 * n, n);

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocirun-seccompcache-'));
  chmodSync(dir, 0o700);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the key changes with every fact the program depends on, and with nothing else', async (t) => {
  const base = filterKey(request(), LIB, BOOT);
  t.equal(filterKey(request(), LIB, BOOT), base, 'the same request gives the same key');
  const changed: [string, string][] = [];
  const variant = (what: string, edit: (r: CompileRequest) => void, lib = LIB, boot = BOOT) => {
    const r = request();
    edit(r);
    changed.push([what, filterKey(r, lib, boot)]);
  };
  variant('default action', (r) => { r.defaultAction = 0x00050001; });
  variant('architectures', (r) => { r.arches = []; });
  variant('a syscall number', (r) => { r.rules[0]!.syscall = 84; });
  variant('an action', (r) => { r.rules[0]!.action = 0x00050013; });
  variant('an argument value', (r) => { r.rules[1]!.args[0]!.a = 11n; });
  variant('an argument operator', (r) => { r.rules[1]!.args[0]!.op = 1; });
  variant('an argument index', (r) => { r.rules[1]!.args[0]!.index = 0; });
  variant('the second value', (r) => { r.rules[1]!.args[0]!.b = 1n; });
  variant('the rules\' order', (r) => { r.rules.reverse(); });
  variant('the library', () => {}, '2.5.4 fe:00 339872 /usr/lib/x86_64-linux-gnu/libseccomp.so.2.5.4');
  variant('the boot', () => {}, LIB, '0e6f1c1e-1111-2222-3333-444455556667');
  for (const [what, key] of changed) t.not(key, base, what);
  t.equal(new Set(changed.map(([, k]) => k)).size, changed.length, 'all different from each other');
  // A syscall's name only labels errors: the number is what compiles.
  const renamed = request();
  renamed.rules[0]!.name = 'mkdir-by-another-name';
  t.equal(filterKey(renamed, LIB, BOOT), base, 'a rule\'s name is not part of it');
  t.match(entryName(base), /^[0-9a-f]{8}-\d+$/, 'the file name: a hash and the key\'s length');
});

t.test('an entry is read back only when it is ours, closed to others, and holds exactly this key', async (t) => {
  const dir = scratch(t);
  const key = filterKey(request(), LIB, BOOT);
  const name = entryName(key);
  const path = join(dir, name);
  writeEntry(dir, name, key, program(3));
  t.same(readFileSync(path).subarray(0, key.length + 1), Buffer.from(`${key}\0`), 'the key, a NUL, then the program');
  t.same(readEntry(path, key), program(3), 'read back');
  t.equal(readEntry(path, `${key}\n1 2`), null, 'another key (longer) under the same name: not used');
  t.equal(readEntry(path, key.slice(0, -1)), null, 'another key (shorter): not used');
  t.equal(readEntry(join(dir, 'missing'), key), null, 'no entry');

  chmodSync(path, 0o620);
  t.equal(readEntry(path, key), null, 'group-writable: not used');
  chmodSync(path, 0o602);
  t.equal(readEntry(path, key), null, 'writable by others: not used');
  chmodSync(path, 0o644);
  t.same(readEntry(path, key), program(3), 'readable by others is fine');
  if (process.geteuid?.() === 0) {
    chownSync(path, 65534, 65534);
    chmodSync(path, 0o600);
    t.equal(readEntry(path, key), null, 'another user\'s file: not used');
    chownSync(path, 0, 0);
  }
  const link = join(dir, 'link');
  symlinkSync(path, link);
  t.equal(readEntry(link, key), null, 'a symbolic link: not followed');

  writeFileSync(path, Buffer.concat([Buffer.from(`${key}\0`), Buffer.alloc(12)]), { mode: 0o600 });
  t.equal(readEntry(path, key), null, 'a program that is not whole instructions: not used');
  writeFileSync(path, Buffer.from(`${key}\0`), { mode: 0o600 });
  t.equal(readEntry(path, key), null, 'no program at all: not used');
  writeFileSync(path, Buffer.from(key), { mode: 0o600 });
  t.equal(readEntry(path, key), null, 'the key alone, no NUL: not used');
});

t.test('the directory keeps the newest MAX_CACHED_FILTERS entries', async (t) => {
  const dir = scratch(t);
  const names: string[] = [];
  for (let i = 0; i < MAX_CACHED_FILTERS; i++) {
    const key = `key ${i}`;
    names.push(entryName(key));
    writeEntry(dir, entryName(key), key, program(1));
    // Written in order, a second apart (a file system's clock may be coarse).
    utimesSync(join(dir, entryName(key)), 1_000_000 + i, 1_000_000 + i);
  }
  writeFileSync(join(dir, 'left-by-a-crash.123.tmp'), '', { mode: 0o600 });
  utimesSync(join(dir, 'left-by-a-crash.123.tmp'), 999_999, 999_999);
  t.equal(readdirSync(dir).length, MAX_CACHED_FILTERS + 1, 'nothing removed until an entry is written beyond the limit');
  writeEntry(dir, entryName('key new'), 'key new', program(2));
  t.same(readdirSync(dir).sort(), [...names.slice(1), entryName('key new')].sort(), 'the temporary file and the oldest entry went');
});

t.test('cachedFilter compiles once for a request, and only where the directory is ours', async (t) => {
  const dir = scratch(t);
  t.teardown(() => useCacheDir(undefined));
  let compiled = 0;
  const compile = () => { compiled++; return program(4); };
  useCacheDir(undefined);
  cachedFilter(request(), () => LIB, compile);
  t.equal(compiled, 1, 'no cache directory: compiled');
  useCacheDir(dir);
  t.same(cachedFilter(request(), () => LIB, compile), program(4));
  t.same(cachedFilter(request(), () => LIB, compile), program(4));
  t.equal(compiled, 2, 'then once for two calls');
  t.equal(readdirSync(join(dir, 'seccomp')).length, 1, 'one entry');
  cachedFilter(request(), () => null, compile);
  t.equal(compiled, 3, 'without the library\'s identity: compiled');
  chmodSync(join(dir, 'seccomp'), 0o777);
  cachedFilter(request(), () => LIB, compile);
  t.equal(compiled, 4, 'a directory others may write: compiled, and not read');
});
