// Shared pieces for the integration tests: run the built CLI with a private
// --root, make bundles around a shared busybox rootfs, and check that a test
// left nothing behind (state, processes, mounts).
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MountInfo, readMountinfo, readProcStat, readStatusField } from '../src/linux/procfs.js';

export const TOP = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OCIRUN = join(TOP, 'bin/ocirun');

export const isRoot = process.getuid?.() === 0;
export const SKIP_NOT_ROOT = isRoot ? false : 'needs root: runs real containers';

/** A busybox rootfs built once per machine and shared read-only by the tests. */
export function sharedRootfs(): string {
  const dir = join(tmpdir(), 'ocirun-test-rootfs');
  if (!existsSync(join(dir, 'bin/busybox'))) {
    const r = spawnSync('bash', [join(TOP, 'bundles/build-rootfs.sh'), `${dir}.new`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the test rootfs failed: ${r.stderr}`);
    rmSync(dir, { recursive: true, force: true });
    spawnSync('mv', [`${dir}.new`, dir]);
  }
  return dir;
}

export interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...opts });
  return { code: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

let counter = 0;
export function uniqueId(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 7)}`;
}

export type Config = Record<string, any>;

/** A config like `ocirun spec` makes, without a terminal, running args. */
export function baseConfig(args: string[], rootfs: string): Config {
  return {
    ociVersion: '1.3.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: 'testbox',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

export interface Tap {
  teardown(fn: () => void): void;
  fail(msg: string): void;
}

/**
 * A sandbox for one test: a private --root, a bundle dir, and a teardown
 * that force-deletes every id it made and fails the test on any leftover.
 */
export class Sandbox {
  readonly dir: string;
  readonly root: string;
  readonly bundle: string;
  private readonly ids = new Set<string>();
  private readonly pids = new Set<number>();

  constructor(private readonly t: Tap, config?: Config) {
    this.dir = mkdtempSync(join(tmpdir(), 'ocirun-test-'));
    this.root = join(this.dir, 'state');
    this.bundle = join(this.dir, 'bundle');
    mkdirSync(this.bundle);
    if (config) this.writeConfig(config);
    t.teardown(() => this.cleanup());
  }

  writeConfig(config: Config): void {
    writeFileSync(join(this.bundle, 'config.json'), JSON.stringify(config, null, 2));
  }

  id(prefix = 't'): string {
    const id = uniqueId(prefix);
    this.ids.add(id);
    return id;
  }

  ocirun(args: string[], opts: SpawnSyncOptions = {}): Result {
    return run(OCIRUN, ['--root', this.root, ...args], opts);
  }

  /** create → the init's host pid (recorded, to check it is gone at the end). */
  create(id: string, extra: string[] = []): Result & { pid: number } {
    this.ids.add(id);
    const pidFile = join(this.dir, `${id}.pid`);
    const r = this.detached(['create', '--bundle', this.bundle, '--pid-file', pidFile, ...extra, id], id);
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
    if (pid) this.pids.add(pid);
    return { ...r, pid };
  }

  /**
   * Run a command that leaves a container behind (create, run --detach): the
   * container inherits its stdio, so pipes would stay open; files are read after.
   */
  detached(args: string[], tag: string): Result {
    const outPath = join(this.dir, `${tag}.stdout`);
    const errPath = join(this.dir, `${tag}.stderr`);
    const outFd = openSync(outPath, 'w');
    const errFd = openSync(errPath, 'w');
    try {
      const r = this.ocirun(args, { stdio: ['ignore', outFd, errFd] });
      return { ...r, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') };
    } finally {
      closeSync(outFd);
      closeSync(errFd);
    }
  }

  state(id: string): Record<string, any> | null {
    const r = this.ocirun(['state', id]);
    return r.code === 0 ? JSON.parse(r.stdout) : null;
  }

  private cleanup(): void {
    for (const id of this.ids) this.ocirun(['delete', '--force', id]);
    const leftovers: string[] = [];
    if (existsSync(this.root) && readdirSync(this.root).length) leftovers.push(`state left in ${this.root}: ${readdirSync(this.root).join(' ')}`);
    for (const pid of this.pids) {
      if (!processGone(pid)) leftovers.push(`process ${pid} still running`);
    }
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(this.dir));
    if (mounts.length) leftovers.push(`mounts left: ${mounts.join('; ')}`);
    if (leftovers.length) this.t.fail(`test leaked: ${leftovers.join(', ')}`);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Wait (polling) until fn is true; false after timeoutMs. */
export async function until(fn: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (fn()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return fn();
}

/** The process has exited: gone from /proc, or a zombie waiting for its parent (procfs.ts reads /proc/<pid>/stat). */
export function processGone(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat === null || stat.state === 'Z' || stat.state === 'X';
}

export function readProcFile(pid: number, name: string): string {
  return readFileSync(`/proc/${pid}/${name}`, 'utf8');
}

// ---------------------------------------------------------------- kernel views
// Small readers of what the kernel reports, for the rootfs, process,
// namespace and bad-input integration tests.

/** One line of /proc/<pid>/mountinfo, read by the runtime's own reader (src/linux/procfs.ts). */
export type { MountInfo };

/** The mount table of a process, as the kernel shows it to that process (paths inside its root). */
export function mountinfoOf(pid: number | 'self'): MountInfo[] {
  return readMountinfo(pid);
}

/** The topmost mount at a mount point (the last one listed), if any. */
export function topMount(mounts: MountInfo[], mountPoint: string): MountInfo | undefined {
  return mounts.filter((m) => m.mountPoint === mountPoint).at(-1);
}

/** A field of /proc/<pid>/status ("Uid", "CapEff", …), whitespace-trimmed; null when absent. */
export function statusField(pid: number, name: string): string | null {
  return readStatusField(pid, name);
}

/** /proc/<pid>/comm without its newline, or null once the process is gone. */
export function procComm(pid: number): string | null {
  try { return readProcFile(pid, 'comm').trimEnd(); } catch { return null; }
}

/** A fresh, writable busybox rootfs at dir (for tests that change the rootfs). */
export function buildRootfs(dir: string): string {
  const r = spawnSync('bash', [join(TOP, 'bundles/build-rootfs.sh'), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building a rootfs in ${dir} failed: ${r.stderr}`);
  return dir;
}

/** A capability mask as /proc/<pid>/status prints it (16 hex digits) from capability numbers. */
export function capHex(numbers: number[]): string {
  let mask = 0n;
  for (const n of numbers) mask |= 1n << BigInt(n);
  return mask.toString(16).padStart(16, '0');
}

export interface TapAsserts {
  equal(found: any, wanted: any, ...rest: any[]): boolean;
  ok(v: any, ...rest: any[]): boolean;
}

/** A sandbox with one container created and started from `config` (sleep 60 by default): the box, its id, the init's host pid. */
export function runningContainer(t: Tap & TapAsserts, config: Config = baseConfig(['sleep', '60'], sharedRootfs())): { box: Sandbox; id: string; pid: number } {
  const box = new Sandbox(t, config);
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0, c.stderr);
  t.equal(box.ocirun(['start', id]).code, 0);
  return { box, id, pid: c.pid };
}

/** create + start a container whose program ends in `comm` (e.g. sleep); its host pid once running, 0 on failure. */
export async function startContainer(t: TapAsserts, box: Sandbox, id: string, comm = 'sleep', extra: string[] = []): Promise<number> {
  const c = box.create(id, extra);
  if (!t.equal(c.code, 0, `create succeeds: ${c.stderr.trim()}`)) return 0;
  const s = box.ocirun(['start', id]);
  if (!t.equal(s.code, 0, `start succeeds: ${s.stderr.trim()}`)) return 0;
  if (!t.ok(await until(() => procComm(c.pid) === comm), `the container runs ${comm}`)) return 0;
  return c.pid;
}

/** Pids (other than ours) with an open fd, cwd or root under dir: processes a test left running. */
export function pidsUsing(dir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const links: string[] = [];
    try {
      for (const fd of readdirSync(`/proc/${name}/fd`)) links.push(`fd/${fd}`);
    } catch { continue; }
    links.push('cwd', 'root');
    for (const l of links) {
      let target: string;
      try { target = readlinkSync(`/proc/${name}/${l}`); } catch { continue; }
      if (target === dir || target.startsWith(`${dir}/`)) { found.push(Number(name)); break; }
    }
  }
  return found;
}

/**
 * Run ocirun as an engine would: without the NODE_OPTIONS preload that tap
 * puts into the environment of every child (tap re-adds it to any env passed,
 * so `env -u` strips it after the spawn). The preload touches Node's stdio.
 */
export function ocirunPlain(box: Sandbox, args: string[], opts: SpawnSyncOptions = {}): Result {
  return run('env', ['-u', 'NODE_OPTIONS', OCIRUN, '--root', box.root, ...args], opts);
}
