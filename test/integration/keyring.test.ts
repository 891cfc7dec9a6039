// Session keyrings: a fresh "_ses.<id>" by default, none with --no-new-keyring.
import t from 'tap';
import { baseConfig, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';

t.test('each container joins its own session keyring unless --no-new-keyring', { skip: SKIP_NOT_ROOT }, async (t) => {
  const config = baseConfig(['cat', '/proc/keys'], sharedRootfs());
  config.linux.maskedPaths = [];
  const box = new Sandbox(t, config);
  const id = box.id();
  const r = box.ocirun(['run', '--bundle', box.bundle, id]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`keyring\\s+_ses\\.${id.replace(/[.+]/g, '\\$&')}:`), 'the container sees its own session keyring');
  const id2 = box.id();
  const r2 = box.ocirun(['run', '--no-new-keyring', '--bundle', box.bundle, id2]);
  t.equal(r2.code, 0, r2.stderr);
  // Other containers' keyrings (made concurrently, all root's) may be listed: only ours must not.
  t.notMatch(r2.stdout, new RegExp(`keyring\\s+_ses\\.${id2.replace(/[.+]/g, '\\$&')}:`), 'no session keyring of its own');
});
