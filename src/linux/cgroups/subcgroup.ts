// exec --cgroup: put an exec'd process in an existing sub-cgroup of the
// container's, as runc does. "[<controller>:]<path>": with a controller, only
// that v1 hierarchy (or cgroup2 for a controller only it has); without, every
// hierarchy the container is in. The path is relative to the container's
// cgroup and may not climb out of it.
import { existsSync, writeFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { CgroupPaths } from './paths.js';

export function subCgroupDirs(paths: CgroupPaths, specs: readonly string[]): string[] {
  const dirs: string[] = [];
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    const controller = colon >= 0 ? spec.slice(0, colon) : null;
    const sub = normalize(colon >= 0 ? spec.slice(colon + 1) : spec).replace(/^\/+/, '');
    if (sub === '' || sub === '.' || sub.startsWith('..')) throw new Error(`--cgroup ${spec}: expected a path inside the container's cgroup`);
    const bases = controller === null
      ? [...paths.v1.map((p) => p.dir), ...(paths.unified ? [paths.unified.dir] : [])]
      : paths.v1.filter((p) => p.controllers.includes(controller)).map((p) => p.dir);
    if (controller !== null && bases.length === 0 && paths.unified && existsSync(join(paths.unified.dir, 'cgroup.controllers'))) bases.push(paths.unified.dir);
    if (bases.length === 0) throw new Error(`--cgroup ${spec}: the container has no ${controller ?? ''} cgroup to look in`);
    for (const base of new Set(bases)) {
      const dir = join(base, sub);
      if (!existsSync(join(dir, 'cgroup.procs'))) throw new Error(`--cgroup ${spec}: ${dir} is not an existing cgroup`);
      dirs.push(dir);
    }
  }
  return [...new Set(dirs)];
}

/** Move `pid` into each sub-cgroup that `specs` names (subCgroupDirs). */
export function enterSubCgroups(paths: CgroupPaths, specs: readonly string[], pid: number): void {
  for (const dir of subCgroupDirs(paths, specs)) writeFileSync(join(dir, 'cgroup.procs'), String(pid));
}
