#!/usr/bin/env bash
# The quick start's container: build the busybox rootfs if needed, then run
# bundles/busybox with a private state root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$top/bundles/busybox/rootfs/bin/busybox" ] || bash "$top/bundles/build-rootfs.sh" "$top/bundles/busybox/rootfs"
exec "$top/bin/ocirun" run --bundle "$top/bundles/busybox" "demo-$$"
