// A container's stored record and its live status, derived from the kernel
// each time: a stored status would go stale the moment the process exits.
import { existsSync, statSync } from 'node:fs';
import { isProcessAlive } from '../linux/procfs.js';
import { stillRuns } from '../linux/procexe.js';
import type { Hook, MemoryPolicy, Personality } from '../config/types.js';
import { type CgroupRecord, isFrozen } from '../linux/cgroups/record.js';

/** Where a container's files are: what Store (store.ts) offers, named here so the two modules do not import each other. */
export interface RecordDirs {
  dir(id: string): string;
  fifoPath(id: string): string;
}

export { OCI_VERSION } from '../config/version.js';

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
  annotations: Record<string, string>;
  /** set until the init reports ready */
  creating: boolean;
  /** the create command that is writing this record: once it is dead, `creating` no longer holds */
  creator?: { pid: number; startTime: number };
  /** what /proc/<init>/exe showed while the init waited for start: once it differs, the program runs */
  initExe?: string;
  /** the container has its own pid namespace (killing the init kills all) */
  ownPidNamespace: boolean;
  /** the namespace kinds the container is in (created or joined): what exec joins */
  namespaces?: string[];
  /** the container's compiled seccomp filter (base64), which exec applies too */
  seccomp?: string | null;
  /** its SECCOMP_FILTER_FLAG_* bits (exec drops the listener's: it has none) */
  seccompFlags?: number;
  /** what exec's processes take from the container's config, as runc's do: linux.personality, linux.memoryPolicy, and process.oomScoreAdj when a process file has none */
  execInherits?: { personality?: Personality; memoryPolicy?: MemoryPolicy; oomScoreAdj?: number };
  /** the container's cgroups: paths, directories made, resources in force */
  cgroup?: CgroupRecord;
  /** no mount namespace of its own: how many mounts the rootfs path had before create (delete takes off the rest) */
  hostRootfsMounts?: number;
  /** hooks that run after create: poststart (by start) and poststop (by delete) */
  hooks?: { poststart?: Hook[]; poststop?: Hook[] };
}

export function currentStatus(store: RecordDirs, s: StoredState): Status {
  // A record still marked creating whose create has died tells nothing: what
  // is true is what its init (if it got one) does now.
  if (s.creating && (!s.creator || isProcessAlive(s.creator.pid, s.creator.startTime))) return 'creating';
  if (!isProcessAlive(s.pid, s.pidStartTime)) return 'stopped';
  if (s.cgroup && isFrozen(s.cgroup.paths) && !killFreezeLeft(store, s.id)) return 'paused';
  return waitingForStart(store, s) ? 'created' : 'running';
}

/**
 * The init still waits on exec.fifo: the fifo is there and the init has not
 * exec'd the program yet (a `start` killed after it released the init but
 * before it removed the fifo leaves the fifo behind a running program).
 */
function waitingForStart(store: RecordDirs, s: StoredState): boolean {
  if (!existsSync(store.fifoPath(s.id))) return false;
  // Where we may not read its exe link (no ptrace access), the fifo decides.
  return !s.initExe || stillRuns(s.pid, s.initExe);
}

/** The marker a kill path leaves while it has the container frozen (see lifecycle.ts). */
export function killFreezeMarker(store: RecordDirs, id: string): string {
  return `${store.dir(id)}/kill-freeze`;
}

/** A kill path froze the container and died before it thawed it: frozen is not paused. */
export function killFreezeLeft(store: RecordDirs, id: string): boolean {
  return existsSync(killFreezeMarker(store, id));
}

/** The owner runc reports: the user that owns the state directory, by name when root. */
export function ownerOf(store: RecordDirs, id: string): string {
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
export function stateDocument(store: RecordDirs, s: StoredState, withOwner = false): Record<string, unknown> {
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
  return `${isoUtcMillis(Date.now()).slice(0, -1)}${ns.toString().padStart(6, '0')}Z`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Date's toISOString, by arithmetic: V8 looks up the host's time zone on
 * a Date's first formatting (ICU reads /etc/localtime, ~0.15 ms of every
 * create), although UTC needs none. Proleptic Gregorian calendar, years
 * 0–9999; the year is counted from March so that the leap day comes last.
 */
export function isoUtcMillis(ms: number): string {
  const day = Math.floor(ms / 86_400_000);
  const inDay = ms - day * 86_400_000;
  const z = day + 719_468; // days since 0000-03-01
  const era = Math.floor(z / 146_097); // 400-year cycles
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const date = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = era * 400 + yearOfEra + (month <= 2 ? 1 : 0);
  const h = Math.floor(inDay / 3_600_000);
  const m = Math.floor(inDay / 60_000) % 60;
  const sec = Math.floor(inDay / 1000) % 60;
  return `${pad(year, 4)}-${pad(month)}-${pad(date)}T${pad(h)}:${pad(m)}:${pad(sec)}.${pad(inDay % 1000, 3)}Z`;
}
