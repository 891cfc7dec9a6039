// The entry of a bundle that carries a few commands (hot.ts, launch.ts): a
// command line the fast parser fully understands and whose command is one of
// them runs here; anything else — another command, an option only yargs
// parses, --help — goes to the whole CLI (main.ts, dist/ocirun.cjs) before
// anything has been done.
import { type HandlerLoader, dispatch, supportedPlatform } from './dispatch.js';
import { fastParse } from './fastparse.js';
import { nodeExitNeeded } from '../container/finish.js';

export function subsetMain(handlers: Record<string, HandlerLoader>): (argv: string[]) => Promise<number> {
  return async (argv) => {
    const args = supportedPlatform() ? fastParse(argv) : null;
    const loadHandler = args ? handlers[args.command] : undefined;
    if (!args || !loadHandler) {
      // The whole CLI may use Node's stdio streams (yargs' usage): Node's exit then puts fds 0-2 back.
      nodeExitNeeded();
      return (await import('./main.js')).main(argv);
    }
    return dispatch(args, loadHandler);
  };
}
