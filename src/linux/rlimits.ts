// process.rlimits → setrlimit calls made by the init before it execs (or,
// for exec, by the runtime on the new process with prlimit).
import { setrlimitOf } from '../sys/calls.js';
import { rlimitNumber } from '../config/names.js';
import type { Process } from '../config/types.js';

export interface RlimitStep { name: string; resource: number; soft: string; hard: string }

export function planRlimits(rlimits: Process['rlimits']): RlimitStep[] {
  return (rlimits ?? []).map((r) => {
    const resource = rlimitNumber(r.type);
    if (resource === undefined) throw new Error(`process.rlimits: unknown rlimit type "${r.type}"`);
    // Values are uint64 in the spec: keep them exact as decimal strings across JSON.
    return { name: r.type, resource, soft: asRlim(r.soft), hard: asRlim(r.hard) };
  });
}

const RLIM_INFINITY = 0xffffffffffffffffn;

/**
 * Engines write RLIM_INFINITY as 18446744073709551615, which JSON.parse
 * rounds up to 2^64: anything at or past the top means unlimited.
 */
export function asRlim(value: number): string {
  const n = BigInt(Math.trunc(value));
  return (n >= RLIM_INFINITY ? RLIM_INFINITY : n).toString();
}

/** exec: set the planned limits on the process (prlimit), before it runs the program. */
export function applyRlimits(pid: number, steps: readonly RlimitStep[]): void {
  for (const r of steps) setrlimitOf(pid, r.resource, { soft: BigInt(r.soft), hard: BigInt(r.hard) }, r.name);
}
