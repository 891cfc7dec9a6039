// What a container stores about its cgroups, and the reads the hot commands
// (state, list) need from it without loading the managers: only node:fs here.
import type { Resources } from '../../config/types.js';
import { readCgroupFile } from './fsutil.js';
import type { CgroupPaths, EnabledController } from './paths.js';
import type { SystemdRecord } from './systemd.js';

export interface CgroupRecord {
  paths: CgroupPaths;
  /** directories create made (removed by delete), outermost first */
  created: string[];
  /** controllers enabled on cgroups create did not make (given back by delete); absent in older states */
  enabled?: EnabledController[];
  /** --systemd-cgroup: the transient unit that holds the container */
  systemd?: SystemdRecord;
  /** the resources in force: update merges into them */
  resources: Resources;
  /** made by the rootless manager (--rootless): device rules are best effort, as in runc */
  rootless?: boolean;
}

/** Whether the container's freezer says it is frozen (paused). */
export function isFrozen(paths: CgroupPaths): boolean {
  if (paths.mode !== 'v2') {
    const freezer = paths.v1.find((p) => p.controllers.includes('freezer'));
    if (freezer) return readCgroupFile(freezer.dir, 'freezer.state') === 'FROZEN';
  }
  return paths.unified !== null && readCgroupFile(paths.unified.dir, 'cgroup.freeze') === '1';
}
