// Shared pieces of the engine tier: the runtime under test, a daemon started
// with its own state under a temporary directory, the busybox image built
// locally (no registry), and the checks that nothing is left behind.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OCIRUN, TOP, mountinfoOf, type Result } from '../helpers.js';

/**
 * The ocirun the engines call: the checkout's launcher, or OCIRUN_UNDER_TEST
 * (an installed package or the unpacked archive) when the runner sets it.
 */
export const RUNTIME = process.env.OCIRUN_UNDER_TEST || OCIRUN;

export const IMAGE_BASE = 'localhost/ocirun-test/busybox:base';
export const IMAGE_USER = 'localhost/ocirun-test/busybox:user';

/** Why a tool is missing, or false when every one is on PATH: the tier fails loudly on it, never skips. */
export function missingTools(tools: string[]): string | false {
  const gone = tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  return gone.length ? `MISSING: ${gone.join(', ')} (install the Debian packages: test/engines/run does)` : false;
}

/** Run a command (no shell), with a timeout; never throws. */
export function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...opts });
  return { code: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/**
 * A command in a terminal: script(1) gives it a pty and returns its status.
 * script's stdin stays open until the command has ended: on end of file
 * script sends the pty an EOF character, and an engine's attach that takes
 * it as the end of its stdin could end before the container's output came
 * (seen once in ~25 `podman run -it`, with runc as with ocirun).
 */
export function inTerminal(argv: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<Result> {
  const line = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let imageTar: string | null = null;
/** The busybox image as one tar (OCI layout plus Docker's manifest.json), built once per test file. */
export function busyboxImage(dir: string): string {
  if (imageTar && existsSync(imageTar)) return imageTar;
  const out = join(dir, 'busybox-image.tar');
  const r = sh(process.execPath, [join(TOP, 'test/engines/make-image.mjs'), out]);
  if (r.code !== 0) throw new Error(`building the busybox image failed: ${r.stderr}`);
  imageTar = out;
  return out;
}

/** A temporary directory for one engine's whole state. */
export function engineDir(engine: string): string {
  return mkdtempSync(join(tmpdir(), `ocirun-${engine}-`));
}

/** A daemon started in the background; stop() sends SIGTERM and waits for it to exit. */
export class Daemon {
  private readonly child: ChildProcess;
  private exited = false;
  constructor(readonly name: string, cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env) {
    const log = openSync(logFile, 'a');
    this.child = spawn(cmd, args, { stdio: ['ignore', log, log], env, detached: true });
    closeSync(log);
    this.child.on('exit', () => { this.exited = true; });
  }
  get pid(): number { return this.child.pid ?? 0; }
  get running(): boolean { return !this.exited; }
  async stop(timeoutMs = 20_000): Promise<boolean> {
    if (this.exited) return true;
    this.child.kill('SIGTERM');
    const end = Date.now() + timeoutMs;
    while (!this.exited && Date.now() < end) await sleep(50);
    if (!this.exited) this.child.kill('SIGKILL');
    return this.exited;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until fn() is true (polling); false after timeoutMs. */
export async function waitFor(fn: () => boolean, timeoutMs = 15_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try { if (fn()) return true; } catch { /* not yet */ }
    await sleep(100);
  }
  return fn();
}

// ---------------------------------------------------------------- outside views

/** The path of a process's cgroup in a v1 hierarchy (named by one of its controllers), from /proc/<pid>/cgroup. */
export function cgroupOf(pid: number, controller: string): string | null {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers !== undefined && controllers.split(',').includes(controller)) return path ?? null;
  }
  return null;
}

/** The directory of a v1 controller's hierarchy (/sys/fs/cgroup/memory, or the co-mounted one holding it). */
export function hierarchyDir(controller: string): string {
  const m = mountinfoOf('self').find((x) => x.fstype === 'cgroup' && x.superOptions.includes(controller));
  if (!m) throw new Error(`no cgroup v1 hierarchy with ${controller}`);
  return m.mountPoint;
}

/** A file of a process's cgroup in a v1 controller, read from the host. */
export function cgroupFile(pid: number, controller: string, file: string): string {
  const path = cgroupOf(pid, controller);
  if (path === null) throw new Error(`process ${pid} is in no ${controller} cgroup`);
  return readFileSync(join(hierarchyDir(controller), path, file), 'utf8').trim();
}

/** A field of /proc/<pid>/status, trimmed. */
export function procStatus(pid: number, field: string): string | null {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return line === undefined ? null : line.slice(field.length + 1).trim();
}

export function alive(pid: number): boolean {
  try { return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

// ---------------------------------------------------------------- leftovers

/** Every cgroup v1 directory (any controller) whose name contains one of the words. */
export function cgroupDirsNamed(words: string[]): string[] {
  const found: string[] = [];
  const roots = mountinfoOf('self').filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2').map((m) => m.mountPoint);
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let names: string[];
    try { names = readdirSync(dir); } catch { return; }
    for (const name of names) {
      const path = join(dir, name);
      let isDir = false;
      try { isDir = statSync(path).isDirectory(); } catch { continue; }
      if (!isDir) continue;
      if (words.some((w) => name.includes(w))) found.push(path);
      walk(path, depth + 1);
    }
  };
  for (const r of new Set(roots)) walk(r, 0);
  return found;
}

/** Live processes (not zombies) whose command line mentions one of the words. */
export function processesMentioning(words: string[]): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cmdline: string;
    try { cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(); } catch { continue; }
    if (!cmdline || !alive(Number(name))) continue;
    if (words.some((w) => cmdline.includes(w))) found.push(`${name}: ${cmdline}`);
  }
  return found;
}

/** Mounts in our mount namespace under a directory. */
export function mountsUnder(dir: string): string[] {
  return mountinfoOf('self').filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(`${dir}/`)).map((m) => m.mountPoint);
}

/** ocirun state directories left under a --root for the given container ids. */
export function stateLeft(root: string, ids: string[]): string[] {
  let names: string[];
  try { names = readdirSync(root); } catch { return []; }
  return names.filter((n) => ids.some((id) => n.includes(id)));
}

/** Remove the engine directory (after the daemon stopped and nothing is mounted there); OCIRUN_ENGINE_KEEP=1 keeps it, logs and all. */
export function removeDir(dir: string): void {
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  if (process.env.OCIRUN_ENGINE_KEEP) { console.error(`# kept ${dir}`); return; }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A configuration snippet from README.md, marked `<!-- snippet: NAME -->` before
 * its fenced block: the tests run exactly what the README shows, with the
 * install path replaced by the build under test.
 */
export function readmeSnippet(name: string): string {
  const readme = readFileSync(join(TOP, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n`).exec(readme);
  if (!m?.[1]) throw new Error(`README.md has no snippet "${name}"`);
  return m[1].replaceAll('/usr/local/bin/ocirun', RUNTIME);
}

/**
 * rmdir (never rm -r) a parent cgroup the engine named for this test, in every
 * hierarchy, once empty: runtimes (runc too) create parents with mkdir -p and
 * leave them. Returns the ones still there (not empty: something is left).
 */
export function removeCgroupParent(relative: string): string[] {
  const left: string[] = [];
  const roots = new Set(mountinfoOf('self').filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2').map((m) => m.mountPoint));
  for (const root of roots) {
    const path = join(root, relative);
    if (!existsSync(path)) continue;
    if (spawnSync('rmdir', [path]).status !== 0) left.push(path);
  }
  return left;
}
