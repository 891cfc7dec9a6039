import { planBundle, type PlanReport } from '../../container/plan.js';
import { formatOperations } from '../../linux/initops.js';
import { type Context, out } from '../context.js';
import type { ParsedArgs } from '../defs.js';
import { createRequestFrom } from './create.js';

function text(r: PlanReport): string {
  const ns = r.namespaces;
  const lines = [
    `namespaces: new ${ns.create.join(', ') || 'none'}${ns.join.length ? `; join ${ns.join.map((j) => `${j.kind} ${j.path}`).join(', ')}` : ''}`,
  ];
  if (r.cgroups) {
    for (const p of r.cgroups.v1) lines.push(`cgroup ${p.controllers.join(',')}: ${p.dir}`);
    if (r.cgroups.unified) lines.push(`cgroup unified: ${r.cgroups.unified.dir}`);
  }
  lines.push('init operations (in order; # names what each is for):');
  return `${lines.join('\n')}\n${formatOperations(r.init)}`;
}

/** `ocirun plan <id>`: print what create would do for the bundle, without doing it. */
export async function plan(args: ParsedArgs, ctx: Context): Promise<number> {
  const format = args.options.format;
  if (format !== 'text' && format !== 'json') throw new Error(`invalid format option "${String(format)}": text or json`);
  const req = createRequestFrom(args);
  const report = await planBundle(ctx.store, {
    id: req.id, bundle: req.bundle, noPivot: req.noPivot, noNewKeyring: req.noNewKeyring, preserveFds: req.preserveFds,
    consoleSocket: req.consoleSocket !== undefined,
  });
  out(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : text(report));
  return 0;
}
