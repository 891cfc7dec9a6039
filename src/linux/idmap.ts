// User namespace id maps, written by the parent into /proc/<pid>/.
import { writeFileSync } from 'node:fs';

export interface IdMapping { containerID: number; hostID: number; size: number }

/** The text the kernel expects in uid_map/gid_map: one "inside outside count" line a range. */
export function formatIdMap(mappings: readonly IdMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/**
 * Write both maps for pid. setgroups stays "allow" when we are privileged on the
 * host (runc does the same): a container may then call setgroups for additionalGids.
 */
export function writeIdMaps(pid: number, uidMap: readonly IdMapping[], gidMap: readonly IdMapping[]): void {
  writeProcFile(`/proc/${pid}/uid_map`, formatIdMap(uidMap));
  writeProcFile(`/proc/${pid}/gid_map`, formatIdMap(gidMap));
}

function writeProcFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`write ${path} (${JSON.stringify(text.trim())}): ${code}`, { cause: err });
  }
}

/** Map an id inside the user namespace to the host, or null when it is not mapped. */
export function mapToHost(id: number, mappings: readonly IdMapping[]): number | null {
  for (const m of mappings) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return null;
}
