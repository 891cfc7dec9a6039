// `exec`: a new process in a running container. Node cannot start inside the
// container's root filesystem (it may not even have a libc), so the native
// step joins the container's namespaces (user first) and, once we have put
// it in the container's cgroups and set its rlimits, becomes the process.
import { readlinkSync, writeFileSync } from 'node:fs';

import type { Process } from '../config/types.js';
import { closeFd, closeQuietly, connectConsoleSocket, moveFdAbove } from '../linux/runtimefds.js';
import { openOwnConsole, type OwnConsole, ownTerminalSize, proxyTerminal, receiveMaster } from '../linux/terminal.js';
import { exitCodeOf, forwardSignalsUntilExit } from '../linux/children.js';
import { planHostCapabilities } from '../linux/capabilities.js';
import { candidatePaths } from '../linux/lookpath.js';
import { type NamespaceKind, type NamespacePlan, PROC_NS_NAME } from '../linux/namespaces.js';
import { lastCapability } from '../linux/procfs.js';
import { applyRlimits, planRlimits } from '../linux/rlimits.js';
import { setgroupsDenied } from '../linux/idmap.js';
import { homeFor, readInRoot, withHome } from '../linux/home.js';
import { detectLsm, execLabelAttrs, planLsm } from '../linux/lsm.js';
import { abortLaunch, completeExecLaunch, type FinalizeRequest, type Launch, launchInit } from '../linux/spawn.js';
import { currentStatus, type StoredState } from './state.js';
import { type Store, writePidFile } from './store.js';
import { trace } from '../trace.js';
import { openCgroups } from '../linux/cgroups/lifecycle.js';
import { subCgroupDirs } from '../linux/cgroups/subcgroup.js';
import { join } from 'node:path';

export interface ExecRequest {
  id: string;
  processFile?: string | undefined;
  args: string[];
  detach: boolean;
  pidFile?: string | undefined;
  tty: boolean;
  consoleSocket?: string | undefined;
  cwd?: string | undefined;
  env: string[];
  user?: string | undefined;
  additionalGids: number[];
  caps: string[];
  noNewPrivs: boolean;
  preserveFds: number;
  ignorePaused: boolean;
  apparmor?: string | undefined;
  processLabel?: string | undefined;
  /** --cgroup: [<controller>:]<sub-cgroup> (repeatable) */
  cgroups: string[];
}

/** "uid" or "uid:gid", numbers only (runc's --user). */
export function parseUser(text: string): { uid: number; gid?: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new Error(`--user: expected uid[:gid] as numbers, got "${text}"`);
  return m[2] === undefined ? { uid: Number(m[1]) } : { uid: Number(m[1]), gid: Number(m[2]) };
}

/** The process to run: the --process file, or the container's own process with the flags applied. */
export async function execProcessSpec(s: StoredState, req: ExecRequest): Promise<Process> {
  const { loadBundleConfig, parseProcessFile } = await import('../config/load.js');
  if (req.processFile) return parseProcessFile(req.processFile);
  const base = loadBundleConfig(s.bundle).spec.process;
  if (!base) throw new Error('the container\'s config has no process to start from');
  if (!req.args.length) throw new Error('exec: a command to run is required');
  const user = { ...(base.user ?? { uid: 0, gid: 0 }) };
  if (req.user) Object.assign(user, parseUser(req.user));
  if (req.additionalGids.length) user.additionalGids = req.additionalGids;
  const caps = base.capabilities ? { ...base.capabilities } : {};
  if (req.caps.length) {
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) {
      caps[set] = [...new Set([...(caps[set] ?? []), ...req.caps])];
    }
  }
  return {
    ...base,
    terminal: req.tty,
    args: req.args,
    env: [...(base.env ?? []), ...req.env],
    cwd: req.cwd ?? base.cwd,
    user,
    capabilities: caps,
    noNewPrivileges: req.noNewPrivs || (base.noNewPrivileges ?? false),
  };
}

/** Every namespace the container is in that differs from ours, the user namespace first. */
function namespacesToJoin(s: StoredState): NamespacePlan {
  const join: { kind: NamespaceKind; path: string }[] = [];
  for (const kind of (s.namespaces ?? []) as NamespaceKind[]) {
    const path = `/proc/${s.pid}/ns/${PROC_NS_NAME[kind]}`;
    // setns into our own user namespace is EINVAL, and any same one is a no-op.
    if (readlinkSync(path) === readlinkSync(`/proc/self/ns/${PROC_NS_NAME[kind]}`)) continue;
    join.push({ kind, path });
  }
  join.sort((a, b) => Number(b.kind === 'user') - Number(a.kind === 'user'));
  const inUserns = join.some((j) => j.kind === 'user');
  return { create: [], join, unshareFlags: 0, newUserns: false, inUserns, newCgroupns: false, timensOffsets: null };
}

export function planExecFinalize(proc: Process, s: StoredState, preserveFds: number): FinalizeRequest {
  const caps = planHostCapabilities(proc.capabilities);
  const user = proc.user ?? { uid: 0, gid: 0 };
  const env = proc.env ?? [];
  const args = proc.args ?? [];
  return {
    paths: candidatePaths(args[0] as string, env),
    argv: args,
    env,
    cwd: proc.cwd,
    umask: user.umask ?? 0o022,
    // A user namespace whose maps an unprivileged runtime wrote itself denies setgroups.
    setGroups: !setgroupsDenied(s.pid),
    groups: user.additionalGids ?? [],
    uid: user.uid,
    gid: user.gid,
    capBounding: caps.bounding,
    capEffective: caps.effective,
    capPermitted: caps.permitted,
    capInheritable: caps.inheritable,
    capAmbient: caps.ambient,
    lastCap: lastCapability(),
    noNewPrivs: proc.noNewPrivileges ?? false,
    seccomp: s.seccomp ? Buffer.from(s.seccomp, 'base64') : null,
    preserveFds,
  };
}

/** Start the process; returns its host pid once it has exec'd. */
export async function execInContainer(store: Store, req: ExecRequest): Promise<{ pid: number; state: StoredState; master: number | null }> {
  const s = store.read(req.id);
  const status = currentStatus(store, s);
  if (status === 'stopped') throw new Error('cannot exec in a stopped container');
  if (status === 'paused' && !req.ignorePaused) throw new Error('cannot exec in a paused container (use --ignore-paused to override)');
  if (status === 'creating') throw new Error('cannot exec in a container that is still being created');
  const proc = await execProcessSpec(s, req);
  // runc's HOME when the process has none: from the container's own view of /etc/passwd.
  proc.env = withHome(proc.env ?? [], () => homeFor(readInRoot(`/proc/${s.pid}/root`, '/etc/passwd'), proc.user?.uid ?? 0));
  if (req.apparmor !== undefined) proc.apparmorProfile = req.apparmor;
  if (req.processLabel !== undefined) proc.selinuxLabel = req.processLabel;
  // On a host with the LSM this names the field that cannot be honoured; runc's flags map onto them.
  const lsm = planLsm({ process: proc }, detectLsm());
  if (proc.terminal && req.detach && req.consoleSocket === undefined) throw new Error('cannot allocate tty if runc will detach without setting console socket');
  if (!proc.terminal && req.consoleSocket !== undefined) throw new Error('cannot use console socket if runc will not detach or allocate tty');
  const finalize = { ...planExecFinalize(proc, s, req.preserveFds), execAttrs: execLabelAttrs(lsm) };
  // No mount namespace to join: the container's root is the init's chroot.
  if (!(s.namespaces ?? []).includes('mount')) finalize.root = `/proc/${s.pid}/root`;
  const rlimits = planRlimits(proc.rlimits);
  // The terminal: the engine's console socket, or (foreground, none given) our own, joined to the user's terminal.
  let consoleFd = -1;
  let ownConsole: OwnConsole | null = null;
  if (proc.terminal) {
    let fd: number;
    if (req.consoleSocket !== undefined) {
      fd = connectConsoleSocket(req.consoleSocket);
    } else {
      ownConsole = openOwnConsole();
      fd = ownConsole.theirs;
    }
    // Above the fds --preserve-fds passes on: the native step closes it after use.
    consoleFd = moveFdAbove(fd, 3 + req.preserveFds);
    if (ownConsole) ownConsole.theirs = consoleFd;
  }
  const size = proc.consoleSize ? { rows: proc.consoleSize.height, cols: proc.consoleSize.width } : (ownConsole ? ownTerminalSize() : null);
  let launch: Launch | null;
  try {
    launch = launchInit(namespacesToJoin(s), req.preserveFds, finalize, consoleFd >= 0 ? { fd: consoleFd, rows: size?.rows ?? 0, cols: size?.cols ?? 0 } : undefined);
  } catch (err) {
    if (consoleFd >= 0 && !ownConsole) closeFd(consoleFd);
    throw err;
  }
  try {
    const pid = completeExecLaunch(launch, (pid) => {
      trace(`exec process ${pid}`);
      // Into the container's cgroups before it runs anything (ps, kill --all and limits see it).
      if (s.cgroup) {
        const cg = openCgroups(s.cgroup);
        cg.apply(pid);
        // --cgroup: further down, into sub-cgroups that already exist.
        for (const dir of subCgroupDirs(cg.paths, req.cgroups)) writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      } else if (req.cgroups.length) {
        throw new Error('--cgroup: this container has no cgroups');
      }
      applyRlimits(pid, rlimits);
    });
    launch = null;
    if (req.pidFile) writePidFile(req.pidFile, pid);
    if (consoleFd >= 0 && !ownConsole) closeFd(consoleFd);
    return { pid, state: s, master: ownConsole ? receiveMaster(ownConsole) : null };
  } catch (err) {
    if (launch) abortLaunch(launch);
    if (consoleFd >= 0) closeQuietly(consoleFd);
    if (ownConsole) closeQuietly(ownConsole.ours);
    throw friendlierExecError(err, proc.args?.[0] ?? '');
  }
}

/** runc's wording for a program that is not there, which engines match (podman maps it to 127). */
function friendlierExecError(err: unknown, name: string): unknown {
  const msg = err instanceof Error ? err.message : '';
  if (/^execve: ENOENT/.test(msg)) {
    return new Error(name.includes('/') ? `exec: "${name}": stat ${name}: no such file or directory` : `exec: "${name}": executable file not found in $PATH`);
  }
  if (/^execve: EACCES/.test(msg)) return new Error(`exec: "${name}": permission denied`);
  return err;
}

/** exec, then (without --detach) wait for the process, joined to our terminal if it has one: its exit code. */
export async function execAndWait(store: Store, req: ExecRequest): Promise<number> {
  const { pid, master } = await execInContainer(store, req);
  if (req.detach) return 0;
  const exited = forwardSignalsUntilExit(pid);
  if (master !== null) await proxyTerminal(master, exited);
  return exitCodeOf(await exited);
}
