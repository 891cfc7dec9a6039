// Each semantic check: silent on a good config, and on its bad case it names
// the JSON path of the offending value.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as checks from '../../src/config/checks.js';
import { CHECKS, checkForCreate, checkProcess, checkSpec } from '../../src/config/checks.js';
import { defaultSpec } from '../../src/config/defaults.js';
import type { Problem } from '../../src/config/errors.js';
import type { Spec } from '../../src/config/types.js';

/** A config that every check accepts and that touches what the checks look at. */
function good(): Spec {
  return {
    ociVersion: '1.3.0',
    process: {
      args: ['sh'],
      cwd: '/',
      user: { uid: 0, gid: 0, umask: 0o22 },
      capabilities: { bounding: ['CAP_KILL', 'CAP_CHECKPOINT_RESTORE'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [], ambient: ['CAP_CHOWN'] },
      rlimits: [
        { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 },
        { type: 'RLIMIT_NPROC', soft: 10, hard: 20 },
      ],
    },
    root: { path: 'rootfs' },
    hostname: 'box',
    domainname: 'example.org',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    hooks: { poststop: [{ path: '/usr/bin/cleanup' }] },
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'user' }, { type: 'time' }, { type: 'network', path: '/var/run/netns/a' }],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      timeOffsets: { monotonic: { secs: 1, nanosecs: 999_999_999 } },
      devices: [
        { type: 'c', path: '/dev/fuse', major: 10, minor: 229 },
        { type: 'p', path: '/dev/myfifo' },
      ],
      cgroupsPath: 'machine.slice:ocirun:abc',
      sysctl: { 'net.ipv4.ip_forward': '1', 'kernel/msgmax': '8192' },
      rootfsPropagation: 'private',
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      seccomp: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        syscalls: [
          { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
          { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        ],
      },
      memoryPolicy: { mode: 'MPOL_BIND', nodes: '0-1' },
      netDevices: { eth1: { name: 'net1' } },
    },
  };
}

/** A fresh good config changed by `change`; the Linux part is always there. */
function bad(change: (s: Spec & { linux: NonNullable<Spec['linux']>; process: NonNullable<Spec['process']> }) => void): Spec {
  const s = good() as Spec & { linux: NonNullable<Spec['linux']>; process: NonNullable<Spec['process']> };
  change(s);
  return s;
}

const paths = (problems: Problem[]): string[] => problems.map((p) => p.jsonPath);

t.test('a good config passes every check', async (t) => {
  t.same(checkSpec(good()), []);
  for (const check of CHECKS) t.same(check(good()), [], check.name || 'check');
});

t.test('engine fixtures and the default spec pass every check', async (t) => {
  const dir = '/work/shared/fixtures/engine-configs';
  for (const f of readdirSync(dir).filter((f) => f.endsWith('config.json'))) {
    t.same(checkSpec(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Spec), [], f);
  }
  for (const f of readdirSync(dir).filter((f) => f.endsWith('process.json'))) {
    t.same(checkProcess(JSON.parse(readFileSync(join(dir, f), 'utf8'))), [], f);
  }
  t.same(checkSpec(defaultSpec({ rootless: false })), [], 'default');
  t.same(checkSpec(defaultSpec({ rootless: true })), [], 'default rootless');
});

// [what, the broken config, the check that must catch it, the JSON paths it must report]
const cases: [string, Spec, (s: Spec) => Problem[], string[]][] = [
  ['empty args', bad((s) => (s.process.args = [])), checkSpec, ['process.args']],
  ['relative cwd', bad((s) => (s.process.cwd = 'home/user')), checkSpec, ['process.cwd']],
  [
    'unknown capabilities in every set',
    bad((s) => {
      s.process.capabilities = { bounding: ['CAP_KILL', 'CAP_NOPE'], effective: ['KILL'], inheritable: ['CAP_X'], permitted: ['cap_kill'], ambient: ['CAP_SYS_ADMIN', 'CAP_Y'] };
    }),
    checkSpec,
    ['process.capabilities.bounding[1]', 'process.capabilities.effective[0]', 'process.capabilities.inheritable[0]', 'process.capabilities.permitted[0]', 'process.capabilities.ambient[1]'],
  ],
  ['unknown rlimit', bad((s) => s.process.rlimits?.push({ type: 'RLIMIT_FOO', soft: 1, hard: 1 })), checkSpec, ['process.rlimits[2].type']],
  ['duplicate rlimit', bad((s) => s.process.rlimits?.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 })), checkSpec, ['process.rlimits[2].type']],
  ['soft above hard', bad((s) => s.process.rlimits?.push({ type: 'RLIMIT_CORE', soft: 2, hard: 1 })), checkSpec, ['process.rlimits[2].soft']],
  ['umask above 0777', bad((s) => (s.process.user = { uid: 0, gid: 0, umask: 0o1000 })), checkSpec, ['process.user.umask']],
  ['NUL in a mount destination', bad((s) => s.mounts?.push({ destination: '/a\0b' })), checks.checkMountDestinations, ['mounts[1].destination']],
  ['relative mount destination', bad((s) => s.mounts?.push({ destination: 'tmp' })), checks.checkMountDestinations, ['mounts[1].destination']],
  ['id-mapped mount with uid maps only', bad((s) => s.mounts?.push({ destination: '/m', uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] })), checks.checkMountIdMappings, ['mounts[1].gidMappings']],
  ['relative hook path', bad((s) => (s.hooks = { createRuntime: [{ path: '/bin/ok' }, { path: 'bin/hook' }] })), checks.checkHooks, ['hooks.createRuntime[1].path']],
  ['duplicate namespace', bad((s) => s.linux.namespaces?.push({ type: 'pid', path: '/proc/1/ns/pid' })), checks.checkNamespaces, ['linux.namespaces[6].type']],
  ['relative namespace path', bad((s) => s.linux.namespaces?.push({ type: 'ipc', path: 'proc/1/ns/ipc' })), checks.checkNamespaces, ['linux.namespaces[6].path']],
  ['new user namespace without maps', bad((s) => (delete s.linux.uidMappings, delete s.linux.gidMappings)), checks.checkUserNamespace, ['linux.uidMappings', 'linux.gidMappings']],
  ['new user namespace without gid maps', bad((s) => (s.linux.gidMappings = [])), checks.checkUserNamespace, ['linux.gidMappings']],
  ['maps without a user namespace', bad((s) => (s.linux.namespaces = s.linux.namespaces?.filter((n) => n.type !== 'user'))), checks.checkUserNamespace, ['linux.uidMappings', 'linux.gidMappings']],
  ['empty id range', bad((s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 0 }])), checks.checkUserNamespace, ['linux.uidMappings[0].size']],
  ['id range past 2^32', bad((s) => (s.linux.gidMappings = [{ containerID: 0, hostID: 4294967295, size: 2 }])), checks.checkUserNamespace, ['linux.gidMappings[0]']],
  ['hostname without uts namespace', bad((s) => (s.linux.namespaces = s.linux.namespaces?.filter((n) => n.type !== 'uts'))), checks.checkHostname, ['hostname', 'domainname']],
  ['hostname in a joined uts namespace is allowed', bad((s) => (s.linux.namespaces = s.linux.namespaces?.map((n) => (n.type === 'uts' ? { type: 'uts', path: '/proc/1/ns/uts' } : n)))), checks.checkHostname, []],
  ['time offsets without a new time namespace', bad((s) => (s.linux.namespaces = s.linux.namespaces?.filter((n) => n.type !== 'time'))), checks.checkTimeOffsets, ['linux.timeOffsets']],
  ['time offsets for an unknown clock', bad((s) => (s.linux.timeOffsets = { realtime: { secs: 1 } })), checks.checkTimeOffsets, ['linux.timeOffsets.realtime']],
  ['nanosecs of a second or more', bad((s) => (s.linux.timeOffsets = { boottime: { nanosecs: 1e9 } })), checks.checkTimeOffsets, ['linux.timeOffsets.boottime.nanosecs']],
  ['net devices without a network namespace', bad((s) => (s.linux.namespaces = s.linux.namespaces?.filter((n) => n.type !== 'network'))), checks.checkNetDevices, ['linux.netDevices']],
  ['relative device path', bad((s) => s.linux.devices?.push({ type: 'c', path: 'dev/null', major: 1, minor: 3 })), checks.checkDevices, ['linux.devices[2].path']],
  ['char device without numbers', bad((s) => s.linux.devices?.push({ type: 'c', path: '/dev/x' })), checks.checkDevices, ['linux.devices[2].major', 'linux.devices[2].minor']],
  ['block device without minor', bad((s) => s.linux.devices?.push({ type: 'b', path: '/dev/sdz', major: 8 })), checks.checkDevices, ['linux.devices[2].minor']],
  ['cgroupsPath climbing out', bad((s) => (s.linux.cgroupsPath = '/ocirun/../../etc')), checks.checkCgroupsPath, ['linux.cgroupsPath']],
  ['cgroupsPath with NUL', bad((s) => (s.linux.cgroupsPath = 'a\0b')), checks.checkCgroupsPath, ['linux.cgroupsPath']],
  ['empty sysctl key', bad((s) => (s.linux.sysctl = { '': '1' })), checks.checkSysctl, ['linux.sysctl']],
  ['sysctl key walking out of /proc/sys', bad((s) => (s.linux.sysctl = { '../../etc/passwd': 'x' })), checks.checkSysctl, ['linux.sysctl["../../etc/passwd"]']],
  ['unknown rootfsPropagation', bad((s) => ((s.linux as { rootfsPropagation?: string }).rootfsPropagation = 'rshared')), checks.checkRootfsPropagation, ['linux.rootfsPropagation']],
  ['relative masked and readonly paths', bad((s) => ((s.linux.maskedPaths = ['/ok', 'proc/kcore']), (s.linux.readonlyPaths = ['sys']))), checks.checkMaskedReadonlyPaths, ['linux.maskedPaths[1]', 'linux.readonlyPaths[0]']],
  ['unknown seccomp default action', bad((s) => ((s.linux.seccomp as { defaultAction: string }).defaultAction = 'SCMP_ACT_PANIC')), checks.checkSeccomp, ['linux.seccomp.defaultAction']],
  [
    'unknown seccomp rule action and operator',
    bad((s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_BLOCK' as 'SCMP_ACT_LOG' }, { names: ['y'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: 0, op: 'SCMP_CMP_SAME' as 'SCMP_CMP_EQ' }] }] };
    }),
    checks.checkSeccomp,
    ['linux.seccomp.syscalls[0].action', 'linux.seccomp.syscalls[1].args[0].op'],
  ],
  ['errnoRet with an action that returns no errno', bad((s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_KILL', defaultErrnoRet: 1, syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] })), checks.checkSeccomp, ['linux.seccomp.defaultErrnoRet', 'linux.seccomp.syscalls[0].errnoRet']],
  ['notify without a listener', bad((s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'm', syscalls: [{ names: ['mount'], action: 'SCMP_ACT_NOTIFY' }] })), checks.checkSeccomp, ['linux.seccomp.listenerMetadata', 'linux.seccomp.listenerPath']],
  ['memory policy bind without nodes', bad((s) => (s.linux.memoryPolicy = { mode: 'MPOL_BIND' })), checks.checkMemoryPolicy, ['linux.memoryPolicy.nodes']],
  ['memory policy default with nodes', bad((s) => (s.linux.memoryPolicy = { mode: 'MPOL_DEFAULT', nodes: '0' })), checks.checkMemoryPolicy, ['linux.memoryPolicy.nodes']],
];

for (const [what, spec, check, expected] of cases) {
  t.test(what, async (t) => {
    const problems = check(spec);
    t.same(paths(problems), expected, 'reports exactly these paths');
    for (const p of problems) {
      t.match(p.rule, /^[a-z"0-9].*[^.]$/, `rule "${p.rule}" is lower-case words without a trailing period`);
    }
    t.same(paths(checkSpec(spec)), expected, 'checkSpec reports the same');
  });
}

t.test('rules say what is wrong', async (t) => {
  const rule = (s: Spec): string => checkSpec(s)[0]?.rule ?? '';
  t.equal(rule(bad((s) => (s.process.args = []))), 'must not be empty');
  t.equal(rule(bad((s) => (s.process.cwd = 'x'))), 'must be an absolute path');
  t.equal(rule(bad((s) => (s.process.capabilities = { bounding: ['CAP_NOPE'] }))), 'unknown capability "CAP_NOPE"');
  t.equal(rule(bad((s) => s.process.rlimits?.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }))), 'duplicate rlimit type "RLIMIT_NOFILE"');
  t.equal(rule(bad((s) => (s.linux.namespaces = s.linux.namespaces?.filter((n) => n.type !== 'uts')))), 'needs a uts namespace (new or joined)');
  t.equal(rule(bad((s) => (delete s.linux.uidMappings))), 'required with a new user namespace');
});

t.test('create needs a process', async (t) => {
  const s = good();
  t.same(checkForCreate(s), []);
  delete s.process;
  t.same(checkForCreate(s), [{ jsonPath: 'process', rule: 'required to create a container' }]);
  t.same(checkSpec(s), [], 'a config without process is still a valid config');
});

t.test('process.json checks use paths from the document root', async (t) => {
  t.same(paths(checkProcess({ args: [], cwd: 'x', capabilities: { ambient: ['CAP_Z'] }, user: { uid: 0, gid: 0, umask: 4096 } })), [
    'args',
    'cwd',
    'capabilities.ambient[0]',
    'user.umask',
  ]);
});
