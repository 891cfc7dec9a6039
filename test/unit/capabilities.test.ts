// linux/capabilities.ts: config names → the masks the native finalize applies.
import t from 'tap';
import { capabilityNames, missingFromHost, planCapabilities } from '../../src/linux/capabilities.js';
import { CAPABILITY_NAMES } from '../../src/config/names.js';

const bit = (...n: number[]): bigint => n.reduce((m, i) => m | (1n << BigInt(i)), 0n);

t.test('each set becomes the mask of its names\' kernel numbers', async (t) => {
  const m = planCapabilities({
    bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_CHECKPOINT_RESTORE'],
    effective: ['CAP_KILL'],
    permitted: ['CAP_KILL', 'CAP_SYS_ADMIN'],
    inheritable: ['CAP_NET_RAW'],
  });
  t.equal(m.bounding, bit(0, 5, 40));
  t.equal(m.effective, bit(5));
  t.equal(m.permitted, bit(5, 21));
  t.equal(m.inheritable, bit(13));
  t.equal(m.ambient, 0n);
});

t.test('no capabilities object: every set empty', async (t) => {
  t.same(planCapabilities(undefined), { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n });
});

t.test('ambient keeps only capabilities both permitted and inheritable (as the kernel and runc do)', async (t) => {
  const m = planCapabilities({
    permitted: ['CAP_KILL', 'CAP_NET_RAW'],
    inheritable: ['CAP_NET_RAW', 'CAP_CHOWN'],
    ambient: ['CAP_KILL', 'CAP_NET_RAW', 'CAP_CHOWN'],
  });
  t.equal(m.ambient, bit(13));
});

t.test('a name no check refused is an internal error, never a silent zero bit', async (t) => {
  t.throws(() => planCapabilities({ effective: ['CAP_NOPE'] }), { message: 'internal error: process.capabilities.effective holds "CAP_NOPE", which no check refused' });
});

t.test('what the host cannot grant: wanted bits outside its bounding set', async (t) => {
  const m = planCapabilities({ bounding: ['CAP_KILL', 'CAP_SYS_RESOURCE'], ambient: [], permitted: ['CAP_SYS_TIME'] });
  t.equal(missingFromHost(m, bit(5, 24, 25)), 0n);
  t.equal(missingFromHost(m, bit(5)), bit(24, 25));
  t.same(capabilityNames(missingFromHost(m, bit(5)), CAPABILITY_NAMES), ['CAP_SYS_RESOURCE', 'CAP_SYS_TIME']);
});
