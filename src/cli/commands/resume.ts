import { resumeContainer } from '../../container/cgroups.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function resume(args: ParsedArgs, ctx: Context): number {
  resumeContainer(ctx.store, args.positionals['container-id'] as string);
  return 0;
}
