import { runtimeFeatures } from '../../container/features.js';
import { type Context, out } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function features(_args: ParsedArgs, _ctx: Context): number {
  out(`${JSON.stringify(runtimeFeatures(), null, 4)}\n`);
  return 0;
}
