// linux.seccomp → a BPF program, compiled here in the runtime with
// libseccomp, and the few facts the native finalize needs to install it
// (filter flags; the listener for SCMP_ACT_NOTIFY). Translating the config
// into rules is pure (planSeccompRules, unit-tested); compiling is one call
// into sys/libseccomp, made once for a set of rules (seccompcache.ts).
import type { Seccomp, SeccompAction, SeccompArg } from '../config/types.js';
import { jsonPathJoin as at } from '../config/jsonpath.js';
import {
  type ArgCompare, compileFilter, libseccompIdentity, nativeArch, resolveArch, resolveSyscall, SCMP_ACT_ALLOW, SCMP_ACT_KILL_PROCESS,
  SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG, SCMP_ACT_NOTIFY, SCMP_ACT_TRAP, SCMP_CMP, scmpActErrno, scmpActTrace,
} from '../sys/libseccomp.js';
import * as C from '../sys/constants.js';
import { cachedFilter } from './seccompcache.js';

/** SECCOMP_FILTER_FLAG_* (linux/seccomp.h) that a config may ask for. */
export const SECCOMP_FILTER_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: C.SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG: C.SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: C.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: C.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

/**
 * Syscalls the native finalize makes after the filter is in place (see
 * ocirun.c). A notify rule on one of them would wait for a listener that
 * has not received the notify fd yet, so such a rule is refused (runc
 * refuses notify on `write` and as the default action for the same reason).
 */
const AFTER_FILTER = ['sendmsg', 'close'];
// Without no_new_privs the filter is in place from `create` on: the init then
// also writes "ready" and the answer to `start` under it.
const AFTER_FILTER_WITH_CAPS = ['capset', 'prctl', 'write'];

export interface SeccompRule {
  name: string;
  /** its number on this architecture, as the resolver gave it */
  syscall: number;
  action: number;
  args: ArgCompare[];
}

export interface SeccompRules {
  defaultAction: number;
  arches: number[];
  rules: SeccompRule[];
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(2) */
  flags: number;
  notify: boolean;
  /** names this libseccomp does not know (skipped, as runc does) */
  skipped: string[];
}

export interface SeccompPlan {
  /** struct sock_filter[] in base64 */
  filter: string;
  flags: number;
  /** unix socket that receives the notify fd, when a rule notifies */
  listenerPath: string | null;
  listenerMetadata: string;
}

function actionValue(action: SeccompAction, errnoRet: number | undefined, path: string): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD': return SCMP_ACT_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS': return SCMP_ACT_KILL_PROCESS;
    case 'SCMP_ACT_TRAP': return SCMP_ACT_TRAP;
    case 'SCMP_ACT_ERRNO': return scmpActErrno(errnoRet ?? C.EPERM);
    case 'SCMP_ACT_TRACE': return scmpActTrace(errnoRet ?? C.EPERM);
    case 'SCMP_ACT_ALLOW': return SCMP_ACT_ALLOW;
    case 'SCMP_ACT_LOG': return SCMP_ACT_LOG;
    case 'SCMP_ACT_NOTIFY': return SCMP_ACT_NOTIFY;
    default: throw new Error(`${path}: unknown action ${JSON.stringify(action)}`);
  }
}

/** "SCMP_ARCH_X86_64" → libseccomp's name "x86_64". */
export function archName(specName: string): string {
  return specName.replace(/^SCMP_ARCH_/, '').toLowerCase();
}

/** JSON numbers above 2^53 arrive rounded; anything past uint64 is clamped, not wrapped. */
function u64(n: number): bigint {
  const v = BigInt(Math.trunc(n));
  return v > 0xffffffffffffffffn ? 0xffffffffffffffffn : v < 0n ? 0n : v;
}

function argCompare(arg: SeccompArg, path: string): ArgCompare {
  const op = (SCMP_CMP as Record<string, number>)[arg.op];
  if (op === undefined) throw new Error(`${path}.op: unknown operator ${JSON.stringify(arg.op)}`);
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) throw new Error(`${path}.index: must be 0 to 5 (a syscall has six arguments)`);
  // MASKED_EQ: (arg & value) == valueTwo; the other operators compare with value.
  return { index: arg.index, op, a: u64(arg.value), b: u64(arg.valueTwo ?? 0) };
}

/**
 * The config's rules as libseccomp will take them. Throws, naming the JSON
 * path, on anything it cannot express; skips syscall names unknown here.
 */
export function planSeccompRules(
  config: Seccomp,
  resolve: { arch: (name: string) => number; syscall: (name: string) => number | null },
  noNewPrivileges: boolean,
): SeccompRules {
  const base = 'linux.seccomp';
  if (config.defaultAction === 'SCMP_ACT_NOTIFY') {
    throw new Error(`${base}.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (the runtime's own last system calls would wait on the listener)`);
  }
  const defaultAction = actionValue(config.defaultAction, config.defaultErrnoRet, `${base}.defaultAction`);
  const arches: number[] = [];
  (config.architectures ?? []).forEach((name, i) => {
    const token = resolve.arch(archName(name));
    if (!token) throw new Error(`${at(`${base}.architectures`, i)}: unknown architecture ${JSON.stringify(name)}`);
    if (!arches.includes(token)) arches.push(token);
  });
  let flags = 0;
  (config.flags ?? []).forEach((name, i) => {
    const bit = SECCOMP_FILTER_FLAGS[name];
    if (bit === undefined) throw new Error(`${at(`${base}.flags`, i)}: unsupported filter flag ${JSON.stringify(name)} (known: ${Object.keys(SECCOMP_FILTER_FLAGS).join(', ')})`);
    flags |= bit;
  });
  const rules: SeccompRule[] = [];
  const skipped: string[] = [];
  let notify = false;
  const afterFilter = noNewPrivileges ? AFTER_FILTER : [...AFTER_FILTER, ...AFTER_FILTER_WITH_CAPS];
  (config.syscalls ?? []).forEach((sc, i) => {
    const here = at(`${base}.syscalls`, i);
    const action = actionValue(sc.action, sc.errnoRet, `${here}.action`);
    const args = (sc.args ?? []).map((a, j) => argCompare(a, at(`${here}.args`, j)));
    if (sc.action === 'SCMP_ACT_NOTIFY') {
      notify = true;
      const bad = sc.names.filter((n) => afterFilter.includes(n));
      if (bad.length) throw new Error(`${here}: SCMP_ACT_NOTIFY cannot be used for ${bad.join(', ')} (the runtime calls it after the filter is loaded${noNewPrivileges ? '' : ' and noNewPrivileges is false'})`);
    }
    // libseccomp refuses a rule that repeats the default action; it would change nothing.
    if (action === defaultAction) return;
    // Several comparisons of one argument cannot be ANDed in one libseccomp
    // rule; like runc, each becomes its own rule (so they are ORed).
    const indexes = args.map((a) => a.index);
    const repeated = new Set(indexes).size !== indexes.length;
    for (const name of sc.names) {
      const syscall = resolve.syscall(name);
      if (syscall === null) {
        skipped.push(name);
        continue;
      }
      if (repeated) for (const a of args) rules.push({ name, syscall, action, args: [a] });
      else rules.push({ name, syscall, action, args });
    }
  });
  if (notify) {
    flags |= C.SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // The kernel refuses TSYNC with a listener unless TSYNC_ESRCH says how to report a failed sync.
    if (flags & C.SECCOMP_FILTER_FLAG_TSYNC) flags |= C.SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  } else if (flags & SECCOMP_FILTER_FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV!) {
    throw new Error(`${base}.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule`);
  }
  return { defaultAction, arches, rules, flags, notify, skipped };
}

/** Compile linux.seccomp for this host (libseccomp must be loadable). */
export function planSeccomp(config: Seccomp, noNewPrivileges: boolean): SeccompPlan {
  let rules: SeccompRules;
  try {
    rules = planSeccompRules(config, {
      arch: resolveArch,
      syscall: (name) => resolveSyscall(name),
    }, noNewPrivileges);
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(msg.startsWith('linux.seccomp') ? msg : `linux.seccomp: ${msg}`, { cause: err });
  }
  if (rules.notify && !config.listenerPath) throw new Error('linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used');
  let bpf: Buffer;
  try {
    const request = {
      defaultAction: rules.defaultAction,
      arches: rules.arches.filter((a) => a !== nativeArch()),
      rules: rules.rules,
    };
    // The same rules compile to the same program: an engine's profile is compiled once, not by every create.
    bpf = cachedFilter(request, libseccompIdentity, () => compileFilter(request));
  } catch (err) {
    throw new Error(`linux.seccomp: ${(err as Error).message}`, { cause: err });
  }
  return {
    filter: bpf.toString('base64'),
    flags: rules.flags,
    listenerPath: rules.notify ? (config.listenerPath as string) : null,
    listenerMetadata: config.listenerMetadata ?? '',
  };
}

/**
 * The container process state sent with the notify fd (runtime spec,
 * config-linux "seccomp"): the fd's name in `fds`, the pid, the listener
 * metadata, and the container's state. The filter is loaded after `start`,
 * before the user's program runs: the status is "created".
 */
export function containerProcessState(hookState: Record<string, unknown>, metadata: string): string {
  const state: Record<string, unknown> = { ...hookState, status: 'created' };
  const doc: Record<string, unknown> = { ociVersion: state.ociVersion, fds: ['seccompFd'], pid: state.pid };
  if (metadata) doc.metadata = metadata;
  doc.state = state;
  return JSON.stringify(doc);
}
