// `create`: check the id, fork the init (its namespaces are made while the
// config is validated), validate and plan, claim the id, send the init its
// plan of operations, and finish once the init waits on exec.fifo.
// Any failure undoes everything: no process, no state directory.
import { readlinkSync } from 'node:fs';
import { readBundleConfig } from '../config/read.js';
import type { Spec } from '../config/types.js';
import { closeFd, connectConsoleSocket, connectSeccompListener } from '../linux/runtimefds.js';
import { makeExecFifo } from '../linux/execfifo.js';
import { mapToHost } from '../linux/idmap.js';
import { openIdmappedMounts } from '../linux/idmapmount.js';
import { type NamespacePlan, planNamespaces } from '../linux/namespaces.js';
import { readProcStat } from '../linux/procfs.js';
import { abortLaunch, completeLaunch, type Launch, launchInit, sameNamespaces } from '../linux/spawn.js';
import { type StoredState, hookStateJson } from './state.js';
import { newStateRecord } from './record.js';
import { type DirLock, type Store, validateId, writePidFile } from './store.js';
import { faultPoint } from './faultpoint.js';
import { Interrupts } from './interrupts.js';
import { forgetRemovedParents, shareCreatedParents } from './cgroupparents.js';
import { trace, warn } from '../trace.js';
import { PeerError } from '../linux/sync.js';
import { mountsAt, undoHostRootfs } from '../linux/hostmounts.js';
import type { CgroupManager } from '../linux/cgroups/manager.js';
// Everything else (validator, planners, cgroups, hooks) is imported after the
// init has been forked: loading it overlaps the kernel's work on the fork.

export interface CreateRequest {
  id: string;
  bundle: string;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
  /** instead of a path: an already connected socket (run's own terminal) */
  consoleSocketFd?: number | undefined;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** --systemd-cgroup: the cgroup is a transient systemd unit */
  systemdCgroup?: boolean;
}

export interface Created {
  pid: number;
  state: StoredState;
}

const NAMESPACE_KINDS = new Set(['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time']);

/**
 * The namespace plan from the raw, unvalidated document, when it is plainly
 * well-formed; null sends create down the ordinary path (validate first).
 * Nothing here is trusted: the validated plan must match before we go on.
 */
function earlyNamespacePlan(doc: unknown): NamespacePlan | null {
  const linux = (doc as { linux?: { namespaces?: unknown } } | null)?.linux;
  const list = linux?.namespaces ?? [];
  if (!Array.isArray(list)) return null;
  const seen = new Set<string>();
  for (const ns of list as { type?: unknown; path?: unknown }[]) {
    if (typeof ns?.type !== 'string' || !NAMESPACE_KINDS.has(ns.type) || seen.has(ns.type)) return null;
    if (ns.path !== undefined && (typeof ns.path !== 'string' || !ns.path.startsWith('/'))) return null;
    seen.add(ns.type);
  }
  try {
    return planNamespaces(linux as Spec['linux']);
  } catch {
    return null;
  }
}

/** LISTEN_FDS, when LISTEN_PID says it is meant for us (sd_listen_fds' rule), else 0. */
export function socketActivationFds(): number {
  const n = Number(process.env.LISTEN_FDS);
  if (!Number.isInteger(n) || n <= 0 || Number(process.env.LISTEN_PID) !== process.pid) return 0;
  return n;
}

export async function createContainer(store: Store, req: CreateRequest, held?: Interrupts): Promise<Created> {
  validateId(req.id);
  if (store.has(req.id)) throw new Error(`container with id exists: ${req.id}`);
  // Ctrl-C or SIGTERM from here on cancels the create and undoes it (interrupts.ts).
  const interrupts = held ?? new Interrupts();
  try {
    return await createHoldingSignals(store, req, interrupts);
  } finally {
    if (!held) interrupts.stop();
  }
}

async function createHoldingSignals(store: Store, req: CreateRequest, interrupts: Interrupts): Promise<Created> {
  const read = readBundleConfig(req.bundle);
  // Socket activation: fds 3.. that systemd (or whoever) handed us go first, then --preserve-fds.
  const listenFds = socketActivationFds();
  const passFds = listenFds + req.preserveFds;

  let launch: Launch | null = null;
  const early = earlyNamespacePlan(read.doc);
  if (early) {
    try { launch = launchInit(early, passFds); } catch { launch = null; }
  }
  let lock: DirLock | null = null;
  let consoleFd = -1;
  let listenerFd = -1;
  let idmapFds: number[] = [];
  let cgroups: CgroupManager | null = null;
  let killAndRemoveCgroups: ((m: CgroupManager) => void) | null = null;
  // A prestart, createRuntime or createContainer hook failed: after undoing
  // create, the poststop hooks run (runtime.md lifecycle steps 3-5, 12, 13).
  let hookFailed = false;
  const hostMounts: { rootfs: string; before: number } = { rootfs: '', before: -1 };
  const onHookFailure: { poststop: (() => void) | null } = { poststop: null };
  try {
    // Loading and validation run while stage 1 makes the namespaces.
    const [{ checkBundleConfig }, { planContainer, readInitFacts }, { initOperations }, cgroupLib, { runHooks, runHooksWarnOnly }] = await Promise.all([
      import('../config/load.js'),
      import('./plan.js'),
      import('../linux/initops.js'),
      import('../linux/cgroups/lifecycle.js'),
      import('../linux/hooks.js'),
    ]);
    const { applyConfigResources, cgroupRecordFor, openCgroups } = cgroupLib;
    killAndRemoveCgroups = cgroupLib.killAndRemoveCgroups;
    const loaded = checkBundleConfig(read);
    trace('config validated');
    const fifoPath = store.fifoPath(req.id);
    const plan = planContainer(loaded.spec, {
      id: req.id,
      bundle: loaded.bundle,
      rootfs: loaded.rootfs,
      fifoPath,
      noPivot: req.noPivot,
      preserveFds: passFds,
      noNewKeyring: req.noNewKeyring,
    });
    if (listenFds > 0) plan.init.process.env.push(`LISTEN_FDS=${listenFds}`, 'LISTEN_PID=1');
    const terminal = plan.init.process.terminal !== null;
    const hasSocket = req.consoleSocket !== undefined || req.consoleSocketFd !== undefined;
    // runc's wording for both mismatches.
    if (terminal && !hasSocket) throw new Error('cannot allocate tty if runc will detach without setting console socket');
    if (!terminal && hasSocket) throw new Error('cannot use console socket if runc will not detach or allocate tty');
    if (launch && !sameNamespaces(launch.namespaces, plan.namespaces)) {
      abortLaunch(launch);
      launch = null;
    }
    await interrupts.check();

    const state: StoredState = {
      ...newStateRecord({
        id: req.id, bundle: loaded.bundle, rootfs: loaded.rootfs, spec: loaded.spec, namespaces: plan.namespaces,
        seccomp: plan.init.process.seccomp, cgroup: cgroupRecordFor(loaded.spec, req.id, { systemd: req.systemdCgroup === true }),
      }),
      // No mount namespace: the mounts go into ours, on the rootfs; delete takes off those above this many.
      ...(plan.init.rootfs.ownMountNamespace ? {} : { hostRootfsMounts: mountsAt(loaded.rootfs) }),
    };
    if (state.hostRootfsMounts !== undefined) Object.assign(hostMounts, { rootfs: loaded.rootfs, before: state.hostRootfsMounts });
    // The records written before the last carry no annotations: they can be
    // tens of megabytes, and each write would cost as much again.
    const interim = (): StoredState => ({ ...state, annotations: {} });
    // The id's directory appears with this record in it, locked by us until we return.
    lock = store.claim(interim());
    faultPoint('create:claimed');
    onHookFailure.poststop = () => {
      for (const w of runHooksWarnOnly('poststop', loaded.spec.hooks?.poststop, hookStateJson(state, 'stopped', 0))) warn(w);
    };
    const uidMap = loaded.spec.linux?.uidMappings ?? [];
    const gidMap = loaded.spec.linux?.gidMappings ?? [];
    // The init, possibly root of a user namespace, must be able to open it for writing.
    makeExecFifo(fifoPath, plan.namespaces.newUserns ? { uid: mapToHost(0, uidMap) ?? 0, gid: mapToHost(0, gidMap) ?? 0 } : null);

    launch ??= launchInit(plan.namespaces, passFds);
    if (req.consoleSocket !== undefined) {
      consoleFd = connectConsoleSocket(req.consoleSocket);
    }
    const active = launch;
    const cg = state.cgroup ? openCgroups(state.cgroup) : null;
    cgroups = cg;
    cg?.create();
    if (state.cgroup) shareCreatedParents(store.root, state.cgroup);
    store.write(interim()); // with the directories made, for a delete after a crash
    faultPoint('create:cgroups-made');
    // Resources go on once the init's mounts are done, but before runtime hooks.
    let resourcesSet = false;
    const setResources = (): void => {
      if (resourcesSet) return;
      if (cg) applyConfigResources(cg, loaded.spec);
      resourcesSet = true;
      trace('cgroup resources set');
    };
    const hooks = loaded.spec.hooks;
    // The seccomp listener's socket is connected here, as host root: a user-namespace
    // init may not be allowed to. The init takes the fds in this order.
    const listener = plan.init.process.seccompListener;
    if (listener) {
      listenerFd = connectSeccompListener(listener.path);
    }
    // Idmapped mounts: the trees are cloned and mapped here, with host privileges; the init attaches them.
    idmapFds = openIdmappedMounts(plan.init.rootfs.mounts);
    const extraFds = [
      ...(listenerFd >= 0 ? [listenerFd] : []),
      ...(consoleFd >= 0 ? [consoleFd] : req.consoleSocketFd !== undefined ? [req.consoleSocketFd] : []),
      ...idmapFds,
    ];
    // The init gets the container's state only for what hands it on (its own hooks, the seccomp
    // agent): the annotations can be megabytes, and copying them costs every create.
    const initNeedsState = Boolean(plan.init.hooks.createContainer.length || plan.init.hooks.startContainer.length || listener);
    completeLaunch(active, uidMap, gidMap, fifoPath, extraFds, (pid) => {
      trace(`init pid ${pid}`);
      // Before the init runs anything (it unshares its cgroup namespace first).
      cg?.apply(pid);
      trace('init placed in its cgroups');
      plan.init.hookState = JSON.parse(hookStateJson(initNeedsState ? state : { ...state, annotations: {} }, 'created', pid)) as Record<string, unknown>;
      // Recorded at once: should we die before the end, state and delete find the init.
      const stat = readProcStat(pid);
      if (stat) {
        state.pid = pid;
        state.pidStartTime = stat.startTime;
        state.initExe = processExe(pid);
        store.write(interim());
      }
      faultPoint('create:init-pid');
      // Built now: the cgroup mounts bind the init's own cgroups, the hooks get its pid.
      return initOperations(plan.init, readInitFacts(`/proc/${pid}/cgroup`, plan.init.hookState));
    }, () => {
      // In the runtime's namespaces, after the mounts and before pivot_root (as runc).
      setResources();
      // The runtime environment exists (lifecycle step 2 is over): runtime.md calls that "created".
      const json = hookStateJson(state, 'created', active.initPid);
      try {
        runHooks('prestart', hooks?.prestart, json);
        runHooks('createRuntime', hooks?.createRuntime, json);
      } catch (err) {
        hookFailed = true;
        throw err;
      }
      trace('prestart and createRuntime hooks done');
    });
    setResources();
    faultPoint('create:ready');
    const stat = readProcStat(active.initPid);
    if (!stat) throw new Error('the container init exited during create');
    state.pid = active.initPid;
    state.pidStartTime = stat.startTime;
    state.initExe ??= processExe(active.initPid);
    state.creating = false;
    delete state.creator;
    store.write(state);
    faultPoint('create:written');
    // A signal held meanwhile cancels the create now, before anyone is told it succeeded.
    await interrupts.check();
    if (req.pidFile) writePidFile(req.pidFile, active.initPid);
    return { pid: active.initPid, state };
  } catch (err) {
    if (launch) abortLaunch(launch);
    if (hostMounts.before >= 0) {
      try { undoHostRootfs(hostMounts.rootfs, hostMounts.before); } catch (cleanup) { (err as Error).message += ` (and unmounting its root filesystem failed: ${(cleanup as Error).message})`; }
    }
    if (cgroups && killAndRemoveCgroups) {
      try { killAndRemoveCgroups(cgroups); forgetRemovedParents(store.root); } catch (cleanup) { (err as Error).message += ` (and removing its cgroups failed: ${(cleanup as Error).message})`; }
    }
    if (lock) store.bury(req.id);
    if (hookFailed || (err instanceof PeerError && err.hook)) onHookFailure.poststop?.();
    throw err;
  } finally {
    lock?.release();
    if (consoleFd >= 0) closeFd(consoleFd);
    for (const fd of idmapFds) closeFd(fd);
    if (listenerFd >= 0) closeFd(listenerFd);
  }
}

/** /proc/<pid>/exe, or undefined when we may not read it. */
function processExe(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}
