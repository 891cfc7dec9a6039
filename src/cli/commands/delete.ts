import { deleteContainer } from '../../container/lifecycle.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function deleteCommand(args: ParsedArgs, ctx: Context): number {
  deleteContainer(ctx.store, args.positionals['container-id'] as string, args.options.force === true);
  return 0;
}
