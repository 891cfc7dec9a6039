// Process attributes the runtime sets on another process by its pid, from
// outside its namespaces: exec's initial CPU affinity (it must be in place
// before the cgroup move, while the process only waits) and oom_score_adj
// (in the host's user namespace, where lowering it is judged by our
// CAP_SYS_RESOURCE, not by the container's). Errors name the config field.
import { writeFileSync } from 'node:fs';
import { errnoCode } from '../config/errors.js';
import { schedSetaffinity } from '../sys/calls.js';
import { bitMask } from './sched.js';

/** sched_setaffinity(2) of pid to the planned CPU list. */
export function setCpuAffinityOf(pid: number, cpus: readonly number[], field: string): void {
  try {
    schedSetaffinity(bitMask([...cpus]), pid);
  } catch (err) {
    throw new Error(`${field}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Write /proc/<pid>/oom_score_adj. */
export function setOomScoreAdjOf(pid: number, value: number): void {
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(value));
  } catch (err) {
    throw new Error(`process.oomScoreAdj: write /proc/${pid}/oom_score_adj: ${errnoCode(err) ?? String(err)}`);
  }
}
