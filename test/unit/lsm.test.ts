// linux/lsm.ts: LSM fields against what the host has, exec labels, mount contexts (pure, no root).
import t from 'tap';
import { planLsm, withMountLabel } from '../../src/linux/lsm.js';

const none = { apparmor: false, selinux: false, apparmorExecFile: '/proc/thread-self/attr/exec' };
const both = { apparmor: true, selinux: true, apparmorExecFile: '/proc/thread-self/attr/apparmor/exec' };

t.test('LSM: a field the host cannot honour is an error naming it; empty means none', async (t) => {
  t.throws(() => planLsm({ process: { args: ['x'], cwd: '/', apparmorProfile: 'p' } }, none), /^process\.apparmorProfile: AppArmor is not enabled on this host, so profile "p"/);
  t.throws(() => planLsm({ process: { args: ['x'], cwd: '/', selinuxLabel: 'l' } }, none), /^process\.selinuxLabel: SELinux is not enabled/);
  t.throws(() => planLsm({ linux: { mountLabel: 'm' } }, none), /^linux\.mountLabel: SELinux is not enabled/);
  t.same(planLsm({ linux: { mountLabel: 'system_u:object_r:container_file_t:s0' } }, both).mountLabel, 'system_u:object_r:container_file_t:s0');
  t.same(planLsm({ process: { args: ['x'], cwd: '/', apparmorProfile: '', selinuxLabel: '' } }, none), { apparmorProfile: null, selinuxLabel: null, mountLabel: null, execAttrs: [] });
});

t.test('LSM planning where the LSMs are on: exec attrs for the native step, mount contexts', async (t) => {
  const plan = planLsm({ process: { args: ['x'], cwd: '/', apparmorProfile: 'docker-default', selinuxLabel: 'a:b:c:s0' } }, both);
  t.same(plan, {
    apparmorProfile: 'docker-default', selinuxLabel: 'a:b:c:s0', mountLabel: null,
    execAttrs: [['/proc/thread-self/attr/apparmor/exec', 'exec docker-default'], ['/proc/thread-self/attr/exec', 'a:b:c:s0']],
  }, 'AppArmor takes "exec <profile>" in the file the host has');
  t.same(planLsm({ process: { args: ['x'], cwd: '/', apparmorProfile: 'p' } }, { ...both, apparmorExecFile: '/proc/thread-self/attr/exec' }).execAttrs,
    [['/proc/thread-self/attr/exec', 'exec p']], 'without LSM stacking: the shared file');
  t.equal(withMountLabel('tmpfs', 'mode=755', 'x:y:z:s0'), 'mode=755,context="x:y:z:s0"');
  t.equal(withMountLabel('devpts', '', 'x:y:z:s0'), 'context="x:y:z:s0"');
  t.equal(withMountLabel('proc', '', 'x:y:z:s0'), '', 'proc takes no context=');
  t.equal(withMountLabel('', '', 'x:y:z:s0'), '', 'nor does a bind mount');
  t.equal(withMountLabel('tmpfs', 'size=1m', null), 'size=1m');
});
