// libsystemd's sd-bus through koffi: a connection to the system bus (or to a
// user's bus at a given address, for a rootless --systemd-cgroup) and
// synchronous method calls, built and read with sd-bus's message API. Only
// the systemd cgroup driver (--systemd-cgroup) uses it, and the library is
// loaded on its first call: no other command pays for it.
//
// libsystemd.so.0 is on every systemd host (PID 1's own tools link it). The
// prototypes below are those of its stable ABI (sd-bus.h); sd-bus reports
// failure as a negative errno, and a D-Bus error reply in an sd_bus_error.
import { errnoName } from './errors.js';
import { libc, loadOptionalLibrary } from './libc.js';

export const LIBSYSTEMD_SONAME = 'libsystemd.so.0';

type Fn = (...args: unknown[]) => unknown;
type Pointer = unknown;

interface Lib {
  openSystem: Fn; busNew: Fn; setAddress: Fn; setBusClient: Fn; start: Fn; newMethodCall: Fn; appendBasic: Fn; openContainer: Fn; closeContainer: Fn;
  call: Fn; readBasic: Fn; enterContainer: Fn; exitContainer: Fn; messageUnref: Fn; busUnref: Fn;
  decodeString(p: Buffer): string;
}

let lib: Lib | undefined;

function load(): Lib {
  if (lib) return lib;
  const so = loadOptionalLibrary(LIBSYSTEMD_SONAME, 'libsystemd0');
  const { koffi } = libc();
  const f = (decl: string): Fn => so.func(decl) as unknown as Fn;
  koffi.struct('ocirun_sd_bus_error', { name: 'const char *', message: 'const char *', need_free: 'int' });
  lib = {
    openSystem: f('int sd_bus_open_system(_Out_ void **bus)'),
    // A bus at an address (a user's): new, address, "a client of a message bus" (Hello), start.
    busNew: f('int sd_bus_new(_Out_ void **bus)'),
    setAddress: f('int sd_bus_set_address(void *bus, const char *address)'),
    setBusClient: f('int sd_bus_set_bus_client(void *bus, int b)'),
    start: f('int sd_bus_start(void *bus)'),
    newMethodCall: f('int sd_bus_message_new_method_call(void *bus, _Out_ void **m, const char *dest, const char *path, const char *iface, const char *member)'),
    // One prototype for every basic type: p points at the value (for strings, at the characters).
    appendBasic: f('int sd_bus_message_append_basic(void *m, char type, const uint8_t *p)'),
    openContainer: f('int sd_bus_message_open_container(void *m, char type, const char *contents)'),
    closeContainer: f('int sd_bus_message_close_container(void *m)'),
    call: f('int sd_bus_call(void *bus, void *m, uint64_t usec, _Inout_ ocirun_sd_bus_error *err, _Out_ void **reply)'),
    readBasic: f('int sd_bus_message_read_basic(void *m, char type, _Out_ uint8_t *p)'),
    enterContainer: f('int sd_bus_message_enter_container(void *m, char type, const char *contents)'),
    exitContainer: f('int sd_bus_message_exit_container(void *m)'),
    messageUnref: f('void *sd_bus_message_unref(void *m)'),
    busUnref: f('void *sd_bus_flush_close_unref(void *bus)'),
    // read_basic of a string type stores a pointer to the message's own copy.
    decodeString: (p) => koffi.decode(p, 'const char *') as string,
  };
  return lib;
}

/** True when libsystemd can be loaded here. */
export function libsystemdAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/** A D-Bus error reply (name as the bus gives it, e.g. org.freedesktop.systemd1.NoSuchUnit). */
export class DBusError extends Error {
  constructor(readonly dbusName: string, message: string) {
    super(message);
    this.name = 'DBusError';
  }
}

/** A value for a variant ("v"): D-Bus needs the type written next to it. */
export interface Variant {
  sig: string;
  value: DBusValue;
}

export type DBusValue = string | number | bigint | boolean | Variant | DBusValue[];

const code = (c: string): number => c.charCodeAt(0);

function check(rc: unknown, what: string): void {
  if (typeof rc === 'number' && rc < 0) throw new Error(`sd-bus: ${what}: ${errnoName(-rc)}`);
}

/** Split a signature into its complete types: "sa(sv)u" → ["s", "a(sv)", "u"]. */
export function completeTypes(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  const one = (): void => {
    const c = sig[i];
    if (c === undefined) throw new Error(`D-Bus signature "${sig}" is incomplete`);
    i += 1;
    if (c === 'a') { one(); return; }
    if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      while (sig[i] !== close) one();
      i += 1;
    }
  };
  while (i < sig.length) {
    const start = i;
    one();
    out.push(sig.slice(start, i));
  }
  return out;
}

function basicBytes(type: string, value: DBusValue): Buffer {
  switch (type) {
    case 's': case 'o': case 'g': return Buffer.from(`${String(value)}\0`);
    case 'b': { const b = Buffer.alloc(4); b.writeInt32LE(value === true ? 1 : 0); return b; }
    case 'y': return Buffer.from([Number(value) & 0xff]);
    case 'n': { const b = Buffer.alloc(2); b.writeInt16LE(Number(value)); return b; }
    case 'q': { const b = Buffer.alloc(2); b.writeUInt16LE(Number(value)); return b; }
    case 'i': { const b = Buffer.alloc(4); b.writeInt32LE(Number(value)); return b; }
    case 'u': { const b = Buffer.alloc(4); b.writeUInt32LE(Number(value)); return b; }
    case 'x': { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(value as number | bigint)); return b; }
    case 't': { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(value as number | bigint)); return b; }
    case 'd': { const b = Buffer.alloc(8); b.writeDoubleLE(Number(value)); return b; }
    default: throw new Error(`D-Bus type "${type}" is not supported here`);
  }
}

function append(l: Lib, m: Pointer, type: string, value: DBusValue): void {
  const head = type[0] as string;
  if (head === 'a') {
    const elem = type.slice(1);
    check(l.openContainer(m, code('a'), elem), `open array ${type}`);
    for (const item of value as DBusValue[]) append(l, m, elem, item);
    check(l.closeContainer(m), 'close array');
  } else if (head === '(') {
    const inner = type.slice(1, -1);
    const fields = completeTypes(inner);
    const items = value as DBusValue[];
    check(l.openContainer(m, code('r'), inner), `open struct ${type}`);
    fields.forEach((t, i) => append(l, m, t, items[i] as DBusValue));
    check(l.closeContainer(m), 'close struct');
  } else if (head === 'v') {
    const v = value as Variant;
    check(l.openContainer(m, code('v'), v.sig), `open variant ${v.sig}`);
    append(l, m, v.sig, v.value);
    check(l.closeContainer(m), 'close variant');
  } else {
    check(l.appendBasic(m, code(head), basicBytes(head, value)), `append ${head}`);
  }
}

/** A reply being read: the few reads the driver needs. */
export class Reply {
  constructor(private readonly l: Lib, private readonly m: Pointer) {}

  /** A string-like value (s, o, g) at the read position. */
  string(type: 's' | 'o' | 'g' = 's'): string {
    const p = Buffer.alloc(8);
    check(this.l.readBasic(this.m, code(type), p), `read ${type}`);
    return this.l.decodeString(p);
  }

  /** A uint64 at the read position. */
  uint64(): bigint {
    const p = Buffer.alloc(8);
    check(this.l.readBasic(this.m, code('t'), p), 'read t');
    return p.readBigUInt64LE();
  }

  /** Step into a variant holding `sig`. */
  enterVariant(sig: string): void {
    check(this.l.enterContainer(this.m, code('v'), sig), `enter variant ${sig}`);
  }
}

/** A connection to the system bus, or to the message bus at `address` (a user's bus). */
export class SystemBus {
  private bus: Pointer;
  private readonly l: Lib;

  constructor(address?: string) {
    this.l = load();
    const out: Pointer[] = [null];
    if (address === undefined) {
      const rc = this.l.openSystem(out) as number;
      if (rc < 0) throw new Error(`cannot connect to the system bus: ${errnoName(-rc)}`);
      this.bus = out[0];
      return;
    }
    check(this.l.busNew(out), 'new bus');
    this.bus = out[0];
    const steps: [string, () => unknown][] = [
      ['address', () => this.l.setAddress(this.bus, address)],
      ['bus client', () => this.l.setBusClient(this.bus, 1)],
      ['start', () => this.l.start(this.bus)],
    ];
    for (const [what, step] of steps) {
      const rc = step() as number;
      if (rc < 0) {
        this.close();
        throw new Error(`cannot connect to the user bus at ${address} (${what}): ${errnoName(-rc)}`);
      }
    }
  }

  /**
   * Call a method; `read` sees the reply while it is alive. A D-Bus error
   * reply throws a DBusError carrying the error's name.
   */
  call<T>(dest: string, path: string, iface: string, member: string, sig: string, args: DBusValue[], read: (r: Reply) => T = () => undefined as T, timeoutUs = 30_000_000): T {
    const l = this.l;
    const out: Pointer[] = [null];
    check(l.newMethodCall(this.bus, out, dest, path, iface, member), `${member}: new call`);
    const m = out[0];
    try {
      completeTypes(sig).forEach((t, i) => append(l, m, t, args[i] as DBusValue));
      const err = { name: null as string | null, message: null as string | null, need_free: 0 };
      const reply: Pointer[] = [null];
      // The error's strings belong to sd-bus; this short-lived process lets them go.
      const rc = l.call(this.bus, m, BigInt(timeoutUs), err, reply) as number;
      if (rc < 0) {
        if (err.name) throw new DBusError(err.name, `${member}: ${err.message ?? err.name}`);
        throw new Error(`${member}: ${errnoName(-rc)}`);
      }
      try {
        return read(new Reply(l, reply[0]));
      } finally {
        l.messageUnref(reply[0]);
      }
    } finally {
      l.messageUnref(m);
    }
  }

  close(): void {
    if (this.bus) this.l.busUnref(this.bus);
    this.bus = null;
  }
}
