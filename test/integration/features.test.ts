// `ocirun features`: valid against the features schema, and true to what
// create accepts on this host.
import t from 'tap';
import { validate as validateFeatures } from '../../src/config/generated/features.validate.js';
import { parseMountOptions } from '../../src/linux/mountopts.js';
import { CAPABILITY_NAMES } from '../../src/config/names.js';
import { baseConfig, OCIRUN, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';

t.test('features is valid and consistent with this build and host', async (t) => {
  const r = run(OCIRUN, ['features']);
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  t.ok(validateFeatures(doc), `valid against schemas/features.schema.json: ${JSON.stringify(validateFeatures.errors ?? [])}`);
  t.equal(doc.ociVersionMax, '1.3.0');
  t.same(doc.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  for (const opt of doc.mountOptions as string[]) {
    const parsed = parseMountOptions([opt]);
    t.equal(parsed.data, '', `"${opt}" is understood by ocirun, not passed to the filesystem`);
  }
  const lastCap = Number((await import('node:fs')).readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  t.same(doc.linux.capabilities, CAPABILITY_NAMES.slice(0, lastCap + 1), 'capabilities up to the kernel\'s last');
  t.equal(doc.linux.cgroup.v1, true, 'this host has cgroup v1 controllers');
  t.equal(doc.linux.cgroup.v2, true, 'and a cgroup2 mount');
  t.equal(doc.linux.cgroup.systemd, (await import('node:fs')).existsSync('/run/systemd/system'), 'the systemd driver: where systemd runs the host');
  t.equal(doc.linux.mountExtensions.idmap.enabled, true, 'id-mapped mounts: this kernel has mount_setattr');
  t.equal(doc.linux.apparmor.enabled, false, 'no AppArmor here');
  t.equal(doc.linux.selinux.enabled, false, 'no SELinux here');
  t.equal(doc.linux.seccomp.enabled, true, 'libseccomp is present');
  t.ok(doc.linux.seccomp.archs.includes(process.arch === 'arm64' ? 'SCMP_ARCH_AARCH64' : 'SCMP_ARCH_X86_64'), 'the native architecture');
  t.match(doc.annotations['io.github.seccomp.libseccomp.version'], /^\d+\.\d+\.\d+$/);
});

t.test('every namespace features lists can be created', { skip: SKIP_NOT_ROOT }, async (t) => {
  const doc = JSON.parse(run(OCIRUN, ['features']).stdout);
  const config = baseConfig(['true'], sharedRootfs());
  config.linux.namespaces = (doc.linux.namespaces as string[]).map((type) => ({ type }));
  config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const box = new Sandbox(t, config);
  const { chmodSync } = await import('node:fs');
  chmodSync(box.dir, 0o711);
  const r = box.ocirun(['run', '--bundle', box.bundle, box.id()]);
  t.equal(r.code, 0, `a container with ${doc.linux.namespaces.join(', ')}: ${r.stderr}`);
});
