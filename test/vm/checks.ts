// The VM tier's checks, run inside the VMs by test/vm/run (node runs this
// file directly: erasable TypeScript only, no imports from src/). Node starts
// 30-45 times slower under emulation, so this is one process driving
// bin/ocirun, not the tap suite. Each check prints a TAP line; the exit
// status is the number of failures (capped).
//   checks.ts cgroup2   pure cgroup2, no systemd (cgroupfs driver)
//   checks.ts systemd   systemd as PID 1: the --systemd-cgroup driver
import { type ChildProcess, spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Helpers } from './criu-engines.js';

const TOP = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OCIRUN = join(TOP, 'bin/ocirun');
const CG = '/sys/fs/cgroup';
const WORK = '/tmp/ocivm';
const ROOT = join(WORK, 'state');
const MODE = process.argv[2] ?? 'cgroup2';

let count = 0;
let failures = 0;
const started = Date.now();

function ok(cond: boolean, what: string, detail = ''): boolean {
  count += 1;
  if (!cond) failures += 1;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${cond ? 'ok' : 'not ok'} ${count} - ${what}${!cond && detail ? ` # ${detail.trim().replace(/\n/g, ' | ')}` : ''} [${secs}s]`);
  return cond;
}

function eq(got: unknown, want: unknown, what: string): boolean {
  return ok(JSON.stringify(got) === JSON.stringify(want), what, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function section(name: string): void {
  console.log(`# ${name}`);
}

interface Result { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** Global flags for every ocirun command: the systemd run passes --systemd-cgroup, as engines do. */
const GLOBAL = MODE.startsWith('systemd') ? ['--systemd-cgroup'] : [];

function oc(args: string[], opts: SpawnSyncOptions = {}): Result {
  return run(OCIRUN, ['--root', ROOT, ...GLOBAL, ...args], opts);
}

/** A command that leaves a container behind: its stdio goes to files, not pipes that would stay open. */
function ocDetached(args: string[], prefix: string[] = []): Result {
  const out = join(WORK, 'last.out');
  const err = join(WORK, 'last.err');
  const o = openSync(out, 'w');
  const e = openSync(err, 'w');
  try {
    const argv = [...prefix, OCIRUN, '--root', ROOT, ...GLOBAL, ...args];
    const r = spawnSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', o, e], timeout: 120_000 });
    return { code: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  } finally {
    closeSync(o);
    closeSync(e);
  }
}

const read = (dir: string, file: string): string => {
  try { return readFileSync(join(dir, file), 'utf8').trim(); } catch { return '<missing>'; }
};

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function until(cond: () => boolean, timeoutMs = 20_000): boolean {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    sleepMs(50);
  }
  return true;
}

function cgroupOf(pid: number): string {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
    return line ? line.slice(3) : '<none>';
  } catch {
    return '<gone>';
  }
}

function state(id: string): Record<string, unknown> | null {
  const r = oc(['state', id]);
  return r.code === 0 ? JSON.parse(r.stdout) as Record<string, unknown> : null;
}

/** Lines of a cgroup.procs (or any list file) as numbers. */
function procs(dir: string): number[] {
  return read(dir, 'cgroup.procs').split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

// ------------------------------------------------------------- the bundle

type Config = Record<string, any>;

// Built on the host by test/vm/run (400 symlinks take 40 s under emulation).
const ROOTFS = process.env.OCIVM_ROOTFS ?? join(WORK, 'rootfs');
const BUNDLE = join(WORK, 'bundle');

function config(args: string[], linux: Config = {}): Config {
  return {
    ociVersion: '1.3.0',
    process: {
      terminal: false, user: { uid: 0, gid: 0 }, args, cwd: '/',
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'],
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
      noNewPrivileges: true,
    },
    root: { path: ROOTFS, readonly: true },
    hostname: 'vmbox',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
      { destination: '/out', type: 'bind', source: join(WORK, 'out'), options: ['rbind', 'rw'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      ...linux,
    },
  };
}

function writeConfig(c: Config): void {
  writeFileSync(join(BUNDLE, 'config.json'), JSON.stringify(c));
}

let serial = 0;
const made: string[] = [];
function newId(): string {
  serial += 1;
  const id = `vm${serial}`;
  made.push(id);
  return id;
}

/** create + start; the init's host pid, 0 on failure. */
function startContainer(id: string, what: string): number {
  const pidFile = join(WORK, `${id}.pid`);
  const c = ocDetached(['create', '--bundle', BUNDLE, '--pid-file', pidFile, id]);
  if (!ok(c.code === 0, `${what}: create`, c.stderr)) return 0;
  const s = oc(['start', id]);
  if (!ok(s.code === 0, `${what}: start`, s.stderr)) return 0;
  return Number(readFileSync(pidFile, 'utf8'));
}

function counter(): number {
  try { return Number(readFileSync(join(WORK, 'out/count'), 'utf8') || 0); } catch { return 0; }
}

function setup(): void {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(join(WORK, 'out'), { recursive: true });
  mkdirSync(BUNDLE, { recursive: true });
  if (!existsSync(join(ROOTFS, 'bin/busybox'))) {
    const b = run('bash', [join(TOP, 'bundles/build-rootfs.sh'), ROOTFS]);
    if (b.code !== 0) throw new Error(`building the rootfs failed: ${b.stderr}`);
  }
}

function cleanup(): void {
  for (const id of made) oc(['delete', '--force', id]);
}

// ------------------------------------------------------------- cgroup v2

const LOOP = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /out/count; usleep 50000; done'];

/** cpu.shares → cpu.weight, runc's mapping (the file shows this). */
const weightOf = (shares: number): number => 1 + Math.floor(((shares - 2) * 9999) / 262142);

function placementNextToCaller(): void {
  section('no cgroupsPath from a populated cgroup (a session, a service): next to it, and it is left as it was');
  const slice = join(CG, 'ocivm.slice');
  const caller = join(slice, 'caller');
  mkdirSync(caller, { recursive: true });
  const sleeper: ChildProcess = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec sleep 600', caller], { stdio: 'ignore' });
  until(() => procs(caller).length > 0, 5000);
  const before = [read(caller, 'cgroup.type'), read(caller, 'cgroup.subtree_control')];
  writeConfig(config(['sleep', '600'], { resources: { memory: { limit: 64 * 1024 * 1024, swappiness: 30 }, pids: { limit: 32 }, cpu: { shares: 512, quota: 20000, period: 100000 } } }));
  const id = newId();
  const pidFile = join(WORK, `${id}.pid`);
  const c = ocDetached(['create', '--bundle', BUNDLE, '--pid-file', pidFile, id], ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', caller]);
  if (ok(c.code === 0, 'create from inside the populated cgroup (memory.swappiness ignored on v2, as runc)', c.stderr)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const dir = join(slice, id);
    eq(cgroupOf(pid), `/ocivm.slice/${id}`, 'the container sits next to the caller\'s cgroup');
    eq([read(caller, 'cgroup.type'), read(caller, 'cgroup.subtree_control')], before, 'the caller\'s cgroup: still a domain, no controller enabled');
    eq(read(dir, 'memory.max'), String(64 * 1024 * 1024), 'memory.max');
    eq(read(dir, 'pids.max'), '32', 'pids.max');
    eq(read(dir, 'cpu.max'), '20000 100000', 'cpu.max');
    eq(read(dir, 'cpu.weight'), String(weightOf(512)), 'cpu.weight from cpu.shares');
    eq(read(dir, 'memory.swappiness'), '<missing>', 'no swappiness file on v2');
    const stats = oc(['events', '--stats', id]);
    ok(stats.code === 0 && /"swap":\{"limit":18446744073709551615,/.test(stats.stdout), 'events --stats: an unlimited swap is 18446744073709551615, every digit', stats.stdout.slice(0, 300) + stats.stderr);
    const d = oc(['delete', '--force', id]);
    ok(d.code === 0 && !existsSync(dir), 'delete --force removes its cgroup', d.stderr);
  }
  sleeper.kill('SIGKILL');
  until(() => procs(caller).length === 0, 5000);
  rmdirSync(caller);
  rmdirSync(slice);
}

function resourcesAndLifecycle(): void {
  section('resources in the files, devices, exec, ps, pause/resume, update, kill --all, delete');
  const path = '/ocivm-abs/c';
  const dir = join(CG, path);
  const hugetlb = existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB');
  const resources: Config = {
    memory: { limit: 128 * 1024 * 1024, swap: 192 * 1024 * 1024, reservation: 32 * 1024 * 1024 },
    cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0', mems: '0' },
    pids: { limit: 64 },
    unified: { 'memory.high': String(100 * 1024 * 1024) },
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'r' }],
  };
  if (hugetlb) resources.hugepageLimits = [{ pageSize: '2MB', limit: 4 * 1024 * 1024 }];
  writeConfig(config(LOOP, {
    cgroupsPath: path, resources,
    devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }, { path: '/dev/loop-control', type: 'c', major: 10, minor: 237 }],
  }));
  const id = newId();
  const pid = startContainer(id, 'an absolute cgroupsPath');
  if (!pid) return;
  eq(cgroupOf(pid), path, 'the init is in the container\'s cgroup');
  eq(read(dir, 'memory.max'), String(128 * 1024 * 1024), 'memory.max');
  eq(read(dir, 'memory.swap.max'), String(64 * 1024 * 1024), 'memory.swap.max (swap alone: memory+swap minus memory)');
  eq(read(dir, 'memory.low'), String(32 * 1024 * 1024), 'memory.low from reservation');
  eq(read(dir, 'memory.high'), String(100 * 1024 * 1024), 'unified: memory.high');
  eq(read(dir, 'cpu.weight'), String(weightOf(1024)), 'cpu.weight');
  eq(read(dir, 'cpu.max'), '50000 100000', 'cpu.max');
  eq(read(dir, 'cpuset.cpus'), '0', 'cpuset.cpus');
  eq(read(dir, 'pids.max'), '64', 'pids.max');
  if (hugetlb) eq(read(dir, 'hugetlb.2MB.max'), String(4 * 1024 * 1024), 'hugetlb.2MB.max');

  const probe = oc(['exec', id, 'sh', '-c', 'head -c 4 /dev/zero | wc -c; head -c 0 /dev/fuse && echo fuse-read-ok; echo x > /dev/fuse; head -c 0 /dev/loop-control; true']);
  ok(/^4$/m.test(probe.stdout), 'device program: /dev/zero (a default device) works', probe.stdout + probe.stderr);
  ok(/fuse-read-ok/.test(probe.stdout), 'device program: "r" on /dev/fuse lets it be opened for reading', probe.stdout + probe.stderr);
  ok(/can't create \/dev\/fuse: Operation not permitted/.test(probe.stderr), 'device program: but not for writing', probe.stderr);
  ok(/loop-control: Operation not permitted/.test(probe.stderr), 'device program: a device no rule allows is refused', probe.stderr);

  const e = ocDetached(['exec', '--detach', '--pid-file', join(WORK, 'exec.pid'), id, 'sleep', '300']);
  if (ok(e.code === 0, 'exec --detach', e.stderr)) {
    const execPid = Number(readFileSync(join(WORK, 'exec.pid'), 'utf8'));
    eq(cgroupOf(execPid), path, 'exec joins the container\'s cgroup');
    const ps = oc(['ps', '--format', 'json', id]);
    const listed = ps.code === 0 ? JSON.parse(ps.stdout) as number[] : [];
    ok(listed.includes(pid) && listed.includes(execPid), 'ps lists the init and the exec\'d process', ps.stdout + ps.stderr);
  }

  ok(until(() => counter() > 2), 'the container is counting');
  const p = oc(['pause', id]);
  ok(p.code === 0, 'pause', p.stderr);
  eq(read(dir, 'cgroup.freeze'), '1', 'cgroup.freeze is 1');
  ok(/^frozen 1$/m.test(read(dir, 'cgroup.events')), 'cgroup.events: frozen 1');
  eq(state(id)?.status, 'paused', 'state: paused');
  const at = counter();
  sleepMs(1500);
  eq(counter(), at, 'no progress while paused');
  const r = oc(['resume', id]);
  ok(r.code === 0, 'resume', r.stderr);
  ok(until(() => counter() > at + 2), 'counting again after resume');

  const u = oc(['update', '--memory', '96m', '--memory-swap', '160m', '--pids-limit', '20', '--cpu-quota', '30000', id]);
  ok(u.code === 0, 'update', u.stderr);
  eq(read(dir, 'memory.max'), String(96 * 1024 * 1024), 'update: memory.max');
  eq(read(dir, 'memory.swap.max'), String(64 * 1024 * 1024), 'update: memory.swap.max');
  eq(read(dir, 'pids.max'), '20', 'update: pids.max');
  eq(read(dir, 'cpu.max'), '30000 100000', 'update: cpu.max');

  const stats = oc(['events', '--stats', id]);
  const ev = stats.code === 0 ? JSON.parse(stats.stdout) as Config : {};
  eq(ev.data?.memory?.usage?.limit, 96 * 1024 * 1024, 'events --stats: memory limit');
  eq(ev.data?.pids?.limit, 20, 'events --stats: pids limit');
  ok((ev.data?.cpu?.usage?.total ?? 0) > 0, 'events --stats: cpu usage');

  const k = oc(['kill', '--all', id, 'KILL']);
  ok(k.code === 0, 'kill --all', k.stderr);
  ok(until(() => procs(dir).length === 0), 'kill --all: the cgroup is empty (init and exec\'d process)');
  ok(until(() => state(id)?.status === 'stopped'), 'stopped');
  const d = oc(['delete', id]);
  ok(d.code === 0, 'delete', d.stderr);
  ok(!existsSync(join(CG, 'ocivm-abs')), 'delete: the cgroup and the parent it made are gone');
}

function hostPidNamespace(): void {
  section('a container in the host pid namespace: kill --all after its init exited, delete kills what is left');
  const c = config(['sh', '-c', 'sleep 300 & sleep 301 & echo started > /out/flag; exit 0'], { cgroupsPath: '/ocivm-hostpid' });
  c.linux.namespaces = c.linux.namespaces.filter((n: Config) => n.type !== 'pid');
  writeConfig(c);
  const id = newId();
  if (!startContainer(id, 'no pid namespace')) return;
  const dir = join(CG, 'ocivm-hostpid');
  ok(until(() => existsSync(join(WORK, 'out/flag')) && state(id)?.status === 'stopped'), 'the init is gone');
  eq(procs(dir).length, 2, 'its two children are still in the cgroup');
  const k = oc(['kill', '--all', id, 'KILL']);
  ok(k.code === 0 && until(() => procs(dir).length === 0), 'kill --all on a stopped container reaches them (cgroup.kill)', k.stderr);
  ok(oc(['delete', id]).code === 0 && !existsSync(dir), 'delete: nothing left');
}

function oomEvent(): void {
  section('OOM: the kill and the oom event');
  writeConfig(config(['sleep', '600'], { cgroupsPath: '/ocivm-oom', resources: { memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } } }));
  const id = newId();
  if (!startContainer(id, 'a 32M container')) return;
  const events = spawn(OCIRUN, ['--root', ROOT, ...GLOBAL, 'events', '--interval', '1s', id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  events.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
  // The events process runs in this process's event loop: wait asynchronously.
  return void waitAsync(async () => {
    await untilAsync(() => text.includes('"type":"stats"'), 30_000);
    const eat = ocDetached(['exec', '--detach', id, 'tail', '/dev/zero']);
    ok(eat.code === 0, 'exec a memory eater', eat.stderr);
    ok(await untilAsync(() => text.includes('"type":"oom"'), 60_000), 'events reports the OOM kill', text.slice(-300));
    ok(/^oom_kill [1-9]/m.test(read(join(CG, 'ocivm-oom'), 'memory.events')), 'memory.events counts it');
    oc(['delete', '--force', id]);
    ok(await untilAsync(() => events.exitCode !== null, 20_000), 'events ends with the container');
    events.kill('SIGKILL');
    ok(!existsSync(join(CG, 'ocivm-oom')), 'delete --force: nothing left');
  });
}

function failureGivesBack(): void {
  section('a create that fails gives back what it enabled on a cgroup it did not make');
  const lone = join(CG, 'ocivm-lone');
  mkdirSync(lone);
  eq(read(lone, 'cgroup.subtree_control'), '', 'the pre-existing cgroup enables nothing');
  writeConfig(config(['true'], { cgroupsPath: '/ocivm-lone/x', resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 10 }, unified: { 'memory.nosuchfile': '1' } } }));
  const id = newId();
  const c = ocDetached(['create', '--bundle', BUNDLE, id]);
  ok(c.code === 1 && /memory\.nosuchfile/.test(c.stderr), 'create fails naming the field', c.stderr);
  ok(!existsSync(join(lone, 'x')), 'its cgroup is gone');
  eq(read(lone, 'cgroup.subtree_control'), '', 'the controllers it enabled there are disabled again');
  ok(!existsSync(join(ROOT, id)), 'no state left');
  rmdirSync(lone);
}

function leftovers(): void {
  section('nothing left behind');
  // Under systemd, the containers' scopes live in system.slice; slices systemd made stay its own.
  const where = MODE === 'systemd' ? join(CG, 'system.slice') : CG;
  const left = readdirSync(where, { withFileTypes: true }).filter((e) => e.isDirectory() && /^(ocivm|ocirun-|pfx-)/.test(e.name) && !e.name.endsWith('.service')).map((e) => e.name);
  eq(left, [], `no test cgroup left in ${where}`);
  const listed = oc(['list', '--format', 'json']);
  // runc prints null for no containers.
  eq(listed.code === 0 ? JSON.parse(listed.stdout || 'null') ?? [] : listed.stderr, [], 'no container left in the state root');
}

// ------------------------------------------------------------------ systemd

/** systemctl show: the properties asked for, as systemd reports them. */
function show(unit: string, props: string[]): Record<string, string> {
  const r = run('systemctl', ['show', unit, ...props.map((p) => `--property=${p}`)]);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const eqAt = line.indexOf('=');
    // A list property (DeviceAllow) comes as one line per entry.
    const key = line.slice(0, eqAt);
    if (eqAt > 0) out[key] = out[key] === undefined ? line.slice(eqAt + 1) : `${out[key]}\n${line.slice(eqAt + 1)}`;
  }
  return out;
}

function systemdDriver(): void {
  section('--systemd-cgroup: a transient scope over D-Bus, with runc\'s semantics');
  eq(read('/proc/1', 'comm'), 'systemd', 'systemd is PID 1');
  const features = JSON.parse(oc(['features']).stdout || '{}') as Config;
  eq(features.linux?.cgroup?.systemd, true, 'features: systemd support');

  writeConfig(config(['true'], { cgroupsPath: '/not/a/systemd/path' }));
  const bad = ocDetached(['create', '--bundle', BUNDLE, 'vmbad']);
  ok(bad.code === 1 && /expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "\/not\/a\/systemd\/path" instead/.test(bad.stderr), 'an absolute path is refused with runc\'s message', bad.stderr);
  ok(!existsSync(join(ROOT, 'vmbad')), 'and leaves no state');

  const unit = 'ocivm-c1.scope';
  const dir = join(CG, 'system.slice', unit);
  const c = config(LOOP, {
    cgroupsPath: 'system.slice:ocivm:c1',
    resources: {
      memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 32 }, cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0' },
      unified: { 'memory.high': String(48 * 1024 * 1024) },
      devices: [{ allow: false, access: 'rwm' }],
    },
    devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }],
  });
  c.annotations = { 'org.systemd.property.TimeoutStopSec': '7', 'org.systemd.property.CollectMode': "'inactive-or-failed'" };
  writeConfig(c);
  const id = newId();
  const pid = startContainer(id, 'slice:prefix:name');
  if (!pid) return;
  eq(cgroupOf(pid), `/system.slice/${unit}`, 'the init is in the scope\'s cgroup');
  const props = show(unit, ['ActiveState', 'Slice', 'Delegate', 'Description', 'MemoryMax', 'MemoryHigh', 'TasksMax', 'CPUWeight', 'CPUQuotaPerSecUSec', 'CPUQuotaPeriodUSec', 'AllowedCPUs', 'DevicePolicy', 'DeviceAllow', 'TimeoutStopUSec', 'CollectMode', 'DefaultDependencies', 'MemoryAccounting', 'TasksAccounting']);
  eq(props.ActiveState, 'active', 'systemctl show: the scope is active');
  eq(props.Slice, 'system.slice', 'in system.slice');
  eq(props.Delegate, 'yes', 'Delegate=yes');
  eq(props.Description, `ocirun container ${id}`, 'a description naming the container');
  eq(props.DefaultDependencies, 'no', 'DefaultDependencies=no');
  eq([props.MemoryAccounting, props.TasksAccounting], ['yes', 'yes'], 'accounting on');
  eq(props.MemoryMax, String(64 * 1024 * 1024), 'MemoryMax');
  eq(props.MemoryHigh, String(48 * 1024 * 1024), 'MemoryHigh from unified memory.high (so systemd keeps it)');
  eq(props.TasksMax, '32', 'TasksMax');
  eq(props.CPUWeight, String(weightOf(512)), 'CPUWeight');
  eq(props.CPUQuotaPerSecUSec, '500ms', 'CPUQuotaPerSecUSec');
  eq(props.CPUQuotaPeriodUSec, '100ms', 'CPUQuotaPeriodUSec');
  eq(props.AllowedCPUs, '0', 'AllowedCPUs');
  eq(props.DevicePolicy, 'strict', 'DevicePolicy=strict');
  ok(/char-pts rwm/.test(props.DeviceAllow ?? '') && /\/dev\/char\/1:3 rwm/.test(props.DeviceAllow ?? '') && /char-\* m/.test(props.DeviceAllow ?? ''), 'DeviceAllow: the default devices', props.DeviceAllow);
  eq(props.TimeoutStopUSec, '7s', 'annotation org.systemd.property.TimeoutStopSec (seconds made USec)');
  eq(props.CollectMode, 'inactive-or-failed', 'annotation org.systemd.property.CollectMode');
  eq(read(dir, 'memory.max'), String(64 * 1024 * 1024), 'file: memory.max');
  eq(read(dir, 'memory.high'), String(48 * 1024 * 1024), 'file: memory.high');
  eq(read(dir, 'pids.max'), '32', 'file: pids.max');
  eq(read(dir, 'cpu.max'), '50000 100000', 'file: cpu.max');
  eq(read(dir, 'cpu.weight'), String(weightOf(512)), 'file: cpu.weight');
  eq(read(dir, 'cpuset.cpus'), '0', 'file: cpuset.cpus');
  const cg = run('busctl', ['get-property', 'org.freedesktop.systemd1', `/org/freedesktop/systemd1/unit/ocivm_2dc1_2escope`, 'org.freedesktop.systemd1.Scope', 'ControlGroup']);
  eq(cg.stdout.trim(), `s "/system.slice/${unit}"`, 'busctl: the scope\'s ControlGroup');

  const probe = oc(['exec', id, 'sh', '-c', 'head -c 4 /dev/zero | wc -c; head -c 0 /dev/fuse; true']);
  ok(/^4$/m.test(probe.stdout) && /fuse: Operation not permitted/.test(probe.stderr), 'devices: /dev/zero allowed, /dev/fuse (a node no rule allows) refused', probe.stdout + probe.stderr);
  const e = ocDetached(['exec', '--detach', '--pid-file', join(WORK, 'sexec.pid'), id, 'sleep', '300']);
  if (ok(e.code === 0, 'exec --detach', e.stderr)) eq(cgroupOf(Number(readFileSync(join(WORK, 'sexec.pid'), 'utf8'))), `/system.slice/${unit}`, 'exec joins the scope');

  const u = oc(['update', '--memory', '96m', '--pids-limit', '20', '--cpu-quota', '20000', id]);
  ok(u.code === 0, 'update', u.stderr);
  const after = show(unit, ['MemoryMax', 'TasksMax', 'CPUQuotaPerSecUSec']);
  eq([after.MemoryMax, after.TasksMax, after.CPUQuotaPerSecUSec], [String(96 * 1024 * 1024), '20', '200ms'], 'update: the unit\'s properties (SetUnitProperties)');
  eq([read(dir, 'memory.max'), read(dir, 'pids.max'), read(dir, 'cpu.max')], [String(96 * 1024 * 1024), '20', '20000 100000'], 'update: the files');
  run('systemctl', ['daemon-reload']);
  eq(read(dir, 'memory.max'), String(96 * 1024 * 1024), 'the updated limit survives systemd rewriting the cgroup (daemon-reload)');

  ok(until(() => counter() > 2), 'counting');
  ok(oc(['pause', id]).code === 0, 'pause');
  eq([read(dir, 'cgroup.freeze'), state(id)?.status, show(unit, ['ActiveState']).ActiveState], ['1', 'paused', 'active'], 'paused: cgroup.freeze 1, state paused, the unit still active');
  const at = counter();
  sleepMs(1500);
  eq(counter(), at, 'no progress while paused');
  ok(oc(['resume', id]).code === 0 && until(() => counter() > at + 2), 'resume: counting again');

  writeConfig(config(['sleep', '300'], { cgroupsPath: 'system.slice:ocivm:c1' }));
  const dup = ocDetached(['create', '--bundle', BUNDLE, 'vmdup']);
  ok(dup.code === 1 && /ocivm-c1.scope already exists/.test(dup.stderr), 'a second container for the same unit: a clear error', dup.stderr);
  ok(!existsSync(join(ROOT, 'vmdup')), 'and no state');
  eq(show(unit, ['ActiveState']).ActiveState, 'active', 'the first container\'s unit is untouched');
  ok(procs(dir).includes(pid), 'and so is its init');

  const d = oc(['delete', '--force', id]);
  ok(d.code === 0, 'delete --force', d.stderr);
  eq(show(unit, ['LoadState']).LoadState, 'not-found', 'the unit is gone (StopUnit)');
  ok(!existsSync(dir), 'its cgroup is gone');
}

function systemdDefaultsAndSlices(): void {
  section('--systemd-cgroup: no path (system.slice:ocirun:<id>), nested slices, a scope that ends by itself');
  writeConfig(config(['sleep', '300']));
  const id = newId();
  const pid = startContainer(id, 'no cgroupsPath');
  if (pid) {
    eq(cgroupOf(pid), `/system.slice/ocirun-${id}.scope`, 'system.slice/ocirun-<id>.scope');
    ok(oc(['delete', '--force', id]).code === 0 && show(`ocirun-${id}.scope`, ['LoadState']).LoadState === 'not-found', 'deleted with its unit');
  }
  writeConfig(config(['sh', '-c', 'sleep 2'], { cgroupsPath: 'ocivm-nest.slice:pfx:c3', resources: { memory: { limit: 32 * 1024 * 1024 } } }));
  const id2 = newId();
  const pid2 = startContainer(id2, 'a nested slice');
  if (pid2) {
    eq(cgroupOf(pid2), '/ocivm.slice/ocivm-nest.slice/pfx-c3.scope', 'ocivm-nest.slice expands to ocivm.slice/ocivm-nest.slice');
    eq(show('pfx-c3.scope', ['Slice']).Slice, 'ocivm-nest.slice', 'the unit\'s slice');
    ok(until(() => state(id2)?.status === 'stopped', 30_000), 'the container exits');
    ok(until(() => show('pfx-c3.scope', ['LoadState']).LoadState === 'not-found', 10_000), 'systemd ends the scope with its last process');
    ok(oc(['delete', id2]).code === 0, 'delete of a stopped container whose unit is gone');
  }
}

const IMAGE = 'localhost/ocivm-busybox:latest';

function podmanChecks(): void {
  section('podman (Debian\'s, systemd cgroup manager) with ocirun as its runtime');
  const imp = run('sh', ['-c', `tar -C ${ROOTFS} -c . | podman import - ${IMAGE}`]);
  if (!ok(imp.code === 0, 'podman import of a busybox image (the VM has no network)', imp.stderr)) return;
  const info = run('podman', ['info', '--format', '{{.Host.CgroupManager}} {{.Host.OCIRuntime.Name}} {{.Host.CgroupsVersion}}']);
  eq(info.stdout.trim(), 'systemd ocirun v2', 'podman info: systemd cgroup manager, ocirun, cgroup v2');
  const hello = run('podman', ['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'echo hello from $(hostname)']);
  ok(hello.code === 0 && /^hello from /m.test(hello.stdout), 'podman run --rm', hello.stdout + hello.stderr);
  const d = run('podman', ['run', '-d', '--name', 'ocivm-web', '--network', 'none', '--memory', '64m', '--pids-limit', '50', IMAGE, 'sleep', '300']);
  if (!ok(d.code === 0, 'podman run -d --memory 64m --pids-limit 50', d.stderr)) return;
  const cid = d.stdout.trim();
  const pid = Number(run('podman', ['inspect', '--format', '{{.State.Pid}}', 'ocivm-web']).stdout.trim());
  const scope = `libpod-${cid}.scope`;
  eq(cgroupOf(pid), `/machine.slice/${scope}`, 'the container\'s init is in machine.slice/libpod-<id>.scope');
  const props = show(scope, ['MemoryMax', 'TasksMax', 'Delegate']);
  eq([props.MemoryMax, props.TasksMax, props.Delegate], [String(64 * 1024 * 1024), '50', 'yes'], 'systemctl show: the scope has the limits, Delegate=yes');
  eq(read(join(CG, 'machine.slice', scope), 'memory.max'), String(64 * 1024 * 1024), 'memory.max in the scope\'s cgroup');
  const ex = run('podman', ['exec', 'ocivm-web', 'sh', '-c', 'echo exec-ok; cat /proc/self/cgroup']);
  ok(ex.code === 0 && /exec-ok/.test(ex.stdout), 'podman exec', ex.stdout + ex.stderr);
  const st = run('podman', ['stop', '-t', '2', 'ocivm-web']);
  ok(st.code === 0, 'podman stop', st.stderr);
  eq(run('podman', ['inspect', '--format', '{{.State.Status}}', 'ocivm-web']).stdout.trim(), 'exited', 'podman: exited');
  ok(run('podman', ['rm', 'ocivm-web']).code === 0, 'podman rm');
  eq(show(scope, ['LoadState']).LoadState, 'not-found', 'the scope is gone');
}

function containerdChecks(): void {
  section('containerd: ctr run --runc-systemd-cgroup with ocirun as the runtime binary');
  const save = run('podman', ['save', '--format', 'oci-archive', '-o', join(WORK, 'image.tar'), IMAGE]);
  if (!ok(save.code === 0, 'podman save (an OCI archive for ctr)', save.stderr)) return;
  const imp = run('ctr', ['image', 'import', '--base-name', 'localhost/ocivm-busybox', join(WORK, 'image.tar')]);
  if (!ok(imp.code === 0, 'ctr image import', imp.stdout + imp.stderr)) return;
  const name = run('ctr', ['image', 'ls', '-q']).stdout.split('\n').find((l) => l.includes('ocivm-busybox')) ?? IMAGE;
  const r = run('ctr', ['run', '--rm', '--runc-binary', '/usr/local/bin/ocirun', '--runc-systemd-cgroup', '--cgroup', 'system.slice:ctr:ocivm-ctr1', name, 'ocivm-ctr1', 'sh', '-c', 'echo ctr-ok; cat /proc/self/cgroup']);
  ok(r.code === 0 && /ctr-ok/.test(r.stdout), 'ctr run --rm', r.stdout + r.stderr);
  ok(/^0::\/system.slice\/ctr-ocivm-ctr1.scope$/m.test(r.stdout), 'in its scope', r.stdout);
  eq(show('ctr-ocivm-ctr1.scope', ['LoadState']).LoadState, 'not-found', 'the scope is gone after --rm');

  const scope = 'ctr-ocivm-ctr2.scope';
  const d = run('ctr', ['run', '-d', '--runc-binary', '/usr/local/bin/ocirun', '--runc-systemd-cgroup', '--cgroup', 'system.slice:ctr:ocivm-ctr2', '--memory-limit', String(64 * 1024 * 1024), name, 'ocivm-ctr2', 'sleep', '300']);
  if (!ok(d.code === 0, 'ctr run -d --memory-limit 64M', d.stdout + d.stderr)) return;
  const props = show(scope, ['MemoryMax', 'Delegate', 'ActiveState']);
  eq([props.ActiveState, props.Delegate, props.MemoryMax], ['active', 'yes', String(64 * 1024 * 1024)], 'systemctl show: the scope, its limit');
  eq(read(join(CG, 'system.slice', scope), 'memory.max'), String(64 * 1024 * 1024), 'memory.max in the scope\'s cgroup');
  const ex = run('ctr', ['task', 'exec', '--exec-id', 'e1', 'ocivm-ctr2', 'sh', '-c', 'echo exec-ok; cat /proc/self/cgroup']);
  ok(ex.code === 0 && /exec-ok/.test(ex.stdout) && /ctr-ocivm-ctr2.scope/.test(ex.stdout), 'ctr task exec: in the scope', ex.stdout + ex.stderr);
  ok(run('ctr', ['task', 'kill', '-s', 'SIGKILL', 'ocivm-ctr2']).code === 0, 'ctr task kill');
  ok(until(() => run('ctr', ['task', 'rm', 'ocivm-ctr2']).code === 0, 20_000), 'ctr task rm');
  ok(run('ctr', ['container', 'rm', 'ocivm-ctr2']).code === 0, 'ctr container rm');
  eq(show(scope, ['LoadState']).LoadState, 'not-found', 'the scope is gone');
}

/** The driver on systemd's hybrid layout: v1 controllers, v1 property names. */
function systemdHybridChecks(): void {
  section('--systemd-cgroup on cgroup v1 (systemd\'s hybrid layout)');
  eq(run('stat', ['-fc', '%T', join(CG, 'memory')]).stdout.trim(), 'cgroupfs', 'v1 controllers are mounted');
  const unit = 'ocivm-h1.scope';
  const v1 = (ctrl: string): string => join(CG, ctrl, 'system.slice', unit);
  writeConfig(config(LOOP, { cgroupsPath: 'system.slice:ocivm:h1', resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 32 }, cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0' } } }));
  const id = newId();
  const pid = startContainer(id, 'slice:prefix:name on v1');
  if (!pid) return;
  const where = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, ctrls = '', path = ''] = line.split(':');
    for (const c of ctrls.split(',')) where.set(c, path);
  }
  for (const ctrl of ['memory', 'pids', 'cpuset', 'freezer', 'name=systemd']) eq(where.get(ctrl), `/system.slice/${unit}`, `in the ${ctrl} hierarchy at the unit's path`);
  const props = show(unit, ['ActiveState', 'MemoryLimit', 'CPUShares', 'TasksMax', 'Delegate']);
  eq([props.ActiveState, props.MemoryLimit, props.CPUShares, props.TasksMax, props.Delegate], ['active', String(64 * 1024 * 1024), '512', '32', 'yes'], 'systemctl show: v1 property names');
  eq(read(v1('memory'), 'memory.limit_in_bytes'), String(64 * 1024 * 1024), 'memory.limit_in_bytes');
  eq(read(v1('pids'), 'pids.max'), '32', 'pids.max');
  eq(read(v1('cpuset'), 'cpuset.cpus'), '0', 'cpuset (a hierarchy systemd does not manage) joined and set');
  ok(until(() => counter() > 2), 'counting');
  ok(oc(['pause', id]).code === 0 && read(v1('freezer'), 'freezer.state') === 'FROZEN', 'pause: the v1 freezer');
  ok(oc(['resume', id]).code === 0 && read(v1('freezer'), 'freezer.state') === 'THAWED', 'resume');
  ok(oc(['update', '--memory', '96m', id]).code === 0, 'update');
  eq([show(unit, ['MemoryLimit']).MemoryLimit, read(v1('memory'), 'memory.limit_in_bytes')], [String(96 * 1024 * 1024), String(96 * 1024 * 1024)], 'update: the unit and the file');
  ok(oc(['delete', '--force', id]).code === 0, 'delete --force');
  eq(show(unit, ['LoadState']).LoadState, 'not-found', 'the unit is gone');
  ok(!existsSync(v1('memory')) && !existsSync(v1('cpuset')) && !existsSync(v1('freezer')), 'its cgroups are gone, those ocirun made too');
}

async function systemdChecks(): Promise<void> {
  systemdDriver();
  systemdDefaultsAndSlices();
  podmanChecks();
  (await criuEngines()).podmanCheckpoint(criuHelpers());
  containerdChecks();
  rootlessUserChecks();
}

// ------------------------------------------------------------------ rootless

/** The user test/vm/image.sh makes, with linger: systemd starts user@UID.service at boot. */
const RL_USER = 'ocivm';

/**
 * An unprivileged user's containers get cgroups its own systemd manager
 * delegates (user@UID.service, Delegate=yes): with the cgroupfs driver from
 * a scope of that manager (the parent of the caller's cgroup is the user's),
 * and with --systemd-cgroup through the user bus. Limits land in the
 * kernel's files; delete leaves no cgroup, unit or state.
 */
function rootlessUserChecks(): void {
  section('rootless: cgroups from the user\'s systemd manager (user@UID.service), cgroupfs and --systemd-cgroup');
  const uid = Number(run('id', ['-u', RL_USER]).stdout.trim());
  if (!ok(uid > 0, `user ${RL_USER} exists`)) return;
  const xdg = `/run/user/${uid}`;
  const manager = `/user.slice/user-${uid}.slice/user@${uid}.service`;
  if (!ok(until(() => existsSync(`${xdg}/bus`) && existsSync(join(CG, manager)), 60_000), 'linger: the user manager and its bus are up')) return;
  eq(read(join(CG, manager), 'cgroup.controllers').split(' ').filter((c) => c === 'memory' || c === 'pids'), ['memory', 'pids'], 'user@UID.service is delegated memory and pids');
  const dir = join(WORK, 'rootless');
  const bundle = join(dir, 'bundle');
  mkdirSync(bundle, { recursive: true });
  run('chown', ['-R', `${uid}:${uid}`, dir]);
  const c = config(['sleep', '1000'], {
    namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }],
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 32 } },
  });
  c.mounts = c.mounts.filter((m: Config) => m.destination !== '/out');
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
  const asUser = (args: string[], prefix: string[] = []): string[] => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--init-groups', 'env',
    `XDG_RUNTIME_DIR=${xdg}`, `DBUS_SESSION_BUS_ADDRESS=unix:path=${xdg}/bus`, `HOME=${dir}`, ...prefix, ...args];
  for (const driver of ['cgroupfs', 'systemd'] as const) {
    const id = `rl-${driver}`;
    const globals = driver === 'systemd' ? ['--systemd-cgroup'] : [];
    // cgroupfs: the caller in a scope of the user's manager, as `systemd-run --user --scope ocirun ...` puts it.
    const prefix = driver === 'cgroupfs' ? ['systemd-run', '--user', '--scope', '--quiet'] : [];
    const pidFile = join(dir, `${id}.pid`);
    const argv = asUser([OCIRUN, ...globals, 'run', '-d', '--bundle', bundle, '--pid-file', pidFile, id], prefix);
    const r = ocDetachedArgv(argv);
    if (!ok(r.code === 0, `${driver}: run -d as ${RL_USER}`, r.stderr)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const cg = cgroupOf(pid);
    if (driver === 'systemd') eq(cg, `${manager}/user.slice/ocirun-${id}.scope`, `${driver}: a transient scope of the user's manager (user.slice, runc's rootless default)`);
    else ok(cg.startsWith(`${manager}/`) && cg.endsWith(`/${id}`), `${driver}: <id> next to the caller's scope, under user@${uid}.service (${cg})`);
    eq([read(join(CG, cg), 'memory.max'), read(join(CG, cg), 'pids.max')], [String(64 * 1024 * 1024), '32'], `${driver}: memory.max and pids.max as configured`);
    const d = runArgv(asUser([OCIRUN, ...globals, 'delete', '--force', id]));
    ok(d.code === 0, `${driver}: delete --force`, d.stderr);
    ok(until(() => !existsSync(join(CG, cg)), 10_000), `${driver}: its cgroup is gone`);
    ok(!existsSync(join(xdg, 'ocirun', id)), `${driver}: no state left in $XDG_RUNTIME_DIR/ocirun`);
    if (driver === 'systemd') {
      const u = runArgv(asUser(['systemctl', '--user', 'is-active', `ocirun-${id}.scope`]));
      ok(u.stdout.trim() !== 'active', `${driver}: the user's manager has no such unit running (${u.stdout.trim()})`);
    }
  }
}

const runArgv = (argv: string[]): Result => run(argv[0] as string, argv.slice(1));

/** ocDetached for a whole argv (another user, a wrapper). */
function ocDetachedArgv(argv: string[]): Result {
  const out = join(WORK, 'last.out');
  const err = join(WORK, 'last.err');
  const o = openSync(out, 'w');
  const e = openSync(err, 'w');
  try {
    const r = spawnSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', o, e], timeout: 120_000 });
    return { code: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  } finally {
    closeSync(o);
    closeSync(e);
  }
}

/** The checkpoint/restore checks, kept apart (they need CRIU in the image); node runs the .ts itself. */
const criuEngines = (): Promise<typeof import('./criu-engines.js')> => import(join(dirname(fileURLToPath(import.meta.url)), 'criu-engines.ts'));

/** What the checks in criu-engines.ts borrow from this file. */
function criuHelpers(): Helpers {
  return { ok, eq, section, run: (cmd, args) => run(cmd, args), image: IMAGE, rootfs: ROOTFS, ocirun: OCIRUN, work: WORK };
}

// ------------------------------------------------------------ async helpers

const pending: Promise<void>[] = [];
function waitAsync(fn: () => Promise<void>): void {
  pending.push(fn());
}

async function untilAsync(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

// --------------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(`# ocirun VM checks: ${MODE}, kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, cgroup root controllers: ${read(CG, 'cgroup.controllers')}`);
  setup();
  try {
    if (MODE === 'cgroup2') {
      eq(run('stat', ['-fc', '%T', CG]).stdout.trim(), 'cgroup2fs', 'a pure cgroup2 host');
      placementNextToCaller();
      resourcesAndLifecycle();
      hostPidNamespace();
      oomEvent();
      await Promise.all(pending.splice(0));
      failureGivesBack();
      leftovers();
    } else if (MODE === 'systemd-hybrid') {
      systemdHybridChecks();
      (await criuEngines()).cgroupV1Checkpoint(criuHelpers());
    } else {
      await systemdChecks();
      leftovers();
    }
  } catch (err) {
    ok(false, 'the checks ran to the end', (err as Error).stack ?? String(err));
  } finally {
    cleanup();
  }
  console.log(`# ${count - failures} passed, ${failures} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exitCode = Math.min(failures, 100);
}

await main();
