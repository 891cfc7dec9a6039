import { resolve } from 'node:path';
import { execAndWait, type ExecRequest } from '../../container/exec.js';
import type { Context } from '../context.js';
import type { ArgValue, ParsedArgs } from '../defs.js';

const list = (v: ArgValue): string[] => (Array.isArray(v) ? v : []);
const text = (v: ArgValue): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export async function exec(args: ParsedArgs, ctx: Context): Promise<number> {
  const o = args.options;
  const gids = list(o['additional-gids']).map((g) => {
    if (!/^\d+$/.test(g)) throw new Error(`--additional-gids: "${g}" is not a number`);
    return Number(g);
  });
  const pidFile = text(o['pid-file']);
  const req: ExecRequest = {
    id: args.positionals['container-id'] as string,
    processFile: text(o.process),
    args: args.rest,
    detach: o.detach === true,
    pidFile: pidFile ? resolve(pidFile) : undefined,
    tty: o.tty === true,
    consoleSocket: text(o['console-socket']),
    cwd: text(o.cwd),
    env: list(o.env),
    user: text(o.user),
    additionalGids: gids,
    caps: list(o.cap),
    noNewPrivs: o['no-new-privs'] === true,
    preserveFds: typeof o['preserve-fds'] === 'number' ? o['preserve-fds'] : 0,
    ignorePaused: o['ignore-paused'] === true,
    apparmor: text(o.apparmor),
    processLabel: text(o['process-label']),
    cgroups: list(o.cgroup),
  };
  return execAndWait(ctx.store, req);
}
