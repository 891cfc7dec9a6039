// What checkpoint and restore share: opening the image and work directories,
// starting a CRIU session of a version we can drive, the freezer and cgroup
// roots CRIU is told about, and turning a CRIU failure into one line that
// names the cause and the log.
import { mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../sys/constants.js';
import { open } from '../sys/calls.js';
import type { CgroupRecord } from '../linux/cgroups/record.js';
import { type CgroupLine, type MountInfo, readCgroupLines, readMountinfo } from '../linux/procfs.js';
import { criuCheck, findCriu, requireVersion } from './check.js';
import type { CriuResp } from './schema.js';
import { CriuSession, type SwrkSpawn } from './swrk.js';

/** The annotation that names a CRIU configuration file for this container (runc's). */
export const CONFIG_ANNOTATION = 'org.criu.config';
/** Read by CRIU when the annotation does not name another (runc reads /etc/criu/runc.conf). */
export const DEFAULT_CONFIG_FILE = '/etc/criu/ocirun.conf';

/** The CRIU configuration file for a container: the annotation's (empty: none), else the default. */
export function configFile(annotations: Record<string, string> | undefined): string | undefined {
  const named = annotations?.[CONFIG_ANNOTATION];
  if (named !== undefined) return named === '' ? undefined : named;
  return DEFAULT_CONFIG_FILE;
}

/** runc's default image directory: ./checkpoint. */
export function imagePathOf(flag: string | undefined): string {
  return resolve(flag && flag !== '' ? flag : 'checkpoint');
}

export function openDir(path: string, what: string): number {
  try {
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export function makeDir(path: string, what: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export function isDir(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}

/** Start `criu swrk` and make sure it is a CRIU we can drive (one process: VERSION keeps it open). */
export function startCriu(criuFlag: string | undefined, spawnOpts: Omit<SwrkSpawn, 'criu'>): { session: CriuSession; criu: string; version: number } {
  const criu = findCriu(criuFlag);
  const session = CriuSession.start({ ...spawnOpts, criu });
  let version: number;
  try {
    version = requireVersion(session.request({ type: 'VERSION', keep_open: true }), criu);
  } catch (err) {
    void session.finish();
    throw err;
  }
  return { session, criu, version };
}

/** Ask CRIU (and through it the kernel) for a feature a flag needs; a clear error naming the flag when it is missing. */
export function requireFeature(session: CriuSession, key: 'mem_track' | 'lazy_pages', flag: string, what: string): void {
  const resp = session.request({ type: 'FEATURE_CHECK', features: { [key]: true }, keep_open: true });
  if (resp.success && resp.features?.[key] === true) return;
  throw new Error(`${flag}: this CRIU and kernel do not support ${what}`);
}

/**
 * The cgroup CRIU freezes the container with (instead of stopping each task
 * with ptrace): the v1 freezer where there is one, else the container's
 * cgroup2 directory, which CRIU freezes through cgroup.freeze.
 */
export function freezerPath(rec: CgroupRecord | undefined): string | undefined {
  if (!rec) return undefined;
  const v1 = rec.paths.mode !== 'v2' ? rec.paths.v1.find((p) => p.controllers.includes('freezer')) : undefined;
  if (v1) return v1.dir;
  return rec.paths.unified?.dir;
}

/**
 * The cgroup roots for restore, read from /proc/<pid>/cgroup of a process
 * already placed in the container's cgroups (CRIU itself): the restored
 * tasks go where it is. The cgroup2 entry is the default root for all.
 */
export function cgroupRoots(pid: number): { ctrl?: string; path: string }[] {
  const roots: { ctrl?: string; path: string }[] = [];
  for (const { controllers, path } of readCgroupLines(pid)) {
    if (controllers === '') roots.push({ path });
    else roots.push({ ctrl: controllers.replace(/^name=/, ''), path });
  }
  return roots;
}

/** Where a container's cgroup v1 binds come from (cgroupV1Mounts): the cgroups of a process in them, and the host's mount table. */
export function cgroupFacts(pid: number): { cgroupLines: CgroupLine[]; mountinfo: MountInfo[] } {
  return { cgroupLines: readCgroupLines(pid), mountinfo: readMountinfo() };
}

/** The stdio of a process as runc records it (descriptors.json): what each of fds 0-2 points at. */
export function stdioDescriptors(pid: number): string[] {
  return [0, 1, 2].map((fd) => {
    try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return '/dev/null'; }
  });
}

export const DESCRIPTORS_FILE = 'descriptors.json';

/**
 * What CRIU says when a helper program it ran failed ("exited, status=1",
 * "execvp(...) failed"): the line that names the step (network lock, ...)
 * is the one to show.
 */
const HELPER_FAILED = /^exited, status=\d+$|^execvp\(/;

/** The last error CRIU wrote to its log, without its source location; one that names a step beats a helper's exit status. */
export function lastLogError(logPath: string): string | null {
  let text: string;
  try { text = readFileSync(logPath, 'utf8'); } catch { return null; }
  const errors = text.split('\n').filter((l) => /\bError \(/.test(l)).map(cleanMessage);
  return errors.filter((e) => !HELPER_FAILED.test(e)).at(-1) ?? errors.at(-1) ?? null;
}

/** "(00.04) Error (criu/mount.c:12): mnt: It failed.\n" → "mnt: It failed": one line, no clock or source location. */
export function cleanMessage(text: string): string {
  return text.trim().split('\n').map((l) => l.trim()).filter((l) => l !== '').at(-1)?.replace(/^\(\s*[\d.]+\)\s*/, '').replace(/^Error \([^)]*\):\s*/, '').replace(/[.\s]+$/, '') ?? '';
}

/**
 * A failed CRIU request as one line: what CRIU said (its log's last error),
 * and, when `criu check` fails too, that this kernel is the cause; always
 * where the log is.
 */
export function criuFailure(what: string, resp: CriuResp | null, criu: string, logPath: string): Error {
  const parts: string[] = [];
  const kernel = criuCheck(criu);
  if (kernel !== null) parts.push(`CRIU cannot work on this kernel (criu check: ${kernel})`);
  const told = resp?.cr_errmsg ? cleanMessage(resp.cr_errmsg) : '';
  const said = told !== '' && !HELPER_FAILED.test(told) ? told : lastLogError(logPath) ?? told;
  const errno = resp?.cr_errno ? ` (errno ${resp.cr_errno})` : '';
  parts.push(`criu ${what} failed${said ? `: ${said}` : ''}${errno}`);
  return new Error(`${parts.join('; ')}; log: ${logPath}`);
}

export function logPathIn(workDir: string, file: string): string {
  return join(workDir, file);
}
