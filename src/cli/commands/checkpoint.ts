import { cgroupsMode, checkpointContainer, emptyNsMask, pageServer } from '../../container/checkpoint.js';
import type { Context } from '../context.js';
import type { ArgValue, ParsedArgs } from '../defs.js';

export const str = (v: ArgValue): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const strs = (v: ArgValue): string[] => (Array.isArray(v) ? v : []);

export async function checkpoint(args: ParsedArgs, ctx: Context): Promise<number> {
  const o = args.options;
  // Every flag is checked before anything is touched.
  const statusFd = typeof o['status-fd'] === 'number' ? o['status-fd'] : -1;
  await checkpointContainer(ctx.store, {
    id: args.positionals['container-id'] as string,
    criu: str(args.globals.criu),
    imagePath: str(o['image-path']),
    workPath: str(o['work-path']),
    parentPath: str(o['parent-path']),
    leaveRunning: o['leave-running'] === true,
    tcpEstablished: o['tcp-established'] === true,
    extUnixSk: o['ext-unix-sk'] === true,
    shellJob: o['shell-job'] === true,
    fileLocks: o['file-locks'] === true,
    preDump: o['pre-dump'] === true,
    autoDedup: o['auto-dedup'] === true,
    lazyPages: o['lazy-pages'] === true,
    statusFd,
    pageServer: pageServer(str(o['page-server'])),
    cgroupsMode: cgroupsMode(str(o['manage-cgroups-mode'])),
    emptyNs: emptyNsMask(strs(o['empty-ns'])),
  });
  return 0;
}
