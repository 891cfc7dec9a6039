// Finding CRIU and telling the user plainly when it cannot work: not
// installed, too old, or refused by this kernel (`criu check`).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import type { CriuResp } from './schema.js';

/** Oldest CRIU ocirun drives: config_file, orphan_pts_master and the cgroup v2 freezer are all there from 3.14. */
export const MIN_VERSION = { major: 3, minor: 14, sublevel: 0 };

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function executable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The criu binary: --criu as given (a path, or a name looked up in PATH),
 * else "criu" from PATH. sbin directories are searched too: criu lives in
 * /usr/sbin, which a non-login root shell may not have on PATH.
 */
export function findCriu(flag: string | undefined): string {
  const name = flag && flag !== '' ? flag : 'criu';
  if (name.includes('/')) {
    if (executable(name)) return name;
    throw new Error(`criu is not installed or not executable at ${name} (checkpoint and restore need CRIU ${versionText(MIN_VERSION)} or newer)`);
  }
  const dirs = [...(process.env.PATH ?? '').split(':'), ...DEFAULT_PATH.split(':')].filter((d) => d !== '');
  for (const dir of new Set(dirs)) {
    if (executable(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  throw new Error(`${name} not found in $PATH: checkpoint and restore need CRIU ${versionText(MIN_VERSION)} or newer (Debian: apt-get install criu), or --criu PATH`);
}

export function versionText(v: { major: number; minor: number; sublevel?: number }): string {
  return `${v.major}.${v.minor}.${v.sublevel ?? 0}`;
}

/** 3.17.1 → 31701, as CRIU numbers its versions. */
export const versionNumber = (v: { major: number; minor: number; sublevel?: number }): number => v.major * 10000 + v.minor * 100 + (v.sublevel ?? 0);

/** Throw when the VERSION answer is older than what we need; else its number (versionNumber). */
export function requireVersion(resp: CriuResp, criu: string): number {
  const v = resp.version;
  if (!resp.success || !v) throw new Error(`${criu} did not report its version over RPC (CRIU older than 3.0?): checkpoint and restore need CRIU ${versionText(MIN_VERSION)} or newer`);
  const have = { major: v.major_number, minor: v.minor_number, sublevel: v.sublevel ?? 0 };
  if (versionNumber(have) < versionNumber(MIN_VERSION)) {
    throw new Error(`CRIU ${versionText(have)} at ${criu} is too old: checkpoint and restore need CRIU ${versionText(MIN_VERSION)} or newer`);
  }
  return versionNumber(have);
}

/**
 * Run `criu check`: null when CRIU is usable on this kernel, else the reason
 * in one line (its first error). Used after a failure to name the real cause,
 * and by `features`.
 */
export function criuCheck(criu: string, timeoutMs = 30_000): string | null {
  const r = spawnSync(criu, ['check'], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return `${criu} check: ${r.error.message}`;
  if (r.status === 0) return null;
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const first = lines.find((l) => l.startsWith('Error')) ?? lines[0] ?? `exit status ${r.status}`;
  // "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds" → the message after the source location.
  return first.replace(/^Error \([^)]*\):\s*/, '');
}

/** `criu --version`'s "Version: 3.17.1", or null. */
function cliVersion(criu: string): { major: number; minor: number; sublevel: number } | null {
  const r = spawnSync(criu, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  const m = /Version:\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(String(r.stdout ?? ''));
  return m ? { major: Number(m[1]), minor: Number(m[2]), sublevel: Number(m[3] ?? 0) } : null;
}

/** Whether checkpoint and restore can work here: CRIU found, new enough, and `criu check` passes. */
export function criuUsable(criuFlag?: string): boolean {
  let criu: string;
  try { criu = findCriu(criuFlag); } catch { return false; }
  const v = cliVersion(criu);
  if (!v || v.major * 10000 + v.minor * 100 + v.sublevel < MIN_VERSION.major * 10000 + MIN_VERSION.minor * 100 + MIN_VERSION.sublevel) return false;
  return criuCheck(criu) === null;
}
