import { resolve } from 'node:path';
import { createContainer } from '../../container/create.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';

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
    // As given: the cgroup layer reads it (linux/rootless.ts), and a bad value fails create there, before anything is made.
    rootless: typeof args.globals.rootless === 'string' ? args.globals.rootless : undefined,
  };
}

export async function create(args: ParsedArgs, ctx: Context): Promise<number> {
  await createContainer(ctx.store, createRequestFrom(args));
  return 0;
}
