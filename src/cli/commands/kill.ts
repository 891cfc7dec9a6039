import { killContainer } from '../../container/lifecycle.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function kill(args: ParsedArgs, ctx: Context): number {
  killContainer(ctx.store, args.positionals['container-id'] as string, args.positionals.signal ?? 'SIGTERM', args.options.all === true);
  return 0;
}
