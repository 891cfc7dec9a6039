// config/chars.ts stands in for regular expressions on the hot paths: each
// check must say exactly what the expression it replaced says.
import t from 'tap';
import { allDigits, allLowerHex, fields, idCharacters, negativeNumber, onlyRwm, plainIdentifier } from '../../src/config/chars.js';

const SAMPLES = [
  '', ' ', '0', '7', '42', '007', '-', '-1', '-12', '--1', '1-', '+1', '1.5', '1e3', '12a', 'a12', 'deadbeef', 'DEADBEEF', 'abcdefg',
  'x', 'abc', 'a-b', 'a_b', 'a.b', 'a+b', 'a b', 'a/b', 'a:b', '.', '..', '$x', '_x', 'x$1', '1x', 'é', 'a\n', '\nb', 'rwm', 'r', 'mw', 'rwx', 'RW',
  'process', 'linux', 'net.ipv4.ip_forward', 'CapBnd', '٣', 'a\u0000',
];

const PAIRS: [string, (s: string) => boolean, RegExp][] = [
  ['allDigits', allDigits, /^\d+$/],
  ['negativeNumber', negativeNumber, /^-\d+$/],
  ['allLowerHex', allLowerHex, /^[0-9a-f]+$/],
  ['idCharacters', idCharacters, /^[\w+.-]+$/],
  ['plainIdentifier', plainIdentifier, /^[A-Za-z_$][A-Za-z0-9_$]*$/],
  ['onlyRwm', onlyRwm, /^[rwm]+$/],
];

for (const [name, check, re] of PAIRS) {
  t.test(`${name} agrees with ${re}`, async (t) => {
    for (const s of SAMPLES) t.equal(check(s), re.test(s), JSON.stringify(s));
  });
}

t.test('fields splits on runs of whitespace, as trim().split(/\\s+/) does for non-empty lines', async (t) => {
  for (const line of ['0 0 4294967295', '         0       1000          1', '\t1\t2 \t3\n', 'one', '  a  ']) {
    t.same(fields(line), line.trim().split(/\s+/), JSON.stringify(line));
  }
  t.same(fields(''), [], 'an empty line has none');
  t.same(fields('   '), [], 'nor does a blank one');
});
