// What the container's init does, decided in advance: the runtime plans it
// from the config (container/plan.ts) as an InitPlan, turns it into a list of
// operations (initops.ts), and encodes them (initcode.ts) in the fixed binary
// format that the native executor carries out in the cloned child.
import type { Hook } from '../config/types.js';
import type { LsmPlan } from './lsm.js';
import type { RlimitStep } from './rlimits.js';
import type { TerminalPlan } from './terminal.js';
import type { AffinityPlan, MemoryPolicyPlan, SchedulerPlan } from './sched.js';
import type { SysctlStep } from './sysctl.js';
import type { RootfsPlan } from './rootfs.js';

export interface ProcessPlan {
  /** process.terminal: a pty whose master goes over the console socket */
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
  /** SCMP_ACT_NOTIFY: the unix socket that gets the notify fd (the runtime connects it) */
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
  /** host path of exec.fifo; the runtime sends it to the init as an O_PATH fd */
  fifoPath: string;
  /** ask the runtime to run prestart and createRuntime hooks once the mounts are done */
  runtimeHooks: boolean;
  /** hooks the init runs itself, in the container's namespaces */
  hooks: { createContainer: Hook[]; startContainer: Hook[] };
  /** the state document hooks get on stdin; the init's status is set per hook kind */
  hookState: Record<string, unknown>;
  /** linux.sysctl writes: after pivot_root, before /proc/sys turns read-only */
  sysctl: SysctlStep[];
  /** the soft and hard RLIMIT_NOFILE ocirun was started with (Node raises its own), restored first */
  nofile: { soft: string; hard: string } | null;
  process: ProcessPlan;
}
