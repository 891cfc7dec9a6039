import t from 'tap';
import { CAPABILITY_NAMES, capabilityNumber, NAMESPACE_TYPES, RLIMIT_NAMES, rlimitNumber } from '../../src/config/names.js';

t.test('capabilities are in kernel number order', async (t) => {
  t.equal(CAPABILITY_NAMES.length, 41);
  // spot checks against linux/capability.h
  const known: Record<string, number> = {
    CAP_CHOWN: 0,
    CAP_KILL: 5,
    CAP_SETPCAP: 8,
    CAP_NET_BIND_SERVICE: 10,
    CAP_NET_RAW: 13,
    CAP_SYS_CHROOT: 18,
    CAP_SYS_ADMIN: 21,
    CAP_SYS_RESOURCE: 24,
    CAP_MKNOD: 27,
    CAP_AUDIT_WRITE: 29,
    CAP_SETFCAP: 31,
    CAP_SYSLOG: 34,
    CAP_AUDIT_READ: 37,
    CAP_PERFMON: 38,
    CAP_BPF: 39,
    CAP_CHECKPOINT_RESTORE: 40,
  };
  for (const [name, n] of Object.entries(known)) {
    t.equal(capabilityNumber(name), n, name);
    t.equal(CAPABILITY_NAMES[n], name, `${name} at index ${n}`);
  }
  t.equal(new Set(CAPABILITY_NAMES).size, CAPABILITY_NAMES.length, 'no duplicates');
  t.equal(capabilityNumber('CAP_NOPE'), undefined);
  t.equal(capabilityNumber('cap_kill'), undefined, 'names are exact');
  t.equal(capabilityNumber('toString'), undefined, 'no prototype leaks');
});

t.test('rlimits carry the setrlimit resource numbers', async (t) => {
  t.equal(RLIMIT_NAMES.length, 16);
  const known: Record<string, number> = {
    RLIMIT_CPU: 0,
    RLIMIT_FSIZE: 1,
    RLIMIT_CORE: 4,
    RLIMIT_NPROC: 6,
    RLIMIT_NOFILE: 7,
    RLIMIT_MEMLOCK: 8,
    RLIMIT_AS: 9,
    RLIMIT_SIGPENDING: 11,
    RLIMIT_RTPRIO: 14,
    RLIMIT_RTTIME: 15,
  };
  for (const [name, n] of Object.entries(known)) t.equal(rlimitNumber(name), n, name);
  t.equal(rlimitNumber('RLIMIT_NOPE'), undefined);
});

t.test('namespace types', async (t) => {
  t.same([...NAMESPACE_TYPES].sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
});
