// Loading config.json and process.json: schema, messages, bundle and rootfs
// resolution. Pure file-system work in temp dirs; no root needed.
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { defaultSpec } from '../../src/config/defaults.js';
import { ConfigError } from '../../src/config/errors.js';
import { jsonErrorOffset, loadBundleConfig, parseProcessFile, validateSpec } from '../../src/config/load.js';

const FIXTURES = '/work/shared/fixtures/engine-configs';
const configFixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('config.json'));
const processFixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('process.json'));

const scratch = mkdtempSync(join(tmpdir(), 'ocirun-spec-load-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

/** A bundle dir holding `config` (object or raw text) and, unless told otherwise, a rootfs dir. */
function bundle(config: unknown, opts: { rootfs?: boolean } = {}): string {
  const dir = join(scratch, `b${++n}`);
  mkdirSync(dir);
  if (opts.rootfs !== false) mkdirSync(join(dir, 'rootfs'));
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return dir;
}

function minimal(): Record<string, unknown> {
  return {
    ociVersion: '1.3.0',
    process: { args: ['/bin/true'], cwd: '/', user: { uid: 0, gid: 0 } },
    root: { path: 'rootfs' },
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
  };
}

const DELETE = Symbol('delete');

/** Set (or with DELETE remove) the value at a dotted path such as `process.user.uid` or `linux.namespaces.1.type`. */
function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  const steps = path.split('.');
  const last = steps.pop() as string;
  let cur = doc;
  for (const step of steps) cur = cur[step] as Record<string, unknown>;
  if (value === DELETE) delete cur[last];
  else cur[last] = value;
}

/** Run fn, expect a ConfigError, and return it. */
function configError(t: Test, fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    t.type(err, ConfigError);
    return err as ConfigError;
  }
  t.fail('expected a ConfigError');
  return new ConfigError('', '', '');
}

t.test('every engine config fixture validates', async (t) => {
  t.ok(configFixtures.length >= 6, 'fixtures found');
  for (const f of configFixtures) {
    const doc = JSON.parse(readFileSync(join(FIXTURES, f), 'utf8'));
    t.doesNotThrow(() => validateSpec(doc, f), f);
  }
});

t.test('every engine config fixture loads from a bundle', async (t) => {
  for (const f of configFixtures) {
    const doc = JSON.parse(readFileSync(join(FIXTURES, f), 'utf8'));
    // podman points root.path at an overlay that is gone: use the bundle's rootfs.
    doc.root.path = 'rootfs';
    const dir = bundle(doc);
    const loaded = loadBundleConfig(dir);
    t.equal(loaded.bundle, dir, `${f}: bundle`);
    t.equal(loaded.rootfs, join(dir, 'rootfs'), `${f}: rootfs`);
    t.equal(loaded.configPath, join(dir, 'config.json'), `${f}: configPath`);
    t.same(loaded.spec.process?.args, doc.process.args, `${f}: content kept`);
  }
});

t.test('every engine process.json fixture parses', async (t) => {
  t.ok(processFixtures.length >= 4, 'fixtures found');
  for (const f of processFixtures) {
    const proc = parseProcessFile(join(FIXTURES, f));
    t.ok(proc.args.length > 0, `${f}: args`);
    t.equal(proc.cwd, '/', `${f}: cwd`);
  }
});

t.test('the default spec validates and loads, rootful and rootless', async (t) => {
  for (const rootless of [false, true]) {
    const spec = defaultSpec({ rootless });
    t.doesNotThrow(() => validateSpec(JSON.parse(JSON.stringify(spec)), 'config.json'), `rootless=${rootless}`);
    const loaded = loadBundleConfig(bundle(spec));
    t.equal(loaded.spec.hostname, 'ocirun');
  }
});

t.test('schema errors name the file, the JSON path and the rule', async (t) => {
  const cases: [string, string, unknown, string, string][] = [
    ['uid as a string', 'process.user.uid', '0', 'process.user.uid', 'must be integer'],
    ['negative uid', 'process.user.uid', -1, 'process.user.uid', 'must be >= 0'],
    ['uid beyond uint32', 'process.user.uid', 2 ** 32, 'process.user.uid', 'must be <= 4294967295'],
    ['fractional gid', 'process.user.gid', 1.5, 'process.user.gid', 'must be integer'],
    ['no ociVersion', 'ociVersion', DELETE, 'ociVersion', 'is required'],
    ['ociVersion not semver', 'ociVersion', 'one', 'ociVersion', 'must match'],
    ['no cwd', 'process.cwd', DELETE, 'process.cwd', 'is required'],
    ['no args', 'process.args', DELETE, 'process.args', 'is required'],
    ['args not strings', 'process.args', ['sh', 3], 'process.args[1]', 'must be string'],
    ['unknown namespace type', 'linux.namespaces.1.type', 'bogus', 'linux.namespaces[1].type', 'must be one of pid, network, mount, ipc, uts, user, cgroup, time (got "bogus")'],
    ['namespace without type', 'linux.namespaces', [{ path: '/proc/1/ns/pid' }], 'linux.namespaces[0].type', 'is required'],
    ['mount without destination', 'mounts', [{ type: 'tmpfs', source: 'tmpfs' }], 'mounts[0].destination', 'is required'],
    ['hook without path', 'hooks', { poststart: [{ args: ['x'] }] }, 'hooks.poststart[0].path', 'is required'],
    ['hook timeout zero', 'hooks', { poststop: [{ path: '/bin/true', timeout: 0 }] }, 'hooks.poststop[0].timeout', 'must be >= 1'],
    ['idmapping without size', 'linux.uidMappings', [{ containerID: 0, hostID: 1000 }], 'linux.uidMappings[0].size', 'is required'],
    ['device type x', 'linux.devices', [{ type: 'x', path: '/dev/x' }], 'linux.devices[0].type', 'must be one of c, b, u, p (got "x")'],
    ['root without path', 'root', { readonly: true }, 'root.path', 'is required'],
    ['annotation not a string', 'annotations', { a: 1 }, 'annotations.a', 'must be string'],
    ['empty annotation key', 'annotations', { '': 'x' }, 'annotations', 'keys must not be empty'],
    ['sysctl with dotted key and number value', 'linux.sysctl', { 'net.ipv4.ip_forward': 1 }, 'linux.sysctl["net.ipv4.ip_forward"]', 'must be string'],
    ['seccomp action unknown', 'linux.seccomp', { defaultAction: 'SCMP_ACT_NOPE' }, 'linux.seccomp.defaultAction', 'must be one of'],
    ['seccomp rule without names', 'linux.seccomp', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] }, 'linux.seccomp.syscalls[0].names', 'must not be empty'],
    ['rlimit soft as string', 'process.rlimits', [{ type: 'RLIMIT_NOFILE', soft: '1', hard: 1 }], 'process.rlimits[0].soft', 'must be integer'],
    ['terminal as string', 'process.terminal', 'yes', 'process.terminal', 'must be boolean'],
    ['oomScoreAdj out of range', 'process.oomScoreAdj', 1001, 'process.oomScoreAdj', 'must be <= 1000'],
    ['intelRdt schemata a number', 'linux.intelRdt', { schemata: 3 }, 'linux.intelRdt.schemata', 'does not have any of the allowed forms'],
    ['memoryPolicy mode unknown', 'linux.memoryPolicy', { mode: 'MPOL_X' }, 'linux.memoryPolicy.mode', 'must be one of'],
    ['linux not an object', 'linux', [], 'linux', 'must be object'],
  ];
  for (const [name, path, value, jsonPath, rule] of cases) {
    const c = minimal();
    setPath(c, path, value);
    const file = join(bundle(c), 'config.json');
    const err = configError(t, () => loadBundleConfig(join(file, '..')));
    t.equal(err.file, file, `${name}: file`);
    t.equal(err.jsonPath, jsonPath, `${name}: jsonPath`);
    t.ok(err.rule.startsWith(rule), `${name}: rule "${err.rule}" starts with "${rule}"`);
    t.equal(err.message, `${file}: ${jsonPath}: ${err.rule}`, `${name}: message`);
  }
});

t.test('a document that is not an object', async (t) => {
  const dir = bundle('[1, 2]');
  const err = configError(t, () => loadBundleConfig(dir));
  t.equal(err.jsonPath, '');
  t.equal(err.message, `${join(dir, 'config.json')}: must be object`);
});

t.test('unknown properties are accepted everywhere', async (t) => {
  // A config touching every section, so that every object in the schema is visited.
  const full = {
    ociVersion: '1.3.0',
    process: {
      terminal: false,
      consoleSize: { height: 24, width: 80 },
      user: { uid: 1000, gid: 1000, umask: 0o22, additionalGids: [5, 6] },
      args: ['sh'],
      env: ['A=b'],
      cwd: '/home',
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], inheritable: [], permitted: ['CAP_KILL'], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }],
      noNewPrivileges: true,
      apparmorProfile: 'p',
      oomScoreAdj: 100,
      scheduler: { policy: 'SCHED_BATCH', nice: 5, flags: ['SCHED_FLAG_RESET_ON_FORK'] },
      selinuxLabel: 'l',
      ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
      execCPUAffinity: { initial: '0-1', final: '0' },
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'h',
    domainname: 'd',
    mounts: [{ destination: '/data', type: 'none', source: '/srv', options: ['rbind'], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }],
    hooks: {
      prestart: [{ path: '/bin/true' }],
      createRuntime: [{ path: '/bin/true', args: ['true'], env: ['A=b'], timeout: 5 }],
      createContainer: [{ path: '/bin/true' }],
      startContainer: [{ path: '/bin/true' }],
      poststart: [{ path: '/bin/true' }],
      poststop: [{ path: '/bin/true' }],
    },
    annotations: { 'org.example': 'x' },
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'user' }, { type: 'cgroup' }, { type: 'time' }],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      timeOffsets: { monotonic: { secs: 10, nanosecs: 5 }, boottime: { secs: -3 } },
      devices: [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }, { type: 'p', path: '/dev/fifo' }],
      cgroupsPath: '/ocirun/x',
      resources: {
        devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }],
        memory: { limit: 1 << 30, reservation: 1 << 29, swap: -1, kernel: -1, kernelTCP: -1, swappiness: 0, disableOOMKiller: false, useHierarchy: true, checkBeforeUpdate: true },
        cpu: { shares: 1024, quota: 100000, burst: 1000, period: 100000, realtimeRuntime: 0, realtimePeriod: 0, cpus: '0-1', mems: '0', idle: 0 },
        pids: { limit: 100 },
        blockIO: {
          weight: 100,
          leafWeight: 100,
          weightDevice: [{ major: 8, minor: 0, weight: 500 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
          throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
          throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 60 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 60 }],
        },
        hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }],
        network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
        rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
        unified: { 'memory.high': '1G' },
      },
      rootfsPropagation: 'private',
      seccomp: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        architectures: ['SCMP_ARCH_X86_64'],
        flags: ['SECCOMP_FILTER_FLAG_LOG'],
        listenerPath: '/run/agent.sock',
        listenerMetadata: 'm',
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, valueTwo: 0, op: 'SCMP_CMP_EQ' }] }, { names: ['mount'], action: 'SCMP_ACT_NOTIFY' }],
      },
      sysctl: { 'net.ipv4.ip_forward': '1' },
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      mountLabel: 'm',
      intelRdt: { closID: 'c', l3CacheSchema: 'L3:0=f', memBwSchema: 'MB:0=20', schemata: ['L2:0=f'], enableCMT: true, enableMBM: true },
      personality: { domain: 'LINUX', flags: [] },
      memoryPolicy: { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] },
      netDevices: { eth1: { name: 'net0' } },
    },
  };
  t.doesNotThrow(() => validateSpec(structuredClone(full), 'full.json'), 'the full config is valid');

  // Maps whose keys are data, not property names: an extra key there is an entry, not an unknown property.
  const maps = new Set(['annotations', 'sysctl', 'unified', 'rdma', 'timeOffsets', 'netDevices']);
  let added = 0;
  const sprinkle = (v: unknown, key: string): void => {
    if (Array.isArray(v)) v.forEach((x) => sprinkle(x, ''));
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const [k, x] of Object.entries(o)) sprinkle(x, k);
      if (!maps.has(key)) {
        o['x-unknown-property'] = { nested: [1, 'two', null] };
        added++;
      }
    }
  };
  const extended = structuredClone(full);
  sprinkle(extended, '');
  t.ok(added > 40, `added ${added} unknown properties`);
  t.doesNotThrow(() => validateSpec(extended, 'full.json'), 'still valid');
  const loaded = loadBundleConfig(bundle(extended));
  t.same((loaded.spec as unknown as Record<string, unknown>)['x-unknown-property'], { nested: [1, 'two', null] }, 'kept, untouched');
});

t.test('bad JSON says where', async (t) => {
  const cases: [string, string][] = [
    ['{"ociVersion": "1.0.0",\n  "process": }', 'unexpected "}" at line 2 column 14'],
    ['{"ociVersion": "1.0.0"', 'unexpected end of input at line 1 column 23'],
    ['{"ociVersion": "1.0.0"}\n}', 'unexpected "}" at line 2 column 1'],
    ["{'ociVersion': 1}", 'unexpected "\'" at line 1 column 2'],
    ['{"a": [1, 2,]}', 'unexpected "]" at line 1 column 13'],
    ['', 'unexpected end of input at line 1 column 1'],
  ];
  for (const [text, what] of cases) {
    const dir = bundle(text);
    const err = configError(t, () => loadBundleConfig(dir));
    t.equal(err.message, `${join(dir, 'config.json')}: invalid JSON: ${what}`, JSON.stringify(text));
  }
});

t.test('the JSON error finder agrees with JSON.parse', async (t) => {
  const good = ['{}', '[]', ' 1 ', '-0.5e+3', '"a\\u00e9\\n"', '{"a":[true,false,null,{"b":"c"}]}', readFileSync(join(FIXTURES, 'podman-config.json'), 'utf8')];
  for (const s of good) t.equal(jsonErrorOffset(s), -1, `valid: ${s.slice(0, 30)}`);
  const bad = ['{', '[1,]', '01', '"\\x"', '"a\nb"', 'tru', '{"a" 1}', '1 2', '"\\u12G4"'];
  for (const s of bad) {
    t.throws(() => JSON.parse(s), `JSON.parse refuses ${JSON.stringify(s)}`);
    t.ok(jsonErrorOffset(s) >= 0, `finder refuses ${JSON.stringify(s)}`);
  }
});

t.test('missing bundle, config.json or rootfs', async (t) => {
  const gone = join(scratch, 'no-such-bundle');
  let err = configError(t, () => loadBundleConfig(gone));
  t.equal(err.message, `${gone}/config.json: cannot read: bundle ${gone}: ENOENT`);

  const empty = join(scratch, 'empty-bundle');
  mkdirSync(empty);
  err = configError(t, () => loadBundleConfig(empty));
  t.equal(err.message, `${empty}/config.json: cannot read: ENOENT`);
  t.equal(err.file, `${empty}/config.json`);

  const noRootfs = bundle(minimal(), { rootfs: false });
  err = configError(t, () => loadBundleConfig(noRootfs));
  t.equal(err.message, `${noRootfs}/config.json: root.path: rootfs ${noRootfs}/rootfs does not exist`);

  const fileRootfs = bundle(minimal(), { rootfs: false });
  writeFileSync(join(fileRootfs, 'rootfs'), '');
  err = configError(t, () => loadBundleConfig(fileRootfs));
  t.equal(err.message, `${fileRootfs}/config.json: root.path: rootfs ${fileRootfs}/rootfs is not a directory`);
});

t.test('create needs a process and a root', async (t) => {
  const c = minimal();
  delete c.process;
  let dir = bundle(c);
  let err = configError(t, () => loadBundleConfig(dir));
  t.equal(err.message, `${dir}/config.json: process: required to create a container`);
  const d = minimal();
  delete d.root;
  dir = bundle(d);
  err = configError(t, () => loadBundleConfig(dir));
  t.equal(err.message, `${dir}/config.json: root: required to create a container`);
});

t.test('semantic checks run after the schema', async (t) => {
  const c = minimal();
  c.hostname = 'box';
  const dir = bundle(c);
  const err = configError(t, () => loadBundleConfig(dir));
  t.equal(err.message, `${dir}/config.json: hostname: needs a uts namespace (new or joined)`);
});

t.test('bundle and rootfs paths are resolved', async (t) => {
  const dir = bundle(minimal());
  const link = join(scratch, `link${++n}`);
  symlinkSync(dir, link);
  const viaLink = loadBundleConfig(link);
  t.equal(viaLink.bundle, dir, 'symlinks resolved');
  t.equal(viaLink.rootfs, join(dir, 'rootfs'));
  const viaRelative = loadBundleConfig(relative(process.cwd(), dir));
  t.equal(viaRelative.bundle, dir, 'relative bundle made absolute');

  const elsewhere = join(scratch, `rootfs-elsewhere${++n}`);
  mkdirSync(elsewhere);
  const c = minimal();
  c.root = { path: elsewhere };
  t.equal(loadBundleConfig(bundle(c)).rootfs, elsewhere, 'absolute root.path used as is');
});

t.test('relative mount destinations are refused, naming the entry', async (t) => {
  const c = minimal();
  c.mounts = [{ destination: '/run', type: 'tmpfs', source: 'tmpfs' }, { destination: 'tmp', type: 'tmpfs', source: 'tmpfs' }];
  t.throws(() => loadBundleConfig(bundle(c)), /config\.json: mounts\[1\]\.destination: must be an absolute path/);
});

t.test('process.json errors', async (t) => {
  const write = (doc: unknown): string => {
    const file = join(scratch, `process${++n}.json`);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  };
  const cases: [unknown, string][] = [
    [{ cwd: '/' }, 'args: is required'],
    [{ args: ['sh'] }, 'cwd: is required'],
    [{ args: ['sh'], cwd: 'home' }, 'cwd: must be an absolute path'],
    [{ args: [], cwd: '/' }, 'args: must not be empty'],
    [{ args: ['sh'], cwd: '/', user: { uid: 'root', gid: 0 } }, 'user.uid: must be integer'],
    [{ args: ['sh'], cwd: '/', capabilities: { bounding: ['CAP_KILL', 'CAP_FLY'] } }, 'capabilities.bounding[1]: unknown capability "CAP_FLY"'],
    [{ args: ['sh'], cwd: '/', rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }] }, 'rlimits[0].soft: must not be greater than hard'],
  ];
  for (const [doc, rest] of cases) {
    const file = write(doc);
    const err = configError(t, () => parseProcessFile(file));
    t.equal(err.message, `${file}: ${rest}`);
  }
  const missing = join(scratch, 'nope.json');
  t.equal(configError(t, () => parseProcessFile(missing)).message, `${missing}: cannot read: ENOENT`);
  const bad = join(scratch, `bad${++n}.json`);
  writeFileSync(bad, '{"args": ["sh"], "cwd": "/",}');
  t.equal(configError(t, () => parseProcessFile(bad)).message, `${bad}: invalid JSON: unexpected "}" at line 1 column 29`);
  t.same(parseProcessFile(write({ args: ['sh'], cwd: '/', 'x-extra': 1 })).args, ['sh'], 'unknown properties accepted');
});
