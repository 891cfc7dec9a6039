// The config `ocirun spec` writes: a small, locked-down busybox-style
// container, the same content `runc spec` produces (so tools and docs that
// start from runc's template behave the same), with our version and name.
import type { Mount, Spec } from './types.js';
import { OCI_VERSION } from './version.js';

const NOSUID_NOEXEC_NODEV = ['nosuid', 'noexec', 'nodev'];

export function defaultSpec(opts: { rootless: boolean }): Spec {
  // A few capabilities a shell needs for ordinary work; everything else off.
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  // Rootless: there is no host root to map and no right to make a sysfs
  // instance or to own a network namespace's devices, so /sys is bound from
  // the host, devpts gets no gid=5 (tty may be unmapped), and the container
  // gets a user namespace mapping its root to the caller.
  const sys: Mount = opts.rootless
    ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', ...NOSUID_NOEXEC_NODEV, 'ro'] }
    : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: [...NOSUID_NOEXEC_NODEV, 'ro'] };
  const devptsOptions = ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'];
  if (!opts.rootless) devptsOptions.push('gid=5');

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps], ambient: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'ocirun',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: devptsOptions },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: [...NOSUID_NOEXEC_NODEV, 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: [...NOSUID_NOEXEC_NODEV] },
      sys,
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: [...NOSUID_NOEXEC_NODEV, 'relatime', 'ro'] },
    ],
    linux: {},
  };

  const linux = spec.linux as NonNullable<Spec['linux']>;
  if (opts.rootless) {
    const uid = process.geteuid?.() ?? 0;
    const gid = process.getegid?.() ?? 0;
    linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
    linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
    linux.namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }];
  } else {
    // Deny every device by default; the runtime adds the standard ones.
    linux.resources = { devices: [{ allow: false, access: 'rwm' }] };
    linux.namespaces = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  }
  linux.maskedPaths = [
    '/proc/acpi',
    '/proc/asound',
    '/proc/kcore',
    '/proc/keys',
    '/proc/latency_stats',
    '/proc/timer_list',
    '/proc/timer_stats',
    '/proc/sched_debug',
    '/sys/firmware',
    '/proc/scsi',
  ];
  linux.readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
  return spec;
}
