// linux/process.ts: the one process planner of create and exec, and its one
// conversion to the native finalize step, without root (the host is a value).
import t from 'tap';
import type { Process } from '../../src/config/types.js';
import { execFinalizeRequest, finalizeOf, planProcess, type ProcessHost, type ProcessInput, programCandidates } from '../../src/linux/process.js';

const ALL = (1n << 41n) - 1n;
const host: ProcessHost = { boundingSet: ALL, lsm: { apparmor: false, selinux: false, apparmorExecFile: '/proc/thread-self/attr/exec' } };

function input(process: Partial<Process>, more: Partial<ProcessInput> = {}): ProcessInput {
  return { process: { args: ['sh'], cwd: '/', ...process }, preserveFds: 0, setGroups: true, seccomp: null, ...more };
}

t.test('defaults: root, umask 022, no groups, no capabilities', async (t) => {
  const p = planProcess(input({}), host);
  t.match(p, { args: ['sh'], env: [], cwd: '/', uid: 0, gid: 0, additionalGids: [], umask: 0o22, rlimits: [], oomScoreAdj: null, noNewPrivileges: false, terminal: null });
  t.same(p.capabilities, { bounding: '0', effective: '0', permitted: '0', inheritable: '0', ambient: '0' });
  t.same(p.lsm, { apparmorProfile: null, selinuxLabel: null, mountLabel: null, execAttrs: [] });
  t.equal(p.seccomp, null);
  t.equal(p.seccompListener, null);
});

t.test('user, capabilities, rlimits, terminal, scheduling: each planned from its field', async (t) => {
  const p = planProcess(input({
    user: { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o77 },
    env: ['PATH=/bin'],
    terminal: true,
    consoleSize: { height: 24, width: 80 },
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] },
    rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }],
    oomScoreAdj: -5,
    noNewPrivileges: true,
    ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 3 },
    execCPUAffinity: { final: '0-1' },
  }, { linux: { personality: { domain: 'LINUX32' } }, preserveFds: 2 }), host);
  t.match(p, { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o77, oomScoreAdj: -5, noNewPrivileges: true, preserveFds: 2 });
  t.same(p.capabilities, { bounding: '32', effective: '32', permitted: '32', inheritable: '32', ambient: '32' });
  t.same(p.rlimits, [{ name: 'RLIMIT_NOFILE', resource: 7, soft: '10', hard: '20' }]);
  t.same(p.terminal, { size: { rows: 24, cols: 80 } });
  t.equal(p.ioPriority, (2 << 13) | 3);
  t.same(p.cpuAffinity, { initial: null, final: [0, 1] });
  t.equal(p.personality, 8, 'PER_LINUX32');
});

t.test('the host decides: its bounding set and its LSMs', async (t) => {
  const caps = { bounding: ['CAP_SYS_RESOURCE', 'CAP_KILL'] };
  t.throws(() => planProcess(input({ capabilities: caps }), { ...host, boundingSet: ALL & ~(1n << 24n) }),
    { message: 'process.capabilities: not in this host\'s bounding set, so they cannot be granted: CAP_SYS_RESOURCE' });
  t.equal(planProcess(input({ capabilities: caps }), host).capabilities.bounding, String((1n << 24n) | (1n << 5n)));
  t.throws(() => planProcess(input({ apparmorProfile: 'p' }), host), /^process\.apparmorProfile: AppArmor is not enabled/);
  const lsmHost = { ...host, lsm: { apparmor: true, selinux: true, apparmorExecFile: '/proc/thread-self/attr/apparmor/exec' } };
  t.same(planProcess(input({ apparmorProfile: 'p', selinuxLabel: 'l' }), lsmHost).lsm.execAttrs,
    [['/proc/thread-self/attr/apparmor/exec', 'exec p'], ['/proc/thread-self/attr/exec', 'l']]);
});

t.test('additional gids where setgroups is denied: refused, never dropped', async (t) => {
  t.throws(() => planProcess(input({ user: { uid: 0, gid: 0, additionalGids: [1] } }, { setGroups: false }), host), /^process\.user\.additionalGids: cannot be set/);
  t.equal(planProcess(input({ user: { uid: 0, gid: 0 } }, { setGroups: false }), host).setGroups, false);
});

t.test('seccomp: the filter, its flags and the listener', async (t) => {
  const p = planProcess(input({}, { seccomp: { filter: 'AAAA', flags: 9, listenerPath: '/run/agent.sock', listenerMetadata: 'm' } }), host);
  t.match(p, { seccomp: 'AAAA', seccompFlags: 9, seccompListener: { path: '/run/agent.sock', metadata: 'm' } });
  t.equal(planProcess(input({}, { seccomp: { filter: 'AAAA', flags: 0 } }), host).seccompListener, null, 'exec: the container\'s filter, no listener');
});

t.test('one conversion: the init\'s FINALIZE fields and exec\'s request hold the same values', async (t) => {
  const p = planProcess(input({
    args: ['sleep', '1'], env: ['PATH=/usr/bin:/bin'], cwd: '/w', user: { uid: 5, gid: 6, additionalGids: [7] }, noNewPrivileges: true,
    capabilities: { bounding: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'], effective: ['CAP_CHOWN'] },
  }, { seccomp: { filter: Buffer.alloc(16, 1).toString('base64'), flags: 2 }, preserveFds: 1 }), host);
  const f = finalizeOf(p, 40);
  t.same(f, {
    umask: 0o22, setGroups: true, groups: [7], uid: 5, gid: 6, capBounding: '1', capEffective: '1', capPermitted: '1', capInheritable: '0',
    capAmbient: '0', lastCap: 40, noNewPrivs: true, seccomp: Buffer.alloc(16, 1).toString('base64'), seccompFlags: 2, listenerSlot: -1,
    listenerState: '', preserveFds: 1, cwd: '/w', argv: ['sleep', '1'], env: ['PATH=/usr/bin:/bin'], execAttrs: [],
  });
  t.same(Object.keys(finalizeOf(p, 40, { slot: 1, state: '{}' })), Object.keys(f), 'the plan format\'s field order');
  t.same(programCandidates(p), ['/usr/bin/sleep', '/bin/sleep']);
  const r = execFinalizeRequest(p, 40, '/proc/9/root');
  t.same(r, {
    paths: ['/usr/bin/sleep', '/bin/sleep'], argv: ['sleep', '1'], env: ['PATH=/usr/bin:/bin'], cwd: '/w', umask: 0o22, setGroups: true,
    groups: [7], uid: 5, gid: 6, capBounding: 1n, capEffective: 1n, capPermitted: 1n, capInheritable: 0n, capAmbient: 0n, lastCap: 40,
    noNewPrivs: true, seccomp: Buffer.alloc(16, 1), seccompFlags: 2, preserveFds: 1, execAttrs: [], root: '/proc/9/root',
  });
  t.equal(execFinalizeRequest(planProcess(input({}), host), 40, null).seccomp, null);
});
