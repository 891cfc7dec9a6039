import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultSpec } from '../../config/defaults.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';

export function spec(args: ParsedArgs, _ctx: Context): number {
  const bundle = resolve(typeof args.options.bundle === 'string' && args.options.bundle !== '' ? args.options.bundle : '.');
  const path = join(bundle, 'config.json');
  if (existsSync(path)) throw new Error('File config.json exists. Remove it first');
  writeFileSync(path, `${JSON.stringify(defaultSpec({ rootless: args.options.rootless === true }), null, '\t')}\n`, { mode: 0o666 });
  return 0;
}
