// Which bundle of dist/ each command loads (scripts/build.mjs, entry.cjs):
// the container's commands must not pay for the code of the rare ones, and a
// command line a small bundle does not understand goes on to the whole CLI.
// The entry loads the bundles itself (not through Node's module loader), so
// strace says what was opened.
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, OCIRUN, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT, TOP } from '../helpers.js';

const HAS_STRACE = run('strace', ['-V']).code === 0;
const skipStrace = HAS_STRACE ? false : 'strace is not installed (.ci/run installs it)';

/** The dist/ files one ocirun command opened, in order (and the command's result). */
function bundlesLoaded(box: Sandbox, args: string[]): { code: number | null; loaded: string[]; stderr: string } {
  const log = join(mkdtempSync(join(box.dir, 'open-')), 'trace');
  const r = run('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', log, OCIRUN, '--root', box.root, ...args]);
  const loaded = [...readFileSync(log, 'utf8').matchAll(/openat\(AT_FDCWD, "[^"]*\/dist\/([^"/]+\.cjs)"/g)].map((m) => m[1] as string);
  return { code: r.code, loaded, stderr: r.stderr };
}

t.test('create, run and exec load launch.cjs, not the whole CLI', { skip: SKIP_NOT_ROOT || skipStrace }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const id = box.id();
  const created = box.create(id);
  t.equal(created.code, 0, created.stderr);

  const exec = bundlesLoaded(box, ['exec', id, 'true']);
  t.equal(exec.code, 0, exec.stderr);
  t.same(exec.loaded, ['cli.cjs', 'launch.cjs'], 'exec: launch.cjs (which holds the validator), and nothing of the rest');

  const state = bundlesLoaded(box, ['state', id]);
  t.equal(state.code, 0, state.stderr);
  t.same(state.loaded, ['cli.cjs', 'hot.cjs'], 'state stays in the hot bundle');

  box.writeConfig(baseConfig(['true'], sharedRootfs()));
  const run = bundlesLoaded(box, ['run', '--bundle', box.bundle, box.id()]);
  t.equal(run.code, 0, run.stderr);
  t.same(run.loaded, ['cli.cjs', 'launch.cjs'], 'run: launch.cjs alone');
});

t.test('what launch.cjs does not handle goes on to the whole CLI', { skip: skipStrace }, async (t) => {
  const box = new Sandbox(t);
  const help = bundlesLoaded(box, ['create', '--help']);
  t.equal(help.code, 0, help.stderr);
  t.same(help.loaded, ['cli.cjs', 'launch.cjs', 'ocirun.cjs', 'yargs.cjs'], 'create --help: yargs, through the whole CLI');

  const features = bundlesLoaded(box, ['features']);
  t.equal(features.code, 0, features.stderr);
  t.same(features.loaded, ['cli.cjs', 'ocirun.cjs'], 'features: the whole CLI directly');
});

t.test('the bundles are ASCII (a two-byte source costs every command) and map back to src/', async (t) => {
  const dist = join(TOP, 'dist');
  for (const f of readdirSync(dist).filter((n) => n.endsWith('.cjs'))) {
    t.notOk(/[^\x00-\x7f]/.test(readFileSync(join(dist, f), 'latin1')), `${f} is ASCII`);
  }
  for (const f of ['launch.cjs', 'hot.cjs', 'ocirun.cjs']) {
    const map = JSON.parse(readFileSync(join(dist, `${f}.map`), 'utf8')) as { sources: string[] };
    t.ok(map.sources.includes('../src/container/store.ts'), `${f}.map names the sources`);
  }
});
