import { resolve } from 'node:path';
import { restoreAndWait } from '../../container/restore.js';
import { cgroupsMode, emptyNsMask } from '../../container/checkpoint.js';
import type { Context } from '../context.js';
import type { ParsedArgs } from '../defs.js';
import { str, strs } from './checkpoint.js';

export function restore(args: ParsedArgs, ctx: Context): Promise<number> {
  const o = args.options;
  const pidFile = str(o['pid-file']);
  return restoreAndWait(ctx.store, {
    id: args.positionals['container-id'] as string,
    bundle: resolve(str(o.bundle) ?? '.'),
    criu: str(args.globals.criu),
    imagePath: str(o['image-path']),
    workPath: str(o['work-path']),
    tcpEstablished: o['tcp-established'] === true,
    extUnixSk: o['ext-unix-sk'] === true,
    shellJob: o['shell-job'] === true,
    fileLocks: o['file-locks'] === true,
    autoDedup: o['auto-dedup'] === true,
    lazyPages: o['lazy-pages'] === true,
    cgroupsMode: cgroupsMode(str(o['manage-cgroups-mode'])),
    emptyNs: emptyNsMask(strs(o['empty-ns'])),
    detach: o.detach === true,
    pidFile: pidFile ? resolve(pidFile) : undefined,
    consoleSocket: str(o['console-socket']),
    noSubreaper: o['no-subreaper'] === true,
    systemdCgroup: args.globals['systemd-cgroup'] === true,
    lsmProfile: str(o['lsm-profile']),
    lsmMountContext: str(o['lsm-mount-context']),
  });
}
