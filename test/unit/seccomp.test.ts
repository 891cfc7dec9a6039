// linux.seccomp → rules (pure, with a fake resolver) and → BPF (libseccomp,
// no root needed: compiling never loads anything into the kernel).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { archName, containerProcessState, planSeccomp, planSeccompRules } from '../../src/linux/seccomp.js';
import { SECCOMP_FILTER_FLAG_NEW_LISTENER } from '../../src/sys/constants.js';
import { libseccompAvailable, SCMP_ACT_ALLOW, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG, SCMP_ACT_NOTIFY, SCMP_ACT_TRAP, SCMP_CMP } from '../../src/sys/libseccomp.js';
import type { Seccomp } from '../../src/config/types.js';

const KNOWN = new Map([['read', 0], ['write', 1], ['mkdir', 83], ['getcwd', 79], ['personality', 135], ['clone', 56], ['sendmsg', 46], ['capset', 126]]);
const fake = {
  arch: (n: string) => ({ x86_64: 0xc000003e, x86: 0x40000003, x32: 0x4000003e, aarch64: 0xc00000b7 } as Record<string, number>)[n] ?? 0,
  syscall: (n: string) => KNOWN.get(n) ?? null,
};
const rules = (s: Seccomp, nnp = true) => planSeccompRules(s, fake, nnp);

t.test('actions map to libseccomp values; errnoRet defaults to EPERM', async (t) => {
  const r = rules({
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38,
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['write'], action: 'SCMP_ACT_ERRNO' },
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['getcwd'], action: 'SCMP_ACT_KILL' },
      { names: ['getcwd'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['getcwd'], action: 'SCMP_ACT_KILL_THREAD' },
      { names: ['clone'], action: 'SCMP_ACT_TRAP' },
      { names: ['clone'], action: 'SCMP_ACT_LOG' },
      { names: ['clone'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
    ],
  });
  t.equal(r.defaultAction, 0x00050000 + 38, 'default SCMP_ACT_ERRNO(38)');
  t.same(r.rules.map((x) => x.action), [
    SCMP_ACT_ALLOW, 0x00050001, 0x0005000d, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD,
    SCMP_ACT_TRAP, SCMP_ACT_LOG, 0x7ff00007,
  ]);
  t.equal(r.flags, 0);
  t.equal(r.notify, false);
});

t.test('unknown syscall names are skipped; a rule equal to the default is dropped', async (t) => {
  const r = rules({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['read', 'no_such_call', 'write'], action: 'SCMP_ACT_ERRNO' },
      { names: ['mkdir'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  t.same(r.rules.map((x) => x.name), ['read', 'write']);
  t.same(r.skipped, ['no_such_call']);
});

t.test('every operator; MASKED_EQ takes value as the mask and valueTwo as the result', async (t) => {
  const ops = Object.keys(SCMP_CMP) as (keyof typeof SCMP_CMP)[];
  const r = rules({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: ops.map((op, i) => ({ names: ['personality'], action: 'SCMP_ACT_ERRNO' as const, args: [{ index: i % 6, value: 8, valueTwo: 2, op }] })),
  });
  t.same(r.rules.map((x) => x.args[0]?.op), ops.map((o) => SCMP_CMP[o]));
  t.same(r.rules.at(-1)?.args[0], { index: 0, op: SCMP_CMP.SCMP_CMP_MASKED_EQ, a: 8n, b: 2n });
  t.equal(r.rules[0]?.args[0]?.b, 2n);
});

t.test('several conditions: ANDed in one rule, or one rule each when they test the same argument', async (t) => {
  const r = rules({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['clone'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 2, op: 'SCMP_CMP_EQ' }] },
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  t.same(r.rules.map((x) => [x.name, x.args.length]), [['clone', 2], ['personality', 1], ['personality', 1]]);
});

t.test('uint64 values: exact up to 2^53, clamped past 2^64', async (t) => {
  const r = rules({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 4294967295, op: 'SCMP_CMP_EQ' }, { index: 1, value: 1e30, op: 'SCMP_CMP_LT' }] }] });
  t.equal(r.rules[0]?.args[0]?.a, 4294967295n);
  t.equal(r.rules[0]?.args[1]?.a, 0xffffffffffffffffn);
});

t.test('unknown actions, operators, architectures and flags are refused with the JSON path', async (t) => {
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_BOGUS' as never }), /^linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_BOGUS"/);
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['read'], action: 'NOPE' as never }] }),
    /^linux\.seccomp\.syscalls\[1\]\.action: unknown action "NOPE"/);
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'SCMP_CMP_XX' as never }] }] }),
    /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_XX"/);
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }),
    /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: must be 0 to 5/);
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_VAX'] }), /^linux\.seccomp\.architectures\[1\]: unknown architecture "SCMP_ARCH_VAX"/);
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_NOPE'] }), /^linux\.seccomp\.flags\[1\]: unsupported filter flag "SECCOMP_FILTER_FLAG_NOPE"/);
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }), /WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule/);
});

t.test('architectures and flags', async (t) => {
  t.equal(archName('SCMP_ARCH_X86_64'), 'x86_64');
  t.equal(archName('SCMP_ARCH_PPC64LE'), 'ppc64le');
  const r = rules({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86'], flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'] });
  t.same(r.arches, [0xc000003e, 0x40000003], 'each once');
  t.equal(r.flags, 2 | 4 | 1);
});

t.test('notify: a listener flag, never the default action, never on the calls made after the filter', async (t) => {
  const r = rules({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_TSYNC'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] });
  t.equal(r.notify, true);
  t.equal(r.rules[0]?.action, SCMP_ACT_NOTIFY);
  t.equal(r.flags, 1 | SECCOMP_FILTER_FLAG_NEW_LISTENER | 16, 'TSYNC with a listener needs TSYNC_ESRCH');
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_NOTIFY' }), /^linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be the default action/);
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }] }), /^linux\.seccomp\.syscalls\[0\]: SCMP_ACT_NOTIFY cannot be used for sendmsg/);
  t.doesNotThrow(() => rules({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['capset'], action: 'SCMP_ACT_NOTIFY' }] }, true), 'capset comes before the filter with no_new_privs');
  t.throws(() => rules({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['capset'], action: 'SCMP_ACT_NOTIFY' }] }, false), /cannot be used for capset .*noNewPrivileges is false/);
});

const haveLib = libseccompAvailable() ? false : 'libseccomp.so.2 is not installed';

t.test('compiles podman\'s default profile with libseccomp', { skip: haveLib }, async (t) => {
  const podman = JSON.parse(readFileSync('/work/shared/fixtures/engine-configs/podman-config.json', 'utf8'));
  const plan = planSeccomp(podman.linux.seccomp, false);
  const bpf = Buffer.from(plan.filter, 'base64');
  t.equal(bpf.length % 8, 0, 'whole struct sock_filter entries');
  t.ok(bpf.length / 8 > 100, `a real program (${bpf.length / 8} instructions)`);
  t.ok(bpf.length / 8 < 65536, 'within BPF_MAXINSNS');
  t.equal(plan.flags, 0);
  t.equal(plan.listenerPath, null);
});

t.test('compiling: arguments, notify, listener path required', { skip: haveLib }, async (t) => {
  const small = planSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 18, args: [{ index: 1, value: 0o700, valueTwo: 0o700, op: 'SCMP_CMP_MASKED_EQ' }] }] }, true);
  t.ok(Buffer.from(small.filter, 'base64').length > 0);
  const n = planSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x.sock', listenerMetadata: 'm', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, true);
  t.equal(n.listenerPath, '/run/x.sock');
  t.equal(n.listenerMetadata, 'm');
  t.equal(n.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_NEW_LISTENER);
  t.throws(() => planSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, true), /^linux\.seccomp\.listenerPath: required/);
  const skipped = planSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['not_a_syscall_anywhere'], action: 'SCMP_ACT_ERRNO' }] }, true);
  t.ok(skipped.filter.length > 0, 'an unknown name alone still gives a filter');
  t.throws(() => planSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_NOPE'] }, true), /^linux\.seccomp\.architectures\[0\]: unknown architecture/);
});

t.test('the container process state sent to a seccomp listener', async (t) => {
  const doc = JSON.parse(containerProcessState({ ociVersion: '1.3.0', id: 'c1', status: 'creating', pid: 42, bundle: '/b' }, 'meta'));
  t.same(doc, { ociVersion: '1.3.0', fds: ['seccompFd'], pid: 42, metadata: 'meta', state: { ociVersion: '1.3.0', id: 'c1', status: 'created', pid: 42, bundle: '/b' } });
  t.notOk('metadata' in JSON.parse(containerProcessState({ pid: 1 }, '')), 'no metadata: no field');
});
