// Sending signals to a container's processes without ever hitting a
// recycled pid: a pidfd is opened first, then the start time is checked.
import { POLLIN } from '../sys/constants.js';
import { close, pidfdOpen, pidfdSendSignal, pollOne } from '../sys/calls.js';
import { SysError } from '../sys/errors.js';
import { pidsInNamespace, namespaceId, processTree, readProcStat } from '../linux/procfs.js';
import type { StoredState } from './state.js';

/** A pidfd on the container's init, or null when that process is gone. */
export function openInitPidfd(s: StoredState): number | null {
  if (s.pid <= 0) return null;
  let fd: number;
  try {
    fd = pidfdOpen(s.pid);
  } catch (err) {
    if (err instanceof SysError && err.code === 'ESRCH') return null;
    throw err;
  }
  // The pidfd pins whatever process has this pid now: make sure it is ours.
  const stat = readProcStat(s.pid);
  if (!stat || stat.startTime !== s.pidStartTime) {
    close(fd);
    return null;
  }
  return fd;
}

export function signalInit(s: StoredState, signal: number): boolean {
  const fd = openInitPidfd(s);
  if (fd === null) return false;
  try {
    pidfdSendSignal(fd, signal);
    return true;
  } catch (err) {
    if (err instanceof SysError && err.code === 'ESRCH') return false;
    throw err;
  } finally {
    close(fd);
  }
}

/** Every process of the container: its pid namespace when it has one, else the init's process tree. */
export function containerPids(s: StoredState): number[] {
  if (s.ownPidNamespace) {
    const ns = namespaceId(s.pid, 'pid');
    if (ns) return pidsInNamespace('pid', ns);
  }
  return processTree(s.pid);
}

export function signalAll(s: StoredState, signal: number): void {
  // Without a live init, its pid (maybe 0, maybe recycled) leads to no process of ours.
  if (!signalInit(s, signal)) return;
  for (const pid of containerPids(s)) {
    if (pid === s.pid) continue;
    let fd: number;
    try { fd = pidfdOpen(pid); } catch { continue; }
    try { pidfdSendSignal(fd, signal); } catch { /* exited meanwhile */ } finally { close(fd); }
  }
}

/** Wait until the init has exited (a zombie counts); false on timeout. */
export function waitForInitExit(s: StoredState, timeoutMs: number): boolean {
  const fd = openInitPidfd(s);
  if (fd === null) return true;
  try {
    return pollOne(fd, POLLIN, timeoutMs) !== 0;
  } finally {
    close(fd);
  }
}
