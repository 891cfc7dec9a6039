// `ocirun plan`: the init's operations for a bundle, printed without a side
// effect, validated with create's checks and words.
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { baseConfig, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

t.test('plan prints the operations, as text and JSON, and leaves nothing behind', { skip }, async (t) => {
  const config = baseConfig(['sh', '-c', 'true'], sharedRootfs());
  config.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  config.hooks = { createContainer: [{ path: '/bin/true' }] };
  const box = new Sandbox(t, config);
  const id = box.id();
  const r = box.ocirun(['plan', '--bundle', box.bundle, id]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^namespaces: new pid, network, ipc, uts, mount/m);
  t.match(r.stdout, /mount .*target="\/proc".*# mounts\[0\]: mount proc on \/proc/, 'each config mount, named by its field');
  t.match(r.stdout, /pivot-root +rootfs=/);
  t.match(r.stdout, /write +path="\/proc\/sys\/net\/ipv4\/ip_forward" data="1" +# linux\.sysctl\["net\.ipv4\.ip_forward"\]/);
  t.match(r.stdout, /hook .*# createContainer hook #0 \(\/bin\/true\)/);
  t.match(r.stdout, /mask +path="\/proc\/kcore"/);
  t.match(r.stdout, /sethostname +name="testbox"/);
  t.match(r.stdout, /then: ready, wait on exec.fifo, 0 startContainer hook\(s\), execve \["sh","-c","true"\]/);

  const j = box.ocirun(['plan', '--format', 'json', '--bundle', box.bundle, id]);
  t.equal(j.code, 0, j.stderr);
  const report = JSON.parse(j.stdout);
  const ops = report.init.ops as { op: string; what: string }[];
  t.equal(ops.at(-1)?.op, 'finalize', 'the last operation becomes the process');
  t.ok(ops.findIndex((o) => o.op === 'pivot-root') > ops.findIndex((o) => o.what.startsWith('mounts[5]')), 'mounts come before pivot_root');
  t.ok(ops.findIndex((o) => o.op === 'mask') > ops.findIndex((o) => o.op === 'pivot-root'), 'masks after it');
  t.same(report.namespaces.create, ['pid', 'network', 'ipc', 'uts', 'mount']);

  t.notOk(existsSync(box.root) && readdirSync(box.root).length, 'no state was written');
  for (const p of report.cgroups?.v1 ?? []) t.notOk(existsSync(p.dir), `no cgroup made (${p.dir})`);
});

t.test('plan refuses what create refuses, with the same words', { skip }, async (t) => {
  const config = baseConfig(['true'], sharedRootfs());
  config.linux.sysctl = { 'vm.swappiness': '10' };
  const box = new Sandbox(t, config);
  const id = box.id();
  const p = box.ocirun(['plan', '--bundle', box.bundle, id]);
  const c = box.create(id);
  t.equal(p.code, 1);
  t.equal(c.code, 1);
  t.match(p.stderr, /linux\.sysctl\["vm\.swappiness"\]: not a namespaced sysctl/);
  const cause = (s: string): string => s.replace(/^ocirun: (plan|create) \S+: /, '');
  t.equal(cause(p.stderr), cause(c.stderr), 'the same message as create');
  const f = box.ocirun(['plan', '--format', 'yaml', '--bundle', box.bundle, id]);
  t.equal(f.code, 1);
  t.match(f.stderr, /invalid format option "yaml"/);
});
