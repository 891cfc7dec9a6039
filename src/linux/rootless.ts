// runc's --rootless: "true", "false", or "auto" (the default). It decides one
// thing, as in runc: whether the cgroup manager is the rootless one, which
// tries what an unprivileged user may have (a delegated subtree, the user's
// systemd manager) and goes without cgroups when it may not, where the other
// treats every permission error as fatal. auto means rootless when we are not
// root, or when we are root only inside a user namespace that does not map
// the whole id range (rootless podman calls the runtime that way); with
// --systemd-cgroup such a root is rootless only when a user bus is there to
// talk to (runc asks that bus who owns it; we take its presence).
import { existsSync, readFileSync } from 'node:fs';
import { fields } from '../config/chars.js';

/** The whole 32-bit id range mapped 1:1, as in the initial user namespace. */
function mapsEverything(mapText: string): boolean {
  const lines = mapText.trim().split('\n').map((l) => fields(l).map(Number));
  return lines.length === 1 && lines[0]![0] === 0 && lines[0]![1] === 0 && lines[0]![2] === 4294967295;
}

let ownUserns: boolean | undefined;

/**
 * Root of a user namespace that is not the host's: rootless, though euid is 0.
 * Read once a process, as procfs.ts keeps our mountinfo and cgroups: we never
 * change our own user namespace (only the children the native step forks do).
 */
export function inUserNamespace(): boolean {
  ownUserns ??= readsAsUserns();
  return ownUserns;
}

function readsAsUserns(): boolean {
  try {
    return !mapsEverything(readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    return false;
  }
}

// The words Go's strconv.ParseBool takes, which runc's --rootless reads.
const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** --rootless as given: true, false, or null for auto. A bad value fails naming the flag. */
export function parseRootlessFlag(flag: string | boolean | undefined): boolean | null {
  if (typeof flag === 'boolean') return flag;
  if (flag === undefined || flag === '' || flag === 'auto') return null;
  if (TRUE_WORDS.has(flag)) return true;
  if (FALSE_WORDS.has(flag)) return false;
  throw new Error(`--rootless: want "true", "false" or "auto", got ${JSON.stringify(flag)}`);
}

/** The address of the caller's user bus, if it has one: $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus. */
export function userBusAddress(env: NodeJS.ProcessEnv = process.env): string | null {
  const given = env.DBUS_SESSION_BUS_ADDRESS;
  if (given) return given;
  const dir = env.XDG_RUNTIME_DIR;
  if (!dir || !existsSync(`${dir}/bus`)) return null;
  return `unix:path=${escapeBusAddressValue(`${dir}/bus`)}`;
}

/** D-Bus address values escape every byte but [-0-9A-Za-z_/.\\*] as %XX. */
export function escapeBusAddressValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value)) {
    const ch = String.fromCharCode(byte);
    out += /[-0-9A-Za-z_/.\\*]/.test(ch) ? ch : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Whether the rootless cgroup manager is used: --rootless, or the auto rule above. */
export function isRootless(flag: string | boolean | undefined, systemdCgroup = false): boolean {
  const given = parseRootlessFlag(flag);
  if (given !== null) return given;
  if (process.geteuid?.() !== 0) return true;
  if (!inUserNamespace()) return false;
  return systemdCgroup ? userBusAddress() !== null : true;
}

/**
 * Whether state belongs under $XDG_RUNTIME_DIR: for an unprivileged caller,
 * and for root of a user namespace that is not the host's unless that is a
 * real root login (rootless podman runs us as its namespace's root).
 */
export function honorsXdgRuntimeDir(): boolean {
  if (process.geteuid?.() !== 0) return true;
  return inUserNamespace() && process.env.USER !== 'root';
}
