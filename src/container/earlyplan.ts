// The init's plan, built while stage 1 forks the init and places it in its
// cgroups: once the init's pid comes, create only reads the init's cgroup
// lines, checks them against the guess made here, and adds the last op (the
// hook state it carries names the pid). Building and encoding the whole
// plan after the pid came cost ~1.5 ms on the critical path wherever the
// kernel has the init ready before create has the rest ready (cgroup v1
// placements). When the guess is wrong, or the hook state is needed before
// the last op, the plan is built the ordinary way: the same ops.
import { readFileSync } from 'node:fs';
import { detectHierarchies } from '../linux/cgroups/hierarchy.js';
import { type CgroupPaths, expectedCgroupLines } from '../linux/cgroups/paths.js';
import { type EncodedPlan, encodeOps } from '../linux/initcode.js';
import { finalizeOperation, type InitFacts, initOperations, pidDependence } from '../linux/initops.js';
import type { InitPlan } from '../linux/initplan.js';
import { type CgroupLine, parseCgroupLines } from '../linux/procfs.js';
import type { InitHostFacts } from './plan.js';

export interface EarlyPlan {
  /** The plan for the facts read once the pid came; null when the guess was wrong. */
  complete(facts: InitFacts): EncodedPlan | null;
}

function sameLines(a: readonly CgroupLine[], b: readonly CgroupLine[]): boolean {
  return a.length === b.length && a.every((l, i) => l.hierarchy === b[i]?.hierarchy && l.controllers === b[i]?.controllers && l.path === b[i]?.path);
}

/**
 * The /proc/<pid>/cgroup lines the init will show once placed in `paths`
 * (null: it stays in ours); [] when its ops do not depend on them, null when
 * no guess can be made.
 */
export function guessInitCgroupLines(init: InitPlan, paths: CgroupPaths | null): CgroupLine[] | null {
  if (!pidDependence(init).cgroupLines) return [];
  try {
    const own = parseCgroupLines(readFileSync('/proc/self/cgroup', 'utf8'));
    return paths ? expectedCgroupLines(own, paths, detectHierarchies()) : own;
  } catch {
    return null;
  }
}

/** All ops but the last, encoded, for an init whose cgroup lines are `guess`; null when the plan cannot be built early. */
export function buildEarlyPlan(init: InitPlan, host: InitHostFacts, guess: CgroupLine[] | null): EarlyPlan | null {
  const depends = pidDependence(init);
  if (!depends.stateOnlyInFinalize || guess === null) return null;
  let ops: EncodedPlan;
  try {
    // The hook state is a stand-in: only the last op holds it, and that op is made again below.
    ops = initOperations(init, { ...host, cgroupLines: guess, hookState: {} });
  } catch {
    return null; // the ordinary way reports it, at the same step as before
  }
  const head = ops.ops.slice(0, -1);
  if (ops.ops[ops.ops.length - 1]?.op !== 'finalize') return null;
  const prefix = { count: head.length, bytes: encodeOps(head) };
  return {
    complete(facts) {
      if (depends.cgroupLines && !sameLines(guess, facts.cgroupLines)) return null;
      return { ops: [...head, finalizeOperation(init, facts)], flags: ops.flags, prefix };
    },
  };
}
