// What create and run do with the signals a user sends to stop them (Ctrl-C,
// SIGTERM, a closing terminal) before the container's program runs: hold
// them while a step is under way, then cancel. The caller undoes everything
// (init killed, cgroups and state removed) and exits with 128 + the signal,
// as a process killed by it would. Once `run` has started the program, the
// signals are forwarded to it instead (run.ts).
//
// SIGUSR1 and SIGUSR2 are the program's, not ours: held as well (`held`,
// children.ts), cancelling nothing; `run` hands them to the program once it
// has started it, create drops them (as runc's create ignores them).
//
// Node runs a signal's JavaScript handler only when control returns to the
// event loop; the synchronous steps of create (each bounded by the init's
// death) so hold it until the next check.
import { HeldSignals } from '../linux/children.js';
import { signalNumber } from '../linux/signals.js';

const CANCELLING = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

export class InterruptedError extends Error {
  readonly exitCode: number;
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}: the container was removed`);
    this.name = 'InterruptedError';
    this.exitCode = 128 + signalNumber(signal);
  }
}

export class Interrupts {
  received: NodeJS.Signals | null = null;
  /** SIGUSR1 and SIGUSR2, for the program */
  readonly held = new HeldSignals();
  private readonly handler = (sig: NodeJS.Signals): void => {
    this.received ??= sig;
  };

  constructor() {
    for (const sig of CANCELLING) process.on(sig, this.handler);
  }

  /** Stop holding: the signals get their default action (or another handler) again; held ones are dropped. */
  stop(): void {
    for (const sig of CANCELLING) process.removeListener(sig, this.handler);
    this.held.stop();
  }

  /** Throw if a signal came, after letting any pending one reach its handler. */
  async check(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.received) throw new InterruptedError(this.received);
  }
}
