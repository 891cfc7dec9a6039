// The entry of dist/hot.cjs: start, state, kill, delete and list, in a
// bundle a third the size of the whole CLI's (loading that costs those
// commands ~3 ms a call). Whatever it does not fully understand — another
// command, an option only yargs parses, --help — goes to the whole CLI
// (main.ts, dist/ocirun.cjs) before anything has been done.
import { HOT_HANDLERS, dispatch, supportedPlatform } from './dispatch.js';
import { fastParse } from './fastparse.js';

export async function main(argv: string[]): Promise<number> {
  const args = supportedPlatform() ? fastParse(argv) : null;
  const loadHandler = args ? HOT_HANDLERS[args.command] : undefined;
  if (!args || !loadHandler) return (await import('./main.js')).main(argv);
  return dispatch(args, loadHandler);
}
