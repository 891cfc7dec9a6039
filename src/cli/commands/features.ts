import { OCI_VERSION } from '../../container/state.js';
import { hostFeatures } from '../../linux/features.js';
import { type Context, out } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function features(_args: ParsedArgs, _ctx: Context): number {
  out(`${JSON.stringify(hostFeatures(OCI_VERSION), null, 4)}\n`);
  return 0;
}
