// A fresh session keyring per container (runc's default; --no-new-keyring
// skips it), so containers do not share the host session's keys.
import { keyctlDescribe, keyctlJoinSession, keyctlSetperm } from '../sys/keyctl.js';
import { SysError } from '../sys/errors.js';

// Lets the keyring's owner (the container user) change its attributes, as runc grants.
const KEY_USR_SETATTR = 0x00100000;

export function joinSessionKeyring(containerId: string): void {
  let serial: number;
  try {
    serial = keyctlJoinSession(`_ses.${containerId}`);
  } catch (err) {
    // Kernels built without keyrings, or seccomp-filtered keyctl: run without, as runc does.
    if (err instanceof SysError && (err.code === 'ENOSYS' || err.code === 'EPERM')) return;
    throw err;
  }
  // describe gives "type;uid;gid;perm;description", perm in hex.
  const perm = Number.parseInt(keyctlDescribe(serial).split(';')[3] ?? '0', 16);
  keyctlSetperm(serial, (perm | KEY_USR_SETATTR) >>> 0);
}
