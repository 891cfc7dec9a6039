// Linux security modules: process.apparmorProfile, process.selinuxLabel and
// linux.mountLabel. Where the LSM is enabled, the exec label is written to
// /proc/thread-self/attr/… right before execve (the kernel applies it at the
// exec); where it is not, asking for one is an error that names the field,
// since silently running unconfined is the worse outcome.
import { existsSync, readFileSync } from 'node:fs';
import type { Spec } from '../config/types.js';

export interface LsmHost {
  apparmor: boolean;
  selinux: boolean;
  /** where an AppArmor exec profile is written: a per-module file on kernels with LSM stacking, else the shared one */
  apparmorExecFile: string;
}

export interface LsmPlan {
  apparmorProfile: string | null;
  selinuxLabel: string | null;
  /** linux.mountLabel: given to the filesystems that take a context= option */
  mountLabel: string | null;
  /** the exec labels as (file, text) pairs, written by the native step right before execve */
  execAttrs: [string, string][];
}

/** SELinux mount context for a mount's data string, for the filesystem types that accept it. */
export function withMountLabel(type: string, data: string, mountLabel: string | null): string {
  if (!mountLabel || !['tmpfs', 'devpts', 'mqueue', 'shm'].includes(type)) return data;
  const context = `context="${mountLabel}"`;
  return data ? `${data},${context}` : context;
}

/** What this host has enabled (sysfs, as runc and the LSM tools read it). */
export function detectLsm(): LsmHost {
  let apparmor = false;
  try {
    apparmor = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch { /* not built in */ }
  const stacked = '/proc/thread-self/attr/apparmor/exec';
  return { apparmor, selinux: existsSync('/sys/fs/selinux/enforce'), apparmorExecFile: apparmor && existsSync(stacked) ? stacked : '/proc/thread-self/attr/exec' };
}

export function planLsm(spec: Pick<Spec, 'process' | 'linux'>, host: LsmHost): LsmPlan {
  const profile = spec.process?.apparmorProfile || null;
  const label = spec.process?.selinuxLabel || null;
  const mountLabel = spec.linux?.mountLabel || null;
  if (profile && !host.apparmor) throw new Error(`process.apparmorProfile: AppArmor is not enabled on this host, so profile ${JSON.stringify(profile)} cannot be applied`);
  if (label && !host.selinux) throw new Error(`process.selinuxLabel: SELinux is not enabled on this host, so label ${JSON.stringify(label)} cannot be applied`);
  if (mountLabel && !host.selinux) throw new Error(`linux.mountLabel: SELinux is not enabled on this host, so label ${JSON.stringify(mountLabel)} cannot be applied`);
  const execAttrs: [string, string][] = [];
  if (profile) execAttrs.push([host.apparmorExecFile, `exec ${profile}`]);
  if (label) execAttrs.push(['/proc/thread-self/attr/exec', label]);
  return { apparmorProfile: profile, selinuxLabel: label, mountLabel, execAttrs };
}
