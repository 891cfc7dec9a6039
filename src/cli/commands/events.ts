import { containerEvents } from '../../container/cgroups.js';
import { type Context, out } from '../context.js';
import type { ParsedArgs } from '../defs.js';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("5s", "250ms", "1m30s") in milliseconds, as runc's --interval takes it. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (text === '0') return 0;
  if (!text || matched !== text.length) throw new Error(`invalid value "${text}" for flag -interval: parse error`);
  return total;
}

export async function events(args: ParsedArgs, ctx: Context): Promise<number> {
  const interval = parseDuration(String(args.options.interval ?? '5s'));
  await containerEvents(ctx.store, args.positionals['container-id'] as string, { stats: args.options.stats === true, intervalMs: interval }, (json) => {
    // One compact JSON object a line, as Go's json.Encoder writes them.
    out(`${json}\n`);
  });
  return 0;
}
