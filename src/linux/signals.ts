// Signal names and numbers as `kill` accepts them: "TERM", "SIGTERM", "15".
import { SIGNALS, SIGRTMAX, SIGRTMIN } from '../sys/constants.js';
import { allDigits } from '../config/chars.js';

export { SIGKILL } from '../sys/constants.js';

const byName = SIGNALS;

/** The table, for the test that compares it with Node's. */
export const SIGNAL_NUMBERS = byName;

/** Parse a signal given by name (with or without SIG) or number; throws naming the bad value. */
export function parseSignal(text: string): number {
  const trimmed = text.trim();
  if (allDigits(trimmed)) {
    const n = Number(trimmed);
    if (n >= 1 && n <= SIGRTMAX) return n;
  } else {
    const upper = trimmed.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    const n = byName[name];
    if (n !== undefined) return n;
    // Real-time signals: SIGRTMIN+n / SIGRTMAX-n, as glibc numbers them (34..64).
    const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
    if (rt) {
      const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
      const offset = rt[3] ? Number(rt[3]) * (rt[2] === '-' ? -1 : 1) : 0;
      const n2 = base + offset;
      if (n2 >= SIGRTMIN && n2 <= SIGRTMAX) return n2;
    }
  }
  throw new Error(`unknown signal "${text}"`);
}

/** The number of a signal's full name ("SIGTERM" → 15), as Node names the signals it delivers. */
export function signalNumber(name: string): number {
  const n = byName[name];
  if (n === undefined) throw new Error(`unknown signal "${name}"`);
  return n;
}

/** The name of a signal number, e.g. 15 → "SIGTERM". */
export function signalName(sig: number): string {
  for (const [name, n] of Object.entries(byName)) if (n === sig) return name;
  return `signal ${sig}`;
}
