// Semantic checks on a config that already passed the schema: rules that
// relate one field to another, or that the kernel would only enforce after
// side effects had been made. Each check is a small pure function returning
// the problems it found; the loader reports the first.
import { isAbsolute } from 'node:path';
import type { Problem } from './errors.js';
import { jsonPathJoin as at } from './jsonpath.js';
import { capabilityNumber, NAMESPACE_TYPES, rlimitNumber, ROOTFS_PROPAGATIONS, SECCOMP_ACTIONS, SECCOMP_OPERATORS } from './names.js';
import type { IdMapping, Namespace, NamespaceType, Process, Spec } from './types.js';

export type Check = (spec: Spec) => Problem[];
/** A check on a process definition; `base` is where it sits (`process`, or '' for a process.json). */
export type ProcessCheck = (proc: Process, base: string) => Problem[];

const ABSOLUTE = 'must be an absolute path';

function namespaceEntry(spec: Spec, type: NamespaceType): Namespace | undefined {
  return spec.linux?.namespaces?.find((ns) => ns.type === type);
}

/** A namespace of this type that the container gets new (no path to join). */
function createsNamespace(spec: Spec, type: NamespaceType): boolean {
  const ns = namespaceEntry(spec, type);
  return ns !== undefined && !ns.path;
}

// ------------------------------------------------------------------ process

export const checkArgs: ProcessCheck = (proc, base) =>
  proc.args.length === 0 ? [{ jsonPath: at(base, 'args'), rule: 'must not be empty' }] : [];

export const checkCwd: ProcessCheck = (proc, base) =>
  isAbsolute(proc.cwd) ? [] : [{ jsonPath: at(base, 'cwd'), rule: ABSOLUTE }];

export const checkCapabilities: ProcessCheck = (proc, base) => {
  const problems: Problem[] = [];
  const caps = proc.capabilities;
  if (!caps) return problems;
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const) {
    (caps[set] ?? []).forEach((name, i) => {
      if (capabilityNumber(name) === undefined) {
        problems.push({ jsonPath: at(at(at(base, 'capabilities'), set), i), rule: `unknown capability ${JSON.stringify(name)}` });
      }
    });
  }
  return problems;
};

export const checkRlimits: ProcessCheck = (proc, base) => {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  (proc.rlimits ?? []).forEach((r, i) => {
    // The path only for a problem: most configs have none, and every create checks every rlimit.
    const here = (field: string): string => at(at(at(base, 'rlimits'), i), field);
    if (rlimitNumber(r.type) === undefined) problems.push({ jsonPath: here('type'), rule: `unknown rlimit type ${JSON.stringify(r.type)}` });
    else if (seen.has(r.type)) problems.push({ jsonPath: here('type'), rule: `duplicate rlimit type ${JSON.stringify(r.type)}` });
    seen.add(r.type);
    // setrlimit(2) fails with EINVAL when soft exceeds hard.
    if (r.soft > r.hard) problems.push({ jsonPath: here('soft'), rule: 'must not be greater than hard' });
  });
  return problems;
};

export const checkUmask: ProcessCheck = (proc, base) => {
  const umask = proc.user?.umask;
  // umask(2) keeps only the permission bits; anything above 0777 is a mistake.
  return umask !== undefined && umask > 0o777 ? [{ jsonPath: at(at(base, 'user'), 'umask'), rule: 'must be at most 0777 (511)' }] : [];
};

/** Strings that become C strings (argv, envp, paths) would be cut at a NUL byte without a word. */
function nulProblems(base: string, field: string, list: readonly unknown[] | undefined): Problem[] {
  const problems: Problem[] = [];
  (list ?? []).forEach((v, i) => {
    if (typeof v === 'string' && v.includes('\0')) problems.push({ jsonPath: at(at(base, field), i), rule: 'must not contain a NUL byte' });
  });
  return problems;
}

export const checkNulBytes: ProcessCheck = (proc, base) => [
  ...nulProblems(base, 'args', proc.args),
  ...nulProblems(base, 'env', proc.env),
  ...(typeof proc.cwd === 'string' && proc.cwd.includes('\0') ? [{ jsonPath: at(base, 'cwd'), rule: 'must not contain a NUL byte' }] : []),
];

export const PROCESS_CHECKS: readonly ProcessCheck[] = [checkNulBytes, checkArgs, checkCwd, checkCapabilities, checkRlimits, checkUmask];

const onProcess =
  (check: ProcessCheck): Check =>
  (spec) =>
    spec.process ? check(spec.process, 'process') : [];

// -------------------------------------------------------------- mounts, root

export const checkMountDestinations: Check = (spec) => {
  const problems: Problem[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    // The spec still tolerates relative destinations (as relative to "/"), but
    // they are deprecated and ambiguous: refused here, like an absolute path
    // is required everywhere else. A NUL byte would silently cut the path.
    if (!m.destination.startsWith('/')) problems.push({ jsonPath: at(at('mounts', i), 'destination'), rule: 'must be an absolute path' });
    else if (m.destination.includes('\0')) problems.push({ jsonPath: at(at('mounts', i), 'destination'), rule: 'must not contain a NUL byte' });
  });
  return problems;
};

export const checkMountIdMappings: Check = (spec) => {
  const problems: Problem[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    // An id-mapped mount takes a user namespace built from both maps.
    const hasUid = (m.uidMappings?.length ?? 0) > 0;
    const hasGid = (m.gidMappings?.length ?? 0) > 0;
    if (hasUid !== hasGid) {
      problems.push({ jsonPath: at(at('mounts', i), hasUid ? 'gidMappings' : 'uidMappings'), rule: 'uidMappings and gidMappings must be given together' });
    }
    if (hasUid) problems.push(...mappingSizes(m.uidMappings, at(at('mounts', i), 'uidMappings')));
    if (hasGid) problems.push(...mappingSizes(m.gidMappings, at(at('mounts', i), 'gidMappings')));
  });
  return problems;
};

// ---------------------------------------------------------------- namespaces

export const checkNamespaces: Check = (spec) => {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  (spec.linux?.namespaces ?? []).forEach((ns, i) => {
    const here = at(at('linux', 'namespaces'), i);
    if (!NAMESPACE_TYPES.includes(ns.type)) problems.push({ jsonPath: at(here, 'type'), rule: `unknown namespace type ${JSON.stringify(ns.type)}` });
    if (seen.has(ns.type)) problems.push({ jsonPath: at(here, 'type'), rule: `duplicate namespace type ${JSON.stringify(ns.type)}` });
    seen.add(ns.type);
    if (ns.path !== undefined && !isAbsolute(ns.path)) problems.push({ jsonPath: at(here, 'path'), rule: ABSOLUTE });
  });
  return problems;
};

function mappingSizes(maps: readonly IdMapping[] | undefined, base: string): Problem[] {
  const problems: Problem[] = [];
  (maps ?? []).forEach((m, i) => {
    // The kernel refuses an empty range, and one that wraps past 2^32.
    if (m.size === 0) problems.push({ jsonPath: at(at(base, i), 'size'), rule: 'must be at least 1' });
    else if (m.containerID + m.size > 2 ** 32 || m.hostID + m.size > 2 ** 32) problems.push({ jsonPath: at(base, i), rule: 'range goes past the last id (4294967295)' });
  });
  return problems;
}

export const checkUserNamespace: Check = (spec) => {
  const linux = spec.linux;
  const userns = namespaceEntry(spec, 'user');
  const hasUid = (linux?.uidMappings?.length ?? 0) > 0;
  const hasGid = (linux?.gidMappings?.length ?? 0) > 0;
  const problems: Problem[] = [];
  if (userns && !userns.path) {
    // A new user namespace without maps leaves every id unmapped (nobody).
    if (!hasUid) problems.push({ jsonPath: 'linux.uidMappings', rule: 'required with a new user namespace' });
    if (!hasGid) problems.push({ jsonPath: 'linux.gidMappings', rule: 'required with a new user namespace' });
  } else if (!userns) {
    if (hasUid) problems.push({ jsonPath: 'linux.uidMappings', rule: 'needs a user namespace in linux.namespaces' });
    if (hasGid) problems.push({ jsonPath: 'linux.gidMappings', rule: 'needs a user namespace in linux.namespaces' });
  }
  problems.push(...mappingSizes(linux?.uidMappings, 'linux.uidMappings'), ...mappingSizes(linux?.gidMappings, 'linux.gidMappings'));
  return problems;
};

export const checkHostname: Check = (spec) => {
  const problems: Problem[] = [];
  // Without a uts namespace in the config the name would be the host's own;
  // a joined one (by path) may be renamed, as config.md and runc allow.
  if (spec.hostname && !namespaceEntry(spec, 'uts')) problems.push({ jsonPath: 'hostname', rule: 'needs a uts namespace (new or joined)' });
  if (spec.domainname && !namespaceEntry(spec, 'uts')) problems.push({ jsonPath: 'domainname', rule: 'needs a uts namespace (new or joined)' });
  return problems;
};

export const checkTimeOffsets: Check = (spec) => {
  const offsets = spec.linux?.timeOffsets;
  if (!offsets) return [];
  const problems: Problem[] = [];
  // Offsets can only be written into a time namespace nobody has entered yet.
  if (!createsNamespace(spec, 'time')) problems.push({ jsonPath: 'linux.timeOffsets', rule: 'needs a new time namespace' });
  for (const [clock, offset] of Object.entries(offsets)) {
    const here = at(at('linux', 'timeOffsets'), clock);
    if (clock !== 'monotonic' && clock !== 'boottime') problems.push({ jsonPath: here, rule: 'unknown clock (monotonic or boottime)' });
    if (offset.nanosecs !== undefined && offset.nanosecs >= 1e9) problems.push({ jsonPath: at(here, 'nanosecs'), rule: 'must be less than 1000000000' });
  }
  return problems;
};

export const checkNetDevices: Check = (spec) => {
  const devices = spec.linux?.netDevices;
  if (!devices || Object.keys(devices).length === 0) return [];
  // Moving a device "into" the host's own namespace is meaningless.
  return namespaceEntry(spec, 'network') ? [] : [{ jsonPath: 'linux.netDevices', rule: 'needs a network namespace' }];
};

// ------------------------------------------------------------- linux misc

export const checkDevices: Check = (spec) => {
  const problems: Problem[] = [];
  (spec.linux?.devices ?? []).forEach((d, i) => {
    const here = at(at('linux', 'devices'), i);
    if (!isAbsolute(d.path)) problems.push({ jsonPath: at(here, 'path'), rule: ABSOLUTE });
    // mknod(2) needs a device number for everything but a fifo.
    if (d.type !== 'p') {
      if (d.major === undefined) problems.push({ jsonPath: at(here, 'major'), rule: `required for type ${d.type} devices` });
      if (d.minor === undefined) problems.push({ jsonPath: at(here, 'minor'), rule: `required for type ${d.type} devices` });
    }
  });
  return problems;
};

export const checkCgroupsPath: Check = (spec) => {
  const path = spec.linux?.cgroupsPath;
  if (path === undefined) return [];
  if (path.includes('\0')) return [{ jsonPath: 'linux.cgroupsPath', rule: 'must not contain a NUL byte' }];
  // Absolute or relative are both fine, but ".." could climb out of the
  // cgroup root we place containers under.
  if (path.split('/').includes('..')) return [{ jsonPath: 'linux.cgroupsPath', rule: 'must not contain ".." components' }];
  return [];
};

export const checkSysctl: Check = (spec) => {
  const problems: Problem[] = [];
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) {
    if (key.trim() === '') problems.push({ jsonPath: 'linux.sysctl', rule: 'keys must not be empty' });
    else if (key.includes('..') || key.startsWith('/') || key.startsWith('.')) {
      // Keys name files under /proc/sys: never let one walk out of it.
      problems.push({ jsonPath: at(at('linux', 'sysctl'), key), rule: 'is not a valid sysctl name' });
    }
  }
  return problems;
};

export const checkRootfsPropagation: Check = (spec) => {
  const p = spec.linux?.rootfsPropagation;
  return p !== undefined && !(ROOTFS_PROPAGATIONS as readonly string[]).includes(p)
    ? [{ jsonPath: 'linux.rootfsPropagation', rule: `must be one of ${ROOTFS_PROPAGATIONS.join(', ')}` }]
    : [];
};

export const checkMaskedReadonlyPaths: Check = (spec) => {
  const problems: Problem[] = [];
  for (const field of ['maskedPaths', 'readonlyPaths'] as const) {
    (spec.linux?.[field] ?? []).forEach((p, i) => {
      if (!isAbsolute(p)) problems.push({ jsonPath: at(at('linux', field), i), rule: ABSOLUTE });
    });
  }
  return problems;
};

export const checkSeccomp: Check = (spec) => {
  const seccomp = spec.linux?.seccomp;
  if (!seccomp) return [];
  const problems: Problem[] = [];
  const actions: readonly string[] = SECCOMP_ACTIONS;
  const operators: readonly string[] = SECCOMP_OPERATORS;
  const takesErrno = (action: string): boolean => action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE';
  let notify = seccomp.defaultAction === 'SCMP_ACT_NOTIFY';
  if (!actions.includes(seccomp.defaultAction)) {
    problems.push({ jsonPath: 'linux.seccomp.defaultAction', rule: `unknown action ${JSON.stringify(seccomp.defaultAction)}` });
  } else if (seccomp.defaultErrnoRet !== undefined && !takesErrno(seccomp.defaultAction)) {
    problems.push({ jsonPath: 'linux.seccomp.defaultErrnoRet', rule: `not allowed with ${seccomp.defaultAction}` });
  }
  (seccomp.syscalls ?? []).forEach((rule, i) => {
    const here = at(at('linux.seccomp', 'syscalls'), i);
    if (rule.action === 'SCMP_ACT_NOTIFY') notify = true;
    if (!actions.includes(rule.action)) problems.push({ jsonPath: at(here, 'action'), rule: `unknown action ${JSON.stringify(rule.action)}` });
    else if (rule.errnoRet !== undefined && !takesErrno(rule.action)) problems.push({ jsonPath: at(here, 'errnoRet'), rule: `not allowed with ${rule.action}` });
    (rule.args ?? []).forEach((arg, j) => {
      if (!operators.includes(arg.op)) problems.push({ jsonPath: at(at(at(here, 'args'), j), 'op'), rule: `unknown operator ${JSON.stringify(arg.op)}` });
    });
  });
  if (seccomp.listenerMetadata !== undefined && !seccomp.listenerPath) {
    problems.push({ jsonPath: 'linux.seccomp.listenerMetadata', rule: 'needs linux.seccomp.listenerPath' });
  }
  if (notify && !seccomp.listenerPath) problems.push({ jsonPath: 'linux.seccomp.listenerPath', rule: 'required when SCMP_ACT_NOTIFY is used' });
  return problems;
};

export const checkMemoryPolicy: Check = (spec) => {
  const policy = spec.linux?.memoryPolicy;
  if (!policy) return [];
  // set_mempolicy(2): MPOL_DEFAULT takes no nodes, the node-based modes need some.
  const nodes = policy.nodes ?? '';
  if (policy.mode === 'MPOL_DEFAULT' && nodes !== '') return [{ jsonPath: 'linux.memoryPolicy.nodes', rule: 'must be empty with MPOL_DEFAULT' }];
  if (policy.mode !== 'MPOL_DEFAULT' && policy.mode !== 'MPOL_LOCAL' && nodes === '') {
    return [{ jsonPath: 'linux.memoryPolicy.nodes', rule: `required with ${policy.mode}` }];
  }
  return [];
};

// --------------------------------------------------------------------- hooks

export const checkHooks: Check = (spec) => {
  const problems: Problem[] = [];
  for (const [kind, list] of Object.entries(spec.hooks ?? {})) {
    if (!Array.isArray(list)) continue;
    list.forEach((hook: { path: string; args?: string[]; env?: string[] }, i: number) => {
      const here = at(at('hooks', kind), i);
      if (hook.path.includes('\0')) problems.push({ jsonPath: at(here, 'path'), rule: 'must not contain a NUL byte' });
      else if (!isAbsolute(hook.path)) problems.push({ jsonPath: at(here, 'path'), rule: ABSOLUTE });
      problems.push(...nulProblems(here, 'args', hook.args), ...nulProblems(here, 'env', hook.env));
    });
  }
  return problems;
};

/** Every semantic check on a config, in the order problems are reported. */
export const CHECKS: readonly Check[] = [
  ...PROCESS_CHECKS.map(onProcess),
  checkMountDestinations,
  checkMountIdMappings,
  checkHooks,
  checkNamespaces,
  checkUserNamespace,
  checkHostname,
  checkTimeOffsets,
  checkNetDevices,
  checkDevices,
  checkCgroupsPath,
  checkSysctl,
  checkRootfsPropagation,
  checkMaskedReadonlyPaths,
  checkSeccomp,
  checkMemoryPolicy,
];

/** All problems of a schema-valid config. */
export function checkSpec(spec: Spec): Problem[] {
  return CHECKS.flatMap((check) => check(spec));
}

/** All problems of a schema-valid process definition (process.json for exec). */
export function checkProcess(proc: Process): Problem[] {
  return PROCESS_CHECKS.flatMap((check) => check(proc, ''));
}

/** What `create` and `run` need beyond a valid config: a process to start and a root filesystem. */
export function checkForCreate(spec: Spec): Problem[] {
  const problems: Problem[] = [];
  if (!spec.process) problems.push({ jsonPath: 'process', rule: 'required to create a container' });
  if (!spec.root) problems.push({ jsonPath: 'root', rule: 'required to create a container' });
  return problems;
}
