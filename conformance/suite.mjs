// ocirun conformance suite: the lifecycle and state operations of the OCI
// runtime specification (runtime.md), checked against any runtime binary that
// speaks runc's command line. Node builtins only; output is TAP version 14.
//
// Environment:
//   RUNTIME              runtime binary (default: <repo>/bin/ocirun)
//   CONFORMANCE_WORKDIR  scratch directory (default: a fresh mkdtemp); it is
//                        removed at the end unless CONFORMANCE_KEEP=1
//   CONFORMANCE_ONLY     regular expression; tests whose name does not match
//                        are reported as skipped
//   CONFORMANCE_TIMEOUT  seconds one runtime invocation may take (default 30)
//
// Usually run through `bash conformance/run`, which picks the node binary and
// adds a second cleanup layer (a shell trap) around this script.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.dirname(HERE);

// ---------------------------------------------------------------- settings

function resolveRuntime(value) {
  if (!value) return path.join(REPO, 'bin', 'ocirun');
  // A bare name is looked up on PATH by spawn; anything with a slash is made
  // absolute because some tests run the runtime from another directory.
  return value.includes('/') ? path.resolve(value) : value;
}

const RUNTIME = resolveRuntime(process.env.RUNTIME);
const OWN_WORKDIR = !process.env.CONFORMANCE_WORKDIR;
const WORK = OWN_WORKDIR
  ? fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-conformance.'))
  : path.resolve(process.env.CONFORMANCE_WORKDIR);
const KEEP = process.env.CONFORMANCE_KEEP === '1';
const ONLY = process.env.CONFORMANCE_ONLY ? new RegExp(process.env.CONFORMANCE_ONLY) : null;
const CALL_TIMEOUT_MS = 1000 * Number(process.env.CONFORMANCE_TIMEOUT || 30);
const WAIT_MS = 10_000; // how long to wait for an asynchronous state change
const QUIET_MS = 500; // how long to watch for something that must NOT happen

// A token unique to this run. It is part of every container id and of the
// command line of every container program, so leftover processes can be found.
const TOKEN = `ocic${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const ROOT = path.join(WORK, 'root'); // the runtime's private --root
const IO = path.join(WORK, 'io'); // stdout/stderr of runtime invocations
const IDS_FILE = path.join(WORK, 'ids'); // every id we used, for the shell trap
const TEMPLATE_ROOTFS = path.join(WORK, 'rootfs-template');

// ---------------------------------------------------------------- TAP output

function yamlScalar(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(String(v)); // a JSON string is a valid YAML double-quoted scalar
}

function yaml(value, indent) {
  const pad = ' '.repeat(indent);
  const lines = [];
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (typeof v === 'string' && v.includes('\n')) {
      lines.push(`${pad}${key}: |-`);
      // YAML forbids most control characters even in block scalars.
      const text = v.replace(/\n+$/, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
      for (const l of text.split('\n')) lines.push(`${pad}  ${l}`);
    } else if (Array.isArray(v)) {
      if (v.length === 0) { lines.push(`${pad}${key}: []`); continue; }
      lines.push(`${pad}${key}:`);
      for (const item of v) {
        if (item && typeof item === 'object') {
          const inner = yaml(item, indent + 4);
          lines.push(`${pad}  - ${inner.trimStart()}`);
        } else {
          lines.push(`${pad}  - ${yamlScalar(item)}`);
        }
      }
    } else if (v && typeof v === 'object') {
      if (Object.keys(v).length === 0) { lines.push(`${pad}${key}: {}`); continue; }
      lines.push(`${pad}${key}:`);
      lines.push(yaml(v, indent + 2));
    } else {
      lines.push(`${pad}${key}: ${yamlScalar(v)}`);
    }
  }
  return lines.join('\n');
}

let stdoutGone = false;
const out = (s) => {
  if (!stdoutGone) process.stdout.write(s + '\n');
};
// If the reader of the TAP stream goes away (e.g. `| head`), stop, but clean up.
process.stdout.on('error', () => {
  stdoutGone = true;
  finalCleanup();
  process.exit(1);
});

// ---------------------------------------------------------------- helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let callSeq = 0;
const usedIds = new Set();
const seenProcesses = []; // {pid, start, what}: processes the runtime reported

/** Run `RUNTIME --root ROOT ...args` and capture exit code, stdout, stderr. */
function runtime(args, { cwd } = {}) {
  const n = ++callSeq;
  const outFile = path.join(IO, `${n}.out`);
  const errFile = path.join(IO, `${n}.err`);
  // Files rather than pipes: a detached container inherits the runtime's
  // stdio, and a pipe would then never reach end-of-file.
  const outFd = fs.openSync(outFile, 'w');
  const errFd = fs.openSync(errFile, 'w');
  const argv = ['--root', ROOT, ...args];
  let r;
  try {
    r = spawnSync(RUNTIME, argv, {
      cwd: cwd || WORK,
      stdio: ['ignore', outFd, errFd],
      timeout: CALL_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
  }
  const res = {
    command: [RUNTIME, ...argv].map(shellQuote).join(' '),
    exit_code: r.status,
    signal: r.signal || undefined,
    spawn_error: r.error ? r.error.message : undefined,
    stdout: fs.readFileSync(outFile, 'utf8'),
    stderr: fs.readFileSync(errFile, 'utf8'),
  };
  if (r.error && r.error.code === 'ETIMEDOUT') res.spawn_error = `timed out after ${CALL_TIMEOUT_MS} ms`;
  res.ok = r.status === 0 && !r.error;
  return res;
}

function shellQuote(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`;
}

function summary(res) {
  if (!res) return undefined;
  return {
    command: res.command,
    exit_code: res.exit_code,
    signal: res.signal,
    spawn_error: res.spawn_error,
    stdout: res.stdout || undefined,
    stderr: res.stderr || undefined,
  };
}

/** Process start time (clock ticks since boot), or null when pid is not a live process. */
function procStart(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    if (state === 'Z' || state === 'X' || state === 'x') return null; // exited, awaiting reaping
    return rest[19]; // field 22 of stat: starttime
  } catch {
    return null;
  }
}

function procCmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return null;
  }
}

/** True when the (pid, start time) pair still names a live process. */
function stillAlive(p) {
  return p.start !== null && procStart(p.pid) === p.start;
}

function recordProcess(pid, what) {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const p = { pid, start: procStart(pid), what };
  if (p.start !== null && !seenProcesses.some((q) => q.pid === p.pid && q.start === p.start)) seenProcesses.push(p);
  return p;
}

class Failure extends Error {
  constructor(message, diag = {}) {
    super(message);
    this.diag = diag;
  }
}

// ---------------------------------------------------------------- bundles

let bundleSeq = 0;

/**
 * The container programs. Each gets TOKEN as its $0 so it shows up in
 * /proc/PID/cmdline. /out is a bind mount of a host directory (bundle.out).
 *  - long:  records "ran", traps USR1 (recorded) and TERM (recorded, exit 0),
 *           then loops forever
 *  - short: records "ran" and exits
 */
const PROGRAMS = {
  long:
    'trap "echo USR1 >> /out/signals" USR1; ' +
    'trap "echo TERM >> /out/signals; exit 0" TERM; ' +
    'echo ran >> /out/marker; ' +
    'while :; do sleep 0.1; done',
  short: 'echo ran >> /out/marker',
};

function configFor({ program = 'long', script, annotations }) {
  const config = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/bin/sh', '-c', script || PROGRAMS[program], TOKEN],
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'],
      cwd: '/',
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'conformance',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/out', type: 'bind', source: '<filled in per bundle>', options: ['rbind', 'rw'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }],
    },
  };
  if (annotations) config.annotations = annotations;
  return config;
}

/** Make a bundle (rootfs copy + config.json) and the host directory bound at /out. */
function makeBundle(opts = {}) {
  const name = `b${++bundleSeq}`;
  const dir = path.join(WORK, 'bundles', name);
  const outDir = path.join(WORK, 'out', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(outDir, { recursive: true });
  const cp = spawnSync('cp', ['-a', TEMPLATE_ROOTFS, path.join(dir, 'rootfs')], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`cp -a rootfs failed: ${cp.stderr}`);
  fs.mkdirSync(path.join(dir, 'rootfs', 'out'), { recursive: true });
  const config = configFor(opts);
  config.mounts.find((m) => m.destination === '/out').source = outDir;
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n');
  return {
    name,
    dir,
    out: outDir,
    configPath,
    config,
    marker: path.join(outDir, 'marker'),
    signals: path.join(outDir, 'signals'),
  };
}

const readLines = (file) => {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

// ---------------------------------------------------------------- test context

class Context {
  constructor(test) {
    this.test = test;
    this.ids = [];
    this.log = []; // every runtime call of this test, for diagnostics
    this.seq = 0;
  }

  /** A fresh container id, registered for cleanup. */
  newId() {
    const id = `${TOKEN}-${this.test.number}-${++this.seq}`;
    this.ids.push(id);
    usedIds.add(id);
    fs.appendFileSync(IDS_FILE, id + '\n');
    return id;
  }

  /** An id that is never used for a container. */
  unknownId() {
    return `${TOKEN}-${this.test.number}-never-created`;
  }

  rt(...args) {
    let opts = {};
    if (args.length && typeof args[args.length - 1] === 'object') opts = args.pop();
    const res = runtime(args, opts);
    this.log.push(`${args.join(' ')} -> ${res.spawn_error ? res.spawn_error : `exit ${res.exit_code}${res.signal ? ` (${res.signal})` : ''}`}`);
    return res;
  }

  fail(message, diag = {}) {
    throw new Failure(message, diag);
  }

  /** Require that a runtime invocation succeeded. */
  mustSucceed(res, what) {
    if (!res.ok) this.fail(`${what}: the runtime failed`, { expected: 'exit code 0', ...summary(res) });
    return res;
  }

  /** Require that a runtime invocation generated an error (non-zero exit). */
  mustFail(res, what) {
    if (res.ok) this.fail(`${what}: the runtime reported success`, { expected: 'an error (non-zero exit code)', ...summary(res) });
    if (res.spawn_error) this.fail(`${what}: the runtime did not run properly`, { expected: 'an error (non-zero exit code)', ...summary(res) });
    return res;
  }

  equal(actual, expected, message, extra = {}) {
    if (actual !== expected) this.fail(message, { expected, actual, ...extra });
  }

  ok(cond, message, extra = {}) {
    if (!cond) this.fail(message, extra);
  }

  /** `state ID`, parsed. Fails the test if the runtime errors or prints invalid JSON. */
  state(id) {
    const res = this.rt('state', id);
    this.mustSucceed(res, `state ${id}`);
    let st;
    try {
      st = JSON.parse(res.stdout);
    } catch (e) {
      this.fail(`state ${id}: output is not valid JSON (${e.message})`, { expected: 'a JSON object', ...summary(res) });
    }
    if (!st || typeof st !== 'object' || Array.isArray(st)) {
      this.fail(`state ${id}: output is not a JSON object`, { expected: 'a JSON object', ...summary(res) });
    }
    if (Number.isInteger(st.pid) && st.pid > 0) recordProcess(st.pid, `pid of ${id} (status ${st.status})`);
    return st;
  }

  /** Poll `state ID` until pred(state) holds; fail after WAIT_MS. */
  async waitState(id, pred, description) {
    const deadline = Date.now() + WAIT_MS;
    let st;
    for (;;) {
      st = this.state(id);
      if (pred(st)) return st;
      if (Date.now() > deadline) this.fail(`timed out after ${WAIT_MS} ms waiting for ${description}`, { expected: description, actual_state: st });
      await sleep(50);
    }
  }

  /** Wait for a file to gain at least `n` lines. */
  async waitLines(file, n, description) {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const lines = readLines(file);
      if (lines.length >= n) return lines;
      if (Date.now() > deadline) this.fail(`timed out after ${WAIT_MS} ms waiting for ${description}`, { expected: description, file, actual_lines: lines });
      await sleep(50);
    }
  }

  /** Wait until a recorded process is gone. */
  async waitGone(p, description) {
    const deadline = Date.now() + WAIT_MS;
    while (stillAlive(p)) {
      if (Date.now() > deadline) this.fail(`timed out after ${WAIT_MS} ms waiting for ${description}`, { expected: description, pid: p.pid, cmdline: procCmdline(p.pid) });
      await sleep(50);
    }
  }

  /** create --bundle DIR ID (must succeed). Returns the state right after. */
  create(id, bundle, extra = []) {
    this.mustSucceed(this.rt('create', '--bundle', bundle.dir, ...extra, id), `create ${id}`);
    return this.state(id);
  }

  /** create + start a long-running container and wait until its program runs. */
  async running(opts = {}) {
    const bundle = makeBundle({ program: 'long', ...opts });
    const id = this.newId();
    const created = this.create(id, bundle);
    this.mustSucceed(this.rt('start', id), `start ${id}`);
    await this.waitLines(bundle.marker, 1, 'the container program to write its marker after start');
    const st = await this.waitState(id, (s) => s.status === 'running', 'status "running"');
    return { id, bundle, created, st, proc: recordProcess(st.pid, `program of ${id}`) };
  }

  /** create + start a short program and wait for status "stopped". */
  async stopped() {
    const bundle = makeBundle({ program: 'short' });
    const id = this.newId();
    const created = this.create(id, bundle);
    const proc = recordProcess(created.pid, `process of ${id}`);
    this.mustSucceed(this.rt('start', id), `start ${id}`);
    await this.waitLines(bundle.marker, 1, 'the container program to write its marker after start');
    const st = await this.waitState(id, (s) => s.status === 'stopped', 'status "stopped" after the program exited');
    return { id, bundle, created, st, proc };
  }

  /** Forced removal of every container this test made. */
  cleanup() {
    for (const id of this.ids) runtime(['delete', '--force', id]);
  }
}

// ---------------------------------------------------------------- checks shared by tests

const STATUSES = ['creating', 'created', 'running', 'stopped'];

/** Check a parsed state object against runtime.md "State". Returns a list of problems. */
function stateProblems(st, { id, status, bundle }) {
  const p = [];
  if (typeof st.ociVersion !== 'string' || st.ociVersion === '') p.push('ociVersion is not a non-empty string');
  else if (!/^\d+\.\d+\.\d+/.test(st.ociVersion)) p.push(`ociVersion ${JSON.stringify(st.ociVersion)} is not a SemVer version`);
  if (typeof st.id !== 'string') p.push('id is not a string');
  else if (id !== undefined && st.id !== id) p.push(`id is ${JSON.stringify(st.id)}, expected ${JSON.stringify(id)}`);
  if (typeof st.status !== 'string') p.push('status is not a string');
  else if (status !== undefined && st.status !== status) p.push(`status is ${JSON.stringify(st.status)}, expected ${JSON.stringify(status)}`);
  const s = status ?? st.status;
  if (s === 'created' || s === 'running') {
    if (!Number.isInteger(st.pid) || st.pid <= 0) p.push(`pid is ${JSON.stringify(st.pid)}; it is REQUIRED (a positive int) when status is ${s}`);
  } else if (st.pid !== undefined && !Number.isInteger(st.pid)) {
    p.push(`pid is ${JSON.stringify(st.pid)}, not an int`);
  }
  if (typeof st.bundle !== 'string') p.push('bundle is not a string');
  else {
    if (!path.isAbsolute(st.bundle)) p.push(`bundle ${JSON.stringify(st.bundle)} is not an absolute path`);
    else if (bundle !== undefined && !samePath(st.bundle, bundle)) p.push(`bundle is ${JSON.stringify(st.bundle)}, expected ${JSON.stringify(bundle)}`);
  }
  if (st.annotations !== undefined) {
    if (!st.annotations || typeof st.annotations !== 'object' || Array.isArray(st.annotations)) p.push('annotations is present but not a map');
    else if (Object.values(st.annotations).some((v) => typeof v !== 'string')) p.push('annotations has non-string values');
  }
  return p;
}

function samePath(a, b) {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

function checkState(t, st, expect, message) {
  const problems = stateProblems(st, expect);
  if (problems.length) t.fail(message, { problems, actual_state: st });
}

// ---------------------------------------------------------------- the tests

const tests = [];
/**
 * @param name   short description, prefixed with the runtime.md section
 * @param spec   the runtime.md sentence(s) the test is derived from
 * @param fn     async (t: Context) => void; throws Failure on failure
 */
function test(name, spec, fn, { runcDeparts } = {}) {
  tests.push({ number: tests.length + 1, name, spec, fn, runcDeparts });
}

/** The runtime under test is runc: its known departures from the spec are reported as TODO, not failures. */
const IS_RUNC = path.basename(RUNTIME) === 'runc';

const SPEC = {
  stateNoId: 'Query State: This operation MUST generate an error if it is not provided the ID of a container.',
  stateUnknown: 'Query State: Attempting to query a container that does not exist MUST generate an error.',
  stateReturns: 'Query State: This operation MUST return the state of a container as specified in the State section.',
  stateFields:
    'State: ociVersion (string, REQUIRED); id (string, REQUIRED); status (string, REQUIRED); ' +
    'pid (int, REQUIRED when status is created or running on Linux); bundle (string, REQUIRED) is the absolute path ' +
    'to the container\'s bundle directory; annotations (map, OPTIONAL). When serialized in JSON, the format MUST adhere to the pattern.',
  stateCreated: 'State: created: the runtime has finished the create operation, and the container process has neither exited nor executed the user-specified program.',
  stateRunning: 'State: running: the container process has executed the user-specified program but has not exited.',
  stateStopped: 'State: stopped: the container process has exited.',
  statePid: 'State: pid (int, REQUIRED when status is created or running on Linux) is the ID of the container process, as seen by the host.',
  stateBundle: "State: bundle (string, REQUIRED) is the absolute path to the container's bundle directory.",
  stateAnnotations: 'State: annotations (map, OPTIONAL) contains the list of annotations associated with the container.',
  createNoArgs: 'Create: This operation MUST generate an error if it is not provided a path to the bundle and the container ID to associate with the container.',
  createUnique: 'Create: If the ID provided is not unique across all containers within the scope of the runtime, or is not valid in any other way, the implementation MUST generate an error and a new container MUST NOT be created.',
  createEnv: 'Lifecycle 2: If the runtime is unable to create the environment specified in the config.json, it MUST generate an error.',
  createNotRun: 'Create: process.args MUST NOT be applied until triggered by the start operation. (Lifecycle 2: the user-specified program MUST NOT be run at this time.)',
  createConfigChange: 'Lifecycle 2: Any updates to config.json after this step MUST NOT affect the container.',
  errorsNoEffect: 'Errors: generating an error MUST leave the state of the environment as if the operation were never attempted.',
  startNoId: 'Start: This operation MUST generate an error if it is not provided the container ID.',
  startNotCreated: 'Start: Attempting to start a container that is not created MUST have no effect on the container and MUST generate an error.',
  startRuns: 'Start: This operation MUST run the user-specified program as specified by process.',
  killNoId: 'Kill: This operation MUST generate an error if it is not provided the container ID.',
  killNotRunning: 'Kill: Attempting to send a signal to a container that is neither created nor running MUST have no effect on the container and MUST generate an error.',
  killSends: 'Kill: This operation MUST send the specified signal to the process in the container.',
  deleteNoId: 'Delete: This operation MUST generate an error if it is not provided the container ID.',
  deleteNotStopped: 'Delete: Attempting to delete a container that is not stopped MUST have no effect on the container and MUST generate an error.',
  deleteResources: 'Delete: Deleting a container MUST delete the resources that were created during the create step. (Lifecycle 9: The container MUST be destroyed by undoing the steps performed during create phase.)',
  deleteForeign: 'Delete: Note that resources associated with the container, but not created by this container, MUST NOT be deleted.',
  deleteReuse: 'Delete: Once a container is deleted its ID MAY be used by a subsequent container.',
  nsInherit: 'config-linux.md Namespaces: If a namespace type is not specified in the namespaces array, the container MUST inherit the runtime namespace of that type.',
  nsJoin: 'config-linux.md Namespaces: path is the namespace file; the container is placed in that namespace. config.md hostname: the container\'s hostname as seen by processes running inside the container.',
  hookCreateFail: 'Lifecycle 3-5: If any prestart / createRuntime / createContainer hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12. Lifecycle 12: the container MUST be destroyed. Lifecycle 13: the poststop hooks MUST be invoked by the runtime.',
  hookStartFail: 'Lifecycle 7: If any startContainer hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.',
  hookPoststartFail: 'Lifecycle 9: If any poststart hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.',
  hookPoststopFail: 'Lifecycle 13: If any poststop hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded.',
  hookStatus: 'State: creating is step 2 of the lifecycle; created: the runtime has finished the create operation (after step 2) and the process has neither exited nor executed the user-specified program; running: after step 8; stopped: the process has exited. Hooks receive the state of the container on stdin.',
};

// ---- state

test('state: no container id is an error', SPEC.stateNoId, async (t) => {
  t.mustFail(t.rt('state'), 'state without an id');
});

test('state: unknown container id is an error', SPEC.stateUnknown, async (t) => {
  t.mustFail(t.rt('state', t.unknownId()), 'state of an id that was never created');
});

test('state: valid JSON with the required fields for created, running and stopped', `${SPEC.stateReturns} ${SPEC.stateFields}`, async (t) => {
  // The program runs until /out/exit appears, so each status can be observed in turn.
  const b = makeBundle({ script: 'echo ran >> /out/marker; while [ ! -e /out/exit ]; do sleep 0.1; done' });
  const id = t.newId();
  const created = t.create(id, b);
  checkState(t, created, { id, status: 'created', bundle: b.dir }, 'state after create does not match the State section');
  t.mustSucceed(t.rt('start', id), 'start');
  await t.waitLines(b.marker, 1, 'the program to run after start');
  const running = await t.waitState(id, (s) => s.status === 'running', 'status "running"');
  checkState(t, running, { id, status: 'running', bundle: b.dir }, 'state while running does not match the State section');
  fs.writeFileSync(path.join(b.out, 'exit'), '');
  const stopped = await t.waitState(id, (s) => s.status === 'stopped', 'status "stopped" after the program exited');
  checkState(t, stopped, { id, status: 'stopped', bundle: b.dir }, 'state when stopped does not match the State section');
});

// ---- create

test('create: no container id is an error', SPEC.createNoArgs, async (t) => {
  const b = makeBundle();
  t.mustFail(t.rt('create', '--bundle', b.dir), 'create with a bundle but no id');
  t.ok(readLines(b.marker).length === 0, 'the program of the bundle ran although create failed', { marker: readLines(b.marker) });
});

test('create: a bundle that does not exist is an error and creates nothing', `${SPEC.createEnv} ${SPEC.createUnique}`, async (t) => {
  const id = t.newId();
  t.mustFail(t.rt('create', '--bundle', path.join(WORK, 'bundles', 'does-not-exist'), id), 'create with a missing bundle');
  t.mustFail(t.rt('state', id), 'state of the id whose create failed (no container may exist)');
});

test('create: status "created", pid of a live process, ociVersion, id, bundle', `${SPEC.stateCreated} ${SPEC.statePid} ${SPEC.stateBundle}`, async (t) => {
  const b = makeBundle();
  const id = t.newId();
  const st = t.create(id, b);
  checkState(t, st, { id, status: 'created', bundle: b.dir }, 'state after create is wrong');
  t.ok(procStart(st.pid) !== null, `pid ${st.pid} reported after create is not a live process on the host`, { actual_state: st });
});

test('create: the user program has not run after create', SPEC.createNotRun, async (t) => {
  const b = makeBundle();
  const id = t.newId();
  t.create(id, b);
  await sleep(QUIET_MS);
  t.ok(!fs.existsSync(b.marker), 'the container program ran before start', { marker: readLines(b.marker) });
  const st = t.state(id);
  t.equal(st.status, 'created', 'status changed without start', { actual_state: st });
});

test('create: a relative --bundle path is reported as an absolute path', SPEC.stateBundle, async (t) => {
  const b = makeBundle();
  const id = t.newId();
  const parent = path.dirname(b.dir);
  t.mustSucceed(t.rt('create', '--bundle', path.basename(b.dir), id, { cwd: parent }), `create ${id} (run in ${parent})`);
  const st = t.state(id);
  t.ok(typeof st.bundle === 'string' && path.isAbsolute(st.bundle), 'bundle in state is not an absolute path', { actual_state: st });
  t.ok(samePath(st.bundle, b.dir), 'bundle in state is not the bundle directory', { expected: b.dir, actual: st.bundle });
});

test('create: annotations from config.json appear in state', SPEC.stateAnnotations, async (t) => {
  const annotations = { 'org.ocirun.conformance.first': 'one', 'org.ocirun.conformance.second': 'two words' };
  const b = makeBundle({ annotations });
  const id = t.newId();
  const st = t.create(id, b);
  t.ok(st.annotations && typeof st.annotations === 'object', 'state has no annotations map', { expected: annotations, actual_state: st });
  for (const [k, v] of Object.entries(annotations)) {
    t.equal(st.annotations[k], v, `annotation ${k} is missing or wrong in state`, { actual_state: st });
  }
});

test('create: --pid-file receives the container pid (runc CLI)', SPEC.statePid, async (t) => {
  const b = makeBundle();
  const id = t.newId();
  const pidFile = path.join(b.out, '..', `${b.name}.pid`);
  const st = t.create(id, b, ['--pid-file', pidFile]);
  let text = null;
  try {
    text = fs.readFileSync(pidFile, 'utf8');
  } catch (e) {
    t.fail('the --pid-file was not written', { pid_file: pidFile, error: e.message });
  }
  t.equal(Number(text.trim()), st.pid, 'pid in --pid-file differs from pid in state', { pid_file_text: text, actual_state: st });
});

test('create: an id already in use is an error and leaves the existing container alone', `${SPEC.createUnique} ${SPEC.errorsNoEffect}`, async (t) => {
  const first = makeBundle({ annotations: { 'org.ocirun.conformance.which': 'first' } });
  const second = makeBundle({ annotations: { 'org.ocirun.conformance.which': 'second' } });
  const id = t.newId();
  const before = t.create(id, first);
  const proc = recordProcess(before.pid, `process of ${id}`);
  t.mustFail(t.rt('create', '--bundle', second.dir, id), 'create with an id already in use');
  const after = t.state(id);
  checkState(t, after, { id, status: 'created', bundle: first.dir }, 'the existing container changed after the failed create', );
  t.equal(after.pid, before.pid, 'the pid of the existing container changed', { before, after });
  t.ok(stillAlive(proc), 'the process of the existing container died after the failed create', { before });
  // The first container still starts and runs its own program, not the second one.
  t.mustSucceed(t.rt('start', id), 'start of the existing container');
  await t.waitLines(first.marker, 1, "the existing container's program to run");
  await sleep(QUIET_MS);
  t.ok(!fs.existsSync(second.marker), "the rejected bundle's program ran", { marker: readLines(second.marker) });
});

test('create: changing config.json after create does not affect the container', SPEC.createConfigChange, async (t) => {
  const b = makeBundle({ script: 'echo original >> /out/marker; sleep 100000' });
  const id = t.newId();
  t.create(id, b);
  const changed = configFor({ script: 'echo modified >> /out/marker; sleep 100000' });
  changed.mounts.find((m) => m.destination === '/out').source = b.out;
  fs.writeFileSync(b.configPath, JSON.stringify(changed, null, 2) + '\n');
  t.mustSucceed(t.rt('start', id), 'start');
  const lines = await t.waitLines(b.marker, 1, 'the program to run after start');
  t.equal(lines.join(','), 'original', 'the program that ran is not the one configured at create time');
});

// ---- start

test('start: no container id is an error', SPEC.startNoId, async (t) => {
  t.mustFail(t.rt('start'), 'start without an id');
});

test('start: unknown container id is an error', SPEC.startNotCreated, async (t) => {
  const id = t.unknownId();
  t.mustFail(t.rt('start', id), 'start of an id that was never created');
  t.mustFail(t.rt('state', id), 'state of that id afterwards (start must not create it)');
});

test('start: runs the user program; status becomes "running"; pid is that program', `${SPEC.startRuns} ${SPEC.stateRunning} ${SPEC.statePid}`, async (t) => {
  const b = makeBundle();
  const id = t.newId();
  const created = t.create(id, b);
  t.mustSucceed(t.rt('start', id), 'start');
  await t.waitLines(b.marker, 1, 'the program to write its marker after start');
  const st = await t.waitState(id, (s) => s.status === 'running', 'status "running"');
  checkState(t, st, { id, status: 'running', bundle: b.dir }, 'state after start is wrong');
  t.equal(st.pid, created.pid, 'the pid changed between create and start (the container process must execute the program)', { created, running: st });
  const cmd = procCmdline(st.pid);
  t.ok(cmd !== null && cmd.includes(TOKEN), `pid ${st.pid} is not the user program`, { cmdline: cmd, expected: `a command line containing ${TOKEN}` });
});

test('start: a program that exits leaves the container "stopped"', `${SPEC.startRuns} ${SPEC.stateStopped}`, async (t) => {
  const c = await t.stopped();
  checkState(t, c.st, { id: c.id, status: 'stopped', bundle: c.bundle.dir }, 'state after the program exited is wrong');
  t.equal(readLines(c.bundle.marker).length, 1, 'the program did not run exactly once', { marker: readLines(c.bundle.marker) });
});

test('start: starting a running container is an error and has no effect', `${SPEC.startNotCreated} ${SPEC.errorsNoEffect}`, async (t) => {
  const c = await t.running();
  t.mustFail(t.rt('start', c.id), 'second start of a running container');
  await sleep(QUIET_MS);
  const st = t.state(c.id);
  t.equal(st.status, 'running', 'status changed after the failed start', { actual_state: st });
  t.equal(st.pid, c.st.pid, 'pid changed after the failed start', { before: c.st, after: st });
  t.ok(stillAlive(c.proc), 'the container process died after the failed start');
  t.equal(readLines(c.bundle.marker).length, 1, 'the program ran again', { marker: readLines(c.bundle.marker) });
});

test('start: starting a stopped container is an error and has no effect', `${SPEC.startNotCreated} ${SPEC.errorsNoEffect}`, async (t) => {
  const c = await t.stopped();
  t.mustFail(t.rt('start', c.id), 'start of a stopped container');
  await sleep(QUIET_MS);
  const st = t.state(c.id);
  t.equal(st.status, 'stopped', 'status changed after the failed start', { actual_state: st });
  t.equal(readLines(c.bundle.marker).length, 1, 'the program ran again', { marker: readLines(c.bundle.marker) });
});

// ---- kill

test('kill: no container id is an error', SPEC.killNoId, async (t) => {
  t.mustFail(t.rt('kill'), 'kill without an id');
});

test('kill: unknown container id is an error', SPEC.killNotRunning, async (t) => {
  t.mustFail(t.rt('kill', t.unknownId(), 'KILL'), 'kill of an id that was never created');
});

test('kill: SIGKILL to a created container ends it; status becomes "stopped"', `${SPEC.killSends} ${SPEC.stateStopped}`, async (t) => {
  const b = makeBundle();
  const id = t.newId();
  const created = t.create(id, b);
  const proc = recordProcess(created.pid, `process of ${id}`);
  t.mustSucceed(t.rt('kill', id, 'KILL'), 'kill KILL of a created container');
  await t.waitGone(proc, `the container process ${created.pid} to end`);
  const st = await t.waitState(id, (s) => s.status === 'stopped', 'status "stopped"');
  checkState(t, st, { id, status: 'stopped', bundle: b.dir }, 'state after kill is wrong');
  t.ok(!fs.existsSync(b.marker), 'the user program ran although the container was never started', { marker: readLines(b.marker) });
});

test('kill: SIGUSR1 reaches the program of a running container', SPEC.killSends, async (t) => {
  const c = await t.running();
  t.mustSucceed(t.rt('kill', c.id, 'USR1'), 'kill USR1');
  const lines = await t.waitLines(c.bundle.signals, 1, 'the program to record SIGUSR1');
  t.equal(lines.join(','), 'USR1', 'the program received something other than one SIGUSR1');
  const st = t.state(c.id);
  t.equal(st.status, 'running', 'a handled SIGUSR1 stopped the container', { actual_state: st });
});

test('kill: SIGTERM reaches the program; when it exits status becomes "stopped"', `${SPEC.killSends} ${SPEC.stateStopped}`, async (t) => {
  const c = await t.running();
  t.mustSucceed(t.rt('kill', c.id, 'TERM'), 'kill TERM');
  const lines = await t.waitLines(c.bundle.signals, 1, 'the program to record SIGTERM');
  t.equal(lines.join(','), 'TERM', 'the program received something other than one SIGTERM');
  await t.waitGone(c.proc, 'the container process to exit');
  const st = await t.waitState(c.id, (s) => s.status === 'stopped', 'status "stopped"');
  checkState(t, st, { id: c.id, status: 'stopped', bundle: c.bundle.dir }, 'state after the program exited is wrong');
});

test('kill: SIGKILL ends a running container; status becomes "stopped"', `${SPEC.killSends} ${SPEC.stateStopped}`, async (t) => {
  const c = await t.running();
  t.mustSucceed(t.rt('kill', c.id, 'KILL'), 'kill KILL');
  await t.waitGone(c.proc, 'the container process to end');
  const st = await t.waitState(c.id, (s) => s.status === 'stopped', 'status "stopped"');
  checkState(t, st, { id: c.id, status: 'stopped', bundle: c.bundle.dir }, 'state after kill is wrong');
});

test('kill: the signal may be given as NAME, SIGNAME or number (runc CLI)', SPEC.killSends, async (t) => {
  const c = await t.running();
  const forms = ['USR1', 'SIGUSR1', String(os.constants.signals.SIGUSR1)];
  for (let i = 0; i < forms.length; i++) {
    t.mustSucceed(t.rt('kill', c.id, forms[i]), `kill ${forms[i]}`);
    await t.waitLines(c.bundle.signals, i + 1, `the program to record the signal sent as ${forms[i]}`);
  }
  const lines = readLines(c.bundle.signals);
  t.equal(lines.join(','), 'USR1,USR1,USR1', 'the program did not receive SIGUSR1 for every form');
});

test('kill: a stopped container is an error and has no effect', `${SPEC.killNotRunning} ${SPEC.errorsNoEffect}`, async (t) => {
  const c = await t.stopped();
  t.mustFail(t.rt('kill', c.id, 'KILL'), 'kill KILL of a stopped container');
  const st = t.state(c.id);
  checkState(t, st, { id: c.id, status: 'stopped', bundle: c.bundle.dir }, 'the container changed after the failed kill');
});

// ---- delete

test('delete: no container id is an error', SPEC.deleteNoId, async (t) => {
  t.mustFail(t.rt('delete'), 'delete without an id');
});

test('delete: unknown container id is an error', SPEC.deleteNotStopped, async (t) => {
  t.mustFail(t.rt('delete', t.unknownId()), 'delete of an id that was never created');
});

test('delete: a running container is an error and it keeps running', `${SPEC.deleteNotStopped} ${SPEC.errorsNoEffect}`, async (t) => {
  const c = await t.running();
  t.mustFail(t.rt('delete', c.id), 'delete (without --force) of a running container');
  await sleep(QUIET_MS);
  const st = t.state(c.id);
  t.equal(st.status, 'running', 'status changed after the failed delete', { actual_state: st });
  t.equal(st.pid, c.st.pid, 'pid changed after the failed delete', { before: c.st, after: st });
  t.ok(stillAlive(c.proc), 'the container process died after the failed delete');
  // and the container is still fully usable
  t.mustSucceed(t.rt('kill', c.id, 'USR1'), 'kill USR1 after the failed delete');
  await t.waitLines(c.bundle.signals, 1, 'the program to record SIGUSR1');
});

test('delete: a stopped container is removed: state errors and its process is gone', `${SPEC.deleteResources} ${SPEC.stateUnknown}`, async (t) => {
  const c = await t.stopped();
  t.mustSucceed(t.rt('delete', c.id), 'delete of a stopped container');
  t.mustFail(t.rt('state', c.id), 'state after delete');
  t.ok(!c.proc || !stillAlive(c.proc), `the container process ${c.created.pid} still exists after delete`, { cmdline: procCmdline(c.created.pid) });
  t.mustFail(t.rt('delete', c.id), 'a second delete of the same id');
});

test('delete: a container killed while running is removed after it stops', SPEC.deleteResources, async (t) => {
  const c = await t.running();
  t.mustSucceed(t.rt('kill', c.id, 'KILL'), 'kill KILL');
  await t.waitState(c.id, (s) => s.status === 'stopped', 'status "stopped"');
  t.mustSucceed(t.rt('delete', c.id), 'delete');
  t.mustFail(t.rt('state', c.id), 'state after delete');
  t.ok(!stillAlive(c.proc), `the container process ${c.proc.pid} still exists after delete`, { cmdline: procCmdline(c.proc.pid) });
});

test('delete: files not created by the container are kept (bundle, rootfs, bind-mount source)', SPEC.deleteForeign, async (t) => {
  const c = await t.stopped();
  const configBefore = fs.readFileSync(c.bundle.configPath, 'utf8');
  t.mustSucceed(t.rt('delete', c.id), 'delete');
  t.ok(fs.existsSync(c.bundle.configPath), 'config.json was removed by delete');
  t.equal(fs.readFileSync(c.bundle.configPath, 'utf8'), configBefore, 'config.json was changed by the runtime');
  t.ok(fs.existsSync(path.join(c.bundle.dir, 'rootfs', 'bin', 'busybox')), 'the rootfs was removed by delete');
  t.ok(fs.existsSync(c.bundle.out), 'the bind-mount source directory was removed by delete');
  t.equal(readLines(c.bundle.marker).join(','), 'ran', 'the file the program wrote to the bind mount is gone');
});

test('delete: the id can be used again for a new container', SPEC.deleteReuse, async (t) => {
  const c = await t.stopped();
  t.mustSucceed(t.rt('delete', c.id), 'delete');
  const b = makeBundle();
  const st = t.create(c.id, b);
  checkState(t, st, { id: c.id, status: 'created', bundle: b.dir }, 'state of the re-created container is wrong');
  t.mustSucceed(t.rt('start', c.id), 'start of the re-created container');
  await t.waitLines(b.marker, 1, 'the new program to run');
});

test('delete --force removes a running container (runc CLI; used by this suite for cleanup)', SPEC.deleteResources, async (t) => {
  const c = await t.running();
  t.mustSucceed(t.rt('delete', '--force', c.id), 'delete --force of a running container');
  t.mustFail(t.rt('state', c.id), 'state after delete --force');
  await t.waitGone(c.proc, 'the container process to end after delete --force');
});

// ---- namespaces (config-linux.md) and hooks (runtime.md lifecycle, config.md hooks)

/** Our own namespace inode of a kind, as /proc shows it. */
const ownNs = (kind) => fs.readlinkSync(`/proc/self/ns/${kind}`);

/** Host mounts under dir (mount point field of our mountinfo). */
function mountsUnder(dir) {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => (l.split(' ')[4] || '').startsWith(dir));
}

/** Take down what a runtime left mounted under dir (deepest first), so later tests start clean. */
function unmountUnder(dir) {
  for (const line of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', line.split(' ')[4]]);
}

/** A bundle whose config lists no namespaces: everything is the runtime's. */
function noNamespaceBundle() {
  const b = makeBundle({ program: 'long' });
  b.config.linux.namespaces = [];
  delete b.config.hostname;
  fs.writeFileSync(b.configPath, JSON.stringify(b.config, null, 2) + '\n');
  return b;
}

test('namespaces: with none listed, the container is in the runtime\'s namespaces and runs', SPEC.nsInherit, async (t) => {
  const b = noNamespaceBundle();
  const id = t.newId();
  try {
    const st = t.create(id, b);
    for (const kind of ['mnt', 'pid', 'net', 'ipc', 'uts']) {
      t.equal(fs.readlinkSync(`/proc/${st.pid}/ns/${kind}`), ownNs(kind), `the container's ${kind} namespace is not the runtime's`);
    }
    t.mustSucceed(t.rt('start', id), `start ${id}`);
    await t.waitLines(b.marker, 1, 'the program to run');
    t.mustSucceed(t.rt('delete', '--force', id), `delete --force ${id}`);
  } finally {
    unmountUnder(b.dir);
  }
});

test('namespaces: with no mount namespace, delete removes the mounts create made in the runtime\'s', `${SPEC.nsInherit} ${SPEC.deleteResources}`, async (t) => {
  const b = noNamespaceBundle();
  const id = t.newId();
  const before = mountsUnder(b.dir);
  try {
    t.create(id, b);
    t.mustSucceed(t.rt('delete', '--force', id), `delete --force ${id}`);
    const after = mountsUnder(b.dir);
    t.equal(after.length, before.length, 'mounts made by create are still there after delete', { mounts: after });
  } finally {
    unmountUnder(b.dir);
  }
}, { runcDeparts: 'runc leaves the rootfs mounts it made in its own mount namespace after delete' });

test('namespaces: hostname is set in a uts namespace joined by path', `${SPEC.nsJoin} ${SPEC.nsInherit}`, async (t) => {
  const { spawn } = await import('node:child_process');
  const holder = spawn('unshare', ['--uts', 'sleep', '1000'], { stdio: 'ignore' });
  try {
    const deadline = Date.now() + WAIT_MS;
    while (fs.readlinkSync(`/proc/${holder.pid}/ns/uts`) === ownNs('uts')) {
      if (Date.now() > deadline) t.fail('could not make a uts namespace to join (unshare --uts)');
      await sleep(20);
    }
    const b = makeBundle({ program: 'long' });
    const name = `joined-${TOKEN}`.slice(0, 60);
    b.config.hostname = name;
    b.config.linux.namespaces = b.config.linux.namespaces.map((n) => (n.type === 'uts' ? { type: 'uts', path: `/proc/${holder.pid}/ns/uts` } : n));
    fs.writeFileSync(b.configPath, JSON.stringify(b.config, null, 2) + '\n');
    const id = t.newId();
    const st = t.create(id, b);
    t.equal(fs.readlinkSync(`/proc/${st.pid}/ns/uts`), fs.readlinkSync(`/proc/${holder.pid}/ns/uts`), 'the container is not in the uts namespace it was given');
    const seen = spawnSync('nsenter', [`--uts=/proc/${holder.pid}/ns/uts`, 'hostname'], { encoding: 'utf8' });
    t.equal((seen.stdout || '').trim(), name, 'the joined uts namespace does not have the configured hostname');
  } finally {
    holder.kill('SIGKILL');
  }
});

/** A hook that appends its stdin (the state) as one line to a host file. */
const recordHook = (file) => ({ path: '/bin/sh', args: ['sh', '-c', `cat >> ${file}; echo >> ${file}`] });
/** The same from inside the container (after pivot_root), where the bundle's out directory is /out. */
const recordHookInside = (name) => ({ path: '/bin/sh', args: ['sh', '-c', `cat >> /out/${name}; echo >> /out/${name}`] });
const failingHook = (code) => ({ path: '/bin/sh', args: ['sh', '-c', `exit ${code}`] });
const statesIn = (file) => readLines(file).map((l) => JSON.parse(l));

function hookBundle(hooks, program = 'long') {
  const b = makeBundle({ program });
  b.config.hooks = hooks(b);
  fs.writeFileSync(b.configPath, JSON.stringify(b.config, null, 2) + '\n');
  return b;
}

for (const kind of ['prestart', 'createRuntime', 'createContainer']) {
  test(`hooks: a failing ${kind} hook fails create, destroys the container and runs poststop`, SPEC.hookCreateFail, async (t) => {
    const b = hookBundle((bb) => ({ [kind]: [failingHook(3)], poststop: [recordHook(path.join(bb.out, 'poststop'))] }));
    const id = t.newId();
    t.mustFail(t.rt('create', '--bundle', b.dir, id), `create with a failing ${kind} hook`);
    t.mustFail(t.rt('state', id), 'state of the container whose create failed');
    t.ok(!fs.existsSync(b.marker), 'the user program ran');
    const post = statesIn(path.join(b.out, 'poststop'));
    t.equal(post.length, 1, 'the poststop hook did not run once after the failed create', { poststop_states: post });
  });
}

test('hooks: a failing startContainer hook fails start; the program never runs and the container stops', SPEC.hookStartFail, async (t) => {
  const b = hookBundle(() => ({ startContainer: [failingHook(4)] }));
  const id = t.newId();
  const st = t.create(id, b);
  const proc = recordProcess(st.pid, `process of ${id}`);
  t.mustFail(t.rt('start', id), 'start with a failing startContainer hook');
  await t.waitGone(proc, 'the container process to end');
  t.ok(!fs.existsSync(b.marker), 'the user program ran although its startContainer hook failed');
}, { runcDeparts: 'runc (1.1) answers start before its init runs the startContainer hooks, so start succeeds' });

test('hooks: a failing poststart hook fails start and stops the container', SPEC.hookPoststartFail, async (t) => {
  const b = hookBundle(() => ({ poststart: [failingHook(5)] }));
  const id = t.newId();
  const st = t.create(id, b);
  const proc = recordProcess(st.pid, `process of ${id}`);
  t.mustFail(t.rt('start', id), 'start with a failing poststart hook');
  await t.waitGone(proc, 'the container process to be stopped');
}, { runcDeparts: 'runc 1.1 runs the poststart hooks during create (and fails create); runc 1.2 follows the spec' });

test('hooks: a failing poststop hook only warns; the next poststop hook runs and delete succeeds', SPEC.hookPoststopFail, async (t) => {
  const b = hookBundle((bb) => ({ poststop: [failingHook(6), recordHook(path.join(bb.out, 'poststop'))] }));
  const id = t.newId();
  t.create(id, b);
  t.mustSucceed(t.rt('delete', '--force', id), 'delete with a failing poststop hook');
  t.mustFail(t.rt('state', id), 'state after delete');
  t.equal(statesIn(path.join(b.out, 'poststop')).length, 1, 'the poststop hook after the failing one did not run');
}, { runcDeparts: 'runc stops at the first failing poststop hook' });

test('hooks: each kind gets the state with the status of its lifecycle step', SPEC.hookStatus, async (t) => {
  const b = hookBundle((bb) => ({
    prestart: [recordHook(path.join(bb.out, 'prestart'))],
    createRuntime: [recordHook(path.join(bb.out, 'createRuntime'))],
    // Before pivot_root: its path resolves in the runtime's mount namespace, so host paths work.
    createContainer: [recordHook(path.join(bb.out, 'createContainer'))],
    startContainer: [recordHookInside('startContainer')],
    poststart: [recordHook(path.join(bb.out, 'poststart'))],
    poststop: [recordHook(path.join(bb.out, 'poststop'))],
  }));
  const id = t.newId();
  const st = t.create(id, b);
  t.mustSucceed(t.rt('start', id), `start ${id}`);
  await t.waitLines(b.marker, 1, 'the program to run');
  t.mustSucceed(t.rt('delete', '--force', id), `delete --force ${id}`);
  const want = { prestart: 'created', createRuntime: 'created', createContainer: 'created', startContainer: 'created', poststart: 'running', poststop: 'stopped' };
  const got = {};
  for (const kind of Object.keys(want)) {
    const states = statesIn(path.join(b.out, kind));
    got[kind] = states.map((s) => s.status).join(',');
    for (const s of states) if (s.id !== id) t.fail(`${kind}: the state names another container`, { state: s });
    if (kind !== 'poststop') for (const s of states) t.equal(s.pid, st.pid, `${kind}: the state's pid is not the container process`, { state: s });
  }
  t.equal(JSON.stringify(got), JSON.stringify(want), 'the statuses the hooks received differ from the lifecycle steps they run at', { expected: want, actual: got });
}, { runcDeparts: 'runc gives prestart, createRuntime and createContainer hooks the status "creating"' });

// ---- the last test: nothing left behind

const finalTest = { number: tests.length + 1, name: 'cleanup: no container process, host mount or cgroup is left behind', spec: SPEC.deleteResources };

/** Force-delete every id used, then look for survivors. Returns diagnostics, or null if clean. */
async function leftovers() {
  for (const id of usedIds) runtime(['delete', '--force', id]);
  const deadline = Date.now() + 5000;
  let procs, mounts, cgroups;
  for (;;) {
    procs = [];
    for (const p of seenProcesses) if (stillAlive(p)) procs.push({ pid: p.pid, what: p.what, cmdline: procCmdline(p.pid) });
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      const cmd = procCmdline(entry);
      if (cmd && cmd.includes(TOKEN) && procStart(entry) !== null && !procs.some((p) => p.pid === Number(entry))) {
        procs.push({ pid: Number(entry), what: 'process whose command line carries this run\'s token', cmdline: cmd });
      }
    }
    mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(WORK));
    cgroups = tokenCgroups();
    if ((procs.length === 0 && mounts.length === 0 && cgroups.length === 0) || Date.now() > deadline) break;
    await sleep(100);
  }
  if (procs.length === 0 && mounts.length === 0 && cgroups.length === 0) return null;
  // Do not leave them behind: kill exactly these pids, then remove the cgroups.
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {}
  }
  await sleep(200);
  for (const dir of cgroups) {
    try {
      fs.rmdirSync(dir);
    } catch {}
  }
  return {
    message: 'processes, host mounts or cgroups survived delete --force of every container',
    processes: procs,
    mounts,
    cgroups,
  };
}

/**
 * Directories in the host's cgroup hierarchies whose name contains this run's
 * token (every container id does). Which cgroup a runtime uses when
 * linux.cgroupsPath is absent is up to the runtime; this finds the common
 * choice of naming it after the container id. Deepest first.
 */
function tokenCgroups() {
  const found = [];
  const roots = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' - '))
    .filter((parts) => parts.length === 2 && /^cgroup2? /.test(parts[1]))
    .map((parts) => parts[0].split(' ')[4]);
  const walk = (dir, depth) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const sub = path.join(dir, e.name);
      if (depth < 8) walk(sub, depth + 1);
      if (e.name.includes(TOKEN)) found.push(sub);
    }
  };
  for (const r of roots) walk(r, 1);
  return found;
}

// ---------------------------------------------------------------- runner

let cleanedUp = false;
function finalCleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const id of usedIds) {
    try {
      runtime(['delete', '--force', id]);
    } catch {}
  }
  if (!KEEP) {
    try {
      fs.rmSync(WORK, { recursive: true, force: true });
    } catch {}
  }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    out(`Bail out! interrupted by ${sig}`);
    finalCleanup();
    process.exit(130);
  });
}
process.on('exit', finalCleanup);

function bail(message) {
  out(`Bail out! ${message}`);
  finalCleanup();
  process.exit(2);
}

function report(number, name, spec, failure, todo = null) {
  out(`# ${spec}`);
  if (!failure) {
    out(`ok ${number} - ${name}`);
    return;
  }
  // TAP's TODO directive: a known failure that does not fail the run.
  out(`not ok ${number} - ${name}${todo ? ` # TODO ${todo}` : ''}`);
  out('  ---');
  out(yaml(failure, 2));
  out('  ...');
}

async function main() {
  out('TAP version 14');
  if (process.getuid && process.getuid() !== 0) bail('this suite creates containers and must run as root');
  fs.mkdirSync(ROOT, { recursive: true });
  fs.mkdirSync(IO, { recursive: true });
  fs.writeFileSync(IDS_FILE, '', { flag: 'a' });

  const probe = spawnSync(RUNTIME, ['--version'], { encoding: 'utf8', timeout: CALL_TIMEOUT_MS });
  if (probe.error && probe.error.code === 'ENOENT') bail(`runtime ${RUNTIME} not found (set RUNTIME=/path/to/runtime)`);
  if (probe.error && probe.error.code === 'EACCES') bail(`runtime ${RUNTIME} is not executable`);

  const build = spawnSync('bash', [path.join(REPO, 'bundles', 'build-rootfs.sh'), TEMPLATE_ROOTFS], { encoding: 'utf8' });
  if (build.status !== 0) bail(`building the rootfs failed: ${(build.stderr || '').trim()}`);

  out(`# runtime: ${RUNTIME} (${(probe.stdout || '').split('\n')[0].trim() || 'no --version output'})`);
  out(`# work directory: ${WORK}`);
  out(`1..${tests.length + 1}`);

  let failed = 0;
  for (const tst of tests) {
    if (ONLY && !ONLY.test(tst.name)) {
      out(`ok ${tst.number} - ${tst.name} # SKIP not selected by CONFORMANCE_ONLY`);
      continue;
    }
    const t = new Context(tst);
    let failure = null;
    try {
      await tst.fn(t);
    } catch (e) {
      failure = e instanceof Failure
        ? { message: e.message, spec: tst.spec, ...e.diag }
        : { message: `the test itself crashed: ${e && e.message}`, spec: tst.spec, stack: e && e.stack };
      failure.runtime_calls = t.log;
    }
    t.cleanup();
    const todo = failure && IS_RUNC && tst.runcDeparts ? `runc departs from the spec here: ${tst.runcDeparts}` : null;
    if (failure && !todo) failed++;
    report(tst.number, tst.name, tst.spec, failure, todo);
    await sleep(0); // let signal handlers run between tests
  }

  const left = await leftovers();
  if (left) failed++;
  report(finalTest.number, finalTest.name, finalTest.spec, left && { spec: finalTest.spec, ...left });

  out(`# ${tests.length + 1 - failed} passed, ${failed} failed`);
  finalCleanup();
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => bail(`suite error: ${e && e.stack ? e.stack.split('\n').join(' | ') : e}`));
