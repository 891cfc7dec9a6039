import { closeSync, openSync, readSync } from 'node:fs';
import { updateContainer } from '../../container/cgroups.js';
import { warn } from '../../trace.js';
import type { Resources } from '../../config/types.js';
import type { Context } from '../context.js';
import type { ArgValue, ParsedArgs } from '../defs.js';
import { errnoCode } from '../../config/errors.js';
import { HASH_INPUT_LIMIT, tooBigForFixedSeed } from '../../config/hashlimit.js';

const MULTIPLIERS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker's RAMInBytes: "512", "100m", "1.5GiB", "2g" (binary multiples). */
export function ramInBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$/i.exec(text);
  if (!m) throw new Error(`invalid size: '${text}'`);
  return Math.trunc(Number(m[1]) * (MULTIPLIERS[(m[2] ?? '').toLowerCase()] as number));
}

const given = (v: ArgValue): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

function integer(flag: string, text: string, unsigned: boolean): number {
  if (!(unsigned ? /^\d+$/ : /^-?\d+$/).test(text)) throw new Error(`invalid value for ${flag}: strconv.Parse${unsigned ? 'Uint' : 'Int'}: parsing "${text}": invalid syntax`);
  return Number(text);
}

/** The resources an update asks for: the --resources document, or runc's individual flags. */
export function resourcesFromArgs(o: Record<string, ArgValue>, readInput: (path: string) => string): Resources {
  const file = given(o.resources);
  if (file) {
    const text = readInput(file);
    let doc: unknown;
    try { doc = JSON.parse(text); } catch (err) { throw new Error(`--resources: ${(err as Error).message}`); }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('--resources: expected a JSON object (LinuxResources)');
    return doc as Resources;
  }
  const r: Resources = { memory: {}, cpu: {}, blockIO: {}, pids: {} };
  const cpu = r.cpu as NonNullable<Resources['cpu']>;
  const memory = r.memory as NonNullable<Resources['memory']>;
  const weight = given(o['blkio-weight']);
  if (weight !== undefined && integer('blkio-weight', weight, false) !== 0) (r.blockIO as NonNullable<Resources['blockIO']>).weight = Number(weight);
  if (given(o['cpuset-cpus'])) cpu.cpus = given(o['cpuset-cpus']);
  if (given(o['cpuset-mems'])) cpu.mems = given(o['cpuset-mems']);
  const idle = given(o['cpu-idle']);
  if (idle !== undefined) cpu.idle = integer('cpu-idle', idle, false);
  for (const [flag, key] of [['cpu-burst', 'burst'], ['cpu-period', 'period'], ['cpu-rt-period', 'realtimePeriod'], ['cpu-share', 'shares']] as const) {
    const v = given(o[flag]);
    if (v !== undefined) cpu[key] = integer(flag, v, true);
  }
  for (const [flag, key] of [['cpu-quota', 'quota'], ['cpu-rt-runtime', 'realtimeRuntime']] as const) {
    const v = given(o[flag]);
    if (v !== undefined) cpu[key] = integer(flag, v, false);
  }
  for (const [flag, key] of [['memory', 'limit'], ['memory-swap', 'swap'], ['memory-reservation', 'reservation']] as const) {
    const v = given(o[flag]);
    if (v === undefined) continue;
    try {
      memory[key] = v === '-1' ? -1 : ramInBytes(v);
    } catch (err) {
      throw new Error(`invalid value for ${flag}: ${(err as Error).message}`);
    }
  }
  for (const flag of ['kernel-memory', 'kernel-memory-tcp']) {
    if (given(o[flag]) !== undefined) warn(`Setting --${flag} is ignored and will be removed`);
  }
  const pids = given(o['pids-limit']);
  if (pids !== undefined) (r.pids as NonNullable<Resources['pids']>).limit = integer('pids-limit', pids, false);
  if (given(o['l3-cache-schema'])) throw new Error('Intel RDT/CAT: l3 cache schema is not enabled');
  if (given(o['mem-bw-schema'])) throw new Error('Intel RDT/MBA: memory bandwidth schema is not enabled');
  return r;
}

/** Far more than any resources document; a bound so an endless stream (`-r /dev/zero`, `yes |`) fails instead of eating memory. */
const RESOURCES_SIZE_LIMIT = 1024 * 1024;

/** Read the --resources document from a file or, for '-', standard input, at most RESOURCES_SIZE_LIMIT bytes. */
function readResources(path: string): string {
  const fd = path === '-' ? 0 : openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(RESOURCES_SIZE_LIMIT + 1);
    let got = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, got, buf.length - got, null);
      } catch (err) {
        // stdin may be a non-blocking pipe: wait a moment for the writer.
        if (errnoCode(err) !== 'EAGAIN') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (n === 0) break;
      got += n;
      if (got > RESOURCES_SIZE_LIMIT) throw new Error(`--resources ${path === '-' ? '(standard input)' : path}: larger than ${RESOURCES_SIZE_LIMIT} bytes`);
    }
    // Measured at start-up (seedguard.ts); larger now only if the file was replaced meanwhile.
    if (tooBigForFixedSeed(got)) throw new Error(`--resources ${path}: grew past ${HASH_INPUT_LIMIT / 1024} KiB while ocirun ran; run the command again`);
    return buf.toString('utf8', 0, got);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

export function update(args: ParsedArgs, ctx: Context): number {
  const resources = resourcesFromArgs(args.options, readResources);
  updateContainer(ctx.store, args.positionals['container-id'] as string, resources);
  return 0;
}
