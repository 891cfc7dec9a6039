// The decision of src/cli/seedguard.ts: which inputs of a command line are
// measured, and when they exceed HASH_INPUT_LIMIT together.
import t from 'tap';
import { join, resolve } from 'node:path';
import { needsRandomSeed, preserveFdsIn, type InputProbe } from '../../src/cli/seedguard.js';
import { fastParse } from '../../src/cli/fastparse.js';
import { HASH_INPUT_LIMIT } from '../../src/config/hashlimit.js';
import type { ParsedArgs } from '../../src/cli/defs.js';

const ROOT = '/run/x';
const BIG = HASH_INPUT_LIMIT + 1;
const HALF = HASH_INPUT_LIMIT / 2 + 1;

/** A file system of the given sizes (absent: 0), with the bundles state files record; it notes what was asked. */
function probe(sizes: Record<string, number>, bundles: Record<string, string> = {}): InputProbe & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    size: (p) => { asked.push(p); return sizes[p] ?? 0; },
    names: (root) => Object.keys(sizes).filter((p) => p.startsWith(`${root}/`)).map((p) => p.slice(root.length + 1).split('/')[0] as string),
    bundleOf: (f) => bundles[f],
  };
}

function parsed(argv: string[]): ParsedArgs {
  const a = fastParse(argv);
  if (!a) throw new Error(`fastParse refused ${argv.join(' ')}`);
  return a;
}

const decide = (argv: string[], sizes: Record<string, number>, bundles?: Record<string, string>): boolean =>
  needsRandomSeed(argv, parsed(argv), ROOT, probe(sizes, bundles));

const state = (id: string): string => join(ROOT, id, 'state.json');

t.test('the state of an existing container, for every command on it', async (t) => {
  for (const argv of [['state', 'c1'], ['start', 'c1'], ['kill', 'c1', 'KILL'], ['delete', '-f', 'c1'], ['pause', 'c1'], ['resume', 'c1'], ['ps', 'c1']]) {
    t.equal(decide(argv, { [state('c1')]: 2000 }), false, `${argv[0]}: a 2 KB state is parsed here`);
    t.equal(decide(argv, { [state('c1')]: BIG }), true, `${argv[0]}: a state over the limit needs a random seed`);
    t.equal(decide(argv, { [state('c2')]: BIG }), false, `${argv[0]}: another container's state does not count`);
  }
  t.equal(decide(['state', 'c1'], { [state('c1')]: HASH_INPUT_LIMIT - 100 }), false, 'up to the limit is still fine');
  t.equal(decide(['state', 'c1'], { [state('c1')]: HASH_INPUT_LIMIT - 5 }), true, 'the arguments count too');
});

t.test('events always takes a random seed: it lists names the container may make', async (t) => {
  t.equal(decide(['events', 'c1'], { [state('c1')]: 2000 }), true);
  t.equal(decide(['events', '--stats', 'c1'], {}), true);
});

t.test('config.json of create, run, plan and restore, where --bundle says (else the working directory)', async (t) => {
  for (const cmd of ['create', 'run', 'plan']) {
    t.equal(decide([cmd, '-b', '/b', 'c1'], { '/b/config.json': BIG }), true, `${cmd} --bundle`);
    t.equal(decide([cmd, '-b', '/b', 'c1'], { '/b/config.json': 5000 }), false, `${cmd}: a small config`);
    t.equal(decide([cmd, 'c1'], { [join(process.cwd(), 'config.json')]: BIG }), true, `${cmd} without --bundle`);
  }
  t.equal(decide(['restore', '-b', '/b', '--image-path', '/img', 'c1'], { '/img/descriptors.json': BIG }), true, 'restore: its descriptors.json');
  t.equal(decide(['restore', '-b', '/b', 'c1'], { [resolve('checkpoint/descriptors.json')]: BIG }), true, 'restore: in ./checkpoint by default');
  t.equal(decide(['restore', '-b', '/b', '--image-path', '/img', 'c1'], { '/b/config.json': HALF, '/img/descriptors.json': HALF }), true, 'restore: the two together');
});

t.test('exec: its process file, or else the container\'s config.json, beside the state', async (t) => {
  const bundles = { [state('c1')]: '/b' };
  t.equal(decide(['exec', '-p', '/p.json', 'c1'], { '/p.json': BIG }), true, 'a large --process');
  t.equal(decide(['exec', 'c1', 'true'], { '/b/config.json': BIG }, bundles), true, 'the bundle\'s config.json that exec reads without --process');
  t.equal(decide(['exec', '-p', '/p.json', 'c1'], { '/b/config.json': BIG, '/p.json': 10 }, bundles), false, 'not read with --process');
  t.equal(decide(['exec', 'c1', 'true'], { [state('c1')]: HALF, '/b/config.json': HALF }, bundles), true, 'state and config add up');
  t.equal(decide(['checkpoint', 'c1'], { '/b/config.json': BIG }, bundles), true, 'checkpoint reads the config too');
});

t.test('update --resources, from a file or standard input', async (t) => {
  t.equal(decide(['update', '-r', '/r.json', 'c1'], { '/r.json': BIG }), true);
  t.equal(decide(['update', '-r', '/r.json', 'c1'], { '/r.json': 100 }), false);
  t.equal(decide(['update', '-r', '-', 'c1'], { '/dev/stdin': Infinity }), true, 'a pipe, whose size is not known before it is read');
  t.equal(decide(['update', '--memory', '1m', 'c1'], { '/r.json': BIG }), false, 'flags read no file');
});

t.test('list: every container\'s state, together', async (t) => {
  const many: Record<string, number> = {};
  for (let i = 0; i < 5; i++) many[state(`c${i}`)] = HASH_INPUT_LIMIT / 4 - 10;
  t.equal(decide(['list'], many), true, 'five quarters');
  delete many[state('c4')];
  t.equal(decide(['list'], many), false, 'four quarters');
  t.equal(decide(['list'], { [join(ROOT, 'c1:claim', 'state.json')]: BIG }), false, 'side directories are no records');
});

t.test('the arguments themselves, before and after parsing', async (t) => {
  const env = Array.from({ length: 2000 }, (_, i) => ['--env', `VARIABLE_${i}=${'x'.repeat(30)}`]).flat();
  const argv = ['exec', ...env, 'c1', 'true'];
  t.equal(needsRandomSeed(argv, null, ROOT, probe({})), true, 'a long command line, before yargs keys it');
  t.equal(needsRandomSeed(['exec', '--env', 'A=1', 'c1', 'true'], null, ROOT, probe({})), false);
  t.equal(decide(['state', 'c1'], {}), false, 'nothing to read: no state yet');
});

t.test('an id that is no plain name reads nothing outside the root', async (t) => {
  const p = probe({ [join(ROOT, '..', 'state.json')]: BIG });
  t.equal(needsRandomSeed(['state', '..'], parsed(['state', '..']), ROOT, p), false);
  t.same(p.asked, [], 'no file was measured');
  t.equal(decide(['spec'], {}), false, 'spec reads no input');
});

t.test('--preserve-fds of a command line only yargs parses', async (t) => {
  t.equal(preserveFdsIn(['exec', '--preserve-fds', '2', '--no-such-flag', 'c1', 'true']), 2);
  t.equal(preserveFdsIn(['run', '--preserve-fds=3', 'c1']), 3);
  t.equal(preserveFdsIn(['run', '-preserve-fds', '1', 'c1']), 1);
  t.equal(preserveFdsIn(['run', '--preserve-fds', 'x', 'c1']), 0);
});
