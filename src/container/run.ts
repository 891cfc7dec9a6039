// `run`: create and start, then (unless detached) stay as the container's
// parent: forward signals to it, reap it, delete it, and exit with its status.
import { becomeSubreaper, exitCodeOf, forwardSignalsUntilExit, reapExitedChildren } from '../linux/children.js';
import { createContainer, type CreateRequest } from './create.js';
import { signalProcess } from '../linux/pidsignal.js';
import type { Store } from './store.js';
import { checkConsoleSocket, openOwnConsole, proxyTerminal, receiveMaster } from '../linux/terminal.js';
import { type ReadBundle, readBundleConfig } from '../config/read.js';
import { trace } from '../trace.js';
import { faultPoint } from './faultpoint.js';
import { Interrupts } from './interrupts.js';
import { signalNumber } from '../linux/signals.js';

/** The bundle's config, read once for both run's terminal peek and create; undefined when unreadable (create then reads it again, and says why). */
function readOnce(bundle: string): ReadBundle | undefined {
  try {
    return readBundleConfig(bundle);
  } catch {
    return undefined;
  }
}

/** Whether the bundle's config asks for a terminal (a peek; create validates it properly). */
function wantsTerminal(read: ReadBundle | undefined): boolean {
  const doc = read?.doc as { process?: { terminal?: unknown } } | null | undefined;
  return doc?.process?.terminal === true;
}

export async function runContainer(store: Store, req: CreateRequest, detach: boolean, keep: boolean): Promise<number> {
  if (!detach) {
    // Orphans of a container without its own pid namespace come to us, not to init.
    becomeSubreaper();
  }
  // A terminal without a console socket: the user's own terminal is the console (runc does the same).
  const read = readOnce(req.bundle);
  const terminalWithoutSocket = req.consoleSocket === undefined && wantsTerminal(read);
  const ownConsole = !detach && terminalWithoutSocket ? openOwnConsole() : null;
  if (terminalWithoutSocket) checkConsoleSocket(true, false, detach);
  let master = -1;
  // start/delete (and the cgroups code behind them) load while the init boots.
  const lifecycle = import('./lifecycle.js');
  // Until the program runs, Ctrl-C or SIGTERM cancels the run and undoes it; after, it is forwarded.
  const interrupts = new Interrupts();
  try {
    // create keeps the container's lock for us: start then needs neither to
    // take it again nor to read back the record create has just written.
    const { state, lock } = await createContainer(store, { ...req, read, ...(ownConsole ? { consoleSocketFd: ownConsole.theirs } : {}) }, { interrupts, keepLock: true });
    let held = lock;
    const release = (): void => { held?.release(); held = null; };
    const { deleteContainer, startLocked } = await lifecycle;
    faultPoint('run:created');
    try {
      if (ownConsole) master = receiveMaster(ownConsole);
      await interrupts.check();
      startLocked(store, state);
      release();
    } catch (err) {
      release(); // before delete takes it
      deleteContainer(store, req.id, true);
      throw err;
    }
    trace('started');
    faultPoint('run:started');
    if (detach) return 0;

    // A signal that came while start ran is the program's now.
    if (interrupts.received) signalProcess(state.pid, state.pidStartTime, signalNumber(interrupts.received));
    // The interrupts stay installed (and ignored) until the end: a signal after the program
    // exits must not stop us before we have deleted the container.
    // With the SIGUSR1 and SIGUSR2 sent while the container was made first.
    const exited = forwardSignalsUntilExit(state.pid, (sig) => { signalProcess(state.pid, state.pidStartTime, sig); }, interrupts.held);
    try {
      if (master >= 0) await proxyTerminal(master, exited);
      const status = await exited;
      trace('container exited');
      faultPoint('run:exited');
      return exitCodeOf(status);
    } finally {
      // Whatever went wrong meanwhile, a foreground run leaves no container behind.
      reapExitedChildren();
      if (!keep) deleteContainer(store, req.id, true);
    }
  } finally {
    interrupts.stop();
  }
}
