// bin/ocirun's --no-rehash-snapshot and its guard (src/cli/seedguard.ts),
// seen from outside: the command line of the running ocirun (paused at a
// fault point), the execve calls strace sees, and what the container got.
// A small config runs under the snapshot's seed; a config of 50,000
// annotations is handled by the same process re-executed once without the
// flag (a random seed), with its fds, environment and RLIMIT_NOFILE intact.
import t from 'tap';
import { spawn, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, OCIRUN, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT, TOP, until } from '../helpers.js';

const FLAG = '--no-rehash-snapshot';
const HAS_STRACE = run('sh', ['-c', 'command -v strace']).code === 0;

interface Paused {
  /** the pid bash exec'd ocirun in (and the one that paused) */
  spawned: number;
  paused: number;
  /** /proc/<pid>/cmdline of the paused process */
  cmdline: string[];
  code: number | null;
  stderr: string;
}

/**
 * Run `ocirun --root <root> ...args` from bash (which execs it, so its pid
 * is the one spawned), with a lowered soft RLIMIT_NOFILE, LISTEN_FDS=1 meant
 * for it and `extraFds` as its fds 3.., until it pauses at `step`; note its
 * command line there, let it go on, and wait for it to end.
 */
async function pausedAt(box: Sandbox, args: string[], step: string, extraFds: number[] = []): Promise<Paused> {
  const ctl = mkdtempSync(join(box.dir, 'pause-'));
  const outFd = openSync(join(ctl, 'stdout'), 'w');
  const errFd = openSync(join(ctl, 'stderr'), 'w');
  const script = `ulimit -Sn 777; export LISTEN_FDS=1 LISTEN_PID=$$; exec "$0" --root "${box.root}" "$@"`;
  const child = spawn('bash', ['-c', script, OCIRUN, ...args], {
    stdio: ['ignore', outFd, errFd, ...extraFds],
    env: { ...process.env, NODE_OPTIONS: '', _OCIRUN_FAULT_PAUSE: step, _OCIRUN_FAULT_DIR: ctl },
  });
  closeSync(outFd);
  closeSync(errFd);
  const ended = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void ended.then(() => { done = true; });
  await until(() => done || existsSync(join(ctl, 'paused')), 30_000);
  let paused = 0;
  let cmdline: string[] = [];
  if (existsSync(join(ctl, 'paused'))) {
    paused = Number(readFileSync(join(ctl, 'paused'), 'utf8').split(' ')[1]);
    cmdline = readFileSync(`/proc/${paused}/cmdline`, 'utf8').split('\0').filter(Boolean);
    writeFileSync(join(ctl, 'release'), '');
  }
  const code = await ended;
  return { spawned: child.pid ?? -1, paused, cmdline, code, stderr: readFileSync(join(ctl, 'stderr'), 'utf8') };
}

/** The argv of every execve of ocirun's process (and, with `follow`, its children) for `args`, from strace, and how it ended. */
function execves(box: Sandbox, args: string[], follow = true, opts: SpawnSyncOptions = {}): { argvs: string[]; code: number | null; stdout: string; stderr: string } {
  const log = join(box.dir, `strace-${Math.random().toString(36).slice(2)}`);
  const r = run('strace', [...(follow ? ['-f'] : []), '-s', '256', '-e', 'trace=execve', '-o', log, OCIRUN, '--root', box.root, ...args], { maxBuffer: 256 << 20, env: { ...process.env, NODE_OPTIONS: '' }, ...opts });
  // The re-exec comes from a threaded process: strace shows it `<unfinished ...>`, resumed later.
  const argvs = readFileSync(log, 'utf8').split('\n').filter((l) => /execve\("[^"]*\/node",/.test(l) && !/= -1 /.test(l));
  return { argvs, code: r.code, stdout: r.stdout, stderr: r.stderr };
}

t.test('a small config: create, state and delete keep the snapshot\'s seed', { skip: SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const id = box.id('small');
  const create = await pausedAt(box, ['create', '--bundle', box.bundle, id], 'create:claimed');
  t.equal(create.code, 0, create.stderr);
  t.ok(create.cmdline.includes(FLAG), `create ran as ${create.cmdline.join(' ')}`);
  t.equal(create.paused, create.spawned, 'in the process bash exec\'d');
  if (HAS_STRACE) {
    const state = execves(box, ['state', id]);
    t.equal(state.code, 0);
    t.equal(state.argvs.length, 1, 'state: node exec\'d once');
    t.match(state.argvs[0], FLAG, 'with the flag');
  }
  const del = await pausedAt(box, ['delete', '--force', id], 'delete:locked');
  t.equal(del.code, 0, del.stderr);
  t.ok(del.cmdline.includes(FLAG), `delete ran as ${del.cmdline.join(' ')}`);
});

t.test('50,000 annotations: every command on the container re-executes once with a random seed, and the container gets all it should', { skip: SKIP_NOT_ROOT }, async (t) => {
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.annotations = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`org.example.annotation${i}`, `value${i}`]));
  const box = new Sandbox(t, config);
  const id = box.id('big');
  const files = { listened: join(box.dir, 'listened'), preserved: join(box.dir, 'preserved') };
  writeFileSync(files.listened, '');
  writeFileSync(files.preserved, '');
  const listened = openSync(files.listened, 'r');
  const preserved = openSync(files.preserved, 'r');
  const pidFile = join(box.dir, 'init.pid');
  const create = await pausedAt(box, ['create', '--preserve-fds', '1', '--pid-file', pidFile, '--bundle', box.bundle, id], 'create:claimed', [listened, preserved]);
  closeSync(listened);
  closeSync(preserved);
  t.equal(create.code, 0, create.stderr);
  t.ok(create.cmdline.length > 0 && !create.cmdline.includes(FLAG), `create ran as ${create.cmdline.slice(0, 4).join(' ')} …`);
  t.equal(create.paused, create.spawned, 'the same process, re-executed (LISTEN_PID still names it)');
  t.equal(create.stderr, '', 'saying nothing');

  const init = Number(readFileSync(pidFile, 'utf8'));

  if (HAS_STRACE) {
    const state = execves(box, ['state', id]);
    t.equal(state.code, 0);
    t.equal(state.argvs.length, 2, 'state: node exec\'d twice, no more');
    t.match(state.argvs[0], FLAG, 'first with the flag');
    t.notMatch(state.argvs[1], FLAG, 'then without it');
    t.equal(Object.keys(JSON.parse(state.stdout).annotations).length, 50_000, 'state shows every annotation');
  }
  const start = await pausedAt(box, ['start', id], 'start:locked');
  t.equal(start.code, 0, start.stderr);
  t.ok(start.cmdline.length > 0 && !start.cmdline.includes(FLAG), 'start ran with a random seed');
  t.ok(await until(() => readFileSync(`/proc/${init}/comm`, 'utf8') === 'sleep\n'), 'the program runs');
  const fds = readdirSync(`/proc/${init}/fd`).map(Number).sort((a, b) => a - b);
  t.same(fds, [0, 1, 2, 3, 4], 'the program has stdio, the activation fd and the preserved fd');
  t.equal(readlinkSync(`/proc/${init}/fd/3`), files.listened, 'fd 3: LISTEN_FDS\'s');
  t.equal(readlinkSync(`/proc/${init}/fd/4`), files.preserved, 'fd 4: --preserve-fds\'s');
  const limits = readFileSync(`/proc/${init}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files')) ?? '';
  t.match(limits, /^Max open files\s+777\s/, 'the soft RLIMIT_NOFILE ocirun was started with (_OCIRUN_NOFILE went along)');
  const del = await pausedAt(box, ['delete', '--force', id], 'delete:locked');
  t.equal(del.code, 0, del.stderr);
  t.ok(del.cmdline.length > 0 && !del.cmdline.includes(FLAG), 'delete ran with a random seed');
  t.equal(box.state(id), null, 'gone');
});

t.test('a long command line is parsed under a random seed, once', { skip: !HAS_STRACE || SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t);
  const env = Array.from({ length: 2000 }, (_, i) => ['--env', `VARIABLE_${i}=${'x'.repeat(30)}`]).flat();
  const r = execves(box, ['exec', ...env, 'no-such-container', 'true']);
  t.equal(r.code, 1, 'exec of a missing container fails as ever');
  t.equal(r.argvs.length, 2, 'after one re-exec');
  t.notMatch(r.argvs[1], FLAG);
});

t.test('exec --process of 3,000 variables: one re-exec, and the preserved fd reaches the process', { skip: !HAS_STRACE || SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const id = box.id('exec');
  t.equal(box.create(id).code, 0);
  t.equal(box.ocirun(['start', id]).code, 0);
  const file = join(box.dir, 'process.json');
  const env = ['PATH=/bin', ...Array.from({ length: 3000 }, (_, i) => `VARIABLE_${i}=${'x'.repeat(20)}`)];
  writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'cat <&3; echo " $VARIABLE_2999"'], env, cwd: '/', user: { uid: 0, gid: 0 } }));
  const passed = join(box.dir, 'passed');
  writeFileSync(passed, 'through fd 3');
  const fd = openSync(passed, 'r');
  // strace follows only ocirun's own pid: the re-exec keeps it.
  const r = execves(box, ['exec', '--preserve-fds', '1', '--process', file, id], false, { stdio: ['ignore', 'pipe', 'pipe', fd] });
  closeSync(fd);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `through fd 3 ${'x'.repeat(20)}\n`, 'the process read the preserved fd and has its environment');
  t.equal(r.argvs.length, 2, 'node exec\'d twice');
  t.notMatch(r.argvs[1] ?? '', FLAG, 'the second time without the flag');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0);
});

t.test('run starts Node with a 2 MiB young generation (and then collects nothing); create and state with the default; TurboFan off for all, Sparkplug for those that start a container process', { skip: !HAS_STRACE || SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t, baseConfig(['true'], sharedRootfs()));
  const young = '--min-semi-space-size=2';
  const r = execves(box, ['run', '--bundle', box.bundle, box.id('young')], false);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.argvs.length, 1, 'run: node exec\'d once');
  t.match(r.argvs[0], young, 'run: with the larger young generation');
  t.match(r.argvs[0], /"--no-turbofan", "--no-sparkplug"/, 'run: without TurboFan and Sparkplug');
  const st = execves(box, ['state', 'nothing-here'], false);
  t.notMatch(st.argvs[0] ?? '', young, 'state: without');
  t.match(st.argvs[0] ?? '', /"--no-turbofan"/, 'state: without TurboFan');
  t.notMatch(st.argvs[0] ?? '', /--no-sparkplug/, 'state: with Sparkplug');
  const id = box.id('young');
  const c = execves(box, ['create', '--bundle', box.bundle, id], false, { stdio: 'ignore' }); // the init keeps any pipe it is given
  t.equal(c.code, 0, c.stderr);
  t.notMatch(c.argvs[0] ?? '', young, 'create: without');
  t.match(c.argvs[0] ?? '', /"--no-turbofan", "--no-sparkplug"/, 'create: without TurboFan and Sparkplug');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0);
  // What the flag is for: run allocates more than the default 1 MiB of young generation, but less than 2.
  const node = join(TOP, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node');
  // (env -u: tap puts its own preload in every child's NODE_OPTIONS, and it allocates too.)
  const traced = run('env', ['-u', 'NODE_OPTIONS', node, '--no-rehash-snapshot', '--no-minor-gc-task', '--no-turbofan', '--no-sparkplug', young, '--trace-gc', join(TOP, 'dist', 'cli.cjs'), '--root', box.root, 'run', '--bundle', box.bundle, box.id('young')], { env: { ...process.env, _OCIRUN_NOFILE: '' } });
  t.equal(traced.code, 0, traced.stderr);
  t.notMatch(traced.stdout, /Scavenge/, 'no young-generation collection during run');
});
