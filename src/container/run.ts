// `run`: create and start, then (unless detached) stay as the container's
// parent: forward signals to it, reap it, delete it, and exit with its status.
import { constants } from 'node:os';
import { PR_SET_CHILD_SUBREAPER, WNOHANG } from '../sys/constants.js';
import { kill, prctl, waitpid } from '../sys/calls.js';
import { libc } from '../sys/libc.js';
import { createContainer, type CreateRequest } from './create.js';
import { signalInit } from './signal.js';
import type { Store } from './store.js';
import { openOwnConsole, proxyTerminal, receiveMaster } from './console.js';
import { readBundleConfig } from '../spec/read.js';
import { trace } from './trace.js';
import { faultPoint } from './faultpoint.js';
import { Interrupts } from './interrupts.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'] as const;

/** Whether the bundle's config asks for a terminal (a peek; create validates it properly). */
function wantsTerminal(bundle: string): boolean {
  try {
    const doc = readBundleConfig(bundle).doc as { process?: { terminal?: unknown } } | null;
    return doc?.process?.terminal === true;
  } catch {
    return false;
  }
}

/** The shell's convention: the exit code, or 128 + the signal that killed it. */
export function exitCodeOf(status: number): number {
  const signal = status & 0x7f;
  return signal === 0 ? (status >> 8) & 0xff : 128 + signal;
}

export async function runContainer(store: Store, req: CreateRequest, detach: boolean, keep: boolean): Promise<number> {
  if (!detach) {
    // Orphans of a container without its own pid namespace come to us, not to init.
    prctl(PR_SET_CHILD_SUBREAPER, 1, 'PR_SET_CHILD_SUBREAPER');
  }
  // A terminal without a console socket: the user's own terminal is the console (runc does the same).
  const terminalWithoutSocket = req.consoleSocket === undefined && wantsTerminal(req.bundle);
  const ownConsole = !detach && terminalWithoutSocket ? openOwnConsole() : null;
  if (detach && terminalWithoutSocket) {
    throw new Error('cannot allocate tty if runc will detach without setting console socket');
  }
  let master = -1;
  // start/delete (and the cgroups code behind them) load while the init boots.
  const lifecycle = import('./lifecycle.js');
  // Until the program runs, Ctrl-C or SIGTERM cancels the run and undoes it; after, it is forwarded.
  const interrupts = new Interrupts();
  try {
    const { state } = await createContainer(store, ownConsole ? { ...req, consoleSocketFd: ownConsole.theirs } : req, interrupts);
    const { deleteContainer, startContainer } = await lifecycle;
    faultPoint('run:created');
    try {
      if (ownConsole) master = receiveMaster(ownConsole);
      await interrupts.check();
      startContainer(store, req.id);
    } catch (err) {
      deleteContainer(store, req.id, true);
      throw err;
    }
    trace('started');
    faultPoint('run:started');
    if (detach) return 0;

    // A signal that came while start ran is the program's now.
    if (interrupts.received) signalInit(state, constants.signals[interrupts.received]);
    // The interrupts stay installed (and ignored) until the end: a signal after the program
    // exits must not stop us before we have deleted the container.
    const exited = forwardSignalsUntilExit(state.pid, (sig) => { signalInit(state, sig); });
    try {
      if (master >= 0) await proxyTerminal(master, exited);
      const status = await exited;
      trace('container exited');
      faultPoint('run:exited');
      return exitCodeOf(status);
    } finally {
      // Whatever went wrong meanwhile, a foreground run leaves no container behind.
      try { while (waitpid(-1, WNOHANG).pid > 0) { /* reaped */ } } catch { /* ECHILD */ }
      if (!keep) deleteContainer(store, req.id, true);
    }
  } finally {
    interrupts.stop();
  }
}

/**
 * Wait for our child `pid` to exit, passing on the signals a user sends us
 * (to the container init through its pidfd, or with kill(2) for an exec'd
 * process that is our own child). Returns the raw wait status.
 */
export async function forwardSignalsUntilExit(pid: number, send: (sig: number) => void = (sig) => { try { kill(pid, sig); } catch { /* exited */ } }): Promise<number> {
  const handlers = FORWARDED.map((name) => [name, () => send(libcSignal(name))] as const);
  for (const [name, fn] of handlers) process.on(name, fn);
  try {
    return await waitForExit(pid);
  } finally {
    // Only ours: run holds some of these signals itself until it has deleted the container.
    for (const [name, fn] of handlers) process.removeListener(name, fn);
  }
}

function libcSignal(name: (typeof FORWARDED)[number]): number {
  return constants.signals[name];
}

/** waitpid in koffi's worker thread, so the main thread keeps handling signals. */
function waitForExit(pid: number): Promise<number> {
  const fn = libc().waitpid as unknown as { async: (pid: number, status: number[], options: number, cb: (err: unknown, r: number) => void) => void };
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const status = [0];
      fn.async(pid, status, 0, (err, r) => {
        if (err) { reject(err); return; }
        if (r === pid) { resolve(status[0] as number); return; }
        attempt(); // EINTR
      });
    };
    attempt();
  });
}
