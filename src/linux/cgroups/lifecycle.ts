// The cgroup steps of the container lifecycle, for src/container/: decide the
// paths at create, apply the config's resources, signal everything in the
// cgroups, and empty and remove them at delete.
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { SIGKILL } from '../../sys/constants.js';
import type { Spec } from '../../config/types.js';
import { errnoCode } from '../../config/errors.js';
import { deviceRules } from './devices.js';
import { sleepMs } from './fsutil.js';
import { type CgroupMode, detectHierarchies, readOwnCgroups } from './hierarchy.js';
import { type CgroupManager, cgroupManager } from './manager.js';
import { type CgroupPaths, leafDirs, resolveCgroupPaths } from './paths.js';
import type { CgroupRecord } from './record.js';
import { bus, managerControlGroup, SystemdCgroups, systemdRunning } from './systemd.js';
import { startProperties, systemdUnitFor } from './systemdunit.js';
import { isRootless, userBusAddress } from '../rootless.js';
import { RootlessCgroups } from './rootlesscg.js';


export interface CgroupOptions {
  /** --systemd-cgroup: a transient systemd unit instead of directories we make */
  systemd?: boolean;
  /** --rootless as given: "true", "false", "auto" (or absent: auto) */
  rootless?: string | boolean;
  /** where the debug line goes when a rootless container goes without cgroups */
  debug?: (msg: string) => void;
}

/** The resources a config asks for that need a cgroup of the container's own (device rules aside). */
function limitsAsked(spec: Spec): string[] {
  return Object.entries(spec.linux?.resources ?? {}).filter(([k, v]) => k !== 'devices' && v !== undefined).map(([k]) => k);
}

function forcedMode(): CgroupMode | undefined {
  const force = process.env._OCIRUN_CGROUP_MODE;
  return force === 'v1' || force === 'v2' ? force : undefined;
}

/**
 * Why an unprivileged caller cannot make or join the container's cgroups
 * ("mkdir <dir>: EACCES"), or null when it can: a delegated subtree it owns.
 * Checked with access(2) on the nearest directory that exists, so nothing is
 * made to find out.
 */
export function deniedCgroupDir(paths: CgroupPaths): string | null {
  const mounts = [...paths.v1.map((p) => p.mountPoint), ...(paths.unified ? [paths.unified.mountPoint] : [])];
  for (const leaf of leafDirs(paths)) {
    const mountPoint = mounts.find((m) => leaf === m || leaf.startsWith(`${m}/`)) ?? '/';
    let dir = leaf;
    while (dir !== mountPoint && !existsSync(dir)) dir = dirname(dir);
    // An existing leaf is joined (its cgroup.procs written); otherwise a directory is made under dir.
    const target = dir === leaf ? join(leaf, 'cgroup.procs') : dir;
    try {
      accessSync(target, constants.W_OK);
    } catch (err) {
      return `${dir === leaf ? 'open' : 'mkdir'} ${dir === leaf ? target : leaf}: ${errnoCode(err) ?? String(err)}`;
    }
  }
  return null;
}

/**
 * The cgroups a new container gets. `_OCIRUN_CGROUP_MODE=v1|v2` narrows a
 * hybrid host to one side: the tests use it to run the cgroup2-only path on
 * a hybrid machine. Everything is checked here, before anything is made.
 * Rootless (--rootless, see rootless.ts): the cgroups are made where the
 * caller may (a subtree delegated to it); where it may not, the container
 * goes without, unless the config asks for limits or a path, as runc does.
 */
export function cgroupRecordFor(spec: Spec, id: string, opts: CgroupOptions = {}): CgroupRecord | undefined {
  const rootless = isRootless(opts.rootless, opts.systemd === true);
  if (opts.systemd) return systemdRecordFor(spec, id, rootless);
  const hierarchies = detectHierarchies(forcedMode());
  const paths = resolveCgroupPaths(hierarchies, readOwnCgroups(), spec.linux?.cgroupsPath, id);
  const rec: CgroupRecord = { paths, created: [], enabled: [], resources: spec.linux?.resources ?? {} };
  if (!rootless) return rec;
  const denied = deniedCgroupDir(paths);
  if (!denied) return { ...rec, rootless: true };
  const asked = limitsAsked(spec);
  if (asked.length) throw new Error(`linux.resources.${asked[0]}: a rootless container gets limits only in a cgroup it may create (${denied}; run it in a subtree delegated to you, e.g. systemd-run --user --scope, or use --systemd-cgroup)`);
  if (spec.linux?.cgroupsPath) throw new Error(`linux.cgroupsPath: ${denied} (a rootless container needs a path in a subtree delegated to you)`);
  opts.debug?.(`rootless: no cgroup of its own for the container (${denied}); it stays in its creator's`);
  return undefined;
}

function systemdRecordFor(spec: Spec, id: string, rootless: boolean): CgroupRecord {
  // The path's format first (runc's message), then whether systemd is there.
  const unit = systemdUnitFor(spec.linux?.cgroupsPath, id, rootless ? 'user.slice' : 'system.slice');
  if (!systemdRunning()) throw new Error('--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)');
  const hierarchies = detectHierarchies(forcedMode());
  const resources = spec.linux?.resources ?? {};
  if (!rootless) {
    const paths = resolveCgroupPaths(hierarchies, readOwnCgroups(), unit.cgroupPath, id);
    const devices = deviceRules(resources.devices, spec.linux?.devices);
    const properties = startProperties(unit, id, hierarchies.mode === 'v2' ? 2 : 1, resources, devices, spec.annotations);
    return { paths, created: [], enabled: [], resources, systemd: { unit: unit.unit, slice: unit.slice, properties } };
  }
  // Rootless: the unit goes to the caller's own systemd manager, over its user bus.
  const address = userBusAddress();
  if (!address) throw new Error('--systemd-cgroup: a rootless container needs your systemd user manager, but there is no user bus ($DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus does not exist)');
  if (hierarchies.mode !== 'v2') throw new Error('--systemd-cgroup: a rootless container needs cgroup v2 (a systemd user manager delegates no cgroup v1 controllers)');
  // The manager's units sit below its own cgroup (user@UID.service).
  const under = posix.join(managerControlGroup(bus(address)), unit.cgroupPath);
  const paths = resolveCgroupPaths(hierarchies, readOwnCgroups(), under, id);
  // No DevicePolicy: a user's manager cannot install device programs; the user namespace and bound device nodes limit access.
  const properties = startProperties(unit, id, 2, resources, null, spec.annotations);
  return { paths, created: [], enabled: [], resources, rootless: true, systemd: { unit: unit.unit, slice: unit.slice, properties, userBus: address } };
}

export function openCgroups(rec: CgroupRecord): CgroupManager {
  rec.enabled ??= [];
  const fs = cgroupManager(rec.paths, rec.created, rec.enabled);
  const m = rec.systemd ? new SystemdCgroups(rec.systemd, fs) : fs;
  return rec.rootless ? new RootlessCgroups(m) : m;
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
  // Mostly empty already (the init has exited, and its pid namespace with it):
  // then no freeze, signal and thaw round. An empty cgroup gains no process
  // but by a migration into it, which no one makes into a container's.
  let pids = m.pids();
  if (pids.length) {
    if (!m.killAll()) signalCgroup(m, SIGKILL);
    else if (m.isFrozen()) m.thaw();
    pids = m.pids();
  }
  const deadline = Date.now() + timeoutMs;
  for (; pids.length; pids = m.pids()) {
    if (Date.now() > deadline) throw new Error(`cgroups: processes ${pids.join(' ')} are still in the container's cgroup after SIGKILL`);
    // A process forked during the first round escaped it: signal again.
    signalCgroup(m, SIGKILL);
    sleepMs(5);
  }
  m.destroy();
}
