// What create and run do with the signals a user sends to stop them (Ctrl-C,
// SIGTERM, a closing terminal) before the container's program runs: hold
// them while a step is under way, then cancel. The caller undoes everything
// (init killed, cgroups and state removed) and exits with 128 + the signal,
// as a process killed by it would. Once `run` has started the program, the
// signals are forwarded to it instead (run.ts).
//
// SIGUSR2 is the program's, not ours: held as well, without cancelling
// anything, and handed to the program once `run` has started it (create
// drops it, as runc's create ignores it); its default action would end
// ocirun half way. So is SIGUSR1, which bin/ocirun's Node keeps blocked
// (--disable-sigusr1) until run passes signals on (children.ts); a Node
// started without that flag would open its inspector on it, so it is held
// here too, which replaces Node's handler.
//
// Node runs a signal's JavaScript handler only when control returns to the
// event loop; the synchronous steps of create (each bounded by the init's
// death) so hold it until the next check.
import { signalNumber } from '../linux/signals.js';

const CANCELLING = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
const HELD = ['SIGUSR1', 'SIGUSR2'] as const;

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
  /** SIGUSR1 and SIGUSR2 as they came, for the program; null once handed on */
  private held: NodeJS.Signals[] | null = [];
  private readonly handler = (sig: NodeJS.Signals): void => {
    this.received ??= sig;
  };
  private readonly hold = (sig: NodeJS.Signals): void => {
    this.held?.push(sig);
  };

  constructor() {
    for (const sig of CANCELLING) process.on(sig, this.handler);
    for (const sig of HELD) process.on(sig, this.hold);
  }

  /**
   * The program's signals held so far, in order, once its own forwarding is
   * in place; later ones are not kept (forwarding passes them on), though
   * still caught until stop(): one after the program's end must not end us
   * before its container is deleted.
   */
  takeHeld(): NodeJS.Signals[] {
    const held = this.held ?? [];
    this.held = null;
    return held;
  }

  /** Stop holding: the signals get their default action (or another handler) again; held ones are dropped. */
  stop(): void {
    for (const sig of CANCELLING) process.removeListener(sig, this.handler);
    for (const sig of HELD) process.removeListener(sig, this.hold);
    this.held = null;
  }

  /** Throw if a signal came, after letting any pending one reach its handler. */
  async check(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.received) throw new InterruptedError(this.received);
  }
}
