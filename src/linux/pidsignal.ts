// Signalling a process without ever hitting a recycled pid: a pidfd is
// opened first, then the process's start time (/proc/<pid>/stat) is checked
// against the one recorded when it was started. Callers name the process by
// (pid, start time), never by a pid alone.
import { POLLIN } from '../sys/constants.js';
import { close, pidfdOpen, pidfdSendSignal, pollOne } from '../sys/calls.js';
import { SysError } from '../sys/errors.js';
import { pidsInNamespace, namespaceId, processTree, readProcStat } from './procfs.js';

/** A pidfd on the process started at `startTime` with this pid, or null when that process is gone. */
export function openPidfd(pid: number, startTime: number): number | null {
  if (pid <= 0) return null;
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch (err) {
    if (err instanceof SysError && err.code === 'ESRCH') return null;
    throw err;
  }
  // The pidfd pins whatever process has this pid now: make sure it is that one.
  const stat = readProcStat(pid);
  if (!stat || stat.startTime !== startTime) {
    close(fd);
    return null;
  }
  return fd;
}

/** Send `signal` to the process; false when it is gone. */
export function signalProcess(pid: number, startTime: number, signal: number): boolean {
  const fd = openPidfd(pid, startTime);
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

/** Every process of a container whose init is `pid`: its pid namespace when it has its own, else the init's process tree. */
export function containerPids(pid: number, ownPidNamespace: boolean): number[] {
  if (ownPidNamespace) {
    const ns = namespaceId(pid, 'pid');
    if (ns) return pidsInNamespace('pid', ns);
  }
  return processTree(pid);
}

/** Signal the init (pid, startTime) and then every other process of its container. */
export function signalContainer(pid: number, startTime: number, ownPidNamespace: boolean, signal: number): void {
  // Without a live init, its pid (maybe 0, maybe recycled) leads to no process of ours.
  if (!signalProcess(pid, startTime, signal)) return;
  for (const other of containerPids(pid, ownPidNamespace)) {
    if (other === pid) continue;
    let fd: number;
    try { fd = pidfdOpen(other); } catch { continue; }
    try { pidfdSendSignal(fd, signal); } catch { /* exited meanwhile */ } finally { close(fd); }
  }
}

/** Wait until the process has exited (a zombie counts); false on timeout. */
export function waitForProcessExit(pid: number, startTime: number, timeoutMs: number): boolean {
  const fd = openPidfd(pid, startTime);
  if (fd === null) return true;
  try {
    return pollOne(fd, POLLIN, timeoutMs) !== 0;
  } finally {
    close(fd);
  }
}
