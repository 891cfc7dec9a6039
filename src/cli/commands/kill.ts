import { killContainer } from '../../container/lifecycle.js';
import { parseSignal } from '../../linux/signals.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function kill(args: ParsedArgs, ctx: Context): number {
  const signal = parseSignal(args.positionals.signal ?? 'SIGTERM');
  killContainer(ctx.store, args.positionals['container-id'] as string, signal, args.options.all === true);
  return 0;
}
