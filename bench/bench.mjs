// ocirun vs runc, side by side in one process: wall time of `run`, of the
// create → start → kill → delete lifecycle and of `state`, then the peak RSS
// of every command. Node builtins only. Invoked by bench/run, which prepares
// the bundles and cleans up; see bench/README.md.
//
// Environment (set by bench/run):
//   BENCH_TMP        scratch dir holding bundle-true/, bundle-sleep/, bundle-seccomp/ (its config.json
//                    only when bench/run had an engine's seccomp profile) and the --root dirs
//   BENCH_OCIRUN     ocirun executable           BENCH_RUNC   runc executable
//   BENCH_NODE       the pinned Node ocirun runs on: the issue's targets count from its `node -e 0`,
//                    and its bare start (bin/ocirun's flags, an empty script) is what no command can go below
//   BENCH_NODE_FLAGS the Node flags bin/ocirun gives every command (for the bare start)
//   BENCH_RUNS       timed iterations (default 50)
//   BENCH_WARMUP     untimed iterations first (default 5)
//   BENCH_RSS_RUNS   iterations under /usr/bin/time for peak RSS (default 3)
//   BENCH_TIME       GNU time binary (default /usr/bin/time)
//   BENCH_STRICT=1   exit status 2 when a target FAILs (default: report only, exit 0)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const tmp = need('BENCH_TMP');
const runs = count('BENCH_RUNS', 50, 1);
const warmup = count('BENCH_WARMUP', 5, 0);
const rssRuns = count('BENCH_RSS_RUNS', 3, 0);
const gnuTime = env.BENCH_TIME || '/usr/bin/time';
const strict = env.BENCH_STRICT === '1';

const runtimes = [
  { name: 'ocirun', bin: need('BENCH_OCIRUN'), root: join(tmp, 'root-ocirun') },
  { name: 'runc', bin: need('BENCH_RUNC'), root: join(tmp, 'root-runc') },
];
const bundleTrue = join(tmp, 'bundle-true');
const bundleSleep = join(tmp, 'bundle-sleep');
const bundleSeccomp = join(tmp, 'bundle-seccomp');
const withSeccomp = existsSync(join(bundleSeccomp, 'config.json'));
const errFile = join(tmp, 'stderr');
const rssFile = join(tmp, 'rss');

// Ratios to runc (median over median), and ms above the pinned Node's `node -e 0`.
const TARGETS = { run: 1.6, lifecycle: 3.2, state: 6 };
const OVER_NODE_TARGETS = { state: 4, start: 6, kill: 6 };
const RSS_LIMIT_MIB = 60;
const nodeBin = need('BENCH_NODE');

function need(name) {
  const v = env[name];
  if (!v) fail(`${name} is not set (run bench/run, not this script)`);
  return v;
}

function count(name, dflt, min) {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) fail(`${name}=${raw}: want an integer >= ${min}`);
  return n;
}

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------- commands

/**
 * Run one runtime command and return its wall time in ms. stdout and stderr
 * go to a file, never a pipe: `create` and `run` hand their stdio to the
 * container, and a detached container would hold a pipe open. With `capture`
 * stdout is returned instead (for `state`, which starts nothing).
 */
// BENCH_AS: a command prefix every runtime call goes through (bench/run's BENCH_USER: setpriv as that user).
const asPrefix = env.BENCH_AS ? JSON.parse(env.BENCH_AS) : [];

function exec(rt, args, { capture = false, wrap = null } = {}) {
  const argv = ['--root', rt.root, ...args];
  const chain = [...(wrap ?? []), ...asPrefix, rt.bin, ...argv];
  const [file, fileArgs] = [chain[0], chain.slice(1)];
  const errFd = openSync(errFile, 'w');
  let r;
  let t0;
  let t1;
  try {
    const stdio = ['ignore', capture ? 'pipe' : errFd, errFd];
    t0 = process.hrtime.bigint();
    r = spawnSync(file, fileArgs, { stdio, encoding: 'utf8', maxBuffer: 1 << 20 });
    t1 = process.hrtime.bigint();
  } finally {
    closeSync(errFd);
  }
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
    let stderr = '';
    try { stderr = readFileSync(errFile, 'utf8').trim(); } catch {}
    throw new Error(`${rt.name} ${args.join(' ')}: ${why}${stderr ? `\n  ${stderr.replace(/\n/g, '\n  ')}` : ''}`);
  }
  return { ms: Number(t1 - t0) / 1e6, stdout: capture ? r.stdout : '' };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Wait until the process is gone or a zombie: the container is then stopped for both runtimes. */
function waitStopped(pid, timeoutMs = 10_000) {
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      break; // reaped
    }
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') break;
    if (Date.now() > deadline) throw new Error(`container init ${pid} still alive ${timeoutMs} ms after SIGKILL`);
    Atomics.wait(sleepCell, 0, 0, 0.2);
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

let serial = 0;
const newId = (kind) => `bench-${process.pid}-${kind}-${++serial}`;

/** One `run` of /bin/true; `run` deletes the container itself. */
function benchRun(rt, opts) {
  return { run: exec(rt, ['run', '--bundle', bundleTrue, newId('run')], opts) };
}

/**
 * `create` a `sleep 1000` container. The pid file lives in pids/ until the
 * container is deleted: bench/run's cleanup kills that pid if the runtime
 * itself cannot delete the container.
 */
function createSleep(rt, id, opts) {
  const pidFile = pidFileOf(rt, id);
  const create = exec(rt, ['create', '--bundle', bundleSleep, '--pid-file', pidFile, id], opts);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!(pid > 0)) throw new Error(`${rt.name} create wrote no usable pid file`);
  return { create, pid };
}

const pidFileOf = (rt, id) => join(tmp, 'pids', `${rt.name}-${id}`);

function deleteGone(rt, id, args, opts) {
  const r = exec(rt, args, opts);
  rmSync(pidFileOf(rt, id), { force: true });
  return r;
}

/** create → start → kill KILL → (wait for stopped) → delete, the same calls for both runtimes. */
function benchLifecycle(rt, opts) {
  const id = newId('life');
  const { create, pid } = createSleep(rt, id, opts);
  const start = exec(rt, ['start', id], opts);
  const kill = exec(rt, ['kill', id, 'KILL'], opts);
  const wait = waitStopped(pid);
  const del = deleteGone(rt, id, ['delete', id], opts);
  return { create, start, kill, wait: { ms: wait }, delete: del };
}

/** `create` with an engine's default seccomp profile (what containerd and podman send), then `delete --force`, untimed. */
function benchSeccompCreate(rt, opts) {
  const id = newId('seccomp');
  const pidFile = pidFileOf(rt, id);
  const create = exec(rt, ['create', '--bundle', bundleSeccomp, '--pid-file', pidFile, id], opts);
  deleteGone(rt, id, ['delete', '--force', id], opts);
  return { createSeccomp: create };
}

/** `state` of the long-running container set up for it. */
function benchState(rt, opts) {
  const state = exec(rt, ['state', rt.stateId], { ...opts, capture: true });
  let doc;
  try {
    doc = JSON.parse(state.stdout);
  } catch {
    throw new Error(`${rt.name} state printed no JSON: ${JSON.stringify(state.stdout.slice(0, 200))}`);
  }
  if (doc.id !== rt.stateId || doc.status !== 'running') {
    throw new Error(`${rt.name} state: expected ${rt.stateId} running, got ${doc.id} ${doc.status}`);
  }
  return { state };
}

// ------------------------------------------------------------------ timing

const samples = Object.fromEntries(runtimes.map((rt) => [rt.name, {}]));

function record(rt, result) {
  for (const [k, v] of Object.entries(result)) (samples[rt.name][k] ??= []).push(v.ms);
}

/** One start of the pinned Node with these arguments, timed the same way as the commands. */
function timeNode(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(nodeBin, args, { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${nodeBin} ${args.join(' ')}: exit status ${r.status}`);
  return ms;
}
// A bare start: the flags bin/ocirun gives every command (bench/run reads them
// from it), and an empty script. `node -e 0` costs ~8 ms more here: without
// --no-rehash-snapshot V8 rehashes its snapshot for a fresh hash seed, and -e
// loads the eval machinery. The issue's targets count from `node -e 0`; the
// bare start is the true floor.
const OCIRUN_NODE_FLAGS = need('BENCH_NODE_FLAGS').trim().split(/\s+/);
const emptyScript = join(tmp, 'empty.js');
writeFileSync(emptyScript, '');
const nodeSamples = [];
const bareSamples = [];

function iteration(i, keep) {
  // Alternate which runtime goes first so neither always runs on a warmer machine.
  const order = i % 2 === 0 ? runtimes : [...runtimes].reverse();
  const nodeE = timeNode(['-e', '0']);
  const bare = timeNode([...OCIRUN_NODE_FLAGS, emptyScript]);
  if (keep) {
    nodeSamples.push(nodeE);
    bareSamples.push(bare);
  }
  for (const rt of order) {
    const r = benchRun(rt);
    const l = benchLifecycle(rt);
    l.lifecycle = { ms: l.create.ms + l.start.ms + l.kill.ms + l.wait.ms + l.delete.ms };
    const s = benchState(rt);
    const c = withSeccomp ? benchSeccompCreate(rt) : {};
    if (keep) record(rt, { ...r, ...l, ...s, ...c });
  }
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { n, mean, sd, median, min: s[0], max: s[n - 1] };
}

/** Baseline: what spawnSync of a do-nothing binary costs here, included in every number. */
function spawnOverhead() {
  const xs = [];
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync('/bin/true', [], { stdio: 'ignore' });
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return stats(xs.slice(5)).median;
}

// --------------------------------------------------------------- peak RSS

const peak = Object.fromEntries(runtimes.map((rt) => [rt.name, {}]));

function rssIteration() {
  for (const rt of runtimes) {
    const wrap = [gnuTime, '-f', '%M', '-o', rssFile, '--'];
    const note = (cmd) => {
      const kib = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
      if (!Number.isFinite(kib) || kib <= 0) throw new Error(`${gnuTime} gave no max RSS for ${rt.name} ${cmd}`);
      peak[rt.name][cmd] = Math.max(peak[rt.name][cmd] ?? 0, kib);
    };
    // Same calls as the timed loop, each wrapped in GNU time.
    const id = newId('rss');
    exec(rt, ['run', '--bundle', bundleTrue, newId('rss-run')], { wrap });
    note('run');
    const { pid } = createSleep(rt, id, { wrap });
    note('create');
    exec(rt, ['start', id], { wrap });
    note('start');
    exec(rt, ['state', id], { wrap, capture: true });
    note('state');
    exec(rt, ['kill', id, 'KILL'], { wrap });
    note('kill');
    waitStopped(pid);
    deleteGone(rt, id, ['delete', id], { wrap });
    note('delete');
  }
}

// ---------------------------------------------------------------- printing

const fmtMs = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const cell = (st) => `${fmtMs(st.median)} (${fmtMs(st.mean)} ± ${fmtMs(st.sd)})`;
const pad = (s, w) => String(s).padEnd(w);
const lpad = (s, w) => String(s).padStart(w);

function printTimes() {
  const rows = [
    ['run', 'run /bin/true', 'run'],
    ['lifecycle', 'lifecycle (total)', 'lifecycle'],
    ['create', '  create', null],
    ['start', '  start', null],
    ['kill', '  kill KILL', null],
    ['wait', '  (wait for exit)', null],
    ['delete', '  delete', null],
    ['state', 'state (running)', 'state'],
    ...(withSeccomp ? [['createSeccomp', 'create, seccomp', null]] : []),
  ];
  const W = [20, 26, 26, 8, 11, 11, 14];
  const floor = stats(nodeSamples);
  const bare = stats(bareSamples);
  console.log(`Wall time, ms: median (mean ± sd); ratio = median ocirun / median runc; ` +
    `over node = ocirun's median above the pinned Node's \`node -e 0\` (median ${fmtMs(floor.median)} ms in this run); ` +
    `over bare = above a bare start of it (${OCIRUN_NODE_FLAGS.join(' ')}, an empty script: median ${fmtMs(bare.median)} ms)`);
  console.log(pad('', W[0]) + pad('ocirun', W[1]) + pad('runc', W[2]) + lpad('ratio', W[3]) + lpad('over node', W[4]) + lpad('over bare', W[5]) + '   target');
  const verdicts = [];
  for (const [key, label, target] of rows) {
    const o = stats(samples.ocirun[key]);
    const r = stats(samples.runc[key]);
    const ratio = o.median / r.median;
    const over = o.median - floor.median;
    const t = [];
    if (target) {
      const limit = TARGETS[target];
      const ok = ratio <= limit;
      verdicts.push(ok);
      t.push(`≤ ${limit}×  ${ok ? 'PASS' : 'FAIL'}`);
    }
    if (OVER_NODE_TARGETS[key] !== undefined) {
      const limit = OVER_NODE_TARGETS[key];
      const ok = over <= limit;
      verdicts.push(ok);
      t.push(`≤ +${limit} ms  ${ok ? 'PASS' : 'FAIL'}`);
    }
    const ratioText = key === 'wait' ? '' : `${ratio.toFixed(2)}×`;
    const signed = (x) => `${x < 0 ? '-' : '+'}${fmtMs(Math.abs(x))}`;
    const noOver = key === 'wait' || key === 'lifecycle';
    const overText = noOver ? '' : signed(over);
    const overBareText = noOver ? '' : signed(o.median - bare.median);
    console.log(pad(label, W[0]) + pad(cell(o), W[1]) + pad(cell(r), W[2]) + lpad(ratioText, W[3]) + lpad(overText, W[4]) + lpad(overBareText, W[5]) + '   ' + t.join(', '));
  }
  // What no runtime on this Node can go below: the lifecycle is four processes, each a Node start.
  const lifecycleRunc = stats(samples.runc.lifecycle).median;
  const lifecycleOcirun = stats(samples.ocirun.lifecycle).median;
  console.log(`lifecycle floor: four bare Node starts take ${fmtMs(4 * bare.median)} ms, ` +
    `${(4 * bare.median / lifecycleRunc).toFixed(2)}× runc's lifecycle in this run (4 × node -e 0: ${(4 * floor.median / lifecycleRunc).toFixed(2)}×); ` +
    `ocirun's lifecycle is ${fmtMs(lifecycleOcirun - 4 * bare.median)} ms above them`);
  return verdicts;
}

function printRss() {
  const cmds = ['create', 'start', 'state', 'kill', 'delete', 'run'];
  const W = [20, 12, 12, 8];
  console.log(`Peak RSS, MiB (GNU time %M, max over ${rssRuns} run${rssRuns === 1 ? '' : 's'} each)`);
  console.log(pad('', W[0]) + lpad('ocirun', W[1]) + lpad('runc', W[2]) + lpad('ratio', W[3]) + '   target');
  const verdicts = [];
  for (const c of cmds) {
    const o = peak.ocirun[c] / 1024;
    const r = peak.runc[c] / 1024;
    const ok = o <= RSS_LIMIT_MIB;
    verdicts.push(ok);
    console.log(
      pad(c, W[0]) + lpad(o.toFixed(1), W[1]) + lpad(r.toFixed(1), W[2]) + lpad(`${(o / r).toFixed(2)}×`, W[3]) +
        `   ocirun ≤ ${RSS_LIMIT_MIB} MiB  ${ok ? 'PASS' : 'FAIL'}`,
    );
  }
  return verdicts;
}

// -------------------------------------------------------------------- main

function leftovers(rt) {
  try {
    return readdirSync(rt.root).filter((d) => !d.startsWith('.'));
  } catch {
    return [];
  }
}

function main() {
  const version = (rt) => {
    const r = spawnSync(rt.bin, ['--version'], { encoding: 'utf8' });
    return (r.stdout || '').split('\n')[0].trim() || '?';
  };
  const overhead = spawnOverhead();
  console.log(`ocirun: ${runtimes[0].bin} (${version(runtimes[0])})`);
  console.log(`runc:   ${runtimes[1].bin} (${version(runtimes[1])})`);
  console.log(
    `${runs} timed iterations after ${warmup} warmup, runtimes interleaved (order alternates); ` +
      `spawn overhead of the harness ≈ ${fmtMs(overhead)} ms per command, included in every time`,
  );

  // One long-running container per runtime, for `state`.
  for (const rt of runtimes) {
    rt.stateId = newId('state');
    createSleep(rt, rt.stateId);
    exec(rt, ['start', rt.stateId]);
  }

  const total = warmup + runs;
  for (let i = 0; i < total; i++) {
    if (process.stderr.isTTY) process.stderr.write(`\r  iteration ${i + 1}/${total}${i < warmup ? ' (warmup)' : ''}   `);
    iteration(i, i >= warmup);
  }
  for (let i = 0; i < rssRuns; i++) {
    if (process.stderr.isTTY) process.stderr.write(`\r  peak RSS ${i + 1}/${rssRuns}          `);
    rssIteration();
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

  for (const rt of runtimes) deleteGone(rt, rt.stateId, ['delete', '--force', rt.stateId]);
  for (const rt of runtimes) {
    const left = leftovers(rt);
    if (left.length) throw new Error(`${rt.name} left containers behind: ${left.join(' ')}`);
  }

  console.log('');
  const v1 = printTimes();
  let v2 = [];
  if (rssRuns > 0) {
    console.log('');
    v2 = printRss();
  }
  const all = [...v1, ...v2];
  const passed = all.filter(Boolean).length;
  console.log('');
  console.log(`targets: ${passed}/${all.length} PASS`);
  if (strict && passed < all.length) process.exitCode = 2;
}

try {
  main();
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
