// `create`: check the id, fork the init (its namespaces are made while the
// config is validated), then in named steps: plan (validate and plan, nothing
// made), claim and record (the id's directory with its first record), cgroups,
// the runtime-side fds (console socket, seccomp listener, idmapped mounts),
// start (send the init its plan of operations, run the runtime's hooks, wait
// until it waits on exec.fifo), record. Each step pushes its undo on a
// cleanup stack (cleanup.ts): any failure undoes everything, last made
// first, and leaves no process and no state directory.
import type { LoadedBundle } from '../config/load.js';
import { type ReadBundle, readBundleConfig } from '../config/read.js';
import type { Spec } from '../config/types.js';
import { closeFd, socketActivationFds } from '../linux/runtimefds.js';
import { makeExecFifo } from '../linux/execfifo.js';
import { checkConsoleSocket } from '../linux/terminal.js';
import { mapToHost } from '../linux/idmap.js';
import { openIdmappedMounts } from '../linux/idmapmount.js';
import { isNamespaceKind, type NamespacePlan, planNamespaces } from '../linux/namespaces.js';
import { type CgroupLine, ownCgroupLinesOnce, ownMountinfoOnce, readCgroupLines, readProcStat } from '../linux/procfs.js';
import { processExe } from '../linux/procexe.js';
import { abortLaunch, completeLaunch, type Launch, launchInit, type ReadyPlan, sameNamespaces } from '../linux/spawn.js';
import { encodePlan } from '../linux/initcode.js';
import { placedCgroupLines, sameCgroupLines } from '../linux/cgroups/paths.js';
import { type StoredState, hookStateJson } from './state.js';
import { newStateRecord } from './record.js';
import { type DirLock, type PreparedWrite, type Store, validateId, writePidFile } from './store.js';
import { CleanupStack } from './cleanup.js';
import { openProcessFds } from './processfds.js';
import type { ContainerPlan } from './plan.js';
import { faultPoint } from './faultpoint.js';
import { Interrupts } from './interrupts.js';
import { expectedCreated, forgetRemovedParents, shareCreatedParents } from './cgroupparents.js';
import { trace, warn } from '../trace.js';
import { PeerError } from '../linux/sync.js';
import { mountsAt, undoHostRootfs } from '../linux/hostmounts.js';
import type { CgroupManager } from '../linux/cgroups/manager.js';
import { warmCgroupMigration } from '../linux/cgroups/warmup.js';
import { openPlacement } from '../linux/cgroups/selfplace.js';
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
  /** --rootless as given ("true", "false", "auto"): which cgroup manager (linux/rootless.ts) */
  rootless?: string | undefined;
  /** the bundle's config.json as the caller has read it already (run, to see whether it asks for a terminal): not read again */
  read?: ReadBundle | undefined;
}

export interface Created {
  pid: number;
  state: StoredState;
  /** the container's lock, still held: only when the caller asked to keep it (run, until it has started the container) */
  lock: DirLock | null;
}

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
    if (typeof ns?.type !== 'string' || !isNamespaceKind(ns.type) || seen.has(ns.type)) return null;
    if (ns.path !== undefined && (typeof ns.path !== 'string' || !ns.path.startsWith('/'))) return null;
    seen.add(ns.type);
  }
  try {
    return planNamespaces(linux as Spec['linux']);
  } catch {
    return null;
  }
}

/**
 * interrupts: run's, held across its create and start (else create's own);
 * keepLock: return the container's lock still held (run, until it has started the container).
 */
export async function createContainer(store: Store, req: CreateRequest, { interrupts: held, keepLock = false }: { interrupts?: Interrupts; keepLock?: boolean } = {}): Promise<Created> {
  validateId(req.id);
  if (store.has(req.id)) throw new Error(`container with id exists: ${req.id}`);
  // Ctrl-C or SIGTERM from here on cancels the create and undoes it (interrupts.ts).
  const interrupts = held ?? new Interrupts();
  try {
    return await createHoldingSignals(store, req, interrupts, keepLock);
  } finally {
    if (!held) interrupts.stop();
  }
}

/** The modules create loads once the init is forking (see the imports above). */
interface Libraries {
  planner: typeof import('./plan.js');
  initops: typeof import('../linux/initops.js');
  cgroups: typeof import('../linux/cgroups/lifecycle.js');
  hooks: typeof import('../linux/hooks.js');
}

/** One create under way: what its steps share. */
interface Creating {
  store: Store;
  req: CreateRequest;
  cleanup: CleanupStack;
  /** socket activation's fds (LISTEN_FDS), passed on first */
  listenFds: number;
  /** every fd passed on: socket activation's, then --preserve-fds */
  passFds: number;
  lib: Libraries;
  loaded: LoadedBundle;
  plan: ContainerPlan;
  /** a prestart or createRuntime hook failed (then the poststop hooks run once create is undone) */
  hookFailed: boolean;
  /** the container's lock, from its claim on */
  lock: DirLock | null;
}

async function createHoldingSignals(store: Store, req: CreateRequest, interrupts: Interrupts, keepLock: boolean): Promise<Created> {
  const read = req.read ?? readBundleConfig(req.bundle);
  // Socket activation: fds 3.. that systemd (or whoever) handed us go first, then --preserve-fds.
  const listenFds = socketActivationFds();
  const passFds = listenFds + req.preserveFds;
  // The init is forked first, from the raw config when it is plainly well-formed:
  // its namespaces are made while the config is loaded and validated.
  let early = forkEarly(read.doc, passFds);
  // systemd moves the init into its unit with a cgroup.procs write: that write will not wait for the kernel's lock (warmup.ts).
  // Otherwise stage 1 places it without that lock (selfplace.ts), and a warm-up would only hold cgroup_mutex while our mkdirs wait.
  if (req.systemdCgroup) warmCgroupMigration();
  const cleanup = new CleanupStack();
  try {
    const c = await planCreate(store, req, read, cleanup, listenFds, passFds);
    if (early && !sameNamespaces(early.namespaces, c.plan.namespaces)) {
      abortLaunch(early);
      early = null;
    }
    await interrupts.check();
    const state = claimAndRecord(c);
    const cg = makeCgroups(c, state);
    const fds = openProcessFds(cleanup, { consoleSocket: req.consoleSocket, listenerPath: c.plan.init.process.seccompListener?.path });
    // Idmapped mounts: the trees are cloned and mapped here, with host privileges; the init attaches them.
    const idmapFds = openIdmappedMounts(c.plan.init.rootfs.mounts);
    cleanup.always('closing the idmapped mounts', () => { for (const fd of idmapFds) closeFd(fd); });
    // The init takes the fds in this order.
    const extraFds = [
      ...(fds.listener >= 0 ? [fds.listener] : []),
      ...(fds.console >= 0 ? [fds.console] : req.consoleSocketFd !== undefined ? [req.consoleSocketFd] : []),
      ...idmapFds,
    ];
    const launch = early ?? launchInit(c.plan.namespaces, passFds);
    early = null;
    const last = startInit(c, state, cg, launch, extraFds);
    faultPoint('create:ready');
    recordCreated(state, launch.initPid, last);
    faultPoint('create:written');
    // A signal held meanwhile cancels the create now, before anyone is told it succeeded.
    await interrupts.check();
    if (req.pidFile) writePidFile(req.pidFile, launch.initPid);
    const lock = c.lock;
    try {
      cleanup.succeed();
    } finally {
      if (!keepLock) lock?.release();
    }
    return { pid: launch.initPid, state, lock: keepLock ? lock : null };
  } catch (err) {
    // The init first: nothing it does may outlive its record.
    if (early) abortLaunch(early);
    cleanup.fail(err);
    throw err;
  }
}

/** Fork the init from the unvalidated config when its namespace plan is plain; null otherwise (or when that fails: create then forks it again, and reports). */
function forkEarly(doc: unknown, passFds: number): Launch | null {
  const early = earlyNamespacePlan(doc);
  if (!early) return null;
  try { return launchInit(early, passFds); } catch { return null; }
}

/** Step 1, plan: validate the config and plan the container; nothing is made. */
async function planCreate(store: Store, req: CreateRequest, read: ReadBundle, cleanup: CleanupStack, listenFds: number, passFds: number): Promise<Creating> {
  // Loading and validation run while stage 1 makes the namespaces.
  const [load, planner, initops, cgroups, hooks] = await Promise.all([
    import('../config/load.js'),
    import('./plan.js'),
    import('../linux/initops.js'),
    import('../linux/cgroups/lifecycle.js'),
    import('../linux/hooks.js'),
  ]);
  const loaded = load.checkBundleConfig(read);
  trace('config validated');
  const plan = planner.planContainer(loaded.spec, {
    id: req.id,
    bundle: loaded.bundle,
    rootfs: loaded.rootfs,
    fifoPath: store.fifoPath(req.id),
    noPivot: req.noPivot,
    preserveFds: passFds,
    noNewKeyring: req.noNewKeyring,
  });
  if (listenFds > 0) plan.init.process.env.push(`LISTEN_FDS=${listenFds}`, 'LISTEN_PID=1');
  const terminal = plan.init.process.terminal !== null;
  const hasSocket = req.consoleSocket !== undefined || req.consoleSocketFd !== undefined;
  // runc's wording for both mismatches.
  checkConsoleSocket(terminal, hasSocket, true);
  return { store, req, cleanup, listenFds, passFds, lib: { planner, initops, cgroups, hooks }, loaded, plan, hookFailed: false, lock: null };
}

/**
 * Step 2, claim and record: the id's directory appears with the first
 * record in it, locked by us until create ends; exec.fifo is made in it.
 * Undone: the record removed (under the lock), then the poststop hooks when
 * a hook failed.
 */
function claimAndRecord(c: Creating): StoredState {
  const { store, req, loaded, plan } = c;
  const state: StoredState = {
    ...newStateRecord({
      id: req.id, bundle: loaded.bundle, rootfs: loaded.rootfs, spec: loaded.spec, namespaces: plan.namespaces,
      seccomp: plan.init.process.seccomp, seccompFlags: plan.init.process.seccompFlags, cgroup: c.lib.cgroups.cgroupRecordFor(loaded.spec, req.id, { systemd: req.systemdCgroup === true, rootless: req.rootless, debug: trace }),
    }),
    // No mount namespace: the mounts go into ours, on the rootfs; delete takes off those above this many.
    ...(plan.init.rootfs.ownMountNamespace ? {} : { hostRootfsMounts: mountsAt(loaded.rootfs) }),
  };
  // The cgroups are made after the claim (makeCgroups); this first record already names what that will make.
  const first = interim(state);
  if (state.cgroup) first.cgroup = { ...state.cgroup, created: expectedCreated(store.root, state.cgroup) };
  const lock = store.claim(first);
  // Released once create ends (createHoldingSignals), or kept for the caller.
  c.lock = lock;
  c.cleanup.onFailure('releasing the lock', () => lock.release());
  // runtime.md lifecycle steps 3-5, 12, 13: after a failed prestart, createRuntime or
  // createContainer hook, create is undone and then the poststop hooks run.
  c.cleanup.onFailure('running the poststop hooks', (err) => {
    if (!c.hookFailed && !(err instanceof PeerError && err.hook)) return;
    for (const w of c.lib.hooks.runHooksWarnOnly('poststop', loaded.spec.hooks?.poststop, () => hookStateJson(state, 'stopped', 0))) warn(w);
  });
  c.cleanup.onFailure('removing its state', () => store.bury(req.id));
  faultPoint('create:claimed');
  const uidMap = loaded.spec.linux?.uidMappings ?? [];
  const gidMap = loaded.spec.linux?.gidMappings ?? [];
  // The init, possibly root of a user namespace, must be able to open it for writing.
  makeExecFifo(store.fifoPath(req.id), plan.namespaces.newUserns ? { uid: mapToHost(0, uidMap) ?? 0, gid: mapToHost(0, gidMap) ?? 0 } : null);
  return state;
}

/**
 * The records written before the last carry no annotations: they can be
 * tens of megabytes, and each write would cost as much again.
 */
function interim(state: StoredState): StoredState {
  return { ...state, annotations: {} };
}

/**
 * Step 3, cgroups: made before the init is placed in them. Not recorded
 * again: the first record names them already (expectedCreated), for a delete
 * after a crash; the next record has what was made. Undone: killed and removed.
 */
function makeCgroups(c: Creating, state: StoredState): CgroupManager | null {
  if (!state.cgroup) return null;
  const cg = c.lib.cgroups.openCgroups(state.cgroup);
  c.cleanup.onFailure('removing its cgroups', () => {
    c.lib.cgroups.killAndRemoveCgroups(cg);
    forgetRemovedParents(c.store.root);
  });
  cg.create();
  shareCreatedParents(c.store.root, state.cgroup);
  faultPoint('create:cgroups-made');
  return cg;
}

/**
 * Step 4, start: learn the init's pid (place it in its cgroups, build its
 * operations), send the plan, record the pid and write the last record's
 * temp file while the init carries the plan out, run the runtime's hooks
 * when it asks, and return once it waits on exec.fifo, with that last record
 * to put in place. Undone: the init killed and reaped, then (no mount
 * namespace) its mounts on the rootfs taken off.
 */
function startInit(c: Creating, state: StoredState, cg: CgroupManager | null, launch: Launch, extraFds: number[]): PreparedWrite | null {
  const { store, loaded, plan } = c;
  const hostMountsBefore = state.hostRootfsMounts;
  if (hostMountsBefore !== undefined) {
    c.cleanup.onFailure('unmounting its root filesystem', () => undoHostRootfs(loaded.rootfs, hostMountsBefore));
  }
  c.cleanup.onFailure('stopping the init', () => abortLaunch(launch));
  // Resources go on once the init's mounts are done, but before runtime hooks.
  let resourcesSet = false;
  const setResources = (): void => {
    if (resourcesSet) return;
    if (cg) c.lib.cgroups.applyConfigResources(cg, loaded.spec);
    resourcesSet = true;
    trace('cgroup resources set');
  };
  const hooks = loaded.spec.hooks;
  // The init gets the container's state only for what hands it on (its own hooks, the seccomp
  // agent): the annotations can be megabytes, and copying them costs every create.
  const initNeedsState = Boolean(plan.init.hooks.createContainer.length || plan.init.hooks.startContainer.length || plan.init.process.seccompListener);
  const uidMap = loaded.spec.linux?.uidMappings ?? [];
  const gidMap = loaded.spec.linux?.gidMappings ?? [];
  // Stage 1 puts the init in its cgroups itself where it can, as it forks it (selfplace.ts).
  const placement = openPlacement(cg?.selfPlacement() ?? null);
  let last: PreparedWrite | null = null;
  // A plan without the pid in it is built and encoded while stage 1 forks
  // the init, from the cgroups the init is to be in; the kernel's word on
  // them, once the pid comes, must match, or the plan is built again.
  let early: { cgroupLines: CgroupLine[]; plan: ReadyPlan } | null = null;
  const buildEarly = (): void => {
    if (c.lib.initops.opsNeedPid(plan.init)) return;
    const cgroupLines = placedCgroupLines(ownCgroupLinesOnce(), cg?.paths ?? null, ownMountinfoOnce());
    if (!cgroupLines) return;
    const ops = c.lib.initops.initOperations(plan.init, c.lib.planner.readInitFacts(cgroupLines, {}));
    early = { cgroupLines, plan: { ...ops, bytes: encodePlan(ops) } };
    trace('plan built while the init forks');
  };
  completeLaunch(launch, uidMap, gidMap, store.fifoPath(c.req.id), extraFds, placement, {
    whileInitForks: buildEarly,
    planFor: (pid, placed) => {
      trace(`init pid ${pid}, in ${placed.size} of its cgroup directories already`);
      // The rest before the init runs anything (it unshares its cgroup namespace first).
      cg?.apply(pid, placed);
      trace('init placed in its cgroups');
      // Recorded once the plan is on its way (below): killed before that, the
      // init sees its socket close and exits; the cgroups the record names hold it meanwhile.
      const stat = readProcStat(pid);
      if (stat) {
        state.pid = pid;
        state.pidStartTime = stat.startTime;
        state.initExe = processExe(pid);
      }
      faultPoint('create:init-pid');
      // The cgroup mounts bind the init's own cgroups, the hooks get its pid.
      const cgroupLines = readCgroupLines(pid);
      if (early && sameCgroupLines(early.cgroupLines, cgroupLines)) return early.plan;
      if (early) trace('the init is not in the cgroups its early plan assumed: planned again');
      // The hooks' state, with the pid now known (the init's own hooks and the seccomp agent).
      plan.init.hookState = JSON.parse(hookStateJson(initNeedsState ? state : { ...state, annotations: {} }, 'created', pid)) as Record<string, unknown>;
      return c.lib.initops.initOperations(plan.init, c.lib.planner.readInitFacts(cgroupLines, plan.init.hookState));
    },
    runRuntimeHooks: () => {
      // In the runtime's namespaces, after the mounts and before pivot_root (as runc).
      setResources();
      // The runtime environment exists (lifecycle step 2 is over): runtime.md calls that "created".
      const json = (): string => hookStateJson(state, 'created', launch.initPid);
      try {
        c.lib.hooks.runHooks('prestart', hooks?.prestart, json);
        c.lib.hooks.runHooks('createRuntime', hooks?.createRuntime, json);
      } catch (err) {
        c.hookFailed = true;
        throw err;
      }
      trace('prestart and createRuntime hooks done');
    },
    whileInitWorks: () => {
      // The init is busy with its mounts for a few milliseconds: the two state
      // writes happen meanwhile. From here on, should we die, state and delete find the init.
      if (!state.pid) return;
      store.write(interim(state));
      last = store.prepareWrite(createdRecord(state));
    },
  });
  setResources();
  return last;
}

/** The last record: the init waits for `start`; the whole record (annotations too) says so. */
function markCreated(state: StoredState): StoredState {
  state.creating = false;
  delete state.creator;
  return state;
}

function createdRecord(state: StoredState): StoredState {
  return markCreated({ ...state });
}

/** Step 5, record: put in place the last record, prepared while the init worked, once it is sure to name this very process. */
function recordCreated(state: StoredState, initPid: number, prepared: PreparedWrite | null): void {
  // Nothing prepared: the init was gone when its pid came; another start time: gone since.
  const stat = readProcStat(initPid);
  if (!prepared || !stat || state.pid !== initPid || state.pidStartTime !== stat.startTime) {
    prepared?.discard();
    throw new Error('the container init exited during create');
  }
  prepared.commit();
  markCreated(state);
}
