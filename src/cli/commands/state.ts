import { containerState } from '../../container/lifecycle.js';
import { type Context, out } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function state(args: ParsedArgs, ctx: Context): number {
  // No trailing newline: runc prints exactly the JSON.
  out(JSON.stringify(containerState(ctx.store, args.positionals['container-id'] as string), null, 2));
  return 0;
}
