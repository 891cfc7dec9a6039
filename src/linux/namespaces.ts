// Which namespaces a container creates and which it joins, as a plan the
// native spawn step carries out.
import { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS } from '../sys/constants.js';
import type { Linux, NamespaceType } from '../config/types.js';
import { NAMESPACE_TYPES } from '../config/names.js';

/** The kinds are the config's namespace types (spec/names.ts lists them). */
export type NamespaceKind = NamespaceType;

/** A namespace type the config may name (before validation, a plain string). */
export function isNamespaceKind(type: string): type is NamespaceKind {
  return (NAMESPACE_TYPES as readonly string[]).includes(type);
}

export const CLONE_FLAG: Record<NamespaceKind, number> = {
  pid: CLONE_NEWPID,
  network: CLONE_NEWNET,
  mount: CLONE_NEWNS,
  ipc: CLONE_NEWIPC,
  uts: CLONE_NEWUTS,
  user: CLONE_NEWUSER,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
};

/** The name of each kind under /proc/<pid>/ns/. */
export const PROC_NS_NAME: Record<NamespaceKind, string> = {
  pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

export interface NamespacePlan {
  /** kinds the container gets new namespaces of */
  create: NamespaceKind[];
  /** existing namespaces to join, the user namespace first (it grants the rights to join the rest) */
  join: { kind: NamespaceKind; path: string }[];
  /** CLONE_NEW* flags that stage 1 unshares (not user: it has its own step; not cgroup: the init unshares it once it sits in its cgroup) */
  unshareFlags: number;
  newUserns: boolean;
  /** joined or new user namespace: become its root before exec */
  inUserns: boolean;
  newCgroupns: boolean;
  /** /proc/self/timens_offsets content, or null */
  timensOffsets: string | null;
}

export function planNamespaces(linux: Linux | undefined): NamespacePlan {
  const entries = linux?.namespaces ?? [];
  const create: NamespaceKind[] = [];
  const join: { kind: NamespaceKind; path: string }[] = [];
  for (const ns of entries) {
    const kind = ns.type as NamespaceKind;
    if (ns.path) join.push({ kind, path: ns.path });
    else create.push(kind);
  }
  join.sort((a, b) => Number(b.kind === 'user') - Number(a.kind === 'user'));
  let unshareFlags = 0;
  for (const kind of create) if (kind !== 'user' && kind !== 'cgroup') unshareFlags |= CLONE_FLAG[kind];
  const offsets = linux?.timeOffsets;
  let timensOffsets: string | null = null;
  if (create.includes('time') && offsets) {
    const lines: string[] = [];
    for (const clock of ['monotonic', 'boottime'] as const) {
      const o = offsets[clock];
      if (o) lines.push(`${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`);
    }
    timensOffsets = lines.length ? `${lines.join('\n')}\n` : null;
  }
  return {
    create,
    join,
    unshareFlags,
    newUserns: create.includes('user'),
    inUserns: create.includes('user') || join.some((j) => j.kind === 'user'),
    newCgroupns: create.includes('cgroup'),
    timensOffsets,
  };
}
