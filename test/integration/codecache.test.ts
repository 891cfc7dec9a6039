// The bundles' code cache (scripts/entry.cjs): made after a command ran, one
// file per bundle and command beside Node's own compile cache; a cache V8
// refuses (damaged, another build) costs time, never the command, and is
// made again.
import t from 'tap';
import { chmodSync, chownSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OCIRUN, run, SKIP_NOT_ROOT, TOP } from '../helpers.js';

const BASE = join(TOP, 'node_modules', '.cache', 'ocirun-v8');

/** The cache files of ocirun.cjs for `features` (bin/ocirun's runs keep the snapshot's hash seed), in every Node version's directory, newest first. */
function featureCaches(seed = 'fixedseed'): string[] {
  let dirs: string[] = [];
  try { dirs = readdirSync(BASE).map((d) => join(BASE, d)); } catch { /* none yet */ }
  return dirs.flatMap((d) => {
    try { return readdirSync(d).filter((f) => new RegExp(`^ocirun\\.cjs-features-${seed}-\\d+-\\d+$`).test(f)).map((f) => join(d, f)); } catch { return []; }
  }).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

t.test('features leaves a code cache, and a damaged one is refused and made again', async (t) => {
  const first = run(OCIRUN, ['features']);
  t.equal(first.code, 0, first.stderr);
  const files = featureCaches();
  t.ok(files.length >= 1, `a cache of ocirun.cjs for features in ${BASE}`);
  const file = files[0] as string;
  const size = readFileSync(file).length;
  t.ok(size > 10_000, `it holds the compiled functions (${size} bytes)`);
  const garbage = Buffer.alloc(size, 0x5a);
  writeFileSync(file, garbage);
  const second = run(OCIRUN, ['features']);
  t.equal(second.code, 0, 'the command runs on a damaged cache');
  t.equal(second.stdout, first.stdout, 'with the same output');
  t.equal(second.stderr, '', 'and says nothing about it');
  t.notSame(readFileSync(file), garbage, 'the cache was made again');
});

t.test('a cache file another user owns or may write is not run, and is made again', { skip: SKIP_NOT_ROOT }, async (t) => {
  t.equal(run(OCIRUN, ['features']).code, 0);
  const file = featureCaches()[0] as string;
  for (const spoil of [() => chownSync(file, 1001, 1001), () => chmodSync(file, 0o666)]) {
    spoil();
    const before = statSync(file);
    const r = run(OCIRUN, ['features']);
    t.equal(r.code, 0, r.stderr);
    const after = statSync(file);
    t.not(after.ino, before.ino, 'the file was replaced, not read');
    t.equal(after.uid, 0, 'by one of our own');
    t.equal(after.mode & 0o777, 0o600, 'that only we may write');
  }
});

t.test('a run that drew a random hash seed keeps its own cache: the normal runs keep hitting theirs', async (t) => {
  t.equal(run(OCIRUN, ['features']).code, 0);
  const normal = featureCaches()[0] as string;
  const before = statSync(normal);
  // What a re-executed ocirun (src/cli/seedguard.ts) runs: the same node, flags and entry without --no-rehash-snapshot.
  const node = join(TOP, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node');
  const rehashed = run(node, ['--no-minor-gc-task', join(TOP, 'dist', 'cli.cjs'), 'features'], { env: { ...process.env, NODE_OPTIONS: '' } });
  t.equal(rehashed.code, 0, rehashed.stderr);
  t.ok(featureCaches('rehashed').length >= 1, 'it made a cache of its own');
  t.equal(run(OCIRUN, ['features']).code, 0);
  const after = statSync(normal);
  // A cache V8 refused is written again (a new file renamed over it): same inode and mtime, it was used.
  t.equal(after.ino, before.ino, 'the normal cache was not replaced');
  t.equal(after.mtimeMs, before.mtimeMs, 'nor written');
});

t.test('a cache made afresh removes what earlier builds left for the same bundle, command and seed', async (t) => {
  t.equal(run(OCIRUN, ['features']).code, 0);
  const file = featureCaches()[0] as string;
  const dir = join(file, '..');
  const stale = join(dir, 'ocirun.cjs-features-fixedseed-1234-5678');
  const otherSeed = join(dir, 'ocirun.cjs-features-rehashed-1234-5678');
  const otherCommand = join(dir, 'ocirun.cjs-spec-fixedseed-1234-5678');
  for (const f of [stale, otherSeed, otherCommand]) writeFileSync(f, 'old', { mode: 0o600 });
  writeFileSync(file, Buffer.alloc(64, 0x5a)); // refused: made again at exit
  const r = run(OCIRUN, ['features']);
  t.equal(r.code, 0, r.stderr);
  const names = readdirSync(dir);
  t.notOk(names.includes('ocirun.cjs-features-fixedseed-1234-5678'), 'the earlier build\'s file is gone');
  t.ok(names.includes('ocirun.cjs-features-rehashed-1234-5678'), 'another seed\'s is kept');
  t.ok(names.includes('ocirun.cjs-spec-fixedseed-1234-5678'), 'another command\'s is kept');
  for (const f of [otherSeed, otherCommand]) rmSync(f, { force: true });
});
