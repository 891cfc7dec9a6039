// One interface over a container's cgroups, with a v1, a v2 and a hybrid
// implementation. A manager is rebuilt by every command from the paths stored
// with the container (CgroupPaths plus the directories create made), so the
// cgroup root is whatever those paths say: unit tests point them at a temp dir.
import { closeSync, constants, existsSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Resources } from '../../config/types.js';
import { errnoCode } from '../../config/errors.js';
import { BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_PROG_TYPE_CGROUP_DEVICE, bpfProgAttach, bpfProgDetach, bpfProgGetFdById, bpfProgLoad, bpfProgQuery } from '../../sys/bpf.js';
import { deviceProgram, encodeProgram } from './devicebpf.js';
import { type DeviceRule, devicesV1 } from './devices.js';
import { CgroupFileWriter, makeCgroupDirs, pidsInTree, readCgroupFile, readKeyValues, removeCgroupTree, removeCreatedParents, sleepMs, writeCgroupFile } from './fsutil.js';
import { type CgroupPaths, type EnabledController, leafDirs, type UnifiedPlace, type V1Place } from './paths.js';
import { type CgroupWrite, presentOnV2, RESOURCE_GROUPS, type ResourceGroup } from './resources.js';

export interface SetOptions {
  /** device rules to apply (deviceRules()); left out, devices stay as they are (update) */
  devices?: DeviceRule[];
}

/** The container's cgroup directories a new process can enter by itself: v1 ones through their `tasks` file, a cgroup2 one by being cloned into it. */
export interface SelfPlacement {
  tasksDirs: string[];
  v2Dir: string | null;
}

/** Where a controller's files are for this container, and in which cgroup version. */
export interface Located {
  dir: string;
  version: 1 | 2;
}

export interface CgroupManager {
  readonly paths: CgroupPaths;
  /** directories create() made, outermost first: destroy() removes them */
  readonly created: string[];
  /** make the container's cgroup directories (cpuset v1 and v2 controllers ready for tasks) */
  create(): void;
  /**
   * Where a process about to be forked can put itself without a cgroup.procs
   * write (selfplace.ts), or null when only apply() can place it.
   */
  selfPlacement(): SelfPlacement | null;
  /** move a process (and so its future children) into every hierarchy; `placed`: directories it already entered by itself */
  apply(pid: number, placed?: ReadonlySet<string>): void;
  /** apply linux.resources; a field this host cannot honour fails naming it */
  set(resources: Resources, opts?: SetOptions): void;
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** host pids in the container's cgroups (sub-cgroups included) */
  pids(): number[];
  /** how many times the OOM killer has killed in the container (a counter) */
  oomKills(): number;
  /** the directory holding a controller's files, if the host has it */
  locate(controller: string): Located | null;
  /** SIGKILL everything at once through cgroup.kill; false where the kernel has no cgroup.kill */
  killAll(): boolean;
  /** remove the cgroups (they must be empty) and the parents create() made */
  destroy(): void;
}

function describeWriteError(err: unknown, dir: string, w: CgroupWrite, controller: string): Error {
  const code = errnoCode(err);
  if (code === 'ENOENT') return new Error(`${w.field}: this kernel has no ${w.file} (the ${controller} controller of ${dir} lacks it)`, { cause: err });
  return new Error(`${w.field}: writing "${w.value}" to ${join(dir, w.file)}: ${code ?? String(err)}`, { cause: err });
}

/** Apply writes in order; cpu.shares is read back, since the kernel clamps it silently. */
export function applyWrites(dir: string, controller: string, writes: CgroupWrite[]): void {
  const out = new CgroupFileWriter(dir);
  try {
    writeInOrder(out, dir, controller, writes);
  } finally {
    out.close();
  }
}

function writeInOrder(out: CgroupFileWriter, dir: string, controller: string, writes: CgroupWrite[]): void {
  const later: CgroupWrite[] = [];
  const one = (w: CgroupWrite): void => {
    out.write(w.file, w.value);
    if (w.file === 'cpu.shares') {
      const got = Number(readCgroupFile(dir, w.file));
      const want = Number(w.value);
      if (got > want) throw new Error(`${w.field}: the minimum allowed cpu-shares is ${got}`);
      if (got < want) throw new Error(`${w.field}: the maximum allowed cpu-shares is ${got}`);
    }
  };
  for (const w of writes) {
    try {
      one(w);
    } catch (err) {
      if (w.retryLast && errnoCode(err) === 'EINVAL') { later.push(w); continue; }
      if (!errnoCode(err)) throw err;
      throw describeWriteError(err, dir, w, controller);
    }
  }
  for (const w of later) {
    try { one(w); } catch (err) { throw errnoCode(err) ? describeWriteError(err, dir, w, controller) : err; }
  }
}

/** Replace the device programs on a cgroup2 directory with one made from the rules. */
export function attachDeviceProgram(dir: string, rules: DeviceRule[]): void {
  const cgroupFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const old = bpfProgQuery(cgroupFd, BPF_CGROUP_DEVICE);
    const progFd = bpfProgLoad(BPF_PROG_TYPE_CGROUP_DEVICE, encodeProgram(deviceProgram(rules)), 'Apache-2.0');
    try {
      // The new program first, then the old ones out: no moment without rules.
      bpfProgAttach(cgroupFd, progFd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
    } finally {
      closeSync(progFd);
    }
    for (const id of old) {
      const fd = bpfProgGetFdById(id);
      try { bpfProgDetach(cgroupFd, fd, BPF_CGROUP_DEVICE); } finally { closeSync(fd); }
    }
  } catch (err) {
    throw new Error(`linux.resources.devices: cannot attach the device program to ${dir}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(cgroupFd);
  }
}

const splitList = (s: string | null): string[] => (s ?? '').split(/\s+/).filter(Boolean);

/** The v2 controllers a set of resources writes files of. */
export function controllersFor(r: Resources): Set<string> {
  const out = new Set<string>();
  for (const g of RESOURCE_GROUPS) if (g.v2 && presentOnV2(g, r)) out.add(g.v2);
  for (const key of Object.keys(r.unified ?? {})) {
    const c = key.slice(0, key.indexOf('.'));
    if (c && c !== 'cgroup') out.add(c);
  }
  return out;
}

function hasChildCgroups(dir: string): boolean {
  try {
    return readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory());
  } catch {
    return false;
  }
}

function joinCgroup(dir: string, pid: number): void {
  try {
    writeCgroupFile(dir, 'cgroup.procs', String(pid));
  } catch (err) {
    throw new Error(`cgroups: cannot move process ${pid} into ${dir}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
}

function waitFor(cond: () => boolean, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    sleepMs(2);
  }
  return true;
}

const FREEZE_TIMEOUT_MS = 10_000;

// -------------------------------------------------------------------- v1

export class V1Cgroups implements CgroupManager {
  constructor(readonly paths: CgroupPaths, readonly created: string[] = []) {}

  private places(): V1Place[] {
    return this.paths.v1;
  }

  dirOf(controller: string): string | undefined {
    return this.places().find((p) => p.controllers.includes(controller))?.dir;
  }

  create(): void {
    for (const p of this.places()) {
      makeCgroupDirs(p.mountPoint, p.dir, this.created);
      // A new v1 cpuset has no cpus and no mems, and takes no task until it
      // has both: fill each level we pass from its parent.
      if (p.controllers.includes('cpuset')) this.inheritCpuset(p);
    }
  }

  private inheritCpuset(p: V1Place): void {
    const levels: string[] = [];
    for (let d = p.dir; d.startsWith(`${p.mountPoint}/`); d = join(d, '..')) levels.unshift(d);
    for (const d of levels) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        if ((readCgroupFile(d, file) ?? '') !== '') continue;
        const parent = readCgroupFile(join(d, '..'), file) ?? '';
        try { writeCgroupFile(d, file, parent); } catch (err) {
          throw new Error(`cgroups: cannot copy ${file} into ${d}: ${errnoCode(err) ?? String(err)}`, { cause: err });
        }
      }
    }
  }

  selfPlacement(): SelfPlacement {
    return { tasksDirs: [...new Set(this.places().map((p) => p.dir))], v2Dir: null };
  }

  apply(pid: number, placed?: ReadonlySet<string>): void {
    for (const dir of new Set(this.places().map((p) => p.dir))) if (!placed?.has(dir)) joinCgroup(dir, pid);
  }

  /** Whether this hierarchy can take a resource group. */
  has(group: ResourceGroup): boolean {
    return group.v1 !== null && this.dirOf(group.v1) !== undefined;
  }

  setGroup(group: ResourceGroup, r: Resources): void {
    const controller = group.v1;
    const dir = controller ? this.dirOf(controller) : undefined;
    if (!controller || !group.planV1) throw new Error(`${group.field}: cgroup v1 has no controller for this (it needs cgroup v2)`);
    if (!dir) throw new Error(`${group.field}: the ${controller} cgroup controller is not mounted on this host`);
    applyWrites(dir, controller, group.planV1(r, (f) => readCgroupFile(dir, f)));
  }

  setDevices(rules: DeviceRule[]): void {
    const dir = this.dirOf('devices');
    if (!dir) throw new Error('linux.resources.devices: the devices cgroup controller is not mounted on this host');
    applyWrites(dir, 'devices', devicesV1(rules));
  }

  set(r: Resources, opts: SetOptions = {}): void {
    for (const g of RESOURCE_GROUPS) if (g.present(r)) this.setGroup(g, r);
    if (opts.devices) this.setDevices(opts.devices);
  }

  private freezerDir(): string {
    const dir = this.dirOf('freezer');
    if (!dir) throw new Error('cgroups: the freezer controller is not mounted on this host');
    return dir;
  }

  hasFreezer(): boolean {
    return this.dirOf('freezer') !== undefined;
  }

  freeze(): void {
    const dir = this.freezerDir();
    writeCgroupFile(dir, 'freezer.state', 'FROZEN');
    // FREEZING until every task has stopped.
    if (!waitFor(() => readCgroupFile(dir, 'freezer.state') === 'FROZEN', FREEZE_TIMEOUT_MS)) {
      writeCgroupFile(dir, 'freezer.state', 'THAWED');
      throw new Error(`cgroups: ${dir} did not freeze within ${FREEZE_TIMEOUT_MS / 1000} s`);
    }
  }

  thaw(): void {
    writeCgroupFile(this.freezerDir(), 'freezer.state', 'THAWED');
  }

  isFrozen(): boolean {
    const dir = this.dirOf('freezer');
    return dir !== undefined && readCgroupFile(dir, 'freezer.state') === 'FROZEN';
  }

  pids(): number[] {
    const dir = this.dirOf('pids') ?? this.dirOf('freezer') ?? this.dirOf('memory') ?? this.places()[0]?.dir;
    return dir ? pidsInTree(dir) : [];
  }

  oomKills(): number {
    const dir = this.dirOf('memory');
    return dir ? (readKeyValues(dir, 'memory.oom_control').get('oom_kill') ?? 0) : 0;
  }

  locate(controller: string): Located | null {
    const dir = this.dirOf(controller);
    return dir ? { dir, version: 1 } : null;
  }

  killAll(): boolean {
    return false;
  }

  destroy(): void {
    const leaves = new Set(this.places().map((p) => p.dir));
    for (const dir of leaves) removeCgroupTree(dir);
    // The parents we made (the leaves are gone already: no second rmdir for each).
    removeCreatedParents(this.created.filter((d) => !leaves.has(d) && this.places().some((p) => d.startsWith(`${p.mountPoint}/`))));
  }
}

// -------------------------------------------------------------------- v2

export class V2Cgroups implements CgroupManager {
  /** The first populated cgroup we left alone, for the error that says why a controller is missing. */
  private blockedBy: string | undefined;

  /** `enabled`: controllers enabled on cgroups we did not make (the record's list, kept up to date) */
  constructor(readonly paths: CgroupPaths, readonly created: string[] = [], readonly enabled: EnabledController[] = []) {}

  private place(): UnifiedPlace {
    if (!this.paths.unified) throw new Error('cgroups: no cgroup2 hierarchy');
    return this.paths.unified;
  }

  get dir(): string {
    return this.place().dir;
  }

  create(): void {
    const p = this.place();
    makeCgroupDirs(p.mountPoint, p.dir, this.created);
  }

  /** The levels above the container's cgroup, from the mount point down. */
  private ancestors(): string[] {
    const p = this.place();
    const levels: string[] = [];
    for (let d = join(p.dir, '..'); d === p.mountPoint || d.startsWith(`${p.mountPoint}/`); d = join(d, '..')) {
      levels.unshift(d);
      if (d === p.mountPoint) break;
    }
    return levels;
  }

  /**
   * Controllers reach a cgroup only when every ancestor enables them in
   * cgroup.subtree_control. Levels we made get what they need freely. A
   * level we did not make is touched only as far as the kernel requires:
   * the controllers the resources need, and never when it holds processes
   * of its own (below the root), where the kernel would refuse the domain
   * controllers and accept the threaded ones, turning it into a thread root.
   * What we enable there is recorded, to be undone by destroy().
   */
  enableControllers(wanted: ReadonlySet<string>): void {
    if (!wanted.size) return;
    const p = this.place();
    for (const d of this.ancestors()) {
      const available = splitList(readCgroupFile(d, 'cgroup.controllers'));
      const enabled = new Set(splitList(readCgroupFile(d, 'cgroup.subtree_control')));
      const missing = available.filter((c) => wanted.has(c) && !enabled.has(c));
      if (!missing.length) continue;
      const ours = this.created.includes(d);
      if (!ours && d !== p.mountPoint && (readCgroupFile(d, 'cgroup.procs') ?? '') !== '') {
        this.blockedBy ??= d;
        continue;
      }
      for (const c of missing) {
        try {
          writeCgroupFile(d, 'cgroup.subtree_control', `+${c}`);
          if (!ours) this.enabled.push({ dir: d, controller: c });
        } catch { /* setGroup names what is missing */ }
      }
    }
  }

  selfPlacement(): SelfPlacement {
    return { tasksDirs: [], v2Dir: this.dir };
  }

  apply(pid: number, placed?: ReadonlySet<string>): void {
    if (!placed?.has(this.dir)) joinCgroup(this.dir, pid);
  }

  private controllers(): Set<string> {
    return new Set((readCgroupFile(this.dir, 'cgroup.controllers') ?? '').split(/\s+/).filter(Boolean));
  }

  has(group: ResourceGroup): boolean {
    return group.v2 !== null && (group.v2 === '' || this.controllers().has(group.v2));
  }

  setGroup(group: ResourceGroup, r: Resources): void {
    const controller = group.v2;
    if (controller === null || !group.planV2) throw new Error(`${group.field}: cgroup v2 has no controller for this`);
    if (controller !== '' && !this.controllers().has(controller)) {
      const why = this.blockedBy ? `; ${this.blockedBy} holds processes, so its controllers cannot be passed down` : '';
      throw new Error(`${group.field}: the ${controller} controller is not available in ${this.dir} (cgroup.controllers: ${[...this.controllers()].join(' ') || 'none'}${why})`);
    }
    const dir = this.dir;
    applyWrites(dir, controller || 'cgroup2', group.planV2(r, (f) => readCgroupFile(dir, f)));
  }

  setDevices(rules: DeviceRule[]): void {
    attachDeviceProgram(this.dir, rules);
  }

  set(r: Resources, opts: SetOptions = {}): void {
    this.enableControllers(controllersFor(r));
    for (const g of RESOURCE_GROUPS) if (presentOnV2(g, r)) this.setGroup(g, r);
    if (opts.devices) this.setDevices(opts.devices);
  }

  freeze(): void {
    writeCgroupFile(this.dir, 'cgroup.freeze', '1');
    // cgroup.events says "frozen 1" once every task has stopped.
    if (!waitFor(() => readKeyValues(this.dir, 'cgroup.events').get('frozen') === 1, FREEZE_TIMEOUT_MS)) {
      writeCgroupFile(this.dir, 'cgroup.freeze', '0');
      throw new Error(`cgroups: ${this.dir} did not freeze within ${FREEZE_TIMEOUT_MS / 1000} s`);
    }
  }

  thaw(): void {
    writeCgroupFile(this.dir, 'cgroup.freeze', '0');
  }

  isFrozen(): boolean {
    return readCgroupFile(this.dir, 'cgroup.freeze') === '1';
  }

  pids(): number[] {
    return pidsInTree(this.dir);
  }

  oomKills(): number {
    return readKeyValues(this.dir, 'memory.events').get('oom_kill') ?? 0;
  }

  locate(controller: string): Located | null {
    return this.controllers().has(controller) ? { dir: this.dir, version: 2 } : null;
  }

  killAll(): boolean {
    try {
      writeCgroupFile(this.dir, 'cgroup.kill', '1');
      return true;
    } catch (err) {
      // ENODEV: the cgroup is already being removed (its last process gone,
      // and systemd, say, took it away): nothing is left to kill.
      if (errnoCode(err) === 'ENODEV') return true;
      if (errnoCode(err) === 'ENOENT') return existsSync(this.dir) ? false : true;
      throw err;
    }
  }

  destroy(): void {
    const p = this.place();
    removeCgroupTree(p.dir);
    removeCreatedParents(this.created.filter((d) => d !== p.dir && d.startsWith(`${p.mountPoint}/`)));
    // Give back what we enabled on cgroups we did not make, where no other
    // cgroup below them could be using it.
    for (const e of [...this.enabled].reverse()) {
      if (hasChildCgroups(e.dir)) continue;
      try { writeCgroupFile(e.dir, 'cgroup.subtree_control', `-${e.controller}`); } catch { /* gone, or in use after all */ }
    }
    this.enabled.length = 0;
  }
}

// ---------------------------------------------------------------- hybrid

/**
 * v1 controllers plus the cgroup2 hierarchy: the container is placed in both
 * (engines and systemd look at the cgroup2 path too), and each resource goes
 * to v1 when v1 has its controller, else to cgroup2 (hugetlb on this machine).
 */
export class HybridCgroups implements CgroupManager {
  private readonly v1: V1Cgroups;
  private readonly v2: V2Cgroups;

  constructor(readonly paths: CgroupPaths, readonly created: string[] = [], enabled: EnabledController[] = []) {
    this.v1 = new V1Cgroups(paths, created);
    this.v2 = new V2Cgroups(paths, created, enabled);
  }

  create(): void {
    this.v1.create();
    this.v2.create();
  }

  selfPlacement(): SelfPlacement {
    return { tasksDirs: this.v1.selfPlacement().tasksDirs, v2Dir: this.v2.dir };
  }

  apply(pid: number, placed?: ReadonlySet<string>): void {
    this.v1.apply(pid, placed);
    this.v2.apply(pid, placed);
  }

  set(r: Resources, opts: SetOptions = {}): void {
    // cgroup2 gets what v1 has no controller for: enable only those there.
    const toV2 = controllersFor(r);
    for (const g of RESOURCE_GROUPS) if (g.present(r) && g.v2 && this.v1.has(g)) toV2.delete(g.v2);
    this.v2.enableControllers(toV2);
    for (const g of RESOURCE_GROUPS) {
      if (!g.present(r)) continue;
      if (this.v1.has(g)) this.v1.setGroup(g, r);
      else if (!presentOnV2(g, r)) continue;
      else if (this.v2.has(g)) this.v2.setGroup(g, r);
      else if (g.v1 === null) this.v2.setGroup(g, r); // explains what cgroup2 lacks
      else this.v1.setGroup(g, r); // explains that v1 lacks the controller
    }
    if (opts.devices) {
      if (this.v1.dirOf('devices')) this.v1.setDevices(opts.devices);
      else this.v2.setDevices(opts.devices);
    }
  }

  freeze(): void {
    if (this.v1.hasFreezer()) this.v1.freeze();
    else this.v2.freeze();
  }

  thaw(): void {
    if (this.v1.hasFreezer()) this.v1.thaw();
    else this.v2.thaw();
  }

  isFrozen(): boolean {
    return this.v1.hasFreezer() ? this.v1.isFrozen() : this.v2.isFrozen();
  }

  pids(): number[] {
    return [...new Set([...this.v1.pids(), ...this.v2.pids()])];
  }

  oomKills(): number {
    return this.v1.dirOf('memory') ? this.v1.oomKills() : this.v2.oomKills();
  }

  locate(controller: string): Located | null {
    return this.v1.locate(controller) ?? this.v2.locate(controller === 'blkio' ? 'io' : controller);
  }

  killAll(): boolean {
    return this.v2.killAll();
  }

  destroy(): void {
    let first: unknown = null;
    for (const m of [this.v1, this.v2]) {
      try { m.destroy(); } catch (err) { first ??= err; }
    }
    if (first) throw first;
  }
}

/** The manager for stored paths (and the directories create made, the controllers it enabled). */
export function cgroupManager(paths: CgroupPaths, created: string[] = [], enabled: EnabledController[] = []): CgroupManager {
  if (paths.mode === 'v1') return new V1Cgroups(paths, created);
  if (paths.mode === 'v2') return new V2Cgroups(paths, created, enabled);
  return new HybridCgroups(paths, created, enabled);
}

export { leafDirs };
