// runc's --rootless: "true", "false", or "auto" (the default), which means
// rootless when we are not root, or when we are root only inside a user
// namespace that does not map the whole id range (rootless podman calls the
// runtime that way). Rootless changes what may be attempted: cgroups only
// where delegated, and no error for a cgroup we are not allowed to make.
import { readFileSync } from 'node:fs';

/** The whole 32-bit id range mapped 1:1, as in the initial user namespace. */
function mapsEverything(mapText: string): boolean {
  const lines = mapText.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  return lines.length === 1 && lines[0]![0] === 0 && lines[0]![1] === 0 && lines[0]![2] === 4294967295;
}

/** Root of a user namespace that is not the host's: rootless, though euid is 0. */
export function inUserNamespace(): boolean {
  try {
    return !mapsEverything(readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    return false;
  }
}

export function isRootless(flag: string | boolean | undefined): boolean {
  const value = flag === undefined || flag === '' ? 'auto' : String(flag);
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (value !== 'auto') throw new Error(`--rootless: want "true", "false" or "auto", got ${JSON.stringify(value)}`);
  return process.geteuid?.() !== 0 || inUserNamespace();
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
