#!/usr/bin/env bash
# The systemd VM's disk: Debian 12 (minbase) with systemd as PID 1, D-Bus,
# podman, containerd and CRIU with iptables (podman checkpoint/restore; CRIU
# locks the network with iptables-restore) from Debian's
# packages, the kernel's modules, and a
# unit that runs the host's payload once the system is up. Called by
# test/vm/run with CACHE set; writes $CACHE/rootfs.ext4 (a sparse 3 GB file).
set -euo pipefail
CACHE=${CACHE:?}
R=$CACHE/rootfs
KVER=$(cat "$CACHE/kver")
MIRROR=${OCIVM_MIRROR:-http://deb.debian.org/debian}
rm -rf "$R"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,dbus-user-session,kmod,procps,iproute2,podman,netavark,containerd,catatonit,criu,iptables \
  bookworm "$R" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*_Packages
# Modules: filesystems, networking and virtio, not the whole 400 MB tree.
M=$CACHE/kroot/lib/modules/$KVER
mkdir -p "$R/lib/modules/$KVER/kernel/drivers"
for d in fs net lib crypto arch drivers/virtio drivers/block drivers/char drivers/net; do
  mkdir -p "$R/lib/modules/$KVER/kernel/$(dirname "$d")"
  cp -a "$M/kernel/$d" "$R/lib/modules/$KVER/kernel/$d"
done
cp "$M"/modules.{builtin,builtin.modinfo,order} "$R/lib/modules/$KVER/"
chroot "$R" depmod "$KVER"
echo ocivm > "$R/etc/hostname"
: > "$R/etc/fstab"
# No gettys: agetty's vhangup() on ttyS0 would hang up the payload's output.
ln -sf /dev/null "$R/etc/systemd/system/getty@tty1.service"
ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
# Rootless (checks.ts rootlessUserChecks): a user whose systemd manager runs
# from boot (linger) and delegates memory and pids, with its user bus.
chroot "$R" useradd --create-home --uid 1100 --shell /bin/sh ocivm
mkdir -p "$R/var/lib/systemd/linger" "$R/etc/systemd/system/user@.service.d"
touch "$R/var/lib/systemd/linger/ocivm"
printf '[Service]\nDelegate=memory pids\n' > "$R/etc/systemd/system/user@.service.d/delegate.conf"
# podman: the systemd cgroup manager (its default), ocirun as the runtime,
# images from a local directory only (the VM has no network).
mkdir -p "$R/etc/containers"
cat > "$R/etc/containers/containers.conf" <<'CONF'
[engine]
cgroup_manager = "systemd"
events_logger = "file"
runtime = "ocirun"
[engine.runtimes]
ocirun = ["/usr/local/bin/ocirun"]
[network]
default_rootless_network_cmd = "slirp4netns"
CONF
# vfs: no overlay module games for a 1 MB test image.
cat > "$R/etc/containers/storage.conf" <<'CONF'
[storage]
driver = "vfs"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
CONF
cat > "$R/usr/local/sbin/ocivm-payload" <<'PAYLOAD'
#!/bin/sh
# Mount the host's shares (project read-write at its own path, the command
# read-only), run the command, report its status on the console, power off.
for w in $(cat /proc/cmdline); do case "$w" in ocivm_work=*) work=${w#ocivm_work=} ;; esac; done
o=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /run/ocivm "$work"
mount -t 9p -o $o,ro ctl /run/ocivm && mount -t 9p -o $o,cache=loose work "$work" || { echo "OCIVM_EXIT=93"; exit 93; }
ln -sf "$work/bin/ocirun" /usr/local/bin/ocirun
systemctl is-system-running --wait > /dev/null
cd "$work" && HOME=/root /run/ocivm/cmd.sh
PAYLOAD
chmod 755 "$R/usr/local/sbin/ocivm-payload"
cat > "$R/etc/systemd/system/ocivm-payload.service" <<'UNIT'
[Unit]
Description=ocirun VM tier payload
After=multi-user.target dbus.service
Wants=dbus.service
[Service]
# simple, not oneshot: the boot must finish ("running") while it runs
Type=simple
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStart=/usr/local/sbin/ocivm-payload
ExecStopPost=/bin/sh -c 'echo "OCIVM_EXIT=$EXIT_STATUS" > /dev/ttyS0; systemctl --no-block poweroff'
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/ocivm-payload.service "$R/etc/systemd/system/multi-user.target.wants/ocivm-payload.service"
rm -f "$CACHE/rootfs.ext4"
truncate -s 3G "$CACHE/rootfs.ext4"
mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 -d "$R" "$CACHE/rootfs.ext4"
rm -rf "$R"
