// What the systemd cgroup driver asks systemd for, as runc's driver does: the
// unit a "slice:prefix:name" cgroupsPath names, where its cgroup lies, and
// the unit properties for linux.resources, the device rules and the
// config's org.systemd.property.* annotations. Pure: no D-Bus here.
import { readFileSync } from 'node:fs';
import type { Resources } from '../../config/types.js';
import type { Variant } from '../../sys/sdbus.js';
import type { DeviceRule } from './devices.js';
import { blkioWeightToIOWeight, sharesToWeight, swapForV2 } from './resources.js';

export interface SystemdUnit {
  /** "<prefix>-<name>.scope", or "<name>.slice" when the name is a slice */
  unit: string;
  /** the slice holding it */
  slice: string;
  /** the cgroup path of the unit, from the root ("/system.slice/ocirun-x.scope") */
  cgroupPath: string;
}

/** A property for StartTransientUnit / SetUnitProperties. uint64 values are decimal strings (JSON-safe). */
export type UnitProperty = [name: string, value: Variant];

const FORMAT = 'expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups';

/**
 * "a-b.slice" → "/a.slice/a-b.slice" (systemd's slice nesting), "-.slice" →
 * "/" (the root slice).
 */
export function expandSlice(slice: string): string {
  if (!slice.endsWith('.slice') || slice.includes('/')) throw new Error(`invalid slice name "${slice}": a slice ends in .slice and has no "/"`);
  const base = slice.slice(0, -'.slice'.length);
  if (base === '-') return '/';
  let path = '';
  let prefix = '';
  for (const part of base.split('-')) {
    if (part === '') throw new Error(`invalid slice name "${slice}": empty part between dashes`);
    path += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return path;
}

/**
 * The unit for a cgroupsPath: "slice:prefix:name" (an empty slice is
 * system.slice, or user.slice in a user's manager, as runc has it; a name
 * ending in .slice makes a slice). Without a path, "<that slice>:ocirun:<id>".
 */
export function systemdUnitFor(cgroupsPath: string | undefined, id: string, defaultSlice = 'system.slice'): SystemdUnit {
  const path = cgroupsPath && cgroupsPath !== '' ? cgroupsPath : `${defaultSlice}:ocirun:${id}`;
  const parts = path.split(':');
  if (parts.length !== 3) throw new Error(`linux.cgroupsPath: ${FORMAT}, got "${path}" instead`);
  const [sliceGiven, prefix, name] = parts as [string, string, string];
  if (name === '' || name.includes('/')) throw new Error(`linux.cgroupsPath: ${FORMAT}, got "${path}" instead (the name part must be a unit name)`);
  const slice = sliceGiven === '' ? defaultSlice : sliceGiven;
  const unit = name.endsWith('.slice') ? name : `${prefix === '' ? '' : `${prefix}-`}${name}.scope`;
  const parentPath = expandSlice(slice);
  // A slice unit nests by its own name; a scope sits in its slice.
  const cgroupPath = unit.endsWith('.slice') ? expandSlice(unit) : `${parentPath === '/' ? '' : parentPath}/${unit}`;
  return { unit, slice, cgroupPath };
}

const MAX_UINT64 = '18446744073709551615';
const u64 = (n: number | bigint): Variant => ({ sig: 't', value: String(n) });
/** -1 (and any negative) is "no limit": systemd's infinity. */
const limit = (n: number): Variant => u64(n < 0 ? BigInt(MAX_UINT64) : n);
const bool = (b: boolean): Variant => ({ sig: 'b', value: b });
const str = (s: string): Variant => ({ sig: 's', value: s });

/** "0-2,7" → systemd's CPU/NUMA mask: byte i holds bits for 8i..8i+7 (lowest first). */
export function listToMask(list: string): number[] {
  const bytes: number[] = [];
  for (const part of list.split(',')) {
    const t = part.trim();
    if (t === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(t);
    if (!m) throw new Error(`"${list}" is not a list like "0-2,7"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let i = lo; i <= hi; i++) {
      while (bytes.length <= i >> 3) bytes.push(0);
      bytes[i >> 3] = (bytes[i >> 3] as number) | (1 << (i & 7));
    }
  }
  return bytes;
}

/**
 * CPUQuotaPerSecUSec from a quota and period (µs), as runc computes it:
 * rounded up to whole 10 ms, since systemd keeps only that precision.
 */
export function quotaPerSecUSec(quota: number, period: number): bigint {
  if (quota <= 0) return BigInt(MAX_UINT64);
  const p = period > 0 ? period : 100_000;
  let perSec = BigInt(quota) * 1_000_000n / BigInt(p);
  if (perSec % 10_000n !== 0n) perSec = (perSec / 10_000n + 1n) * 10_000n;
  return perSec;
}

/** linux.resources as unit properties, for the cgroup version systemd runs on. Others stay file writes. */
export function resourceProperties(r: Resources, version: 1 | 2): UnitProperty[] {
  const out: UnitProperty[] = [];
  const m = r.memory ?? {};
  const c = r.cpu ?? {};
  if (version === 2) {
    if ((m.limit ?? 0) !== 0) out.push(['MemoryMax', limit(m.limit as number)]);
    if ((m.reservation ?? 0) !== 0) out.push(['MemoryLow', limit(m.reservation as number)]);
    const swap = swapForV2(m.swap ?? 0, m.limit ?? 0);
    if (swap !== 0) out.push(['MemorySwapMax', limit(swap)]);
    if ((c.shares ?? 0) !== 0) out.push(['CPUWeight', u64(sharesToWeight(c.shares as number))]);
    if (c.cpus) out.push(['AllowedCPUs', { sig: 'ay', value: listToMask(c.cpus) }]);
    if (c.mems) out.push(['AllowedMemoryNodes', { sig: 'ay', value: listToMask(c.mems) }]);
    if ((r.blockIO?.weight ?? 0) !== 0) out.push(['IOWeight', u64(blkioWeightToIOWeight(r.blockIO?.weight as number))]);
  } else {
    if ((m.limit ?? 0) !== 0) out.push(['MemoryLimit', limit(m.limit as number)]);
    if ((c.shares ?? 0) !== 0) out.push(['CPUShares', u64(c.shares as number)]);
    if ((r.blockIO?.weight ?? 0) !== 0) out.push(['BlockIOWeight', u64(r.blockIO?.weight as number)]);
  }
  const quota = c.quota ?? 0;
  const period = c.period ?? 0;
  if (period !== 0) out.push(['CPUQuotaPeriodUSec', u64(period)]);
  if (quota !== 0 || period !== 0) out.push(['CPUQuotaPerSecUSec', u64(quotaPerSecUSec(quota, period))]);
  const pids = r.pids?.limit ?? 0;
  if (pids !== 0) out.push(['TasksMax', limit(pids)]);
  if (version === 2) {
    // Limits given as raw cgroup2 files that systemd also manages: tell it,
    // or it puts its own value back when it next writes the cgroup.
    for (const [file, prop] of [['memory.min', 'MemoryMin'], ['memory.low', 'MemoryLow'], ['memory.high', 'MemoryHigh'], ['memory.max', 'MemoryMax'], ['memory.swap.max', 'MemorySwapMax'], ['pids.max', 'TasksMax']] as const) {
      const v = r.unified?.[file];
      if (v !== undefined && /^(max|\d+)$/.test(v.trim())) out.push([prop, v.trim() === 'max' ? u64(BigInt(MAX_UINT64)) : u64(BigInt(v.trim()))]);
    }
  }
  return mergeProperties(out);
}

/** Character and block driver names by major number, from /proc/devices. */
function driverNames(): { c: Map<number, string>; b: Map<number, string> } {
  const out = { c: new Map<number, string>(), b: new Map<number, string>() };
  let section: Map<number, string> | null = null;
  let text = '';
  try { text = readFileSync('/proc/devices', 'utf8'); } catch { return out; }
  for (const line of text.split('\n')) {
    if (line.startsWith('Character')) section = out.c;
    else if (line.startsWith('Block')) section = out.b;
    else {
      const m = /^\s*(\d+)\s+(\S+)/.exec(line);
      if (m && section) section.set(Number(m[1]), m[2] as string);
    }
  }
  return out;
}

/**
 * The device rules as DevicePolicy/DeviceAllow. systemd only knows allow
 * lists: "strict" plus an entry per allow rule ("/dev/char/1:3", "char-pts",
 * "char-*"). What it cannot say (a deny after an allow, a major with no
 * driver name) the eBPF program ocirun attaches still enforces exactly.
 */
export function deviceProperties(rules: DeviceRule[], names = driverNames()): UnitProperty[] {
  const last = rules.findLast((r) => r.type === 'a' && r.major === -1 && r.minor === -1 && r.access === 'rwm');
  if (last?.allow) return [['DevicePolicy', str('auto')], ['DeviceAllow', { sig: 'a(ss)', value: [] }]];
  const entries: [string, string][] = [];
  for (const r of rules) {
    if (!r.allow) continue;
    const kinds = r.type === 'a' ? (['c', 'b'] as const) : [r.type];
    for (const k of kinds) {
      const word = k === 'c' ? 'char' : 'block';
      if (r.type === 'a' || r.major === -1) entries.push([`${word}-*`, r.access]);
      else if (r.minor === -1) {
        const name = names[k].get(r.major);
        if (name) entries.push([`${word}-${name}`, r.access]);
      } else entries.push([`/dev/${word}/${r.major}:${r.minor}`, r.access]);
    }
  }
  return [['DevicePolicy', str('strict')], ['DeviceAllow', { sig: 'a(ss)', value: entries }]];
}

// ------------------------------------------------ org.systemd.property.*

const ANNOTATION = 'org.systemd.property.';

const TYPE_WORDS: Record<string, string> = {
  boolean: 'b', byte: 'y', int16: 'n', uint16: 'q', int32: 'i', uint32: 'u', int64: 'x', uint64: 't', double: 'd', string: 's', objectpath: 'o', signature: 'g',
};

/**
 * A value in GVariant text form, as runc reads these annotations: true,
 * false, numbers (bare: int32, or with a type: "uint64 100", "@t 100"),
 * 1.5, 'strings' and "strings", and arrays ("['a', 'b']", "@as []").
 */
export function parseGVariant(text: string, hint?: string): Variant {
  let s = text.trim();
  let type = hint;
  const annotated = /^@(\S+)\s*/.exec(s);
  if (annotated) { type = annotated[1]; s = s.slice(annotated[0].length); } else {
    const word = /^([a-z0-9]+)\s+/.exec(s);
    if (word && TYPE_WORDS[word[1] as string]) { type = TYPE_WORDS[word[1] as string]; s = s.slice(word[0].length); }
  }
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new Error(`"${text}": an array must end with ]`);
    const inner = s.slice(1, -1).trim();
    const items = inner === '' ? [] : splitTopLevel(inner).map((p) => parseGVariant(p, type?.startsWith('a') ? type.slice(1) : undefined));
    const elem = type?.startsWith('a') ? type.slice(1) : items[0]?.sig;
    if (!elem) throw new Error(`"${text}": an empty array needs a type, like @as []`);
    if (items.some((i) => i.sig !== elem)) throw new Error(`"${text}": array items of different types`);
    return { sig: `a${elem}`, value: items.map((i) => i.value) };
  }
  if (/^'.*'$|^".*"$/s.test(s)) return { sig: type && 'sog'.includes(type) ? type : 's', value: s.slice(1, -1).replace(/\\(.)/g, '$1') };
  if (s === 'true' || s === 'false') return { sig: 'b', value: s === 'true' };
  if (/^-?\d+$/.test(s)) {
    const sig = type ?? 'i';
    if (sig === 'd') return { sig, value: Number(s) };
    if (!'ynqiuxt'.includes(sig)) throw new Error(`"${text}": a number is not a ${sig}`);
    return { sig, value: 'xt'.includes(sig) ? s : Number(s) };
  }
  if (/^-?\d*\.\d+(e-?\d+)?$/i.test(s)) return { sig: 'd', value: Number(s) };
  throw new Error(`"${text}" is not a GVariant value this runtime reads (true, 5, uint64 5, 1.5, 'text', ['a'])`);
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (quote) { if (ch === '\\') i++; else if (ch === quote) quote = ''; continue; }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[') depth++;
    else if (ch === ']') depth--;
    else if (ch === ',' && depth === 0) { out.push(s.slice(start, i)); start = i + 1; }
  }
  out.push(s.slice(start));
  return out;
}

/**
 * The config's org.systemd.property.<Name> annotations, as runc passes them:
 * <Name>Sec becomes <Name>USec with the seconds turned into microseconds.
 */
export function annotationProperties(annotations: Record<string, string> | undefined): UnitProperty[] {
  const out: UnitProperty[] = [];
  for (const [key, text] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ANNOTATION)) continue;
    let name = key.slice(ANNOTATION.length);
    const field = `annotations["${key}"]`;
    if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new Error(`${field}: "${name}" is not a systemd property name`);
    let value: Variant;
    try { value = parseGVariant(text); } catch (err) { throw new Error(`${field}: ${(err as Error).message}`, { cause: err }); }
    if (name.endsWith('Sec') && !name.endsWith('USec')) {
      if (typeof value.value !== 'number' && typeof value.value !== 'string') throw new Error(`${field}: ${name} takes a number of seconds`);
      const secs = Number(value.value);
      if (!Number.isFinite(secs) || secs < 0) throw new Error(`${field}: ${name} takes a number of seconds`);
      name = `${name.slice(0, -3)}USec`;
      value = u64(BigInt(Math.round(secs * 1e6)));
    }
    out.push([name, value]);
  }
  return out;
}

/** Later properties of the same name replace earlier ones (annotations win, as in runc). */
export function mergeProperties(...lists: UnitProperty[][]): UnitProperty[] {
  const byName = new Map<string, UnitProperty>();
  for (const list of lists) for (const p of list) { byName.delete(p[0]); byName.set(p[0], p); }
  return [...byName.values()];
}

/** Everything a new container's unit starts with, except its PIDs (known only at start). */
/** devices null: no DevicePolicy (a user's manager cannot install device programs). */
export function startProperties(u: SystemdUnit, id: string, version: 1 | 2, r: Resources, devices: DeviceRule[] | null, annotations: Record<string, string> | undefined): UnitProperty[] {
  const base: UnitProperty[] = [['Description', str(`ocirun container ${id}`)]];
  if (u.unit.endsWith('.slice')) base.push(['Wants', { sig: 'as', value: [u.slice] }]);
  else base.push(['Slice', str(u.slice)], ['Delegate', bool(true)]);
  base.push(
    ['MemoryAccounting', bool(true)], ['CPUAccounting', bool(true)], [version === 2 ? 'IOAccounting' : 'BlockIOAccounting', bool(true)],
    ['TasksAccounting', bool(true)], ['DefaultDependencies', bool(false)],
  );
  return mergeProperties(base, resourceProperties(r, version), devices ? deviceProperties(devices) : [], annotationProperties(annotations));
}
