// TypeScript shapes of the OCI runtime specification 1.3.0 documents this
// runtime reads and writes: config.json (Linux parts), the state the `state`
// command prints, and the `features` document. Written from config.md,
// config-linux.md, runtime.md, features.md and features-linux.md.
//
// These types are kept in step with schemas/*.schema.json by hand: the schema
// is what is enforced at run time (through the generated validators), the
// types are what the code after validation may rely on. Every property the
// spec marks OPTIONAL is optional here. Integer widths (uint32, int64, …) are
// noted in comments; JSON numbers arrive as `number`.

// ---------------------------------------------------------------- config.json

export interface Spec {
  /** SemVer of the runtime spec the bundle follows (REQUIRED). */
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Root {
  /** rootfs path, absolute or relative to the bundle (REQUIRED when root is present) */
  path: string;
  readonly?: boolean;
}

export interface Mount {
  /** absolute path inside the container (REQUIRED) */
  destination: string;
  source?: string;
  options?: string[];
  type?: string;
  /** id-mapped mount (mount_setattr MOUNT_ATTR_IDMAP) */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface ConsoleSize {
  height: number; // uint
  width: number; // uint
}

export interface User {
  uid: number; // uint32
  gid: number; // uint32
  umask?: number; // uint32
  additionalGids?: number[]; // uint32
  /** Windows only; carried through untouched */
  username?: string;
}

export type CapabilitySet = 'bounding' | 'effective' | 'inheritable' | 'permitted' | 'ambient';

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface Rlimit {
  /** RLIMIT_* name */
  type: string;
  soft: number; // uint64
  hard: number; // uint64
}

export type SchedulerPolicy =
  | 'SCHED_OTHER'
  | 'SCHED_FIFO'
  | 'SCHED_RR'
  | 'SCHED_BATCH'
  | 'SCHED_ISO'
  | 'SCHED_IDLE'
  | 'SCHED_DEADLINE';

export type SchedulerFlag =
  | 'SCHED_FLAG_RESET_ON_FORK'
  | 'SCHED_FLAG_RECLAIM'
  | 'SCHED_FLAG_DL_OVERRUN'
  | 'SCHED_FLAG_KEEP_POLICY'
  | 'SCHED_FLAG_KEEP_PARAMS'
  | 'SCHED_FLAG_UTIL_CLAMP_MIN'
  | 'SCHED_FLAG_UTIL_CLAMP_MAX';

export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number; // int32
  priority?: number; // int32
  flags?: SchedulerFlag[];
  runtime?: number; // uint64, ns
  deadline?: number; // uint64, ns
  period?: number; // uint64, ns
}

export type IoPriorityClass = 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';

export interface IoPriority {
  class: IoPriorityClass;
  priority?: number; // 0..7
}

export interface ExecCPUAffinity {
  /** cpu list applied right after the process joins the container (e.g. "0-3,7") */
  initial?: string;
  /** cpu list applied just before the user process runs */
  final?: string;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: ConsoleSize;
  /** REQUIRED on Linux by the spec; optional here so that the check names it */
  user?: User;
  /** REQUIRED on Linux, at least one entry */
  args: string[];
  /** Windows only */
  commandLine?: string;
  env?: string[];
  /** absolute path (REQUIRED) */
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number; // int
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: IoPriority;
  execCPUAffinity?: ExecCPUAffinity;
}

export interface Hook {
  /** absolute path on the host (REQUIRED) */
  path: string;
  args?: string[];
  env?: string[];
  /** seconds, > 0 */
  timeout?: number;
}

export type HookName = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

export interface Hooks {
  /** deprecated in favour of createRuntime/createContainer/startContainer */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

// --------------------------------------------------------------------- linux

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface Namespace {
  type: NamespaceType;
  /** join this namespace (absolute path) instead of creating one */
  path?: string;
}

export interface IdMapping {
  containerID: number; // uint32
  hostID: number; // uint32
  size: number; // uint32
}

export interface TimeOffset {
  secs?: number; // int64
  nanosecs?: number; // uint32
}

/** a device node the container gets (config-linux "Devices") */
export interface Device {
  type: 'c' | 'b' | 'u' | 'p';
  path: string;
  major?: number; // int64, REQUIRED unless type is p
  minor?: number; // int64
  fileMode?: number; // uint32
  uid?: number; // uint32
  gid?: number; // uint32
}

/** an entry of the cgroup device allow/deny list */
export interface DeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number; // int64
  minor?: number; // int64
  access?: string;
}

export interface Memory {
  limit?: number; // int64, -1 = unlimited
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number; // uint64, 0..100
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface CPU {
  shares?: number; // uint64
  quota?: number; // int64
  burst?: number; // uint64
  period?: number; // uint64
  realtimeRuntime?: number; // int64
  realtimePeriod?: number; // uint64
  cpus?: string;
  mems?: string;
  idle?: number; // int64
}

export interface Pids {
  limit?: number; // int64 (REQUIRED in 1.0–1.2, optional since pids.max may be left alone)
}

export interface BlockIODevice {
  major: number; // int64
  minor: number; // int64
}

export interface WeightDevice extends BlockIODevice {
  weight?: number; // uint16
  leafWeight?: number; // uint16
}

export interface ThrottleDevice extends BlockIODevice {
  rate: number; // uint64
}

export interface BlockIO {
  weight?: number; // uint16
  leafWeight?: number; // uint16
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

export interface HugepageLimit {
  /** "<size><unit>B", e.g. "2MB" */
  pageSize: string;
  limit: number; // uint64
}

export interface InterfacePriority {
  name: string;
  priority: number; // uint32
}

export interface Network {
  classID?: number; // uint32
  priorities?: InterfacePriority[];
}

export interface Rdma {
  hcaHandles?: number; // uint32
  hcaObjects?: number; // uint32
}

export interface Resources {
  devices?: DeviceCgroup[];
  memory?: Memory;
  cpu?: CPU;
  pids?: Pids;
  blockIO?: BlockIO;
  hugepageLimits?: HugepageLimit[];
  network?: Network;
  /** keyed by device name */
  rdma?: Record<string, Rdma>;
  /** cgroup v2 file name → content */
  unified?: Record<string, string>;
}

export type RootfsPropagation = 'shared' | 'slave' | 'private' | 'unbindable';

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

export interface SeccompArg {
  index: number; // uint
  value: number; // uint64
  valueTwo?: number; // uint64
  op: SeccompOperator;
}

export interface SeccompSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number; // uint
  args?: SeccompArg[];
}

export interface Seccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number; // uint
  /** SCMP_ARCH_* names */
  architectures?: string[];
  /** SECCOMP_FILTER_FLAG_* names */
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompSyscall[];
}

export interface IntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  /** written to resctrl's schemata file; a string (lines joined by \n) or one line per entry */
  schemata?: string | string[];
  enableCMT?: boolean;
  enableMBM?: boolean;
  enableMonitoring?: boolean;
}

export interface Personality {
  domain: 'LINUX' | 'LINUX32';
  flags?: string[];
}

export type MemoryPolicyMode =
  | 'MPOL_DEFAULT'
  | 'MPOL_BIND'
  | 'MPOL_INTERLEAVE'
  | 'MPOL_WEIGHTED_INTERLEAVE'
  | 'MPOL_PREFERRED'
  | 'MPOL_PREFERRED_MANY'
  | 'MPOL_LOCAL';

export type MemoryPolicyFlag = 'MPOL_F_NUMA_BALANCING' | 'MPOL_F_RELATIVE_NODES' | 'MPOL_F_STATIC_NODES';

export interface MemoryPolicy {
  mode: MemoryPolicyMode;
  /** node list, e.g. "0-3,7" */
  nodes?: string;
  flags?: MemoryPolicyFlag[];
}

export interface NetDevice {
  /** name inside the container; the host name (the map key) when absent */
  name?: string;
}

export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** keyed by clock name: "monotonic" or "boottime" */
  timeOffsets?: Record<string, TimeOffset>;
  devices?: Device[];
  cgroupsPath?: string;
  resources?: Resources;
  rootfsPropagation?: RootfsPropagation;
  seccomp?: Seccomp;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: IntelRdt;
  personality?: Personality;
  memoryPolicy?: MemoryPolicy;
  /** keyed by the device's name on the host */
  netDevices?: Record<string, NetDevice>;
}

// --------------------------------------------------------------------- state

export type Status = 'creating' | 'created' | 'running' | 'stopped';

export interface State {
  ociVersion: string;
  id: string;
  status: Status;
  /** REQUIRED when status is created or running (on Linux) */
  pid?: number;
  /** absolute path of the bundle */
  bundle: string;
  annotations?: Record<string, string>;
}

// ------------------------------------------------------------------ features

/** Every property but the two versions may also be null, meaning "not known". */
export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks?: string[] | null;
  mountOptions?: string[] | null;
  linux?: LinuxFeatures | null;
  annotations?: Record<string, string> | null;
  potentiallyUnsafeConfigAnnotations?: string[] | null;
}

export interface Enabled {
  enabled?: boolean | null;
}

export interface LinuxFeatures {
  namespaces?: string[] | null;
  capabilities?: string[] | null;
  cgroup?: {
    v1?: boolean | null;
    v2?: boolean | null;
    systemd?: boolean | null;
    systemdUser?: boolean | null;
    rdma?: boolean | null;
  } | null;
  seccomp?: {
    enabled?: boolean | null;
    actions?: string[] | null;
    operators?: string[] | null;
    archs?: string[] | null;
    knownFlags?: string[] | null;
    supportedFlags?: string[] | null;
  } | null;
  apparmor?: Enabled | null;
  selinux?: Enabled | null;
  intelRdt?: { enabled?: boolean | null; schemata?: boolean | null } | null;
  mountExtensions?: { idmap?: Enabled | null } | null;
  netDevices?: Enabled | null;
  memoryPolicy?: { modes?: string[] | null; flags?: string[] | null } | null;
}
