// A container's stored record and its live status, derived from the kernel
// each time: a stored status would go stale the moment the process exits.
import { existsSync, statSync } from 'node:fs';
import { isProcessAlive } from '../linux/procfs.js';
import type { Hook } from '../spec/types.js';
import type { Store } from './store.js';
import { type CgroupRecord, isFrozen } from '../linux/cgroups/record.js';

export const OCI_VERSION = '1.3.0';

export type Status = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

export interface StoredState {
  ociVersion: string;
  id: string;
  /** host pid of the init, 0 before it exists */
  pid: number;
  /** /proc/<pid>/stat start time: a recycled pid never passes for the container */
  pidStartTime: number;
  bundle: string;
  rootfs: string;
  /** RFC 3339 with nanoseconds, UTC */
  created: string;
  owner: string;
  annotations: Record<string, string>;
  /** set until the init reports ready */
  creating: boolean;
  /** the container has its own pid namespace (killing the init kills all) */
  ownPidNamespace: boolean;
  /** the namespace kinds the container is in (created or joined): what exec joins */
  namespaces?: string[];
  /** the container's compiled seccomp filter (base64), which exec applies too */
  seccomp?: string | null;
  /** the container's cgroups: paths, directories made, resources in force */
  cgroup?: CgroupRecord;
  /** no mount namespace of its own: how many mounts the rootfs path had before create (delete takes off the rest) */
  hostRootfsMounts?: number;
  /** hooks that run after create: poststart (by start) and poststop (by delete) */
  hooks?: { poststart?: Hook[]; poststop?: Hook[] };
}

export function currentStatus(store: Store, s: StoredState): Status {
  const alive = isProcessAlive(s.pid, s.pidStartTime);
  if (s.creating) return alive || s.pid === 0 ? 'creating' : 'stopped';
  if (!alive) return 'stopped';
  if (s.cgroup && isFrozen(s.cgroup.paths)) return 'paused';
  return existsSync(store.fifoPath(s.id)) ? 'created' : 'running';
}

/** The owner runc reports: the user that owns the state directory, by name when root. */
export function ownerOf(store: Store, id: string): string {
  try {
    const uid = statSync(store.dir(id)).uid;
    return uid === 0 ? 'root' : `#${uid}`;
  } catch {
    return '';
  }
}

/**
 * The runtime-spec state document, plus runc's extra fields. runc's `state`
 * leaves owner empty and only `list` fills it in: `withOwner` chooses.
 */
export function stateDocument(store: Store, s: StoredState, withOwner = false): Record<string, unknown> {
  const status = currentStatus(store, s);
  const doc: Record<string, unknown> = {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: status === 'stopped' ? 0 : s.pid,
    status,
    bundle: s.bundle,
    rootfs: s.rootfs,
    created: s.created,
    owner: withOwner ? ownerOf(store, s.id) : '',
  };
  if (Object.keys(s.annotations).length) doc.annotations = s.annotations;
  return doc;
}

/** The state a hook gets on stdin: the runtime-spec document at that point. */
export function hookStateJson(s: StoredState, status: Status, pid: number): string {
  const doc: Record<string, unknown> = { ociVersion: s.ociVersion, id: s.id, status, pid, bundle: s.bundle };
  if (Object.keys(s.annotations).length) doc.annotations = s.annotations;
  return JSON.stringify(doc);
}

/** RFC 3339 with nanosecond precision, as Go prints time.Time. */
export function nowRfc3339Nano(): string {
  const ns = process.hrtime.bigint() % 1_000_000n;
  const iso = new Date().toISOString(); // …T12:34:56.789Z
  return `${iso.slice(0, -1)}${ns.toString().padStart(6, '0')}Z`;
}
