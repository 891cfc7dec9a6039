// The entry of dist/launch.cjs: create, run and exec, the commands that
// start a container's processes, without the code only the rarer commands
// use (checkpoint and restore, events, ps, update, spec, features, plan):
// V8 then has less to read and deserialize for every container. Anything
// else goes on to the whole CLI (subset.ts).
import type { HandlerLoader } from './dispatch.js';
import { subsetMain } from './subset.js';

const LAUNCH_HANDLERS: Record<string, HandlerLoader> = {
  create: async () => (await import('./commands/create.js')).create,
  run: async () => (await import('./commands/run.js')).run,
  exec: async () => (await import('./commands/exec.js')).exec,
};

export const main = subsetMain(LAUNCH_HANDLERS);

/** dist/cli.cjs ends the process through this (without Node's exit when nothing needs it). */
export { canExitNow, exitNow } from '../container/finish.js';

/** dist/cli.cjs hands over the directory of its caches (seccomp filters are cached there too). */
export { useCacheDir } from '../install/cachedir.js';
