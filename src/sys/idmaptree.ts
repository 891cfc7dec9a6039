// The native half of idmapped mounts (native/idmap.c): a detached clone of
// a source tree whose ids are mapped through a user namespace made for the
// mapping. Declared on first use: only configs with idmapped mounts pay.
import { SysError } from './errors.js';
import { libc } from './libc.js';
import { nativeLibraryPath } from '../install/paths.js';

type IdmappedTree = (source: string, uidMap: string, gidMap: string, rbind: number, ridmap: number, step: (string | null)[]) => number;
let fn: IdmappedTree | undefined;

function library(): ReturnType<ReturnType<typeof libc>['koffi']['load']> {
  return libc().koffi.load(nativeLibraryPath());
}

/** Whether this kernel can make idmapped mounts at all (features reports it). */
export function idmapSupported(): boolean {
  const probe = library().func('int ocirun_idmap_supported(void)') as unknown as () => number;
  return probe() === 1;
}

/**
 * The tree's fd (close-on-exec), to be attached with move_mount(2). The maps
 * are uid_map/gid_map text. SysError names the failing step and the source.
 */
export function openIdmappedTree(source: string, uidMap: string, gidMap: string, rbind: boolean, ridmap: boolean): number {
  if (!fn) {
    fn = library().func('int ocirun_idmapped_tree(const char *source, const char *uid_map, const char *gid_map, int rbind, int ridmap, _Out_ const char **step)') as unknown as IdmappedTree;
  }
  const step: (string | null)[] = [null];
  const fd = fn(source, uidMap, gidMap, rbind ? 1 : 0, ridmap ? 1 : 0, step);
  if (fd < 0) throw new SysError(step[0] ?? 'idmapped mount', -fd, source);
  return fd;
}
