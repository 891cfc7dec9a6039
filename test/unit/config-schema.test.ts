// The schemas and the validators generated from them at build time.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import validateFeatures from '../../src/config/generated/features.validate.js';
import validateState from '../../src/config/generated/state.validate.js';
import validateConfig, { validateProcess } from '../../src/config/generated/config.validate.js';

const TOP = join(dirname(fileURLToPath(import.meta.url)), '../..');

t.test('no schema closes its property list', async (t) => {
  for (const f of readdirSync(join(TOP, 'schemas')).filter((f) => f.endsWith('.schema.json'))) {
    const text = readFileSync(join(TOP, 'schemas', f), 'utf8');
    t.notMatch(text, /"additionalProperties"\s*:\s*false/, `${f}: unknown properties stay allowed`);
    t.notMatch(text, /"unevaluatedProperties"/, `${f}: no unevaluatedProperties`);
  }
});

t.test('generated validators load no ajv compiler', async (t) => {
  for (const f of ['config', 'state', 'features']) {
    const code = readFileSync(join(TOP, 'src/config/generated', `${f}.validate.js`), 'utf8');
    const imports = [...code.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    for (const i of imports) t.match(i, /^ajv\/dist\/runtime\//, `${f}: imports only ajv runtime helpers (${i})`);
    t.notMatch(code, /\brequire\(/, `${f}: no require()`);
    t.notMatch(code, /new Function|\beval\(/, `${f}: no code compiled at run time`);
  }
});

t.test('config: ociVersion is the only required property', async (t) => {
  t.ok(validateConfig({ ociVersion: '1.3.0' }));
  t.ok(validateConfig({ ociVersion: '1.0.2-dev' }), 'pre-release versions are semver');
  t.notOk(validateConfig({}));
  t.notOk(validateConfig({ ociVersion: '1.3' }), 'not semver');
  t.notOk(validateConfig({ ociVersion: '1.3.0', process: { args: ['sh'] } }), 'process needs cwd');
  t.notOk(validateConfig({ ociVersion: '1.3.0', process: { cwd: '/' } }), 'process needs args');
  t.notOk(validateConfig({ ociVersion: '1.3.0', root: {} }), 'root needs a path when present');
  t.notOk(validateConfig({ ociVersion: '1.3.0', linux: { namespaces: [{ type: 'net' }] } }), 'namespace types are the spec names');
  t.ok(validateConfig({ ociVersion: '1.3.0', process: { args: ['sh'], cwd: '/', rlimits: [{ type: 'RLIMIT_NOFILE', soft: 18446744073709551615, hard: 18446744073709551615 }] } }), 'RLIM_INFINITY fits uint64');
  t.ok(validateConfig({ ociVersion: '1.3.0', linux: { resources: { memory: { limit: -1, swap: -1 } } } }), 'memory -1 means unlimited');
  t.notOk(validateConfig({ ociVersion: '1.3.0', linux: { devices: [{ type: 'c' }] } }), 'device needs a path');
  t.notOk(validateConfig({ ociVersion: '1.3.0', linux: { seccomp: { syscalls: [] } } }), 'seccomp needs defaultAction');
  t.notOk(validateConfig({ ociVersion: '1.3.0', linux: { personality: { domain: 'LINUX64' } } }));
  t.notOk(validateConfig({ ociVersion: '1.3.0', process: { args: ['sh'], cwd: '/', scheduler: { policy: 'SCHED_FAST' } } }));
  t.notOk(validateConfig({ ociVersion: '1.3.0', process: { args: ['sh'], cwd: '/', ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 8 } } }));
});

t.test('process (exec --process) shares the config definition', async (t) => {
  t.ok(validateProcess({ args: ['sh'], cwd: '/' }));
  t.notOk(validateProcess({ args: ['sh'] }), 'cwd required');
  t.notOk(validateProcess({ ociVersion: '1.3.0' }), 'a whole config is not a process');
  t.ok(validateProcess({ args: ['sh'], cwd: '/', user: { uid: 1, gid: 1 }, extra: true }), 'unknown properties allowed');
});

t.test('state', async (t) => {
  const base = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 42, bundle: '/b', annotations: { a: 'b' } };
  t.ok(validateState(base));
  t.ok(validateState({ ...base, status: 'stopped', pid: undefined }), 'a stopped container has no pid');
  t.ok(validateState({ ...base, extra: { any: 1 } }), 'unknown properties allowed');
  const { pid: _pid, ...noPid } = base;
  t.notOk(validateState(noPid), 'running needs a pid');
  t.notOk(validateState({ ...noPid, status: 'created' }), 'created needs a pid');
  t.ok(validateState({ ...noPid, status: 'creating' }));
  t.notOk(validateState({ ...base, status: 'paused' }), 'status is one of the four');
  t.notOk(validateState({ ...base, bundle: 'rel' }), 'bundle is absolute');
  t.notOk(validateState({ ...base, id: '' }));
});

t.test('features', async (t) => {
  const doc = {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.3.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: ['ro', 'rbind'],
    potentiallyUnsafeConfigAnnotations: ['org.example.'],
    linux: {
      namespaces: ['pid', 'user'],
      capabilities: ['CAP_KILL'],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: null },
      seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW'], operators: ['SCMP_CMP_EQ'], archs: ['SCMP_ARCH_X86_64'], knownFlags: [], supportedFlags: [] },
      apparmor: { enabled: false },
      selinux: null,
      intelRdt: { enabled: false, schemata: false },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: false },
      memoryPolicy: { modes: ['MPOL_DEFAULT'], flags: [] },
    },
    annotations: { 'org.example.version': '1' },
  };
  t.ok(validateFeatures(doc));
  t.ok(validateFeatures({ ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', hooks: null, linux: null }), 'null means unknown');
  t.notOk(validateFeatures({ ociVersionMin: '1.0.0' }), 'ociVersionMax required');
  t.notOk(validateFeatures({ ...doc, linux: { ...doc.linux, seccomp: { enabled: 'yes' } } }));
  t.notOk(validateFeatures({ ...doc, hooks: [1] }));
});
