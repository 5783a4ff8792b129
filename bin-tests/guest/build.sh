#!/bin/sh
# Builds the tiny Linux guest the instance tests boot, from Debian packages
# only: the Debian cloud kernel (NVMe and ext4 built in, the CD-ROM and
# virtio-net drivers as modules) and a root tree of busybox-static, with
# dropbear for SSH and an init that runs /etc/rc.local, as a distribution
# would. No root privileges are needed; the result is cached.
#
#   OUT/vmlinuz   the kernel (boot it with -kernel, root=/dev/nvme0n1)
#   OUT/rootfs/   the root tree, for `stratus-create-image --from-dir`
#
# usage: build.sh OUT
set -eu
out=$1
[ -f "$out/.complete" ] && exit 0
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

for tool in busybox dropbear apt-get dpkg-deb; do
    command -v "$tool" > /dev/null 2>&1 || {
        echo "build.sh: $tool is missing (Debian: busybox-static, dropbear-bin, apt, dpkg)" >&2
        exit 1
    }
done

# The kernel: the package the cloud kernel's metapackage depends on.
package=$(apt-cache depends linux-image-cloud-amd64 2> /dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
[ -n "$package" ] || {
    echo "build.sh: linux-image-cloud-amd64 is unknown to apt: run apt-get update" >&2
    exit 1
}
(cd "$work" && apt-get download -q "$package" > /dev/null 2>&1) || {
    echo "build.sh: apt-get download $package failed" >&2
    exit 1
}
dpkg-deb -x "$work"/"$package"_*.deb "$work/kernel"
version=$(ls "$work/kernel/lib/modules")
cp "$work/kernel/boot/vmlinuz-$version" "$work/vmlinuz"

root=$work/rootfs
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/run" "$root/tmp" \
    "$root/etc/init.d" "$root/root" "$root/var/log" "$root/mnt" "$root/lib" "$root/usr"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
ln -s bin "$root/sbin"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"

# busybox, with a link for each applet.
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in $(busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# The drivers of the CD-ROM (PIIX IDE), ISO 9660 and virtio-net.
modules=$root/lib/modules/$version
mkdir -p "$modules"
cp "$work/kernel/lib/modules/$version/modules.order" \
    "$work/kernel/lib/modules/$version/modules.builtin" "$modules/"
for module in drivers/ata/libata drivers/ata/ata_piix drivers/scsi/scsi_common \
    drivers/scsi/scsi_mod drivers/scsi/sr_mod drivers/cdrom/cdrom fs/isofs/isofs \
    drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_pci \
    drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev \
    net/core/failover drivers/net/net_failover drivers/net/virtio_net; do
    [ -f "$work/kernel/lib/modules/$version/kernel/$module.ko" ] || continue
    mkdir -p "$modules/kernel/$(dirname "$module")"
    cp "$work/kernel/lib/modules/$version/kernel/$module.ko" "$modules/kernel/$module.ko"
done
busybox depmod -b "$root" "$version"

# dropbear and the shared libraries it links.
cp "$(command -v dropbear)" "$root/bin/dropbear"
for library in $(ldd "$(command -v dropbear)" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
    mkdir -p "$root$(dirname "$library")"
    cp -L "$library" "$root$library"
done
mkdir -p "$root/etc/dropbear"

# Accounts: root with an empty password field, so that a randomised one
# shows; the shell is busybox's.
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root::19000:0:99999:7:::\n' > "$root/etc/shadow"
chmod 600 "$root/etc/shadow"
printf 'root:x:0:\n' > "$root/etc/group"
printf '/bin/sh\n' > "$root/etc/shells"
printf 'tiny\n' > "$root/etc/hostname"
# What a distribution says of itself: libguestfs's inspection (the
# virt-customize path of create-image) recognises a Linux root by /etc with
# /etc/hosts or /etc/fstab, and reads its name from /etc/os-release.
printf '127.0.0.1 localhost\n' > "$root/etc/hosts"
printf 'NAME="Tiny test guest"\nID=tiny\nVERSION_ID=1\nPRETTY_NAME="Tiny test guest 1"\n' \
    > "$root/etc/os-release"

# init: busybox's, with a start script that loads the drivers and then runs
# /etc/rc.local as distributions do.
cat > "$root/etc/inittab" << 'INITTAB'
::sysinit:/etc/init.d/rcS
::shutdown:/bin/umount -a -r
INITTAB
cat > "$root/etc/init.d/rcS" << 'RCS'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2> /dev/null
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t tmpfs run /run
mount -o remount,rw /
for module in ata_piix sr_mod isofs virtio_pci virtio_net; do
    modprobe "$module" 2> /dev/null
done
hostname -F /etc/hostname
ip link set lo up
echo "tiny: started"
if [ -x /etc/rc.local ]; then
    /etc/rc.local
fi
for marker in /etc/stratus-test-*; do
    [ -f "$marker" ] && echo "tiny: $(basename "$marker"): $(cat "$marker")"
done
echo "tiny: ready"
RCS
chmod 755 "$root/etc/init.d/rcS"
cat > "$root/etc/rc.local" << 'RCLOCAL'
#!/bin/sh
exit 0
RCLOCAL
chmod 755 "$root/etc/rc.local"

rm -rf "$out/rootfs"
mv "$work/vmlinuz" "$out/vmlinuz"
mv "$root" "$out/rootfs"
echo "$version" > "$out/.complete"
