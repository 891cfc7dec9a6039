// The systemd cgroup driver (--systemd-cgroup): the container's cgroup is a
// transient unit that systemd makes and owns, started over D-Bus with the
// init's pid in it (StartTransientUnit, waiting for its job), changed with
// SetUnitProperties, and stopped with StopUnit at delete. Everything else
// (the files systemd does not write, the device program, freeze, kill,
// stats) goes through the cgroupfs manager of the same directories, as runc
// does: the unit has Delegate=yes, so its subtree is ours.
import { existsSync } from 'node:fs';
import type { Resources } from '../../config/types.js';
import { DBusError, type DBusValue, SystemBus } from '../../sys/sdbus.js';
import { sleepMs } from './fsutil.js';
import type { CgroupManager, Located, SelfPlacement, SetOptions } from './manager.js';
import type { CgroupPaths } from './paths.js';
import { resourceProperties, type UnitProperty } from './systemdunit.js';

/** What a container stores about its unit. */
export interface SystemdRecord {
  unit: string;
  slice: string;
  /** the properties the unit is started with (PIDs aside) */
  properties: UnitProperty[];
  /** rootless: the address of the user's bus, whose systemd manager owns the unit */
  userBus?: string;
}

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const JOB_TIMEOUT_MS = 30_000;

/** systemd runs the host: the check sd_booted(3) makes. */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

const connections = new Map<string, SystemBus>();
/** The system bus, or the user bus at `address`; one connection each per process. */
export function bus(address?: string): SystemBus {
  const key = address ?? '';
  let b = connections.get(key);
  if (b) return b;
  try {
    b = new SystemBus(address);
  } catch (err) {
    throw new Error(`systemd cgroup driver: ${(err as Error).message}`, { cause: err });
  }
  connections.set(key, b);
  return b;
}

/** The cgroup of a systemd manager itself (a user's: /user.slice/user-1000.slice/user@1000.service). */
export function managerControlGroup(b: SystemBus): string {
  return b.call(SYSTEMD, MANAGER_PATH, PROPERTIES, 'Get', 'ss', [MANAGER, 'ControlGroup'], (r) => {
    r.enterVariant('s');
    return r.string();
  });
}

const asValue = (props: UnitProperty[]): DBusValue[] => props.map(([name, v]) => [name, v]);

/** A unit's ActiveState, or "inactive" when systemd does not have it loaded. */
export function unitActiveState(unit: string, b: SystemBus = bus()): string {
  let path: string;
  try {
    path = b.call(SYSTEMD, MANAGER_PATH, MANAGER, 'GetUnit', 's', [unit], (r) => r.string('o'));
  } catch (err) {
    if (err instanceof DBusError && err.dbusName === 'org.freedesktop.systemd1.NoSuchUnit') return 'inactive';
    throw err;
  }
  return b.call(SYSTEMD, path, PROPERTIES, 'Get', 'ss', ['org.freedesktop.systemd1.Unit', 'ActiveState'], (r) => {
    r.enterVariant('s');
    return r.string();
  });
}

/** Wait until a job object is gone (systemd drops it when the job ends). */
function waitForJob(b: SystemBus, job: string, what: string): void {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    try {
      b.call(SYSTEMD, job, PROPERTIES, 'Get', 'ss', ['org.freedesktop.systemd1.Job', 'State']);
    } catch (err) {
      if (err instanceof DBusError) return;
      throw err;
    }
    if (Date.now() > deadline) throw new Error(`systemd: ${what} did not finish within ${JOB_TIMEOUT_MS / 1000} s`);
    sleepMs(2);
  }
}

function startUnit(b: SystemBus, unit: string, props: UnitProperty[]): void {
  let job: string;
  try {
    job = b.call(SYSTEMD, MANAGER_PATH, MANAGER, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit, 'replace', asValue(props), []], (r) => r.string('o'));
  } catch (err) {
    // systemd's refusal (a property it does not take, say) says what is wrong.
    if (err instanceof DBusError && err.dbusName !== 'org.freedesktop.systemd1.UnitExists') throw new DBusError(err.dbusName, `systemd: starting ${unit}: ${err.message}`);
    throw err;
  }
  waitForJob(b, job, `starting ${unit}`);
  const state = unitActiveState(unit, b);
  if (state !== 'active') throw new Error(`systemd: ${unit} did not start (ActiveState=${state}; see journalctl${connections.get('') === b ? '' : ' --user'} -u ${unit})`);
}

export class SystemdCgroups implements CgroupManager {
  /** create() was called: apply() must start the unit (not join one that exists) */
  private starting = false;
  /** this process started the unit: its properties went with the start */
  private startedHere = false;

  constructor(private readonly unit: SystemdRecord, private readonly inner: CgroupManager) {}

  /** The bus of the manager that owns the unit: the system's, or the user's for a rootless container. */
  private get bus(): SystemBus {
    return bus(this.unit.userBus);
  }

  get paths(): CgroupPaths {
    return this.inner.paths;
  }

  get created(): string[] {
    return this.inner.created;
  }

  /** systemd makes the unit's cgroup when the unit starts, in apply(). */
  create(): void {
    this.starting = true;
  }

  /**
   * A create that failed before its unit started owns nothing: the unit of
   * that name (if any) is another container's, and must not be touched.
   */
  private ownsNothing(): boolean {
    return this.starting && !this.startedHere;
  }

  /** systemd moves the process (the unit's PIDs): nothing to do ourselves. */
  selfPlacement(): SelfPlacement | null {
    return null;
  }

  apply(pid: number): void {
    // create starts the unit; exec joins the running one's cgroups.
    if (this.starting && !this.startedHere) {
      const u = this.unit;
      const withPid: UnitProperty[] = u.unit.endsWith('.slice') ? u.properties : [...u.properties, ['PIDs', { sig: 'au', value: [pid] }]];
      try {
        startUnit(this.bus, u.unit, withPid);
      } catch (err) {
        if (!(err instanceof DBusError) || err.dbusName !== 'org.freedesktop.systemd1.UnitExists') throw err;
        // A unit of that name that failed earlier blocks the name: clear it once.
        const state = unitActiveState(u.unit, this.bus);
        if (state !== 'failed' && state !== 'inactive') throw new Error(`systemd: unit ${u.unit} already exists (ActiveState=${state})`, { cause: err });
        this.bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'ResetFailedUnit', 's', [u.unit]);
        startUnit(this.bus, u.unit, withPid);
      }
      this.startedHere = true;
    }
    // Hierarchies systemd does not manage (v1's cpuset, freezer, ...) are
    // joined at the same path, as runc does; elsewhere this is a no-op.
    this.inner.create();
    this.inner.apply(pid);
  }

  set(r: Resources, opts?: SetOptions): void {
    // A unit started by this process got its properties with the start; an
    // update tells systemd too, or it would put its old values back.
    if (!this.startedHere) {
      const props = resourceProperties(r, this.inner.paths.mode === 'v2' ? 2 : 1);
      if (props.length) this.bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'SetUnitProperties', 'sba(sv)', [this.unit.unit, true, asValue(props)]);
    }
    this.inner.set(r, opts);
  }

  freeze(): void { this.inner.freeze(); }
  thaw(): void { this.inner.thaw(); }
  isFrozen(): boolean { return this.inner.isFrozen(); }
  pids(): number[] { return this.ownsNothing() ? [] : this.inner.pids(); }
  oomKills(): number { return this.inner.oomKills(); }
  locate(controller: string): Located | null { return this.inner.locate(controller); }
  killAll(): boolean {
    if (this.ownsNothing()) return true;
    return this.inner.killAll();
  }

  destroy(): void {
    if (this.ownsNothing()) return;
    const unit = this.unit.unit;
    let job: string | null = null;
    try {
      job = this.bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'StopUnit', 'ss', [unit, 'replace'], (r) => r.string('o'));
    } catch (err) {
      // Gone already: a scope stops by itself when its last process exits.
      if (!(err instanceof DBusError) || (err.dbusName !== 'org.freedesktop.systemd1.NoSuchUnit' && !/not loaded/.test(err.message))) throw err;
    }
    if (job) waitForJob(this.bus, job, `stopping ${unit}`);
    if (unitActiveState(unit, this.bus) === 'failed') {
      try { this.bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'ResetFailedUnit', 's', [unit]); } catch { /* gone meanwhile */ }
    }
    this.inner.destroy();
  }
}
