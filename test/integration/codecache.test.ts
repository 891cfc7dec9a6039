// The bundles' code cache (scripts/entry.cjs): made after a command ran (by
// its first four runs), one file per bundle and command beside Node's own
// compile cache; a cache V8 refuses (damaged, another build) costs time,
// never the command, and is made again.
import t from 'tap';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

t.test('the first four runs each make the cache again, with what they compiled besides; later runs only read it', async (t) => {
  for (const f of featureCaches()) rmSync(f, { force: true });
  const made: number[] = [];
  let inode = 0;
  for (let i = 1; i <= 6; i++) {
    t.equal(run(OCIRUN, ['features']).code, 0);
    const file = featureCaches()[0] as string;
    const data = readFileSync(file);
    t.equal(data[0], 0x4f, `run ${i}: our mark first`);
    made.push(data[1] as number);
    if (i === 5) inode = statSync(file).ino;
    if (i === 6) t.equal(statSync(file).ino, inode, 'run 6 left the file as run 4 made it');
  }
  t.same(made, [1, 2, 3, 4, 4, 4], 'the count of runs that made it');
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
  // Past the runs that make it again (the test above), so that a normal run only reads it.
  for (let i = 0; i < 4; i++) t.equal(run(OCIRUN, ['features']).code, 0);
  const normal = featureCaches()[0] as string;
  t.equal(readFileSync(normal)[1], 4, 'the normal cache is made');
  const before = statSync(normal);
  // What a re-executed ocirun (src/cli/seedguard.ts) runs: the same node, flags and entry without --no-rehash-snapshot.
  const node = join(TOP, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node');
  const rehashed = run(node, ['--no-minor-gc-task', '--no-turbofan', join(TOP, 'dist', 'cli.cjs'), 'features'], { env: { ...process.env, NODE_OPTIONS: '' } });
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

t.test('under the pinned Node the bundles compile without node:vm; elsewhere, and where a warning could show, through it', async (t) => {
  const node = join(TOP, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node');
  const dir = mkdtempSync(join(tmpdir(), 'ocirun-vm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Says at exit whether node:vm was loaded (the entry ends through Node's exit when an exit listener is there).
  const preload = join(dir, 'loaded.cjs');
  // (process.moduleLoadList is itself deprecated: its warning silenced, any the command made came out before.)
  writeFileSync(preload, "process.on('exit', () => { process.noDeprecation = true; require('fs').writeSync(2, 'vm loaded: ' + process.moduleLoadList.includes('NativeModule vm') + '\\n'); });\n");
  const features = (env: Record<string, string>): { code: number | null; stdout: string; stderr: string } =>
    run(node, ['--no-rehash-snapshot', '--no-minor-gc-task', '--no-turbofan', '--trace-deprecation', '-r', preload, join(TOP, 'dist', 'cli.cjs'), 'features'], { env: { ...process.env, NODE_OPTIONS: '', ...env } });
  // tap's own hooks in every child call process.binding too: only a warning from our entry counts.
  const loadedLine = (stderr: string): string => stderr.split('\n').filter((l) => l.startsWith('vm loaded: ')).join('\n');
  const pinned = features({});
  t.equal(pinned.code, 0, pinned.stderr);
  t.equal(loadedLine(pinned.stderr), 'vm loaded: false', 'the pinned Node: the contextify binding, no node:vm');
  for (const [why, env] of [['asked for (the A/B knob)', { _OCIRUN_VM: '1' }], ['pending deprecations on', { NODE_PENDING_DEPRECATION: '1' }]] as const) {
    const r = features(env);
    t.equal(r.code, 0, r.stderr);
    t.equal(loadedLine(r.stderr), 'vm loaded: true', `${why}: node:vm`);
    t.notMatch(r.stderr, /dist\/cli\.cjs/, `${why}: no warning from the entry`);
    t.equal(r.stdout, pinned.stdout, `${why}: the same output`);
  }
  // Another Node (the system's, as on this project's CI machines, when it is not the pinned one): node:vm.
  const otherVersion = run('/usr/bin/node', ['--version']).stdout.trim();
  if (!/^v\d/.test(otherVersion) || otherVersion === process.version) {
    t.comment('no other Node in /usr/bin');
  } else {
    const other = run('/usr/bin/node', ['-r', preload, join(TOP, 'dist', 'cli.cjs'), 'features'], { env: { ...process.env, NODE_OPTIONS: '' } });
    t.equal(other.code, 0, other.stderr);
    t.equal(loadedLine(other.stderr), 'vm loaded: true', 'another Node: node:vm');
  }
});

t.test('only a run that did its command\'s work makes a cache: not one that failed, nor one the bundle handed on (--help)', async (t) => {
  const hotList = (): string[] => {
    let dirs: string[] = [];
    try { dirs = readdirSync(BASE).map((d) => join(BASE, d)); } catch { /* none yet */ }
    return dirs.flatMap((d) => { try { return readdirSync(d).filter((f) => /^hot\.cjs-list-fixedseed-/.test(f)).map((f) => join(d, f)); } catch { return []; } });
  };
  const clear = (): void => { for (const f of hotList()) rmSync(f, { force: true }); };
  const root = mkdtempSync(join(tmpdir(), 'ocirun-cc-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  clear();
  const help = run(OCIRUN, ['list', '--help']);
  t.equal(help.code, 0, help.stderr);
  t.same(hotList(), [], 'list --help (handed on to the whole CLI): no cache of hot.cjs for list');
  const bad = run(OCIRUN, ['--root', root, 'list', '--format', 'yaml']);
  t.not(bad.code, 0, 'a failing list');
  t.same(hotList(), [], 'a failed run: none either');
  const ok = run(OCIRUN, ['--root', root, 'list']);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(hotList().length, 1, 'the first run that did the work makes it');
});

t.test("dist/cli.cjs compiles from Node's compile cache, kept in our directory; a caller's NODE_COMPILE_CACHE is not used", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocirun-ncc-'));
  const callers = join(root, 'callers-cache');
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  // Node's directories beside ours: <version>-<arch>-<V8's cache tag>-<uid>.
  const nodeDirs = (): string[] => readdirSync(BASE).filter((d) => /^v\d+\.\d+\.\d+-[a-z0-9]+-[0-9a-f]+-\d+$/.test(d));
  for (const d of nodeDirs()) rmSync(join(BASE, d), { recursive: true, force: true });
  const list = (debug: boolean): { code: number | null; stderr: string } =>
    run('env', ['-u', 'NODE_OPTIONS', `NODE_COMPILE_CACHE=${callers}`, ...(debug ? ['NODE_DEBUG_NATIVE=COMPILE_CACHE'] : []), OCIRUN, '--root', root, 'list']);
  const first = list(false);
  t.equal(first.code, 0, first.stderr);
  t.throws(() => readdirSync(callers), "nothing was made in the caller's directory");
  const made = nodeDirs().flatMap((d) => readdirSync(join(BASE, d)).map((f) => join(BASE, d, f)));
  t.equal(made.length, 1, "one cache file in ours, Node's, for dist/cli.cjs");
  t.equal(statSync(made[0] as string).mode & 0o077, 0, 'that only we may read');
  const second = list(true);
  t.equal(second.code, 0, second.stderr);
  t.match(second.stderr, /cache for \S+dist\/cli\.cjs was accepted/, 'the next run compiles cli.cjs from it');
  t.notMatch(second.stderr, /callers-cache/, "and never looks at the caller's");
});
