import { spawnSync } from 'node:child_process';
import { containerProcesses } from '../../container/cgroups.js';
import { type Context, out } from '../context.js';
import type { ParsedArgs } from '../defs.js';

/** runc's ps: the host's `ps` output (default `-ef`), the header and the container's lines. */
export function ps(args: ParsedArgs, ctx: Context): number {
  const format = args.options.format;
  if (format !== 'table' && format !== 'json') throw new Error('invalid format option');
  const pids = containerProcesses(ctx.store, args.positionals['container-id'] as string);
  if (format === 'json') {
    // Go's encoder prints a nil slice as null.
    out(`${pids.length ? JSON.stringify(pids) : 'null'}\n`);
    return 0;
  }
  const psArgs = args.rest.length ? args.rest : ['-ef'];
  const r = spawnSync('ps', psArgs, { encoding: 'utf8' });
  if (r.error) throw new Error(`ps: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ps: exit status ${String(r.status)}: ${`${r.stdout}${r.stderr}`.trim()}`);
  const lines = r.stdout.split('\n');
  const header = lines[0] ?? '';
  const pidIndex = header.trim().split(/\s+/).indexOf('PID');
  if (pidIndex < 0) throw new Error("couldn't find PID field in ps output");
  const wanted = new Set(pids);
  let text = `${header}\n`;
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const pid = Number(line.trim().split(/\s+/)[pidIndex]);
    if (Number.isNaN(pid)) throw new Error(`unable to parse pid: ${line}`);
    if (wanted.has(pid)) text += `${line}\n`;
  }
  out(text);
  return 0;
}
