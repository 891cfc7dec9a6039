// start, kill, delete and state: small operations on an existing container,
// each under the container's lock.
import { rmSync } from 'node:fs';
import { O_CLOEXEC, O_NONBLOCK, O_RDONLY, POLLIN } from '../sys/constants.js';
import { close, open, pollOne, readSome } from '../sys/calls.js';
import { isProcessAlive } from '../linux/procfs.js';
import { signalAll, signalInit, waitForInitExit } from './signal.js';
import { currentStatus, hookStateJson, type Status, type StoredState } from './state.js';
import { runHooks, runHooksWarnOnly } from '../linux/hooks.js';
import { warn } from './trace.js';
import { undoHostRootfs } from '../linux/hostmounts.js';
import { NotFoundError, type Store } from './store.js';
import { killAndRemoveCgroups, openCgroups, signalCgroup } from '../linux/cgroups/lifecycle.js';

const SIGKILL = 9;

/** Release the init blocked on exec.fifo: it then execs the user's program. */
export function startContainer(store: Store, id: string): void {
  store.withLock(id, () => {
    const s = store.read(id);
    const status = currentStatus(store, s);
    if (status === 'stopped') throw new Error('cannot start a container that has stopped');
    if (status === 'running') throw new Error('cannot start an already running container');
    if (status !== 'created') throw new Error(`cannot start a container in the ${status} state`);
    const fifo = store.fifoPath(id);
    // Non-blocking, so a dead init (no writer ever) cannot hang us: we poll and check it.
    const fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    let answer = '';
    try {
      for (;;) {
        if (pollOne(fd, POLLIN, 100) !== 0) {
          const got = readSome(fd, 65536);
          if (got.length === 0 && answer !== '') break; // the init closed its end
          answer += got.toString('utf8');
          if (answer === '0') break;
          if (got.length === 0) throw new Error('container init exited before it could start');
          continue;
        }
        if (!isProcessAlive(s.pid, s.pidStartTime)) throw new Error('container init exited before it could start');
      }
    } finally {
      close(fd);
    }
    rmSync(fifo, { force: true });
    // "E<error>": a startContainer hook failed, and the init has stopped the container.
    if (answer !== '0') throw new Error(answer.startsWith('E') ? answer.slice(1) : `unexpected answer from the init: ${answer}`);
    // runtime.md lifecycle step 9: a failing poststart hook is an error, and the
    // container is stopped; `delete` then destroys it and runs poststop (steps 12-13).
    try {
      runHooks('poststart', s.hooks?.poststart, hookStateJson(s, 'running', s.pid));
    } catch (err) {
      try { killAndWait(s); } catch (stop) { (err as Error).message += ` (and stopping the container failed: ${(stop as Error).message})`; }
      throw err;
    }
  });
}

export function killContainer(store: Store, id: string, signal: number, all: boolean): void {
  store.withLock(id, () => {
    const s = store.read(id);
    const status = currentStatus(store, s);
    if (status === 'stopped' || status === 'creating') {
      // The shim sends `kill --all` after the init exits and expects success;
      // whatever is left in the cgroup (no pid namespace) gets the signal.
      if (all) {
        if (s.cgroup) signalCgroup(openCgroups(s.cgroup), signal);
        return;
      }
      throw new Error('container not running');
    }
    if (all) {
      // The cgroup holds every process of the container, however it was started: signal each once.
      if (s.cgroup) signalCgroup(openCgroups(s.cgroup), signal);
      else signalAll(s, signal);
    } else if (!signalInit(s, signal)) throw new Error('container not running');
  });
}

function killAndWait(s: StoredState): void {
  // Through the cgroup first: it thaws a paused container, which SIGKILL needs.
  if (s.cgroup) signalCgroup(openCgroups(s.cgroup), SIGKILL);
  signalAll(s, SIGKILL);
  if (!waitForInitExit(s, 10_000)) throw new Error(`container init ${s.pid} did not exit after SIGKILL`);
}

export function deleteContainer(store: Store, id: string, force: boolean): void {
  try {
    store.withLock(id, () => {
      const s = store.read(id);
      const status: Status = currentStatus(store, s);
      if (status === 'running' || status === 'paused' || status === 'creating') {
        if (!force) throw new Error(`cannot delete container ${id} that is not stopped: ${status}`);
        killAndWait(s);
      } else if (status === 'created') {
        // runc deletes a created container: its init never ran the user's program.
        killAndWait(s);
      }
      // Stragglers (a container without its own pid namespace) go, then the cgroups.
      if (s.cgroup) killAndRemoveCgroups(openCgroups(s.cgroup));
      if (s.hostRootfsMounts !== undefined) undoHostRootfs(s.rootfs, s.hostRootfsMounts);
      store.remove(id);
      for (const w of runHooksWarnOnly('poststop', s.hooks?.poststop, hookStateJson(s, 'stopped', 0))) warn(w);
    });
  } catch (err) {
    if (err instanceof NotFoundError && force) return;
    throw err;
  }
}
