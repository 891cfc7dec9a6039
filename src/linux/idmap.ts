// User namespace id maps, written by the parent into /proc/<pid>/.
import type { spawnSync as SpawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { errnoCode } from '../config/errors.js';

export interface IdMapping { containerID: number; hostID: number; size: number }

/** The text the kernel expects in uid_map/gid_map: one "inside outside count" line a range. */
export function formatIdMap(mappings: readonly IdMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/**
 * How the maps of a new user namespace get written, decided by who we are:
 * - "direct": we hold CAP_SETUID/CAP_SETGID in our own user namespace (root
 *   on the host, or root of the user namespace an engine like rootless podman
 *   put us in), so any ids of ours may be mapped and setgroups stays allowed;
 * - "self": unprivileged, and each map is our own single id: the kernel lets
 *   us write that, but only after setgroups is denied;
 * - "helper": unprivileged with ranges: newuidmap/newgidmap (setuid helpers
 *   from the uidmap package, checked against /etc/subuid and /etc/subgid).
 */
export type MapWriter = 'direct' | 'self' | 'helper';

export function chooseMapWriter(euid: number, egid: number, uidMap: readonly IdMapping[], gidMap: readonly IdMapping[]): MapWriter {
  if (euid === 0) return 'direct';
  const onlySelf = (maps: readonly IdMapping[], id: number): boolean => maps.length === 1 && maps[0]!.size === 1 && maps[0]!.hostID === id;
  return onlySelf(uidMap, euid) && onlySelf(gidMap, egid) ? 'self' : 'helper';
}

/** setgroups(2) stays possible in the container: false when the maps are written by "self". */
export function setgroupsAllowed(writer: MapWriter): boolean {
  return writer !== 'self';
}

/** Write both maps for pid, the way `writer` says. setgroups stays "allow" unless the kernel demands "deny". */
export function writeIdMaps(pid: number, uidMap: readonly IdMapping[], gidMap: readonly IdMapping[], writer: MapWriter): void {
  if (writer === 'helper') {
    runMapHelper('newuidmap', pid, uidMap, '/etc/subuid');
    runMapHelper('newgidmap', pid, gidMap, '/etc/subgid');
    return;
  }
  if (writer === 'self') writeProcFile(`/proc/${pid}/setgroups`, 'deny');
  writeProcFile(`/proc/${pid}/uid_map`, formatIdMap(uidMap));
  writeProcFile(`/proc/${pid}/gid_map`, formatIdMap(gidMap));
}

function runMapHelper(helper: string, pid: number, maps: readonly IdMapping[], subidFile: string): void {
  const args = [String(pid), ...maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  // child_process costs create, run and exec several ms to load: only the newuidmap path pays for it.
  const spawnSync = process.getBuiltinModule('node:child_process').spawnSync as typeof SpawnSync;
  const r = spawnSync(helper, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) {
    const code = errnoCode(r.error);
    throw new Error(code === 'ENOENT'
      ? `${helper} is not installed (package uidmap): an unprivileged user needs it to map more than its own id`
      : `${helper}: ${r.error.message}`, { cause: r.error });
  }
  if (r.status !== 0) {
    const why = r.stderr.trim().split('\n').pop() ?? `exit status ${r.status}`;
    throw new Error(`${helper} ${args.join(' ')}: ${why} (the ranges must be yours in ${subidFile})`);
  }
}

function writeProcFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (err) {
    const code = errnoCode(err) ?? 'error';
    throw new Error(`write ${path} (${JSON.stringify(text.trim())}): ${code}`, { cause: err });
  }
}

/** Whether the user namespace of pid forbids setgroups(2) ("deny" in /proc/<pid>/setgroups). */
export function setgroupsDenied(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim() === 'deny';
  } catch {
    return false;
  }
}

/** Map an id inside the user namespace to the host, or null when it is not mapped. */
export function mapToHost(id: number, mappings: readonly IdMapping[]): number | null {
  for (const m of mappings) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return null;
}
