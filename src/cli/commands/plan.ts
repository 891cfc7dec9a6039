import { planBundle, planText } from '../../container/plan.js';
import { type Context, out } from '../context.js';
import type { ParsedArgs } from '../defs.js';
import { createRequestFrom } from './create.js';

/** `ocirun plan <id>`: print what create would do for the bundle, without doing it. */
export async function plan(args: ParsedArgs, ctx: Context): Promise<number> {
  const format = args.options.format;
  if (format !== 'text' && format !== 'json') throw new Error(`invalid format option "${String(format)}": text or json`);
  const req = createRequestFrom(args);
  const report = await planBundle(ctx.store, {
    id: req.id, bundle: req.bundle, noPivot: req.noPivot, noNewKeyring: req.noNewKeyring, preserveFds: req.preserveFds,
    consoleSocket: req.consoleSocket !== undefined,
  });
  out(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : planText(report));
  return 0;
}
