import { startContainer } from '../../container/lifecycle.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function start(args: ParsedArgs, ctx: Context): number {
  startContainer(ctx.store, args.positionals['container-id'] as string);
  return 0;
}
