import { stateDocument } from '../../container/state.js';
import { type Context, out } from '../context.js';
import type { ParsedArgs } from '../defs.js';

/** Columns padded as Go's tabwriter does for runc (min width 12, padding 3). */
function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(12, ...rows.map((r) => (r[c] ?? '').length + 3))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 12))).join('')).join('\n') + '\n';
}

export function list(args: ParsedArgs, ctx: Context): number {
  const docs = [];
  for (const id of ctx.store.list()) {
    try { docs.push(stateDocument(ctx.store, ctx.store.read(id), true)); } catch { /* deleted meanwhile */ }
  }
  const format = args.options.format;
  if (format === 'json') {
    // runc prints null, not [], when there are no containers.
    out(`${docs.length ? JSON.stringify(docs) : 'null'}\n`);
  } else if (format !== 'table') {
    throw new Error(`invalid format option: ${String(format)}`);
  } else if (args.options.quiet === true) {
    out(docs.map((d) => `${String(d.id)}\n`).join(''));
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const d of docs) rows.push([String(d.id), String(d.pid), String(d.status), String(d.bundle), String(d.created), String(d.owner)]);
    out(table(rows));
  }
  return 0;
}
