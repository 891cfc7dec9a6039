// The cgroup v2 device program, run in a tiny eBPF interpreter written from
// the instruction set (Documentation/bpf/standardization/instruction-set.rst)
// for the opcodes the generator uses, and compared with the reference
// semantics (decideDevice) over every rule set and request below.
import t from 'tap';
import { BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR, deviceProgram, encodeProgram } from '../../src/linux/cgroups/devicebpf.js';
import { DEFAULT_ALLOWED_DEVICES, type DeviceRule, decideDevice, deviceRules } from '../../src/linux/cgroups/devices.js';

const U64 = (1n << 64n) - 1n;

/** Run encoded instructions on a bpf_cgroup_dev_ctx; returns r0. Throws on anything the generator must not emit. */
function run(code: Buffer, ctx: { accessType: number; major: number; minor: number }): number {
  const mem = Buffer.alloc(12);
  mem.writeUInt32LE(ctx.accessType, 0);
  mem.writeUInt32LE(ctx.major, 4);
  mem.writeUInt32LE(ctx.minor, 8);
  const regs: bigint[] = new Array(11).fill(0n);
  regs[1] = -1n; // the context pointer: only loads through it are allowed
  const n = code.length / 8;
  let pc = 0;
  for (let steps = 0; steps < 10_000; steps++) {
    if (pc < 0 || pc >= n) throw new Error(`pc ${pc} out of the program`);
    const op = code.readUInt8(pc * 8);
    const regsByte = code.readUInt8(pc * 8 + 1);
    const dst = regsByte & 0xf;
    const src = regsByte >> 4;
    const off = code.readInt16LE(pc * 8 + 2);
    const imm = BigInt.asUintN(64, BigInt(code.readInt32LE(pc * 8 + 4)));
    pc++;
    switch (op) {
      case 0x61: // ldxw dst, [src + off]
        if (regs[src] !== -1n || off < 0 || off > 8 || off % 4) throw new Error(`bad load at ${pc - 1}`);
        regs[dst] = BigInt(mem.readUInt32LE(off));
        break;
      case 0xbf: regs[dst] = regs[src] as bigint; break;
      case 0xb7: regs[dst] = imm; break;
      case 0x57: regs[dst] = (regs[dst] as bigint) & imm; break;
      case 0x77: regs[dst] = ((regs[dst] as bigint) & U64) >> (imm & 63n); break;
      case 0x55: if (regs[dst] !== imm) pc += off; break;
      case 0x15: if (regs[dst] === imm) pc += off; break;
      case 0x95: return Number(regs[0]);
      default: throw new Error(`unexpected opcode 0x${op.toString(16)} at ${pc - 1}`);
    }
  }
  throw new Error('program did not finish');
}

function allowed(rules: DeviceRule[], type: 'c' | 'b', major: number, minor: number, access: number): boolean {
  const code = encodeProgram(deviceProgram(rules));
  const devType = type === 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
  return run(code, { accessType: (access << 16) | devType, major, minor }) === 1;
}

const M = 1;
const R = 2;
const W = 4;

t.test('the runc default config: deny all, then the default allow list', async (t) => {
  const rules = deviceRules([{ allow: false, access: 'rwm' }], []);
  t.ok(allowed(rules, 'c', 1, 3, R | W), '/dev/null read-write');
  t.ok(allowed(rules, 'c', 1, 5, R), '/dev/zero');
  t.ok(allowed(rules, 'c', 136, 7, R | W), 'any pty');
  t.ok(allowed(rules, 'c', 5, 2, R | W), '/dev/ptmx');
  t.ok(allowed(rules, 'c', 10, 200, R | W), 'tun');
  t.ok(allowed(rules, 'b', 8, 0, M), 'mknod of any block device');
  t.notOk(allowed(rules, 'b', 8, 0, R), 'but no reading it');
  t.notOk(allowed(rules, 'c', 1, 1, R), '/dev/mem denied');
  t.notOk(allowed(rules, 'c', 10, 229, R | W), '/dev/fuse denied');
});

t.test('access bits: an allow must cover every bit, a deny any of them', async (t) => {
  const rules: DeviceRule[] = [
    { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 229, access: 'r' },
  ];
  t.ok(allowed(rules, 'c', 10, 229, R), 'read allowed');
  t.notOk(allowed(rules, 'c', 10, 229, R | W), 'read-write is not covered by "r"');
  t.notOk(allowed(rules, 'c', 10, 229, W), 'write denied');
  const denyWrite: DeviceRule[] = [{ allow: false, type: 'c', major: 1, minor: -1, access: 'w' }];
  t.ok(allowed(denyWrite, 'c', 1, 3, R), 'reading passes a write-only deny');
  t.notOk(allowed(denyWrite, 'c', 1, 3, R | W), 'read-write hits it');
  t.ok(allowed(denyWrite, 'b', 1, 3, W), 'the type must match');
  t.ok(allowed([], 'c', 4, 4, R | W | M), 'no rules: everything allowed (a v1 cgroup starts allow-all)');
});

t.test('later rules win; an "a" rule ends the scan', async (t) => {
  const rules: DeviceRule[] = [
    { allow: true, type: 'c', major: 4, minor: 1, access: 'rwm' },
    { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' },
  ];
  t.notOk(allowed(rules, 'c', 4, 1, R), 'a deny-all after an allow wins');
  const program = deviceProgram(rules);
  t.equal(program.at(-1)?.op, 0x95, 'ends with exit');
  t.ok(program.length < 12, 'nothing emitted for rules hidden behind an "a" rule');
});

t.test('the program agrees with the reference semantics everywhere', async (t) => {
  const ruleSets: DeviceRule[][] = [
    deviceRules([{ allow: false, access: 'rwm' }], []),
    deviceRules(undefined, []),
    deviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, access: 'rw' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }], []),
    deviceRules([{ allow: true, type: 'a', access: 'rwm' }, { allow: false, type: 'c', access: 'm' }, { allow: false, type: 'b', major: 7, minor: 0, access: 'r' }], []),
    [{ allow: false, type: 'c', major: -1, minor: 3, access: 'rw' }, { allow: true, type: 'c', major: 1, minor: -1, access: 'rm' }],
  ];
  let checked = 0;
  let mismatches = 0;
  for (const rules of ruleSets) {
    for (const type of ['c', 'b'] as const) {
      for (const [major, minor] of [[1, 3], [1, 5], [1, 1], [5, 2], [136, 0], [8, 0], [7, 0], [10, 200], [10, 229], [0, 0], [4095, 1048575]] as const) {
        for (let access = 1; access <= 7; access++) {
          checked++;
          if (allowed(rules, type, major, minor, access) !== decideDevice(rules, type, major, minor, access)) mismatches++;
        }
      }
    }
  }
  t.equal(mismatches, 0, `${checked} requests, no disagreement`);
});

t.test('encoding: 8 bytes an instruction, registers packed dst low, src high', async (t) => {
  const code = encodeProgram(deviceProgram(DEFAULT_ALLOWED_DEVICES));
  t.equal(code.length % 8, 0);
  t.equal(code.readUInt8(0), 0x61, 'first: load access_type');
  t.equal(code.readUInt8(1), 0x12, 'r2 = *(u32 *)(r1 + 0)');
});
