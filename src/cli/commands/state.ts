import { stateDocument } from '../../container/state.js';
import { type Context, out } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function state(args: ParsedArgs, ctx: Context): number {
  // No trailing newline: runc prints exactly the JSON.
  // Only the store and the state module: `state` is the command engines call most.
  out(JSON.stringify(stateDocument(ctx.store, ctx.store.read(args.positionals['container-id'] as string)), null, 2));
  return 0;
}
