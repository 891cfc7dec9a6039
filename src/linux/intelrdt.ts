// linux.intelRdt: Intel RDT cache and memory-bandwidth allocation through
// the resctrl filesystem. Not implemented yet; a config asking for it fails
// at create with the reason, rather than running without the limits.
import { readMountinfo } from './procfs.js';

/** True when a resctrl filesystem is mounted (at /sys/fs/resctrl, as the kernel documents). */
export function resctrlMounted(): boolean {
  try {
    return readMountinfo().some((m) => m.fstype === 'resctrl');
  } catch {
    return false;
  }
}

export function checkIntelRdt(mounted = resctrlMounted()): never {
  throw new Error(mounted
    ? 'linux.intelRdt: Intel RDT (resctrl) is not supported by ocirun yet'
    : 'linux.intelRdt: Intel RDT is not available: no resctrl filesystem is mounted (mount -t resctrl resctrl /sys/fs/resctrl)');
}
