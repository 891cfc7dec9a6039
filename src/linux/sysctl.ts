// linux.sysctl: only keys the kernel keeps per namespace, and only when the
// container has its own namespace of that kind; anything else would change
// the host for everyone, so it is refused at create. Written by the native
// init after pivot_root (so /proc/sys is the container's) and before
// /proc/sys becomes read-only (initops.ts).
import { jsonPathJoin } from '../config/jsonpath.js';
import { type NamespaceKind, type NamespacePlan, PROC_NS_NAME } from './namespaces.js';

export interface SysctlStep {
  key: string;
  /** path under /proc/sys */
  file: string;
  value: string;
}

// The IPC namespace's sysctls (ipc/ipc_sysctl.c, ipc/mq_sysctl.c).
const IPC_KEYS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni',
  'kernel.shm_rmid_forced', 'kernel.msg_next_id', 'kernel.sem_next_id', 'kernel.shm_next_id',
]);
const UTS_KEYS = new Set(['kernel.hostname', 'kernel.domainname']);

/** The namespace a sysctl key belongs to, or null for a host-wide one. */
export function sysctlNamespace(key: string): NamespaceKind | null {
  const k = key.replace(/\//g, '.');
  if (IPC_KEYS.has(k) || k.startsWith('fs.mqueue.')) return 'ipc';
  if (UTS_KEYS.has(k)) return 'uts';
  if (k.startsWith('net.')) return 'network';
  return null;
}

/**
 * `ownNamespace(kind)`: the container has a namespace of that kind that is
 * not the runtime's own (created, or joined and different from ours).
 */
export function planSysctl(sysctl: Record<string, string> | undefined, ownNamespace: (kind: NamespaceKind) => boolean): SysctlStep[] {
  const steps: SysctlStep[] = [];
  for (const [key, value] of Object.entries(sysctl ?? {})) {
    const path = jsonPathJoin('linux.sysctl', key);
    const kind = sysctlNamespace(key);
    if (kind === null) throw new Error(`${path}: not a namespaced sysctl, so setting it would change the host`);
    if (!ownNamespace(kind)) throw new Error(`${path}: needs the container's own ${kind} namespace (it would change the host's)`);
    // Dots separate levels; a key given with slashes is taken as the path itself.
    const file = key.includes('/') ? key : key.replace(/\./g, '/');
    if (file.split('/').some((c) => c === '' || c === '.' || c === '..')) throw new Error(`${path}: is not a valid sysctl name`);
    steps.push({ key, file, value: String(value) });
  }
  return steps;
}

/**
 * The container has a namespace of this kind that is not the runtime's
 * own: a new one, or a joined one whose inode differs from ours (an
 * unreadable path counts as its own: joining it fails later, with its own message).
 */
export function ownNamespace(ns: NamespacePlan, kind: NamespaceKind, namespaceOf: (path: string) => string | null): boolean {
  if (ns.create.includes(kind)) return true;
  const joined = ns.join.find((j) => j.kind === kind);
  if (!joined) return false;
  const theirs = namespaceOf(joined.path);
  return theirs === null || theirs !== namespaceOf(`/proc/self/ns/${PROC_NS_NAME[kind]}`);
}
