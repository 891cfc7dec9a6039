// The entry of dist/launch.cjs: create, run and exec, the commands that
// start a container's processes, without the code only the rarer commands
// use (checkpoint and restore, events, ps, update, spec, features, plan):
// V8 then has less to read and deserialize for every container. Whatever
// this does not fully understand goes to the whole CLI (main.ts,
// dist/ocirun.cjs) before anything has been done, as in hot.ts.
import { type HandlerLoader, dispatch, supportedPlatform } from './dispatch.js';
import { fastParse } from './fastparse.js';

const LAUNCH_HANDLERS: Record<string, HandlerLoader> = {
  create: async () => (await import('./commands/create.js')).create,
  run: async () => (await import('./commands/run.js')).run,
  exec: async () => (await import('./commands/exec.js')).exec,
};

export async function main(argv: string[]): Promise<number> {
  const args = supportedPlatform() ? fastParse(argv) : null;
  const loadHandler = args ? LAUNCH_HANDLERS[args.command] : undefined;
  if (!args || !loadHandler) return (await import('./main.js')).main(argv);
  return dispatch(args, loadHandler);
}
