// linux/sched.ts: scheduler, I/O priority, CPU lists and masks, personality, memory policy (pure, no root).
import t from 'tap';
import { bitMask, parseCpuList, planCpuAffinity, planIoPriority, planMemoryPolicy, planPersonality, planScheduler, schedAttr } from '../../src/linux/sched.js';

t.test('scheduler: policy, flags and struct sched_attr', async (t) => {
  const p = planScheduler({ policy: 'SCHED_DEADLINE', flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_DL_OVERRUN'], runtime: 1000, deadline: 2000, period: 3000 });
  t.same(p, { policy: 6, flags: 5, nice: 0, priority: 0, runtime: '1000', deadline: '2000', period: '3000' });
  const b = schedAttr(p!);
  t.equal(b.length, 56);
  t.equal(b.readUInt32LE(0), 56, 'size');
  t.equal(b.readUInt32LE(4), 6, 'policy');
  t.equal(b.readBigUInt64LE(8), 5n, 'flags');
  t.equal(b.readBigUInt64LE(40), 3000n, 'period');
  t.equal(planScheduler({ policy: 'SCHED_OTHER', nice: -5 })?.nice, -5);
  t.equal(schedAttr(planScheduler({ policy: 'SCHED_OTHER', nice: -5 })!).readInt32LE(16), -5);
  t.throws(() => planScheduler({ policy: 'SCHED_ISO' }), /^process\.scheduler\.policy: "SCHED_ISO" is not supported by Linux/);
  t.throws(() => planScheduler({ policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_X' as never] }), /^process\.scheduler\.flags\[0\]: unknown flag/);
  t.equal(planScheduler(undefined), null);
});

t.test('ioPriority: IOPRIO_PRIO_VALUE(class, level)', async (t) => {
  t.equal(planIoPriority({ class: 'IOPRIO_CLASS_RT', priority: 3 }), (1 << 13) | 3);
  t.equal(planIoPriority({ class: 'IOPRIO_CLASS_BE', priority: 7 }), (2 << 13) | 7);
  t.equal(planIoPriority({ class: 'IOPRIO_CLASS_IDLE' }), 3 << 13);
  t.throws(() => planIoPriority({ class: 'IOPRIO_CLASS_BE', priority: 8 }), /^process\.ioPriority\.priority: must be 0 to 7/);
  t.throws(() => planIoPriority({ class: 'IOPRIO_CLASS_NONE' as never }), /^process\.ioPriority\.class: unknown class/);
});

t.test('cpu lists and masks', async (t) => {
  t.same(parseCpuList('0-3,7', 'x'), [0, 1, 2, 3, 7]);
  t.same(parseCpuList(' 5 , 1-2,2 ', 'x'), [1, 2, 5]);
  t.throws(() => parseCpuList('a', 'process.execCPUAffinity.initial'), /^process\.execCPUAffinity\.initial: "a" is not a list like "0-3,7"/);
  t.throws(() => parseCpuList('3-1', 'f'), /^f: bad range "3-1"/);
  t.same(planCpuAffinity({ final: '1' }), { initial: null, final: [1] });
  t.equal(planCpuAffinity({}), null);
  const m = bitMask([0, 9, 1100]);
  t.equal(m.length, 144, 'grows past 1024 bits in whole longs');
  t.equal(m[0], 1);
  t.equal(m[1], 2);
  t.equal(m[137], 1 << 4);
  t.equal(bitMask([]).length, 128, 'glibc cpu_set_t size at least');
});

t.test('personality and memory policy', async (t) => {
  t.equal(planPersonality({ domain: 'LINUX' }), 0);
  t.equal(planPersonality({ domain: 'LINUX32' }), 8);
  t.throws(() => planPersonality({ domain: 'LINUX', flags: ['X'] }), /^linux\.personality\.flags: no flags are supported/);
  t.throws(() => planPersonality({ domain: 'SVR4' as never }), /^linux\.personality\.domain: unknown domain/);
  t.same(planMemoryPolicy({ mode: 'MPOL_INTERLEAVE', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] }), { mode: 3 | (1 << 15), nodes: [0, 1] });
  t.same(planMemoryPolicy({ mode: 'MPOL_LOCAL' }), { mode: 4, nodes: [] });
  t.throws(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_X' as never] }), /^linux\.memoryPolicy\.flags\[0\]: unknown flag/);
});
