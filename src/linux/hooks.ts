// OCI hooks: each runs with its args and env, the container state on stdin,
// the runtime's stdout/stderr, and its timeout. Which hooks run where, and
// what a failure means, is decided by the callers (create, the init, start,
// delete); this module only runs them.
import type { spawnSync as SpawnSync } from 'node:child_process';
import type { Hook, HookName } from '../config/types.js';
import { errnoCode } from '../config/errors.js';

/** The hook kinds ocirun runs, in lifecycle order. */
export const HOOK_KINDS: readonly HookName[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

export class HookError extends Error {
  constructor(kind: HookName, index: number, hook: Hook, why: string) {
    super(`${kind} hook #${index} (${hook.path}): ${why}`);
    this.name = 'HookError';
  }
}

function envObject(env: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** Run one hook; throws HookError when it cannot start, fails, or times out. */
export function runHook(kind: HookName, index: number, hook: Hook, state: string): void {
  const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
  // child_process costs ~5 ms to load: only commands that really run a hook pay for it.
  const spawnSync = process.getBuiltinModule('node:child_process').spawnSync as typeof SpawnSync;
  const r = spawnSync(hook.path, args, {
    argv0,
    env: envObject(hook.env),
    input: state,
    // stdout/stderr are the runtime's own, as the spec and engines expect.
    stdio: ['pipe', 'inherit', 'inherit'],
    timeout: hook.timeout !== undefined ? hook.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
  });
  // A hook that does not read its stdin makes the write fail with EPIPE: not its failure.
  const epipe = errnoCode(r.error) === 'EPIPE' && (r.status !== null || r.signal !== null);
  if (r.error && !epipe) {
    const code = errnoCode(r.error);
    if (code === 'ETIMEDOUT') throw new HookError(kind, index, hook, `timed out after ${hook.timeout}s`);
    throw new HookError(kind, index, hook, `cannot run: ${code ?? r.error.message}`);
  }
  if (r.signal) throw new HookError(kind, index, hook, `killed by ${r.signal}`);
  if (r.status !== 0) throw new HookError(kind, index, hook, `exited with status ${r.status}`);
}

/** Run every hook of a kind in order; the first failure stops and throws. */
/** The state hooks get, made once and only when a hook runs (a config without hooks is the usual case). */
export type HookState = string | (() => string);

const stateText = (state: HookState): string => (typeof state === 'string' ? state : state());

export function runHooks(kind: HookName, hooks: readonly Hook[] | undefined, state: HookState): void {
  if (!hooks?.length) return;
  const text = stateText(state);
  hooks.forEach((hook, i) => runHook(kind, i, hook, text));
}

/** Run every hook of a kind; failures are returned as warnings, the rest still run. */
export function runHooksWarnOnly(kind: HookName, hooks: readonly Hook[] | undefined, state: HookState): string[] {
  const warnings: string[] = [];
  if (!hooks?.length) return warnings;
  const text = stateText(state);
  hooks.forEach((hook, i) => {
    try { runHook(kind, i, hook, text); } catch (err) { warnings.push((err as Error).message); }
  });
  return warnings;
}
