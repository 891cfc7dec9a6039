// keyctl(2) for session keyrings (glibc has no wrapper).
import { check, libcFunction } from './libc.js';

const SYS_KEYCTL = process.arch === 'arm64' ? 219 : 250;
const KEYCTL_JOIN_SESSION_KEYRING = 1;
const KEYCTL_SETPERM = 5;
const KEYCTL_DESCRIBE = 6;

// syscall(2) is variadic: one prototype per argument shape.
const keyctlJoin = libcFunction('syscall', 'long', ['long', 'int', 'const char *']);
const keyctlOut = libcFunction('syscall', 'long', ['long', 'int', 'long', '_Out_ uint8_t *', 'size_t']);
const keyctlInts = libcFunction('syscall', 'long', ['long', 'int', 'long', 'long']);

/** Join (creating) the named session keyring; returns its serial. */
export function keyctlJoinSession(name: string): number {
  return check(keyctlJoin(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, name), 'keyctl join session keyring', name);
}

export function keyctlDescribe(serial: number): string {
  const buf = Buffer.alloc(512);
  const n = check(keyctlOut(SYS_KEYCTL, KEYCTL_DESCRIBE, serial, buf, buf.length), 'keyctl describe');
  return buf.subarray(0, Math.max(0, n - 1)).toString('utf8');
}

export function keyctlSetperm(serial: number, perm: number): void {
  check(keyctlInts(SYS_KEYCTL, KEYCTL_SETPERM, serial, perm), 'keyctl setperm');
}
