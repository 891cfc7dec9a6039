// The conformance suite (conformance/) must pass against ocirun and against
// runc: runc's pass is what shows the suite itself asks the right questions.
// Where runc departs from the spec the suite marks the test; against runc
// such a failure is a TAP "# TODO", which ocirun never gets.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OCIRUN, run, SKIP_NOT_ROOT, TOP } from '../helpers.js';

const RUNC = '/usr/sbin/runc';

for (const [name, runtime] of [['ocirun', OCIRUN], ['runc', RUNC]] as const) {
  const skip = SKIP_NOT_ROOT || (existsSync(runtime) ? false : `${runtime} is not installed`);
  t.test(`conformance suite passes against ${name}`, { skip }, async (t) => {
    const r = run('bash', [join(TOP, 'conformance/run')], { env: { ...process.env, RUNTIME: runtime }, timeout: 240_000 });
    const notOk = r.stdout.split('\n').filter((l) => l.startsWith('not ok'));
    t.same(notOk.filter((l) => !l.includes(' # TODO runc departs')), [], 'no failing conformance test');
    if (name === 'ocirun') t.same(notOk, [], 'no known departure either');
    t.match(r.stdout, /^1\.\.\d+$/m, 'a TAP plan was printed');
    t.equal(r.code, 0, `exit status (stderr: ${r.stderr.slice(-500)})`);
  });
}
