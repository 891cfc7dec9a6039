// process.rlimits → setrlimit calls made by the init before it execs.
import { rlimitNumber } from '../spec/names.js';
import type { Process } from '../spec/types.js';

export interface RlimitStep { name: string; resource: number; soft: string; hard: string }

export function planRlimits(rlimits: Process['rlimits']): RlimitStep[] {
  return (rlimits ?? []).map((r) => {
    const resource = rlimitNumber(r.type);
    if (resource === undefined) throw new Error(`process.rlimits: unknown rlimit type "${r.type}"`);
    // Values are uint64 in the spec: keep them exact as decimal strings across JSON.
    return { name: r.type, resource, soft: BigInt(r.soft).toString(), hard: BigInt(r.hard).toString() };
  });
}
