// start, kill, delete and state: small operations on an existing container,
// each under the container's lock.
import { writeFileSync } from 'node:fs';
import { unlinkIfPresent } from '../linux/files.js';
import { releaseInit } from '../linux/execfifo.js';
import { isProcessAlive } from '../linux/procfs.js';
import { parseSignal, SIGKILL } from '../linux/signals.js';
import { signalContainer, signalProcess, waitForProcessExit } from '../linux/pidsignal.js';
import { currentStatus, hookStateJson, killFreezeLeft, killFreezeMarker, type Status, type StoredState } from './state.js';
import { faultPoint } from './faultpoint.js';
import { accepts, requireStatus } from './status.js';
import { forgetRemovedParents } from './cgroupparents.js';
import { runHooks, runHooksWarnOnly } from '../linux/hooks.js';
import { warn } from '../trace.js';
import { undoHostRootfs } from '../linux/hostmounts.js';
import { NotFoundError, type Store } from './store.js';
import { killAndRemoveCgroups, openCgroups, signalCgroup } from '../linux/cgroups/lifecycle.js';


/** Release the init blocked on exec.fifo: it then execs the user's program. */
export function startContainer(store: Store, id: string): void {
  store.withLock(id, () => {
    const s = store.read(id);
    requireStatus('start', currentStatus(store, s), id);
    startLocked(store, s);
  });
}

/**
 * start's work, with the container's lock held and its record in hand: by
 * startContainer, or by `run`, which kept the lock since its create made the
 * record (so that record is the one on disk, and the container is created
 * unless its init died, which releaseInit tells).
 */
export function startLocked(store: Store, s: StoredState): void {
  faultPoint('start:locked');
  // Opening the fifo releases the init: from then on it is running, whatever happens to us.
  releaseInit(store.fifoPath(s.id), () => isProcessAlive(s.pid, s.pidStartTime), () => faultPoint('start:released'));
  faultPoint('start:answered');
  // runtime.md lifecycle step 9: a failing poststart hook is an error, and the
  // container is stopped; `delete` then destroys it and runs poststop (steps 12-13).
  try {
    runHooks('poststart', s.hooks?.poststart, () => hookStateJson(s, 'running', s.pid));
  } catch (err) {
    try { killAndWait(store, s); } catch (stop) { (err as Error).message += ` (and stopping the container failed: ${(stop as Error).message})`; }
    throw err;
  }
}

/** A kill path that froze the container died before thawing it: thaw it now, before anything else. */
function thawLeftFreeze(store: Store, s: StoredState): void {
  if (!s.cgroup || !killFreezeLeft(store, s.id)) return;
  const m = openCgroups(s.cgroup);
  try { if (m.isFrozen()) m.thaw(); } catch { /* no freezer */ }
  unlinkIfPresent(killFreezeMarker(store, s.id));
}

/**
 * Signal every process in the cgroups, which freezes them meanwhile: a
 * marker says so while it lasts, so that should we die frozen, the next
 * command knows the container was not paused by its user and thaws it.
 */
function signalCgroupMarked(store: Store, s: StoredState, signal: number): void {
  if (!s.cgroup) return;
  const marker = killFreezeMarker(store, s.id);
  writeFileSync(marker, '');
  signalCgroup(openCgroups(s.cgroup), signal, () => faultPoint('kill:frozen'));
  unlinkIfPresent(marker);
}

/** `signal` as the command line gives it (a name, with or without SIG, or a number), checked before the container is looked at. */
export function killContainer(store: Store, id: string, signalText: string, all: boolean): void {
  const signal = parseSignal(signalText);
  store.withLock(id, () => {
    const s = store.read(id);
    thawLeftFreeze(store, s);
    const status = currentStatus(store, s);
    if (!accepts('kill', status)) {
      // The shim sends `kill --all` after the init exits and expects success;
      // whatever is left in the cgroup (no pid namespace) gets the signal.
      if (all) {
        signalCgroupMarked(store, s, signal);
        return;
      }
      requireStatus('kill', status, id);
    }
    if (all) {
      // The cgroup holds every process of the container, however it was started: signal each once.
      if (s.cgroup) signalCgroupMarked(store, s, signal);
      else signalContainer(s.pid, s.pidStartTime, s.ownPidNamespace, signal);
    } else {
      if (!signalProcess(s.pid, s.pidStartTime, signal)) throw new Error('container not running');
      // A frozen (v1) task acts on SIGKILL only once thawed: a paused container killed stays dead.
      if (signal === SIGKILL && status === 'paused' && s.cgroup) {
        try { openCgroups(s.cgroup).thaw(); } catch { /* no freezer */ }
      }
    }
  });
}

function killAndWait(store: Store, s: StoredState): void {
  // Through the cgroup first: it thaws a paused container, which SIGKILL needs.
  signalCgroupMarked(store, s, SIGKILL);
  signalContainer(s.pid, s.pidStartTime, s.ownPidNamespace, SIGKILL);
  if (!waitForProcessExit(s.pid, s.pidStartTime, 10_000)) throw new Error(`container init ${s.pid} did not exit after SIGKILL`);
}

export function deleteContainer(store: Store, id: string, force: boolean): void {
  try {
    store.withLock(id, () => {
      let s: StoredState;
      try {
        s = store.read(id);
      } catch (err) {
        // A directory without a record, left by a crash of an older version: nothing runs from it.
        if (err instanceof NotFoundError && force) { store.bury(id); return; }
        throw err;
      }
      thawLeftFreeze(store, s);
      const status: Status = currentStatus(store, s);
      faultPoint('delete:locked');
      if (!accepts('delete', status)) {
        if (!force) requireStatus('delete', status, id);
        killAndWait(store, s);
      } else if (status === 'created') {
        // runc deletes a created container: its init never ran the user's program.
        killAndWait(store, s);
      }
      faultPoint('delete:killed');
      // Stragglers (a container without its own pid namespace) go, then the cgroups.
      if (s.cgroup) {
        killAndRemoveCgroups(openCgroups(s.cgroup));
        forgetRemovedParents(store.root);
      }
      if (s.hostRootfsMounts !== undefined) undoHostRootfs(s.rootfs, s.hostRootfsMounts);
      faultPoint('delete:cgroups-removed');
      store.bury(id);
      for (const w of runHooksWarnOnly('poststop', s.hooks?.poststop, () => hookStateJson(s, 'stopped', 0))) warn(w);
    }, false);
  } catch (err) {
    if (!(err instanceof NotFoundError && force)) throw err;
  }
  // What a create or delete that died part-way left beside the id.
  if (force) store.sweep(id);
}
