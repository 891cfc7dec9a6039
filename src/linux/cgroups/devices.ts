// The device access rules of a container: linux.resources.devices in order,
// then runc's default allow list (mknod of anything; the standard nodes;
// ptys; tun). Rules are read top to bottom and the last one that matches a
// request decides, as successive writes to v1's devices.allow/devices.deny do.
import type { Device, DeviceCgroup } from '../../config/types.js';
import type { CgroupWrite } from './resources.js';
import { onlyRwm } from '../../config/chars.js';

export type DeviceType = 'a' | 'c' | 'b';

export interface DeviceRule {
  allow: boolean;
  type: DeviceType;
  /** -1 matches any */
  major: number;
  minor: number;
  /** a non-empty subset of "rwm" */
  access: string;
}

const rule = (type: DeviceType, major: number, minor: number, access: string, path?: string): DeviceRule & { path?: string } =>
  ({ allow: true, type, major, minor, access, ...(path ? { path } : {}) });

/** runc's AllowedDevices: what every container may use unless its rules say otherwise. */
export const DEFAULT_ALLOWED_DEVICES: (DeviceRule & { path?: string })[] = [
  rule('c', -1, -1, 'm'),
  rule('b', -1, -1, 'm'),
  rule('c', 1, 3, 'rwm', '/dev/null'),
  rule('c', 1, 8, 'rwm', '/dev/random'),
  rule('c', 1, 7, 'rwm', '/dev/full'),
  rule('c', 5, 0, 'rwm', '/dev/tty'),
  rule('c', 1, 5, 'rwm', '/dev/zero'),
  rule('c', 1, 9, 'rwm', '/dev/urandom'),
  rule('c', 136, -1, 'rwm'), // /dev/pts/*
  rule('c', 5, 2, 'rwm'), // /dev/ptmx
  rule('c', 10, 200, 'rwm'), // /dev/net/tun
];

/**
 * The full rule list: the config's rules, then the defaults. A default for a
 * path that linux.devices redefines is dropped (runc: the config's node wins).
 */
export function deviceRules(configured: DeviceCgroup[] | undefined, linuxDevices: Device[] | undefined): DeviceRule[] {
  const out: DeviceRule[] = [];
  (configured ?? []).forEach((d, i) => {
    const field = `linux.resources.devices[${i}]`;
    const type = d.type ?? 'a';
    if (type !== 'a' && type !== 'c' && type !== 'b') throw new Error(`${field}.type: "${String(type)}" is not one of a, c, b`);
    const access = d.access ?? '';
    if (!onlyRwm(access)) throw new Error(`${field}.access: "${access}" must be a non-empty combination of r, w and m`);
    out.push({ allow: d.allow, type, major: d.major ?? -1, minor: d.minor ?? -1, access: [...new Set(access)].sort((a, b) => 'rwm'.indexOf(a) - 'rwm'.indexOf(b)).join('') });
  });
  const redefined = new Set((linuxDevices ?? []).map((d) => d.path));
  for (const d of DEFAULT_ALLOWED_DEVICES) {
    if (d.path && redefined.has(d.path)) continue;
    out.push({ allow: d.allow, type: d.type, major: d.major, minor: d.minor, access: d.access });
  }
  return out;
}

/** The rule as devices.allow/devices.deny take it: "c 1:3 rwm", or "a" for everything. */
export function v1RuleLine(r: DeviceRule): string {
  if (r.type === 'a') return 'a';
  const n = (v: number): string => (v < 0 ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

/** v1: one write a rule, in order, each to devices.allow or devices.deny. */
export function devicesV1(rules: DeviceRule[]): CgroupWrite[] {
  return rules.map((r) => ({ file: r.allow ? 'devices.allow' : 'devices.deny', value: v1RuleLine(r), field: 'linux.resources.devices' }));
}

export const ACCESS_BITS = { m: 1, r: 2, w: 4 } as const;

export function accessMask(access: string): number {
  let mask = 0;
  for (const ch of access) mask |= ACCESS_BITS[ch as keyof typeof ACCESS_BITS] ?? 0;
  return mask;
}

/**
 * The reference semantics the eBPF program implements (and tests compare it
 * with): scan from the last rule back; an allow rule matches when it grants
 * every requested access bit, a deny rule when it forbids any of them (as v1's
 * exception lists behave); no match allows (a new v1 cgroup starts allow-all).
 */
export function decideDevice(rules: DeviceRule[], type: 'c' | 'b', major: number, minor: number, access: number): boolean {
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i] as DeviceRule;
    if (r.type !== 'a' && r.type !== type) continue;
    if (r.type !== 'a' && r.major >= 0 && r.major !== major) continue;
    if (r.type !== 'a' && r.minor >= 0 && r.minor !== minor) continue;
    const mask = r.type === 'a' ? 7 : accessMask(r.access);
    if (r.allow ? (access & ~mask) === 0 : (access & mask) !== 0) return r.allow;
  }
  return true;
}
