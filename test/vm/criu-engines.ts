// Checkpoint/restore checks of the systemd VM (test/vm/checks.ts calls them;
// erasable TypeScript only, no imports from src/): podman's `container
// checkpoint` and `container restore` with ocirun as its runtime (runc beside
// it on request), under systemd (systemd cgroup manager, cgroup v2); and on systemd's
// hybrid layout a container whose cgroup mount became per-hierarchy cgroup v1
// binds, which CRIU must be told are external and restore must bind from the
// new container's cgroups. What the kernel says decides: /proc/<pid>/cgroup,
// /proc/<pid>/mountinfo, a counter that must carry on.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Result { code: number | null; stdout: string; stderr: string }

/** What checks.ts lends: its TAP counters and its command runner. */
export interface Helpers {
  ok: (cond: boolean, what: string, detail?: string) => boolean;
  eq: (got: unknown, want: unknown, what: string) => boolean;
  section: (name: string) => void;
  run: (cmd: string, args: string[]) => Result;
  /** the podman image checks.ts imported (busybox) */
  image: string;
  /** a busybox root filesystem to copy */
  rootfs: string;
  ocirun: string;
  work: string;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function until(cond: () => boolean, timeoutMs: number): boolean {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    sleepMs(100);
  }
  return true;
}

const readOr = (path: string, or: string): string => { try { return readFileSync(path, 'utf8').trim(); } catch { return or; } };
const alive = (pid: number): boolean => pid > 0 && existsSync(`/proc/${pid}`);
const cgroup2Of = (pid: number): string => readOr(`/proc/${pid}/cgroup`, '').split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? '<gone>';

/** A failure's detail: what the command said, and the errors of the CRIU log it names. */
function withLog(r: Result): string {
  const log = /log(?: file)?: (\/\S+\.log)/.exec(r.stdout + r.stderr)?.[1];
  const errors = log ? readOr(log, '').split('\n').filter((l) => /Error/.test(l)).slice(-6).join(' | ') : '';
  return `${r.stdout} ${r.stderr} ${errors}`;
}

const COUNT_SH = 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; usleep 100000; done';

/**
 * podman checkpoint/restore with one runtime: a counting container is
 * dumped (its process gone, podman says exited and checkpointed), restored
 * (running, a new pid in the container's scope, the count carries on), and
 * `podman rm -f` leaves no process, scope or runtime state behind.
 */
function podmanWith(h: Helpers, runtime: string, trace: Record<string, string>): void {
  const name = `ocivm-cr-${runtime}`;
  const pm = (args: string[]): Result => h.run('podman', ['--runtime', runtime, ...args]);
  const inspect = (fmt: string): string => pm(['inspect', '--format', fmt, name]).stdout.trim();
  const d = pm(['run', '-d', '--name', name, '--network', 'none', h.image, 'sh', '-c', COUNT_SH]);
  if (!h.ok(d.code === 0, `${runtime}: podman run -d a counting container`, d.stderr)) return;
  const cid = d.stdout.trim();
  const pid = Number(inspect('{{.State.Pid}}'));
  // `echo $i > /tmp/count` truncates before it writes: an empty read is that moment, not a count of 0.
  const count = (p: number): number => {
    let n = 0;
    until(() => {
      const text = readOr(`/proc/${p}/root/tmp/count`, '0');
      n = Number(text);
      return text !== '';
    }, 1_000);
    return n;
  };
  h.ok(until(() => count(pid) >= 5, 20_000), `${runtime}: it counts (${count(pid)})`);
  const c = pm(['container', 'checkpoint', name]);
  trace.checkpoint = c.code === 0 ? 'ok' : `failed: ${c.stderr.trim()}`;
  if (!h.ok(c.code === 0, `${runtime}: podman container checkpoint`, withLog(c))) { pm(['rm', '-f', name]); return; }
  trace.afterCheckpoint = `${inspect('{{.State.Status}}')} checkpointed=${inspect('{{.State.Checkpointed}}')}`;
  h.eq(trace.afterCheckpoint, 'exited checkpointed=true', `${runtime}: podman inspect: exited, checkpointed`);
  trace.oldPidGone = String(until(() => !alive(pid), 10_000));
  h.ok(trace.oldPidGone === 'true', `${runtime}: the container's process ${pid} is gone`);
  const r = pm(['container', 'restore', name]);
  trace.restore = r.code === 0 ? 'ok' : `failed: ${r.stderr.trim()}`;
  if (!h.ok(r.code === 0, `${runtime}: podman container restore`, withLog(r))) { pm(['rm', '-f', name]); return; }
  trace.afterRestore = `${inspect('{{.State.Status}}')} restored=${inspect('{{.State.Restored}}')}`;
  h.eq(trace.afterRestore, 'running restored=true', `${runtime}: podman inspect: running, restored`);
  const pid2 = Number(inspect('{{.State.Pid}}'));
  h.ok(alive(pid2) && pid2 !== pid, `${runtime}: podman's pid ${pid2} is a live process`);
  trace.cgroup = cgroup2Of(pid2).replace(cid, '<id>');
  h.eq(trace.cgroup, '/machine.slice/libpod-<id>.scope', `${runtime}: the restored process is in the container's scope`);
  const at = count(pid2);
  trace.countsOn = String(at >= 5 && until(() => count(pid2) > at + 3, 15_000));
  h.ok(trace.countsOn === 'true', `${runtime}: the count carries on from ${at} (now ${count(pid2)}), not from 1`);
  const rm = pm(['rm', '-f', name]);
  h.ok(rm.code === 0, `${runtime}: podman rm -f`, rm.stderr);
  trace.leftPid = String(!until(() => !alive(pid2), 10_000));
  h.ok(trace.leftPid === 'false', `${runtime}: no process is left`);
  trace.leftScope = String(existsSync(`/sys/fs/cgroup/machine.slice/libpod-${cid}.scope`));
  h.ok(trace.leftScope === 'false', `${runtime}: no scope is left`);
  const st = h.run(runtime === 'ocirun' ? h.ocirun : runtime, ['--root', `/run/${runtime}`, 'state', cid]);
  trace.leftState = String(st.code === 0);
  h.ok(st.code !== 0, `${runtime}: no runtime state is left (${runtime} state says it does not exist)`, st.stdout);
  h.ok(!readOr('/proc/self/mountinfo', '').includes('ocirun-criu-root-'), `${runtime}: no mount of the restore is left`);
}

/**
 * With OCIVM_RUNC_TOO=1 (test/vm/run passes it on) runc goes through the
 * same steps and the two are compared: ~30-45 s more under emulation, so
 * not by default.
 */
export function podmanCheckpoint(h: Helpers): void {
  const compare = process.env.OCIVM_RUNC_TOO === '1';
  h.section(`podman container checkpoint/restore with ocirun as its runtime (CRIU)${compare ? ', runc beside it' : ''}`);
  const traces: Record<string, Record<string, string>> = {};
  for (const runtime of compare ? ['ocirun', 'runc'] : ['ocirun']) {
    traces[runtime] = {};
    podmanWith(h, runtime, traces[runtime] as Record<string, string>);
  }
  if (compare) h.eq(traces.ocirun, traces.runc, 'podman saw ocirun do what runc did, step by step');
}

// ------------------------------------------------------------- cgroup v1

/**
 * A command that leaves a container behind with pipes as its stdio, as an
 * engine gives them (restore reconnects pipes; files and sockets would
 * be outside what CRIU can restore here): `cat | cmd | cat > out`.
 */
function withPipes(argv: string[], out: string, kept: ChildProcess[]): number | null {
  const rc = `${out}.rc`;
  const script = 'rc="$1" out="$2"; shift 2; cat | { "$@"; echo $? > "$rc"; } 2>&1 | cat > "$out"';
  kept.push(spawn('sh', ['-c', script, 'sh', rc, out, ...argv], { stdio: ['pipe', 'ignore', 'ignore'], detached: true }));
  if (!until(() => readOr(rc, '') !== '', 120_000)) return null;
  return Number(readOr(rc, ''));
}

/** The root (field 4) of the mount at `point` in a process's mount table. */
function mountRoot(pid: number, point: string): string {
  const line = readOr(`/proc/${pid}/mountinfo`, '').split('\n').find((l) => l.split(' ')[4] === point);
  return line?.split(' ')[3] ?? '<none>';
}

/**
 * On cgroup v1, a cgroup mount is a tmpfs with one bind per hierarchy of
 * the container's own cgroup directory. checkpoint names those binds to CRIU
 * as external mounts; restore of another container (its own cgroupsPath)
 * binds its own directories under the same names.
 */
export function cgroupV1Checkpoint(h: Helpers): void {
  h.section('checkpoint/restore of a container with a cgroup mount on cgroup v1 (per-hierarchy binds as CRIU external mounts)');
  const work = join(h.work, 'crv1');
  const rootfs = join(work, 'rootfs');
  const root = join(work, 'state');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'out']) mkdirSync(join(rootfs, d), { recursive: true });
  writeFileSync(join(rootfs, 'bin/busybox'), readFileSync(join(h.rootfs, 'bin/busybox')), { mode: 0o755 });
  for (const n of ['sh', 'usleep', 'cat', 'echo']) h.run('ln', ['-sf', 'busybox', join(rootfs, 'bin', n)]);
  const bundle = (id: string): string => {
    const dir = join(work, id);
    mkdirSync(join(dir, 'out'), { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      ociVersion: '1.0.2',
      process: { user: { uid: 0, gid: 0 }, args: ['sh', '-c', COUNT_SH.replace('/tmp/count', '/out/count')], cwd: '/', env: ['PATH=/bin'], noNewPrivileges: true },
      root: { path: rootfs, readonly: false },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
        { destination: '/out', type: 'bind', source: join(dir, 'out'), options: ['rbind', 'rw'] },
      ],
      linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }], cgroupsPath: `/ocivm-crv1/${id}` },
    }));
    return dir;
  };
  const oc = (args: string[]): Result => h.run(h.ocirun, ['--root', root, ...args]);
  const pidOf = (id: string): number => { const s = oc(['state', id]); return s.code === 0 ? Number((JSON.parse(s.stdout) as { pid: number }).pid) : 0; };
  const count = (id: string): number => Number(readOr(join(work, id, 'out/count'), '0'));
  const kept: ChildProcess[] = [];
  try {
    const rc = withPipes([h.ocirun, '--root', root, 'run', '-d', '--bundle', bundle('v1a'), 'v1a'], join(work, 'run.out'), kept);
    if (!h.ok(rc === 0, 'run -d a counting container with a cgroup mount', readOr(join(work, 'run.out'), ''))) return;
    const pid = pidOf('v1a');
    h.eq(mountRoot(pid, '/sys/fs/cgroup/memory'), '/ocivm-crv1/v1a', 'in the container, /sys/fs/cgroup/memory is a bind of its own memory cgroup');
    h.ok(until(() => count('v1a') >= 5, 20_000), 'it counts');
    const img = join(work, 'img');
    const c = oc(['checkpoint', '--image-path', img, 'v1a']);
    h.ok(c.code === 0, 'checkpoint: CRIU took the cgroup binds as external mounts', `${c.stderr} ${readOr(join(img, 'dump.log'), '').split('\n').filter((l) => /Error/.test(l)).join(' | ')}`);
    const atDump = count('v1a');
    const rs = withPipes([h.ocirun, '--root', root, 'restore', '-d', '--image-path', img, '--bundle', bundle('v1b'), 'v1b'], join(work, 'restore.out'), kept);
    h.ok(rs === 0, 'restore -d as another container (its own cgroupsPath)', `${readOr(join(work, 'restore.out'), '')} ${readOr(join(img, 'restore.log'), '').split('\n').filter((l) => /Error/.test(l)).join(' | ')}`);
    const pid2 = pidOf('v1b');
    h.eq(readOr(`/proc/${pid2}/cgroup`, '').split('\n').find((l) => /:memory:/.test(l))?.split(':')[2], '/ocivm-crv1/v1b', 'the restored process is in the new memory cgroup');
    for (const ctrl of ['memory', 'pids', 'freezer']) {
      h.eq(mountRoot(pid2, `/sys/fs/cgroup/${ctrl}`), '/ocivm-crv1/v1b', `restored: /sys/fs/cgroup/${ctrl} binds the new container's cgroup`);
    }
    h.ok(until(() => count('v1b') > atDump + 3, 15_000), `the count carries on from ${atDump} (now ${count('v1b')})`);
  } finally {
    for (const id of ['v1a', 'v1b']) oc(['delete', '--force', id]);
    for (const c of kept) { try { process.kill(-(c.pid as number), 'SIGKILL'); } catch { /* gone */ } }
  }
  h.ok(!['memory', 'pids', 'freezer'].some((c) => existsSync(`/sys/fs/cgroup/${c}/ocivm-crv1/v1a`) || existsSync(`/sys/fs/cgroup/${c}/ocivm-crv1/v1b`)), 'no cgroup is left');
}
