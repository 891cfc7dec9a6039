// What the runtime tells the init to do: plain, serialisable, decided in
// advance so that the init carries it out without reading config.json.
import type { Hook } from '../spec/types.js';
import type { LsmPlan } from './lsm.js';
import type { RlimitStep } from './rlimits.js';
import type { TerminalPlan } from './terminal.js';
import type { AffinityPlan, MemoryPolicyPlan, SchedulerPlan } from './sched.js';
import type { SysctlStep } from './sysctl.js';
import type { RootfsPlan } from './rootfs.js';

export interface ProcessPlan {
  /** process.terminal: a pty whose master goes over the console socket (sent with the config) */
  terminal: TerminalPlan | null;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask: number | null;
  rlimits: RlimitStep[];
  oomScoreAdj: number | null;
  /** capability masks as decimal strings (bigints do not survive JSON) */
  capabilities: { bounding: string; effective: string; permitted: string; inheritable: string; ambient: string };
  noNewPrivileges: boolean;
  preserveFds: number;
  /** the compiled seccomp filter (struct sock_filter[]) in base64, or null */
  seccomp: string | null;
  /** setgroups(2) is allowed (not in a user namespace whose setgroups is "deny") */
  setGroups: boolean;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(2) */
  seccompFlags: number;
  /** SCMP_ACT_NOTIFY: the unix socket that gets the notify fd (the init connects before pivot_root) */
  seccompListener: { path: string; metadata: string } | null;
  scheduler: SchedulerPlan | null;
  /** IOPRIO_PRIO_VALUE for ioprio_set(2) */
  ioPriority: number | null;
  cpuAffinity: AffinityPlan | null;
  /** personality(2) persona */
  personality: number | null;
  memoryPolicy: MemoryPolicyPlan | null;
  /** AppArmor profile and SELinux label for the execve */
  lsm: LsmPlan;
}

export interface InitPlan {
  id: string;
  rootfs: RootfsPlan;
  hostname: string | null;
  domainname: string | null;
  newCgroupns: boolean;
  /** join a fresh session keyring "_ses.<id>" (runc's default; --no-new-keyring skips it) */
  newKeyring: boolean;
  /** host path of exec.fifo; the init opens it before pivot_root */
  fifoPath: string;
  /** ask the runtime to run prestart and createRuntime hooks once the mounts are done */
  runtimeHooks: boolean;
  /** hooks the init runs itself, in the container's namespaces */
  hooks: { createContainer: Hook[]; startContainer: Hook[] };
  /** the state document hooks get on stdin; the init sets the status */
  hookState: Record<string, unknown>;
  /** linux.sysctl writes: after pivot_root, before /proc/sys turns read-only */
  sysctl: SysctlStep[];
  process: ProcessPlan;
}
