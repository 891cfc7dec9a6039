// Process attributes the runtime sets on another process by its pid: exec's
// initial CPU affinity, which must be in place before the cgroup move, while
// the process only waits for its word. Errors name the config field.
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
