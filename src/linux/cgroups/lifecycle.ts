// The cgroup steps of the container lifecycle, for src/container/: decide the
// paths at create, apply the config's resources, signal everything in the
// cgroups, and empty and remove them at delete.
import { SIGKILL } from '../../sys/constants.js';
import type { Spec } from '../../config/types.js';
import { errnoCode } from '../../config/errors.js';
import { deviceRules } from './devices.js';
import { sleepMs } from './fsutil.js';
import { type CgroupMode, detectHierarchies, readOwnCgroups } from './hierarchy.js';
import { type CgroupManager, cgroupManager } from './manager.js';
import { resolveCgroupPaths } from './paths.js';
import type { CgroupRecord } from './record.js';
import { SystemdCgroups, systemdRunning } from './systemd.js';
import { startProperties, systemdUnitFor } from './systemdunit.js';
import { inUserNamespace } from '../rootless.js';


export interface CgroupOptions {
  /** --systemd-cgroup: a transient systemd unit instead of directories we make */
  systemd?: boolean;
}

/**
 * The cgroups a new container gets. `_OCIRUN_CGROUP_MODE=v1|v2` narrows a
 * hybrid host to one side: the tests use it to run the cgroup2-only path on
 * a hybrid machine. Everything is checked here, before anything is made.
 */
export function cgroupRecordFor(spec: Spec, id: string, opts: CgroupOptions = {}): CgroupRecord | undefined {
  if (opts.systemd) return systemdRecordFor(spec, id);
  if (process.geteuid?.() !== 0 || inUserNamespace()) {
    // Rootless (not root, or root of a user namespace such as rootless podman's):
    // no cgroup of the host's to make (delegated subtrees are not supported yet),
    // so go without, unless limits are asked for.
    const r = spec.linux?.resources ?? {};
    const asked = Object.entries(r).some(([k, v]) => k !== 'devices' && v !== undefined);
    if (asked || spec.linux?.cgroupsPath) throw new Error('linux.resources: cgroup limits need root (rootless cgroups are not supported yet)');
    return undefined;
  }
  const force = process.env._OCIRUN_CGROUP_MODE;
  const hierarchies = detectHierarchies(force === 'v1' || force === 'v2' ? force as CgroupMode : undefined);
  const paths = resolveCgroupPaths(hierarchies, readOwnCgroups(), spec.linux?.cgroupsPath, id);
  return { paths, created: [], enabled: [], resources: spec.linux?.resources ?? {} };
}

function systemdRecordFor(spec: Spec, id: string): CgroupRecord {
  const unit = systemdUnitFor(spec.linux?.cgroupsPath, id);
  if (process.geteuid?.() !== 0 || inUserNamespace()) throw new Error('--systemd-cgroup: needs root (systemd user managers are not supported)');
  if (!systemdRunning()) throw new Error('--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)');
  const force = process.env._OCIRUN_CGROUP_MODE;
  const hierarchies = detectHierarchies(force === 'v1' || force === 'v2' ? force as CgroupMode : undefined);
  const paths = resolveCgroupPaths(hierarchies, readOwnCgroups(), unit.cgroupPath, id);
  const resources = spec.linux?.resources ?? {};
  const devices = deviceRules(resources.devices, spec.linux?.devices);
  const properties = startProperties(unit, id, hierarchies.mode === 'v2' ? 2 : 1, resources, devices, spec.annotations);
  return { paths, created: [], enabled: [], resources, systemd: { unit: unit.unit, slice: unit.slice, properties } };
}

export function openCgroups(rec: CgroupRecord): CgroupManager {
  rec.enabled ??= [];
  const fs = cgroupManager(rec.paths, rec.created, rec.enabled);
  return rec.systemd ? new SystemdCgroups(rec.systemd, fs) : fs;
}

/** The config's resources and device rules (the defaults included). */
export function applyConfigResources(m: CgroupManager, spec: Spec): void {
  const resources = spec.linux?.resources ?? {};
  m.set(resources, { devices: deviceRules(resources.devices, spec.linux?.devices) });
}

function sendSignal(pid: number, signal: number): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if (errnoCode(err) !== 'ESRCH') throw err;
  }
}

/**
 * Signal every process in the container's cgroups. They are frozen while we
 * list and signal them, so none can fork a child we would miss; a container
 * that was paused stays paused, except for SIGKILL, which a frozen v1 task
 * only acts on once thawed.
 */
export function signalCgroup(m: CgroupManager, signal: number, whileFrozen?: () => void): void {
  let frozenByUs = false;
  let wasFrozen = false;
  try {
    wasFrozen = m.isFrozen();
    if (!wasFrozen) { m.freeze(); frozenByUs = true; }
  } catch { /* no freezer: signal them as they are */ }
  try {
    whileFrozen?.();
    for (const pid of m.pids()) sendSignal(pid, signal);
  } finally {
    if (frozenByUs || (wasFrozen && signal === SIGKILL)) {
      try { m.thaw(); } catch { /* nothing frozen */ }
    }
  }
}

/** SIGKILL everything left, wait for the cgroups to empty, and remove them. */
export function killAndRemoveCgroups(m: CgroupManager, timeoutMs = 10_000): void {
  if (!m.killAll()) signalCgroup(m, SIGKILL);
  else if (m.isFrozen()) m.thaw();
  const deadline = Date.now() + timeoutMs;
  for (let pids = m.pids(); pids.length; pids = m.pids()) {
    if (Date.now() > deadline) throw new Error(`cgroups: processes ${pids.join(' ')} are still in the container's cgroup after SIGKILL`);
    // A process forked during the first round escaped it: signal again.
    signalCgroup(m, SIGKILL);
    sleepMs(5);
  }
  m.destroy();
}
