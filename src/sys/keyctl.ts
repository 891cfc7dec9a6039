// keyctl(2) for session keyrings (glibc has no wrapper).
import { check, libc } from './libc.js';

const SYS_KEYCTL = process.arch === 'arm64' ? 219 : 250;
const KEYCTL_JOIN_SESSION_KEYRING = 1;
const KEYCTL_SETPERM = 5;
const KEYCTL_DESCRIBE = 6;

type Fn = (...args: unknown[]) => number;
let calls: { join: Fn; describe: Fn; ints: Fn } | undefined;

// syscall(2) is variadic: one koffi prototype per argument shape.
function keyctl(): { join: Fn; describe: Fn; ints: Fn } {
  if (!calls) {
    const lib = libc().koffi.load('libc.so.6');
    calls = {
      join: lib.func('syscall', 'long', ['long', 'int', 'const char *']) as unknown as Fn,
      describe: lib.func('syscall', 'long', ['long', 'int', 'long', '_Out_ uint8_t *', 'size_t']) as unknown as Fn,
      ints: lib.func('syscall', 'long', ['long', 'int', 'long', 'long']) as unknown as Fn,
    };
  }
  return calls;
}

/** Join (creating) the named session keyring; returns its serial. */
export function keyctlJoinSession(name: string): number {
  return check(keyctl().join(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, name), 'keyctl join session keyring', name);
}

export function keyctlDescribe(serial: number): string {
  const buf = Buffer.alloc(512);
  const n = check(keyctl().describe(SYS_KEYCTL, KEYCTL_DESCRIBE, serial, buf, buf.length), 'keyctl describe');
  return buf.subarray(0, Math.max(0, n - 1)).toString('utf8');
}

export function keyctlSetperm(serial: number, perm: number): void {
  check(keyctl().ints(SYS_KEYCTL, KEYCTL_SETPERM, serial, perm), 'keyctl setperm');
}
