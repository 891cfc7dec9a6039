// Names the config uses for kernel things, with the numbers the kernel uses
// for them. Pure data: the checks use the names, linux/ uses the numbers.

import type { NamespaceType } from './types.js';

/** Capability names, index = kernel capability number (linux/capability.h). */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN', // 0
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL', // 5
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE', // 10
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', // 15
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', // 20
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', // 25
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', // 30
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM', // 35
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE', // 40
] as const;

export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

const capabilityIndex: ReadonlyMap<string, number> = new Map(CAPABILITY_NAMES.map((name, i) => [name, i]));

/** Kernel number of a capability name ("CAP_KILL" → 5), undefined when unknown. */
export function capabilityNumber(name: string): number | undefined {
  return capabilityIndex.get(name);
}

/** Resource limit names, index = RLIMIT_* resource number (asm-generic/resource.h, also x86). */
export const RLIMIT_NAMES = [
  'RLIMIT_CPU', // 0
  'RLIMIT_FSIZE',
  'RLIMIT_DATA',
  'RLIMIT_STACK',
  'RLIMIT_CORE',
  'RLIMIT_RSS', // 5
  'RLIMIT_NPROC',
  'RLIMIT_NOFILE',
  'RLIMIT_MEMLOCK',
  'RLIMIT_AS',
  'RLIMIT_LOCKS', // 10
  'RLIMIT_SIGPENDING',
  'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE',
  'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME', // 15
] as const;

export type RlimitName = (typeof RLIMIT_NAMES)[number];

const rlimitIndex: ReadonlyMap<string, number> = new Map(RLIMIT_NAMES.map((name, i) => [name, i]));

/** setrlimit(2) resource number of an rlimit name ("RLIMIT_NOFILE" → 7), undefined when unknown. */
export function rlimitNumber(name: string): number | undefined {
  return rlimitIndex.get(name);
}

/** Namespace types the config may name, in the order the spec lists them. */
export const NAMESPACE_TYPES: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];

export const ROOTFS_PROPAGATIONS = ['shared', 'slave', 'private', 'unbindable'] as const;

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;

export const SECCOMP_OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
