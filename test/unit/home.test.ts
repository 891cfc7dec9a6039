// The passwd(5) parsing and the HOME rule, without a container.
import t from 'tap';
import { homeFor, homeInPasswd, withHome } from '../../src/linux/home.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\n# comment\nbroken:line\nu:x:1000:1000:U:/home/u:/bin/sh\nnohome:x:7:7:::/bin/sh\n';

t.test('homeInPasswd: the home field of the uid\'s line', async (t) => {
  t.equal(homeInPasswd(PASSWD, 0), '/root');
  t.equal(homeInPasswd(PASSWD, 1000), '/home/u');
  t.equal(homeInPasswd(PASSWD, 7), null, 'an empty home field is no home');
  t.equal(homeInPasswd(PASSWD, 100), null, 'not listed');
  t.equal(homeInPasswd('u:x:1000', 1000), null, 'a short line is skipped');
});

t.test('homeFor falls back to "/"; withHome adds HOME only when absent', async (t) => {
  t.equal(homeFor(null, 0), '/', 'no passwd file');
  t.equal(homeFor(PASSWD, 100), '/');
  t.same(withHome(['A=1'], () => '/h'), ['A=1', 'HOME=/h']);
  t.same(withHome(['HOME=', 'A=1'], () => { throw new Error('not called'); }), ['HOME=', 'A=1'], 'an empty HOME is still a HOME');
});
