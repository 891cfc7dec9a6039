import { pauseContainer } from '../../container/cgroups.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function pause(args: ParsedArgs, ctx: Context): number {
  pauseContainer(ctx.store, args.positionals['container-id'] as string);
  return 0;
}
