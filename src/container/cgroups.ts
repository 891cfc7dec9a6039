// The commands that act on a container through its cgroups: pause, resume,
// update, ps and events. Each checks the status under the container's lock,
// as runc does, then lets the cgroup manager do the work.
import type { CPU, Memory, Resources } from '../config/types.js';
import { openCgroups } from '../linux/cgroups/lifecycle.js';
import type { CgroupManager } from '../linux/cgroups/manager.js';
import type { CgroupRecord } from '../linux/cgroups/record.js';
import { collectStats, statsJson } from '../linux/cgroups/stats.js';
import { requireStatus } from './status.js';
import { currentStatus, type StoredState } from './state.js';
import { NotFoundError, type Store } from './store.js';

function cgroupsOf(s: StoredState): { rec: CgroupRecord; m: CgroupManager } {
  if (!s.cgroup) throw new Error(`container ${s.id} has no cgroups`);
  return { rec: s.cgroup, m: openCgroups(s.cgroup) };
}

export function pauseContainer(store: Store, id: string): void {
  store.withLock(id, () => {
    const s = store.read(id);
    requireStatus('pause', currentStatus(store, s), id);
    cgroupsOf(s).m.freeze();
  });
}

export function resumeContainer(store: Store, id: string): void {
  store.withLock(id, () => {
    const s = store.read(id);
    requireStatus('resume', currentStatus(store, s), id);
    cgroupsOf(s).m.thaw();
  });
}

/** Host pids in the container's cgroups. */
export function containerProcesses(store: Store, id: string): number[] {
  const s = store.read(id);
  if (!s.cgroup) return [];
  return openCgroups(s.cgroup).pids().sort((a, b) => a - b);
}

/**
 * Merge an update into the resources in force, field by field as runc's
 * update does: memory limits, cpu, block IO weight, pids limit and the
 * unified map. Anything else in an update (devices, hugepages, …) is ignored,
 * as runc ignores it.
 */
export function mergeResources(current: Resources, patch: Resources): Resources {
  const merged: Resources = structuredClone(current);
  const m: Memory = { ...merged.memory };
  const pm = patch.memory ?? {};
  if (pm.limit !== undefined) {
    m.limit = pm.limit;
    // runc: unlimited memory with no swap given makes swap unlimited too.
    if (pm.limit === -1 && pm.swap === undefined) m.swap = -1;
  }
  if (pm.reservation !== undefined) m.reservation = pm.reservation;
  if (pm.swap !== undefined) m.swap = pm.swap;
  if (pm.checkBeforeUpdate !== undefined) m.checkBeforeUpdate = pm.checkBeforeUpdate;
  if (Object.keys(m).length) merged.memory = m;
  const c: CPU = { ...merged.cpu };
  const pc = patch.cpu ?? {};
  for (const k of ['shares', 'quota', 'burst', 'period', 'realtimeRuntime', 'realtimePeriod', 'idle'] as const) {
    if (pc[k] !== undefined) c[k] = pc[k];
  }
  if (pc.cpus) c.cpus = pc.cpus;
  if (pc.mems) c.mems = pc.mems;
  if (Object.keys(c).length) merged.cpu = c;
  if (patch.blockIO?.weight !== undefined) merged.blockIO = { ...merged.blockIO, weight: patch.blockIO.weight };
  if (patch.pids?.limit !== undefined && patch.pids.limit !== 0) merged.pids = { limit: patch.pids.limit };
  if (patch.unified !== undefined) merged.unified = patch.unified;
  return merged;
}

/** Only what changed is written: a cgroup file left alone keeps whatever else set it. */
function changedOnly(before: Resources, after: Resources): Resources {
  const out: Resources = {};
  if (JSON.stringify(before.memory) !== JSON.stringify(after.memory) && after.memory) out.memory = after.memory;
  if (JSON.stringify(before.cpu) !== JSON.stringify(after.cpu) && after.cpu) out.cpu = after.cpu;
  if (before.blockIO?.weight !== after.blockIO?.weight && after.blockIO) out.blockIO = { weight: after.blockIO.weight };
  if (before.pids?.limit !== after.pids?.limit && after.pids) out.pids = after.pids;
  if (JSON.stringify(before.unified) !== JSON.stringify(after.unified) && after.unified) out.unified = after.unified;
  return out;
}

export function updateContainer(store: Store, id: string, patch: Resources): void {
  store.withLock(id, () => {
    const s = store.read(id);
    requireStatus('update', currentStatus(store, s), id);
    const { rec, m } = cgroupsOf(s);
    const merged = mergeResources(rec.resources, patch);
    // Memory and swap depend on each other: when either changes, both are
    // written, in the order the kernel accepts.
    const writes = changedOnly(rec.resources, merged);
    m.set(writes);
    rec.resources = merged;
    store.write(s);
  });
}

export interface EventsOptions {
  stats: boolean;
  intervalMs: number;
  /** how often the OOM counter is checked */
  pollMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * runc's events: with `stats`, one stats event; otherwise a stats event every
 * interval and an "oom" event whenever the OOM killer strikes in the
 * container, until the container stops or is deleted.
 */
export async function containerEvents(store: Store, id: string, opts: EventsOptions, emitJson: (json: string) => void): Promise<void> {
  // Bigints (the stats' u64 counters) written as the exact integers they are.
  const emit = (event: Record<string, unknown>): void => emitJson(statsJson(event));
  if (!(opts.intervalMs > 0)) throw new Error('duration interval must be greater than 0');
  const s = store.read(id);
  requireStatus('events', currentStatus(store, s), id);
  const { m } = cgroupsOf(s);
  const stats = (): Record<string, unknown> => ({ type: 'stats', id, data: collectStats(m) });
  if (opts.stats) {
    emit(stats());
    return;
  }
  const poll = opts.pollMs ?? 100;
  let ooms = m.oomKills();
  let nextStats = Date.now() + opts.intervalMs;
  for (;;) {
    const now = ooms;
    ooms = m.oomKills();
    if (ooms > now) emit({ type: 'oom', id });
    let gone = false;
    try { gone = currentStatus(store, store.read(id)) === 'stopped'; } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      gone = true;
    }
    if (gone) {
      // The OOM kill that stopped it counts before we leave.
      if (m.oomKills() > ooms) emit({ type: 'oom', id });
      return;
    }
    if (Date.now() >= nextStats) {
      emit(stats());
      nextStats += opts.intervalMs;
    }
    await sleep(Math.min(poll, Math.max(1, nextStats - Date.now())));
  }
}
