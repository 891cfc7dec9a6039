import { resolve } from 'node:path';
import { createContainer } from '../../container/create.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';
import { parseRootlessFlag } from '../../linux/rootless.js';

/** --rootless, checked now (a bad value fails before anything is made) and passed on as given. */
function rootlessFlag(value: unknown): string | undefined {
  const given = typeof value === 'string' || typeof value === 'boolean' ? String(value) : undefined;
  parseRootlessFlag(given);
  return given;
}

export function createRequestFrom(args: ParsedArgs) {
  const o = args.options;
  return {
    id: args.positionals['container-id'] as string,
    bundle: resolve(typeof o.bundle === 'string' && o.bundle !== '' ? o.bundle : '.'),
    pidFile: typeof o['pid-file'] === 'string' && o['pid-file'] !== '' ? resolve(o['pid-file']) : undefined,
    consoleSocket: typeof o['console-socket'] === 'string' && o['console-socket'] !== '' ? o['console-socket'] : undefined,
    noPivot: o['no-pivot'] === true,
    noNewKeyring: o['no-new-keyring'] === true,
    preserveFds: typeof o['preserve-fds'] === 'number' ? o['preserve-fds'] : 0,
    systemdCgroup: args.globals['systemd-cgroup'] === true,
    rootless: rootlessFlag(args.globals.rootless),
  };
}

export async function create(args: ParsedArgs, ctx: Context): Promise<number> {
  await createContainer(ctx.store, createRequestFrom(args));
  return 0;
}
