// A new process placed in the container's cgroups by itself, as it is
// forked, instead of by a cgroup.procs write from us.
//
// Every cgroup.procs write takes one system-wide lock for writing
// (cgroup_threadgroup_rwsem), and its first writer after a quiet spell waits
// for an RCU grace period: 5-15 ms measured here (kernel 6.18, v1 and v2
// alike), in every create and exec, and it holds cgroup_mutex meanwhile, so
// the mkdirs of a concurrent create wait too. The kernel has two ways that
// skip that lock, and stage 1 (native/ocirun.c, fork_into_cgroups) takes
// them with fds we open here:
//   - cgroup v1: writing "0" to a hierarchy's `tasks` file moves only the
//     writing thread, without the lock; stage 1 is single-threaded and the
//     container process it forks inherits its cgroups. The kernel checks the
//     credentials of whoever opened the file (us), not the writer's.
//   - cgroup v2: clone3(CLONE_INTO_CGROUP) with the directory's fd.
// Stage 1 says which of them worked; apply() does the rest the usual way
// and words any error (a user namespace, for instance, may not clone into a
// cgroup it does not own).
import { close, open } from '../../sys/calls.js';
import { O_CLOEXEC, O_DIRECTORY, O_PATH, O_WRONLY } from '../../sys/constants.js';
import type { SelfPlacement } from './manager.js';

/** What goes to stage 1 in the `cgroups` message: the fds in order, and the directory each stands for. */
export interface OpenPlacement {
  /** `tasks` fds first (one per v1 directory in tasksDirs), then the cgroup2 directory's when v2Dir is set */
  fds: number[];
  tasksDirs: string[];
  v2Dir: string | null;
}

/** Stage 1 takes at most 31 `tasks` fds (a u32 mask answers for them). */
const MAX_TASKS = 31;

/** Open what the process needs to place itself (null: nothing, no cgroups or systemd places it); what cannot be opened is left to apply(). */
export function openPlacement(p: SelfPlacement | null): OpenPlacement {
  const out: OpenPlacement = { fds: [], tasksDirs: [], v2Dir: null };
  if (!p) return out;
  for (const dir of p.tasksDirs.slice(0, MAX_TASKS)) {
    try {
      out.fds.push(open(`${dir}/tasks`, O_WRONLY | O_CLOEXEC));
      out.tasksDirs.push(dir);
    } catch { /* apply() joins it, or says why it cannot */ }
  }
  if (p.v2Dir !== null) {
    try {
      out.fds.push(open(p.v2Dir, O_PATH | O_DIRECTORY | O_CLOEXEC));
      out.v2Dir = p.v2Dir;
    } catch { /* as above */ }
  }
  return out;
}

export function closePlacement(p: OpenPlacement): void {
  for (const fd of p.fds) try { close(fd); } catch { /* closed */ }
  p.fds = [];
}

/** The directories stage 1 entered, from its answer (bit i of tasksDone: tasksDirs[i]). */
export function placedDirs(p: OpenPlacement, tasksDone: number, clonedInto: boolean): Set<string> {
  const placed = new Set<string>();
  p.tasksDirs.forEach((dir, i) => { if (tasksDone & (1 << i)) placed.add(dir); });
  if (clonedInto && p.v2Dir !== null) placed.add(p.v2Dir);
  return placed;
}
