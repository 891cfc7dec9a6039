// linux/terminal.ts: the console-socket rules every command asks (runc's words).
import t from 'tap';
import { checkConsoleSocket, planTerminal } from '../../src/linux/terminal.js';

const NEEDS_SOCKET = 'cannot allocate tty if runc will detach without setting console socket';
const NEEDS_TTY = 'cannot use console socket if runc will not detach or allocate tty';

t.test('a terminal needs a socket unless the command stays attached; a socket needs a terminal', async (t) => {
  t.throws(() => checkConsoleSocket(true, false, true), { message: NEEDS_SOCKET });
  t.doesNotThrow(() => checkConsoleSocket(true, false, false), 'foreground run/exec: our own terminal is the console');
  t.doesNotThrow(() => checkConsoleSocket(true, true, true));
  t.throws(() => checkConsoleSocket(false, true, true), { message: NEEDS_TTY });
  t.throws(() => checkConsoleSocket(false, true, false), { message: NEEDS_TTY });
  t.doesNotThrow(() => checkConsoleSocket(false, false, true));
});

t.test('process.terminal and consoleSize become the pty plan', async (t) => {
  t.equal(planTerminal(false, { height: 1, width: 2 }), null);
  t.same(planTerminal(true, undefined), { size: null });
  t.same(planTerminal(true, { height: 24, width: 80 }), { size: { rows: 24, cols: 80 } });
});
