// Signal names and numbers as `kill` accepts them: "TERM", "SIGTERM", "15".

/**
 * Linux's signal numbers, the same on x86-64 and arm64, in the order and
 * with the aliases of Node's os.constants.signals (a unit test holds them
 * equal). A table here, because node:os costs `kill` ~0.3 ms to load.
 */
const byName: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7,
  SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14,
  SIGTERM: 15, SIGCHLD: 17, SIGSTKFLT: 16, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21,
  SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

/** The table, for the test that compares it with Node's. */
export const SIGNAL_NUMBERS = byName;

/** Parse a signal given by name (with or without SIG) or number; throws naming the bad value. */
export function parseSignal(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    if (n >= 1 && n <= 64) return n;
  } else {
    const upper = trimmed.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    const n = byName[name];
    if (n !== undefined) return n;
    // Real-time signals: SIGRTMIN+n / SIGRTMAX-n, as glibc numbers them (34..64).
    const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
    if (rt) {
      const base = rt[1] === 'MIN' ? 34 : 64;
      const offset = rt[3] ? Number(rt[3]) * (rt[2] === '-' ? -1 : 1) : 0;
      const n2 = base + offset;
      if (n2 >= 34 && n2 <= 64) return n2;
    }
  }
  throw new Error(`unknown signal "${text}"`);
}

/** The name of a signal number, e.g. 15 → "SIGTERM". */
export function signalName(sig: number): string {
  for (const [name, n] of Object.entries(byName)) if (n === sig) return name;
  return `signal ${sig}`;
}
