// `create`: claim the id, spawn the init through the native step, write the
// id maps, send the plan, and return once the init waits on exec.fifo.
// Any failure undoes everything: no process, no state directory.
import { chmodSync, chownSync } from 'node:fs';
import { userInfo } from 'node:os';
import { loadBundleConfig } from '../spec/load.js';
import { F_DUPFD_CLOEXEC, O_CLOEXEC, O_RDONLY } from '../sys/constants.js';
import { close, fcntl, kill, mkfifo, open, socketpair, waitpid } from '../sys/calls.js';
import { errnoName } from '../sys/errors.js';
import { nativeSpawn } from '../sys/native.js';
import { initEntryPath } from '../sys/paths.js';
import { mapToHost, writeIdMaps } from '../linux/idmap.js';
import { CLONE_FLAG } from '../linux/namespaces.js';
import { readProcStat } from '../linux/procfs.js';
import { SyncChannel } from '../linux/sync.js';
import { type ContainerPlan, planContainer } from './plan.js';
import type { Spec } from '../spec/types.js';
import { type StoredState, OCI_VERSION, nowRfc3339Nano } from './state.js';
import { type Store, validateId, writePidFile } from './store.js';

export interface CreateRequest {
  id: string;
  bundle: string;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
}

export interface Created {
  pid: number;
  state: StoredState;
}

const SIGKILL = 9;

/** Spawn the init and run the sync protocol up to "ready"; returns the init's pid. */
function spawnInit(plan: ContainerPlan, spec: Spec, preserveFds: number, onPid: (pid: number) => void): void {
  const ns = plan.namespaces;
  const [parentEnd, childEnd] = socketpair();
  // The child's end must sit above the fds that --preserve-fds passes on.
  const childFd = fcntl(childEnd, F_DUPFD_CLOEXEC, 3 + preserveFds);
  close(childEnd);
  const joinFds: { fd: number; type: number }[] = [];
  const channel = new SyncChannel(parentEnd);
  try {
    for (const j of ns.join) {
      try {
        joinFds.push({ fd: open(j.path, O_RDONLY | O_CLOEXEC), type: CLONE_FLAG[j.kind] });
      } catch (err) {
        throw new Error(`linux.namespaces: cannot open ${j.kind} namespace ${j.path}: ${(err as Error).message}`, { cause: err });
      }
    }
    const env = [`_OCIRUN_SYNC_FD=${childFd}`];
    if (process.env._OCIRUN_NOFILE) env.push(`_OCIRUN_NOFILE=${process.env._OCIRUN_NOFILE}`);
    const stage1 = nativeSpawn({
      argv: [process.execPath, initEntryPath()],
      env,
      syncFd: childFd,
      preserveFds,
      join: joinFds,
      newUserns: ns.newUserns,
      becomeRoot: ns.inUserns,
      unshareFlags: ns.unshareFlags,
      timensOffsets: ns.timensOffsets,
    });
    close(childFd);
    for (const j of joinFds) close(j.fd);
    joinFds.length = 0;
    try {
      let msg = channel.receive();
      if (msg.type === 'idmap-request') {
        writeIdMaps(msg.pid, spec.linux?.uidMappings ?? [], spec.linux?.gidMappings ?? []);
        channel.send({ type: 'idmap-done' });
        msg = channel.receive();
      }
      if (msg.type === 'error') throw new Error(msg.errno ? `${msg.message}: ${errnoName(msg.errno)}` : msg.message);
      if (msg.type !== 'init-pid') throw new Error(`sync: unexpected ${msg.type} from the native step`);
      onPid(msg.pid);
    } finally {
      waitpid(stage1, 0);
    }
    channel.send({ type: 'config', plan: plan.init });
    channel.expect('ready');
  } finally {
    for (const j of joinFds) close(j.fd);
    close(parentEnd);
  }
}

export function createContainer(store: Store, req: CreateRequest): Created {
  validateId(req.id);
  const loaded = loadBundleConfig(req.bundle);
  const fifoPath = store.fifoPath(req.id);
  // Plan everything before the first side effect, so bad input leaves nothing behind.
  const plan = planContainer(loaded.spec, {
    id: req.id,
    bundle: loaded.bundle,
    rootfs: loaded.rootfs,
    fifoPath,
    noPivot: req.noPivot,
    preserveFds: req.preserveFds,
    noNewKeyring: req.noNewKeyring,
  });
  if (req.consoleSocket !== undefined) throw new Error('--console-socket: only valid with process.terminal, which is not supported yet');

  store.claim(req.id);
  let initPid = 0;
  try {
    return store.withLock(req.id, () => {
      const state: StoredState = {
        ociVersion: OCI_VERSION,
        id: req.id,
        pid: 0,
        pidStartTime: 0,
        bundle: loaded.bundle,
        rootfs: loaded.rootfs,
        created: nowRfc3339Nano(),
        owner: userInfo().username,
        annotations: loaded.spec.annotations ?? {},
        creating: true,
        ownPidNamespace: plan.namespaces.create.includes('pid') || plan.namespaces.join.some((j) => j.kind === 'pid'),
      };
      store.write(state);
      mkfifo(fifoPath, 0o622);
      // The init, possibly root of a user namespace, must be able to open it for writing.
      chmodSync(fifoPath, 0o622);
      const uidMap = loaded.spec.linux?.uidMappings;
      const gidMap = loaded.spec.linux?.gidMappings;
      if (plan.namespaces.newUserns) chownSync(fifoPath, mapToHost(0, uidMap ?? []) ?? 0, mapToHost(0, gidMap ?? []) ?? 0);
      spawnInit(plan, loaded.spec, req.preserveFds, (pid) => { initPid = pid; });
      const stat = readProcStat(initPid);
      if (!stat) throw new Error('the container init exited during create');
      state.pid = initPid;
      state.pidStartTime = stat.startTime;
      state.creating = false;
      store.write(state);
      if (req.pidFile) writePidFile(req.pidFile, initPid);
      return { pid: initPid, state };
    }, false);
  } catch (err) {
    if (initPid > 0) {
      try { kill(initPid, SIGKILL); } catch { /* already gone */ }
      try { waitpid(initPid, 0); } catch { /* not ours to reap */ }
    }
    store.remove(req.id);
    throw err;
  }
}

