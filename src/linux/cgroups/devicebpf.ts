// cgroup v2 has no devices files: access is decided by an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. This generates it from
// the rules, with the semantics of decideDevice() in devices.ts: rules are
// checked from the last to the first, the first that matches returns its
// verdict, and no match allows.
//
// The program's context is struct bpf_cgroup_dev_ctx (include/uapi/linux/bpf.h):
//   u32 access_type  — (access << 16) | type; type 1 block, 2 char;
//                      access bits: 1 mknod, 2 read, 4 write
//   u32 major, u32 minor
// It returns 1 to allow, 0 to deny.
import type { DeviceRule } from './devices.js';
import { accessMask } from './devices.js';

export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;

// Opcodes (include/uapi/linux/bpf_common.h, bpf.h): class | op | source.
const BPF_LDX_MEM_W = 0x61; // dst = *(u32 *)(src + off)
const BPF_ALU64_MOV_X = 0xbf; // dst = src
const BPF_ALU64_MOV_K = 0xb7; // dst = imm
const BPF_ALU64_AND_K = 0x57; // dst &= imm
const BPF_ALU64_RSH_K = 0x77; // dst >>= imm
const BPF_JMP_JNE_K = 0x55; // if dst != imm: pc += off
const BPF_JMP_JEQ_K = 0x15; // if dst == imm: pc += off
const BPF_JMP_EXIT = 0x95;

/** One 8-byte instruction, as the kernel reads it: opcode, dst:4|src:4, s16 offset, s32 immediate. */
export interface Insn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (op: number, dst: number, src: number, off: number, imm: number): Insn => ({ op, dst, src, off, imm });

// Registers: r1 holds the context; r2 type, r3 access, r4 major, r5 minor, r6 scratch.
const CTX = 1;
const TYPE = 2;
const ACCESS = 3;
const MAJOR = 4;
const MINOR = 5;
const SCRATCH = 6;

/** The checks of one rule; each jump skips to the next rule (patched once the block's length is known). */
function ruleBlock(r: DeviceRule): Insn[] {
  const checks: Insn[] = [];
  const skip = (op: number, reg: number, imm: number): void => { checks.push(insn(op, reg, 0, -1, imm)); };
  if (r.type !== 'a') {
    skip(BPF_JMP_JNE_K, TYPE, r.type === 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
    if (r.major >= 0) skip(BPF_JMP_JNE_K, MAJOR, r.major);
    if (r.minor >= 0) skip(BPF_JMP_JNE_K, MINOR, r.minor);
  }
  const mask = r.type === 'a' ? 7 : accessMask(r.access);
  if (r.allow && mask !== 7) {
    // Allow only if every requested bit is granted: (access & ~mask) == 0.
    checks.push(insn(BPF_ALU64_MOV_X, SCRATCH, ACCESS, 0, 0));
    checks.push(insn(BPF_ALU64_AND_K, SCRATCH, 0, 0, ~mask & 7));
    skip(BPF_JMP_JNE_K, SCRATCH, 0);
  } else if (!r.allow && mask !== 7) {
    // Deny if any requested bit is forbidden: (access & mask) != 0.
    checks.push(insn(BPF_ALU64_MOV_X, SCRATCH, ACCESS, 0, 0));
    checks.push(insn(BPF_ALU64_AND_K, SCRATCH, 0, 0, mask));
    skip(BPF_JMP_JEQ_K, SCRATCH, 0);
  }
  const block = [...checks, insn(BPF_ALU64_MOV_K, 0, 0, 0, r.allow ? 1 : 0), insn(BPF_JMP_EXIT, 0, 0, 0, 0)];
  // A jump at index i lands on i + 1 + off: the first instruction after the block.
  block.forEach((ins, i) => { if (ins.off === -1) ins.off = block.length - 1 - i; });
  return block;
}

export function deviceProgram(rules: DeviceRule[]): Insn[] {
  const prog: Insn[] = [
    insn(BPF_LDX_MEM_W, TYPE, CTX, 0, 0),
    insn(BPF_ALU64_MOV_X, ACCESS, TYPE, 0, 0),
    insn(BPF_ALU64_AND_K, TYPE, 0, 0, 0xffff),
    insn(BPF_ALU64_RSH_K, ACCESS, 0, 0, 16),
    insn(BPF_LDX_MEM_W, MAJOR, CTX, 4, 0),
    insn(BPF_LDX_MEM_W, MINOR, CTX, 8, 0),
  ];
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i] as DeviceRule;
    prog.push(...ruleBlock(r));
    // Nothing after a rule that matches everything can run.
    if (r.type === 'a') return prog;
  }
  prog.push(insn(BPF_ALU64_MOV_K, 0, 0, 0, 1), insn(BPF_JMP_EXIT, 0, 0, 0, 0));
  return prog;
}

/** The instructions as bytes for BPF_PROG_LOAD (little-endian hosts: x86_64, arm64). */
export function encodeProgram(prog: Insn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((p, i) => {
    buf.writeUInt8(p.op, i * 8);
    buf.writeUInt8(((p.src & 0xf) << 4) | (p.dst & 0xf), i * 8 + 1);
    buf.writeInt16LE(p.off, i * 8 + 2);
    buf.writeInt32LE(p.imm, i * 8 + 4);
  });
  return buf;
}
