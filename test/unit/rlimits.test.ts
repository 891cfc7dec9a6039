// linux/rlimits.ts: process.rlimits → setrlimit steps with exact uint64 values.
import t from 'tap';
import { asRlim, planRlimits } from '../../src/linux/rlimits.js';

t.test('each rlimit becomes its resource number with decimal soft and hard', async (t) => {
  t.same(planRlimits([{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }, { type: 'RLIMIT_CPU', soft: 0, hard: 1 }]), [
    { name: 'RLIMIT_NOFILE', resource: 7, soft: '1024', hard: '4096' },
    { name: 'RLIMIT_CPU', resource: 0, soft: '0', hard: '1' },
  ]);
  t.same(planRlimits(undefined), []);
});

t.test('RLIM_INFINITY as engines write it (JSON rounds it to 2^64) stays RLIM_INFINITY', async (t) => {
  const inf = '18446744073709551615';
  t.equal(asRlim(JSON.parse('18446744073709551615') as number), inf);
  t.equal(asRlim(2 ** 64), inf);
  t.equal(asRlim(2 ** 70), inf);
  t.equal(asRlim(2 ** 53), '9007199254740992');
  t.equal(asRlim(12.9), '12');
  t.same(planRlimits([{ type: 'RLIMIT_CORE', soft: 2 ** 64, hard: 2 ** 64 }])[0], { name: 'RLIMIT_CORE', resource: 4, soft: inf, hard: inf });
});

t.test('an unknown type is refused, naming it', async (t) => {
  t.throws(() => planRlimits([{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]), { message: 'process.rlimits: unknown rlimit type "RLIMIT_BOGUS"' });
});
