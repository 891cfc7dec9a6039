// podman's default: its seccomp profile, a non-root user, noNewPrivileges
// unset. Loading a filter without no_new_privs needs CAP_SYS_ADMIN, which
// the uid change clears, so the order inside the finalize matters. Checked
// for the init and for exec, with noNewPrivileges unset and set, by what the
// kernel reports for the process (ids, Seccomp, NoNewPrivs, CapEff).
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, type Config, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';

const skip = SKIP_NOT_ROOT;
const FIXTURES = '/work/shared/fixtures/engine-configs';
const podman = JSON.parse(readFileSync(join(FIXTURES, 'podman-config.json'), 'utf8'));
const podmanExec = JSON.parse(readFileSync(join(FIXTURES, 'podman-exec-process.json'), 'utf8'));

const REPORT = 'echo "ids=$(id -u):$(id -g)"; grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/self/status; hostname other 2>/dev/null; echo "sethostname=$?"';

/** podman run --user 1000:1000: its profile, its bounding set, nothing effective for a non-root user. */
function podmanUserConfig(args: string[], nnp: boolean | undefined): Config {
  const c = baseConfig(args, sharedRootfs());
  c.process.user = { uid: 1000, gid: 1000 };
  c.process.capabilities = { bounding: podman.process.capabilities.bounding };
  if (nnp === undefined) delete c.process.noNewPrivileges;
  else c.process.noNewPrivileges = nnp;
  c.linux.seccomp = podman.linux.seccomp;
  return c;
}

function expectConfined(t: Test, stdout: string, nnp: boolean): void {
  t.match(stdout, /^ids=1000:1000$/m, 'runs as 1000:1000');
  t.match(stdout, /^Seccomp:\s+2$/m, 'in seccomp filter mode');
  t.match(stdout, new RegExp(`^NoNewPrivs:\\s+${nnp ? 1 : 0}$`, 'm'), `no_new_privs ${nnp ? 'set' : 'unset'}`);
  t.match(stdout, /^CapEff:\s+0+$/m, 'no effective capabilities');
  t.match(stdout, /^sethostname=1$/m, 'the profile denies sethostname');
}

for (const nnp of [undefined, false, true]) {
  t.test(`podman's profile with uid 1000, noNewPrivileges ${nnp ?? 'absent'}: the init runs`, { skip }, async (t) => {
    const box = new Sandbox(t, podmanUserConfig(['sh', '-c', REPORT], nnp));
    const r = box.ocirun(['run', '--bundle', box.bundle, box.id()]);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr, '', 'nothing on stderr');
    expectConfined(t, r.stdout, nnp === true);
  });

  t.test(`podman's profile with uid 1000, noNewPrivileges ${nnp ?? 'absent'}: exec runs`, { skip }, async (t) => {
    // The container runs as root without the flag; exec's process (podman's own process.json) as 1000.
    const config = podmanUserConfig(['sleep', '60'], undefined);
    config.process.user = { uid: 0, gid: 0 };
    const box = new Sandbox(t, config);
    const id = box.id();
    t.equal(box.create(id).code, 0);
    t.equal(box.ocirun(['start', id]).code, 0);
    const proc = { ...podmanExec, args: ['sh', '-c', REPORT], user: { uid: 1000, gid: 1000 }, capabilities: { bounding: podmanExec.capabilities.bounding } };
    if (nnp === undefined) delete proc.noNewPrivileges;
    else proc.noNewPrivileges = nnp;
    const file = join(box.dir, 'process.json');
    writeFileSync(file, JSON.stringify(proc));
    const r = box.ocirun(['exec', '--process', file, id]);
    t.equal(r.code, 0, r.stderr);
    expectConfined(t, r.stdout, nnp === true);
  });
}

