import { runContainer } from '../../container/run.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';
import { createRequestFrom } from './create.js';

export function run(args: ParsedArgs, ctx: Context): Promise<number> {
  return runContainer(ctx.store, createRequestFrom(args), args.options.detach === true, args.options.keep === true);
}
