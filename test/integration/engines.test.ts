// Configs that containerd and podman really sent (../shared/fixtures) run
// end to end: their seccomp profiles, cgroups paths, rlimits, mounts and
// namespaces as they are, with only the host paths pointed at this test.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Sandbox, sharedRootfs, SKIP_NOT_ROOT, TOP } from '../helpers.js';

const FIXTURES = join(TOP, '..', 'shared', 'fixtures', 'engine-configs');

for (const name of ['containerd-ctr-config.json', 'podman-config.json']) {
  const file = join(FIXTURES, name);
  const skip = SKIP_NOT_ROOT || (existsSync(file) ? false : `${file} is not here`);
  t.test(`${name} runs as the engine meant it`, { skip }, async (t) => {
    const box = new Sandbox(t);
    // The captured host paths (/var/lib/example/…) become paths in this test's directory.
    const text = readFileSync(file, 'utf8').replaceAll('/var/lib/example/', `${box.dir}/example/`);
    const config = JSON.parse(text);
    config.root = { path: sharedRootfs(), readonly: true };
    for (const m of config.mounts) {
      if (typeof m.source !== 'string' || !m.source.startsWith(`${box.dir}/example/`)) continue;
      mkdirSync(dirname(m.source), { recursive: true });
      if (/\/(hosts|hostname|resolv\.conf|\.containerenv)$/.test(m.source)) writeFileSync(m.source, '');
      else mkdirSync(m.source, { recursive: true });
    }
    box.writeConfig(config);
    const r = box.ocirun(['run', '--bundle', box.bundle, box.id()]);
    t.equal(r.code, 0, `exit status 0 (stderr: ${r.stderr})`);
    t.equal(r.stdout, 'hello-stdout\n');
    t.equal(r.stderr, 'hello-stderr\n');
  });
}
