// The no-op migration create starts to take the kernel's grace period off the
// init's placement (src/linux/cgroups/warmup.ts): it must name the cgroup we
// are in, succeed as root, and move nothing anywhere.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { SKIP_NOT_ROOT } from '../helpers.js';
import { ownProcsFile, warmCgroupMigration } from '../../src/linux/cgroups/warmup.js';

t.test('the warm-up writes our pid into the cgroup we are already in', { skip: SKIP_NOT_ROOT }, async (t) => {
  const file = ownProcsFile();
  if (file === null) throw new Error('no cgroup of ours found in /proc/self/cgroup and mountinfo');
  // The file lists the processes of our own cgroup: we are among them before the write.
  t.ok(readFileSync(file, 'utf8').split('\n').includes(String(process.pid)), `${file} lists us`);
  const before = readFileSync('/proc/self/cgroup', 'utf8');
  const err = await new Promise<Error | null>((resolve) => warmCgroupMigration(resolve));
  t.equal(err, null, 'the write succeeds');
  t.equal(readFileSync('/proc/self/cgroup', 'utf8'), before, 'we are in the same cgroups as before, in every hierarchy');
  t.ok(readFileSync(file, 'utf8').split('\n').includes(String(process.pid)), 'and still listed there');
});
