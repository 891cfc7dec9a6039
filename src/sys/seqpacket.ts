// A SOCK_SEQPACKET socket pair: CRIU's RPC service (`criu swrk`) reads and
// writes one protobuf message per packet, so message boundaries must survive.
import { lastErrno, libc } from './libc.js';
import { SysError } from './errors.js';
import { AF_UNIX, SOCK_CLOEXEC } from './constants.js';

const SOCK_SEQPACKET = 5;

/** Two connected close-on-exec SOCK_SEQPACKET sockets. */
export function seqpacketPair(): [number, number] {
  const fds = [0, 0];
  if (Number(libc().socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds)) < 0) throw new SysError('socketpair', lastErrno());
  return [fds[0] as number, fds[1] as number];
}
