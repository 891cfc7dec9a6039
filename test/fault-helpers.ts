// The fault-injection tier's tools: run ocirun until it reaches a named
// pause point (src/container/faultpoint.ts), kill or signal it there, then
// check that what `state` and `list` say is what the kernel shows, and that
// `delete --force` leaves nothing: no process, mount, cgroup or state file.
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OCIRUN, processGone, type Sandbox, until } from './helpers.js';
import { parseCgroupMounts, parseProcCgroup } from '../src/linux/cgroups/hierarchy.js';

export type FaultSignal = 'SIGKILL' | 'SIGTERM' | 'SIGINT' | 'SIGUSR1' | 'SIGUSR2';

export interface Outcome {
  /** exit code, or null when a signal ended it */
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** the pause point was reached */
  paused: boolean;
}

/** The node binary the init runs until it execs the program (bin/ocirun's pinned one). */
export function initExe(): string {
  for (const arch of ['x64', 'arm64']) {
    const p = join(OCIRUN, '..', '..', 'node_modules', `node-linux-${arch}`, 'bin', 'node');
    if (existsSync(p)) return realpathSync(p);
  }
  return realpathSync(process.execPath);
}

/**
 * Run `ocirun --root <box.root> ...args` until it pauses at `step`, deliver
 * `signal` to it there, let it go on (a held signal then takes effect), and
 * wait for it to end.
 */
export async function interruptAt(box: Sandbox, args: string[], step: string, signal: FaultSignal, timeoutMs = 30_000): Promise<Outcome> {
  const ctl = mkdtempSync(join(box.dir, 'fault-'));
  const errPath = join(ctl, 'stderr');
  const outFd = openSync(join(ctl, 'stdout'), 'w');
  const errFd = openSync(errPath, 'w');
  const child = spawn(OCIRUN, ['--root', box.root, ...args], {
    stdio: ['ignore', outFd, errFd],
    env: { ...process.env, _OCIRUN_FAULT_PAUSE: step, _OCIRUN_FAULT_DIR: ctl },
  });
  closeSync(outFd);
  closeSync(errFd);
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, sig) => resolve({ code, signal: sig }));
  });
  let done = false;
  void ended.then(() => { done = true; });
  const paused = await until(() => done || existsSync(join(ctl, 'paused')), timeoutMs);
  const reached = paused && existsSync(join(ctl, 'paused'));
  if (reached) {
    // bin/ocirun execs node: the pid is the runtime itself.
    const pid = Number(readFileSync(join(ctl, 'paused'), 'utf8').split(' ')[1]);
    process.kill(pid, signal);
    if (signal !== 'SIGKILL') {
      // Give the signal time to land while ocirun is still paused, then let it go on.
      await new Promise((r) => setTimeout(r, 50));
      writeFileSync(join(ctl, 'release'), '');
    }
  } else if (!done) {
    child.kill('SIGKILL');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const end = await ended;
  clearTimeout(timer);
  const stderr = readFileSync(errPath, 'utf8');
  rmSync(ctl, { recursive: true, force: true });
  return { ...end, stderr, paused: reached };
}

// ------------------------------------------------------------------ the truth

const MOUNTS = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));

/** Where a container with this id gets its cgroups by default (`<id>` under ours), in every hierarchy. */
export function defaultCgroupDirs(id: string): string[] {
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  const dirs = new Set<string>();
  for (const h of MOUNTS.v1) {
    const mine = h.controllers.map((c) => own.v1.get(c)).find((p) => p !== undefined);
    if (mine !== undefined) dirs.add(join(h.mountPoint, mine, id));
  }
  if (MOUNTS.unified && own.unified !== null) dirs.add(join(MOUNTS.unified.mountPoint, own.unified, id));
  return [...dirs];
}

/** An absolute cgroupsPath's directory in every hierarchy. */
export function cgroupDirsAt(path: string): string[] {
  return [...new Set([...MOUNTS.v1.map((h) => join(h.mountPoint, path)), ...(MOUNTS.unified ? [join(MOUNTS.unified.mountPoint, path)] : [])])];
}

/** Pids in any of the container's cgroup directories. */
export function pidsInCgroups(id: string): number[] {
  const pids = new Set<number>();
  for (const dir of defaultCgroupDirs(id)) {
    try {
      for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
    } catch { /* not there */ }
  }
  return [...pids];
}

export function isLive(pid: number): boolean {
  return !processGone(pid);
}

export interface Truth {
  /** what `state` said: null when it says the container does not exist */
  status: string | null;
  pid: number;
  /** what is wrong: empty when state, list and the kernel agree */
  problems: string[];
}

/**
 * Compare `state`, `list` and the kernel. A record a dead create left settles
 * within milliseconds (its init reads end-of-file and exits), so this waits
 * until two readings a little apart agree.
 */
export async function checkTruth(box: Sandbox, id: string): Promise<Truth> {
  const read = (): { status: string | null; pid: number; code: number | null; stderr: string } => {
    const r = box.ocirun(['state', id]);
    if (r.code !== 0) return { status: null, pid: 0, code: r.code, stderr: r.stderr };
    const doc = JSON.parse(r.stdout) as { status: string; pid: number };
    return { status: doc.status, pid: doc.pid, code: 0, stderr: '' };
  };
  let s = read();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const again = read();
    if (again.status === s.status && again.pid === s.pid) break;
    s = again;
  }
  const problems: string[] = [];
  const list = box.ocirun(['list', '--format', 'json']);
  const entries = (JSON.parse(list.stdout || 'null') ?? []) as { id: string; status: string; pid: number }[];
  const listed = entries.find((e) => e.id === id);
  if (s.status === null) {
    if (!/container does not exist/.test(s.stderr)) problems.push(`state failed oddly: ${s.stderr.trim()}`);
    if (listed) problems.push(`list shows ${id} (${listed.status}) but state says it does not exist`);
    const live = pidsInCgroups(id).filter(isLive);
    if (live.length) problems.push(`no container, yet processes ${live.join(' ')} run in its cgroups`);
    return { status: null, pid: 0, problems };
  }
  if (!listed) problems.push(`state says ${s.status} but list does not show ${id}`);
  else if (listed.status !== s.status) problems.push(`list says ${listed.status}, state says ${s.status}`);
  switch (s.status) {
    case 'creating':
      problems.push('creating, though no create is running');
      break;
    case 'stopped': {
      if (s.pid !== 0) problems.push(`stopped with pid ${s.pid}`);
      break;
    }
    case 'created':
    case 'running':
    case 'paused': {
      if (!isLive(s.pid)) { problems.push(`${s.status} but pid ${s.pid} is not alive`); break; }
      let exe = '';
      try { exe = readlinkSync(`/proc/${s.pid}/exe`); } catch { /* gone */ }
      if (s.status === 'created' && exe !== initExe()) problems.push(`created, but pid ${s.pid} runs ${exe}, not the waiting init`);
      if (s.status === 'running' && exe === initExe()) problems.push(`running, but pid ${s.pid} is still the init waiting for start`);
      const frozen = defaultCgroupDirs(id).some((d) => {
        try { return readFileSync(join(d, 'freezer.state'), 'utf8').trim() === 'FROZEN'; } catch { return false; }
      });
      if (s.status === 'paused' && !frozen) problems.push('paused, but not frozen');
      // Frozen by a kill path that died (its marker says so) is not paused: the next kill or delete thaws it.
      if (s.status !== 'paused' && frozen && !existsSync(join(box.root, id, 'kill-freeze'))) problems.push(`${s.status}, but frozen`);
      break;
    }
    default:
      problems.push(`unknown status ${s.status}`);
  }
  return { status: s.status, pid: s.pid, problems };
}

/** Processes (other than us) with the id as one of their arguments. */
export function pidsNaming(id: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(id)) found.push(Number(name));
    } catch { /* gone */ }
  }
  return found;
}

/** What of the id is left: files under the root, live pids (the runtime's own forks included), cgroup directories. */
export function leftovers(box: Sandbox, id: string, pids: number[]): string[] {
  const left: string[] = [];
  let entries: string[] = [];
  try { entries = readdirSync(box.root); } catch { /* no root */ }
  const mine = entries.filter((e) => e === id || e.startsWith(`${id}:`));
  if (mine.length) left.push(`state files: ${mine.join(' ')}`);
  // The runtime's own forks too (stage 1 keeps Node's command line, and the id in it).
  const live = [...pids, ...pidsInCgroups(id), ...pidsNaming(id)].filter(isLive);
  if (live.length) left.push(`processes: ${[...new Set(live)].join(' ')}`);
  const cgroups = defaultCgroupDirs(id).filter((d) => existsSync(d));
  if (cgroups.length) left.push(`cgroups: ${cgroups.join(' ')}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(box.dir));
  if (mounts.length) left.push(`mounts: ${mounts.join('; ')}`);
  return left;
}

/** After the fault: the truth, then delete --force leaves nothing, then the id works again. */
export async function settle(t: Test, box: Sandbox, id: string, what: string): Promise<string | null> {
  const truth = await checkTruth(box, id);
  t.same(truth.problems, [], `${what}: state and list tell the truth (${truth.status ?? 'no container'})`);
  const del = box.ocirun(['delete', '--force', id]);
  t.equal(del.code, 0, `${what}: delete --force succeeds: ${del.stderr.trim()}`);
  t.same(leftovers(box, id, truth.pid ? [truth.pid] : []), [], `${what}: delete --force left nothing`);
  const again = box.create(id);
  t.equal(again.code, 0, `${what}: the id can be used again: ${again.stderr.trim()}`);
  const del2 = box.ocirun(['delete', '--force', id]);
  t.equal(del2.code, 0, `${what}: and deleted again`);
  t.same(leftovers(box, id, again.pid ? [again.pid] : []), [], `${what}: nothing left at the end`);
  return truth.status;
}
