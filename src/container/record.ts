// The first record of a new container (create, restore): still creating,
// with the creating process named, so that if it dies before the end,
// `state` and `delete` can tell (an orphaned record resolves).
import type { Spec } from '../config/types.js';
import type { NamespacePlan } from '../linux/namespaces.js';
import { readProcStat } from '../linux/procfs.js';
import { type StoredState, OCI_VERSION, nowRfc3339Nano } from './state.js';

export interface NewRecord {
  id: string;
  bundle: string;
  rootfs: string;
  spec: Spec;
  namespaces: NamespacePlan;
  seccomp: string | null;
  /** the filter's SECCOMP_FILTER_FLAG_* bits */
  seccompFlags?: number;
  cgroup: StoredState['cgroup'];
}

export function newStateRecord(r: NewRecord): StoredState {
  const self = readProcStat(process.pid);
  const ns = r.namespaces;
  return {
    ociVersion: OCI_VERSION,
    id: r.id,
    pid: 0,
    pidStartTime: 0,
    bundle: r.bundle,
    rootfs: r.rootfs,
    created: nowRfc3339Nano(),
    annotations: r.spec.annotations ?? {},
    creating: true,
    creator: { pid: process.pid, startTime: self?.startTime ?? 0 },
    ownPidNamespace: ns.create.includes('pid') || ns.join.some((j) => j.kind === 'pid'),
    hooks: { poststart: r.spec.hooks?.poststart ?? [], poststop: r.spec.hooks?.poststop ?? [] },
    namespaces: [...ns.create, ...ns.join.map((j) => j.kind)],
    seccomp: r.seccomp,
    seccompFlags: r.seccompFlags ?? 0,
    execInherits: {
      ...(r.spec.linux?.personality ? { personality: r.spec.linux.personality } : {}),
      ...(r.spec.linux?.memoryPolicy ? { memoryPolicy: r.spec.linux.memoryPolicy } : {}),
      ...(r.spec.process?.oomScoreAdj !== undefined ? { oomScoreAdj: r.spec.process.oomScoreAdj } : {}),
    },
    cgroup: r.cgroup,
  };
}
