import t from 'tap';
import { constants } from 'node:os';
import { errnoName } from '../../src/sys/errors.js';

t.test('every errno Node knows gets the name Node gives it first', async (t) => {
  const first = new Map<number, string>();
  for (const [name, code] of Object.entries(constants.errno)) if (!first.has(code)) first.set(code, name);
  t.ok(first.size > 60, `Node names ${first.size} errnos`);
  for (const [code, name] of first) t.equal(errnoName(code), name, `errno ${code}`);
});

t.test('a number without a name says so', async (t) => {
  t.equal(errnoName(0), 'errno 0');
  t.equal(errnoName(15), 'errno 15');
  t.equal(errnoName(4095), 'errno 4095');
});
