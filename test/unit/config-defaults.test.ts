// `ocirun spec` writes what `runc spec` writes, with our version and hostname.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSpec } from '../../src/config/defaults.js';

function runcSpec(rootless: boolean): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'ocirun-runc-spec-'));
  try {
    const r = spawnSync('runc', ['spec', ...(rootless ? ['--rootless'] : [])], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) return undefined;
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const haveRunc = spawnSync('runc', ['--version']).status === 0;

t.test('version, hostname and terminal', async (t) => {
  for (const rootless of [false, true]) {
    const s = defaultSpec({ rootless });
    t.equal(s.ociVersion, '1.3.0');
    t.equal(s.hostname, 'ocirun');
    t.equal(s.process?.terminal, true, 'like runc spec: terminal on');
    t.equal(s.root?.path, 'rootfs');
  }
});

t.test('rootless maps the caller to root in a new user namespace', async (t) => {
  const s = defaultSpec({ rootless: true });
  t.same(s.linux?.uidMappings, [{ containerID: 0, hostID: process.geteuid?.(), size: 1 }]);
  t.same(s.linux?.gidMappings, [{ containerID: 0, hostID: process.getegid?.(), size: 1 }]);
  t.ok(s.linux?.namespaces?.some((n) => n.type === 'user'));
  t.notOk(s.linux?.namespaces?.some((n) => n.type === 'network'), 'no network namespace it could not set up');
  t.equal(s.linux?.resources, undefined, 'no cgroup device rules it could not apply');
});

t.test('each call returns a fresh object', async (t) => {
  const a = defaultSpec({ rootless: false });
  a.process?.capabilities?.bounding?.push('CAP_SYS_ADMIN');
  t.same(defaultSpec({ rootless: false }).process?.capabilities?.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
});

t.test('same content as runc spec', { skip: haveRunc ? false : 'runc is not installed' }, async (t) => {
  for (const rootless of [false, true]) {
    const theirs = runcSpec(rootless) as Record<string, unknown>;
    t.ok(theirs, `runc spec${rootless ? ' --rootless' : ''} ran`);
    const ours = JSON.parse(JSON.stringify(defaultSpec({ rootless })));
    t.strictSame({ ...ours, ociVersion: 'x', hostname: 'x' }, { ...theirs, ociVersion: 'x', hostname: 'x' }, `rootless=${rootless}`);
  }
});
