#!/usr/bin/env bash
# Build a minimal root filesystem from the static busybox in busybox-static:
# one binary, a symlink per applet, and the few files a shell expects.
# Usage: bundles/build-rootfs.sh DEST   (DEST is created; an existing one is rebuilt)
set -euo pipefail
dest=${1:?usage: build-rootfs.sh DEST}
busybox=${BUSYBOX:-/bin/busybox}
linkage=$(LC_ALL=C ldd "$busybox" 2>&1 || true)
if ! [ -x "$busybox" ] || [[ $linkage != *"not a dynamic executable"* ]]; then
  echo "build-rootfs: $busybox is not a static busybox (apt-get install busybox-static)" >&2
  exit 1
fi
rm -rf "$dest"
mkdir -p "$dest"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var,run}
chmod 1777 "$dest/tmp"
cp "$busybox" "$dest/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dest/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dest/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dest/etc/group"
: >"$dest/etc/hosts"
: >"$dest/etc/resolv.conf"
