#!/bin/sh
# Boot benchmark: the time from starting `stratus-run-instance` on a local
# signed-or-draft metadata file to the guest's first context line on its
# console, next to booting the same kind of overlay with a hand-written
# QEMU command line (same kernel, disk bus, CD and TCG), in the same run.
# Each measure is repeated RUNS times (default 3), one boot at a time.
#
# usage: instance.sh BIN_DIR OUT_DIR
set -eu
bin=$(cd "${1:-target/release}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-bench-out}/instance
runs=${RUNS:-3}
mkdir -p "$out"
cd "$out"
sh "$repo/bin-tests/guest/build.sh" guest
append="root=/dev/nvme0n1 rw console=ttyS0 quiet panic=-1"
"$bin/stratus-create-image" -q --from-dir guest/rootfs --prepare -o tiny.img \
    --location tiny.img > tiny.xml
export STRATUS_STATE_DIR="$PWD/instances"

now() { date +%s.%N; }
# Wait for the first context line in $1; print the seconds since $2.
wait_line() {
    until grep -q '^stratus-context: context CD' "$1" 2> /dev/null; do sleep 0.05; done
    awk -v end="$(now)" -v start="$2" 'BEGIN { printf "%.2f\n", end - start }'
}

i=0
while [ $i -lt "$runs" ]; do
    i=$((i + 1))
    start=$(now)
    "$bin/stratus-run-instance" -q tiny.xml --accel tcg --ram 256 --vm-disks-bus nvme \
        --kernel guest/vmlinuz --append "$append" --hostname bench > /dev/null
    printf 'stratus-run-instance  run %s: %s s\n' "$i" "$(wait_line instances/1/console.log "$start")"
    cp instances/1/context.iso hand-context.iso
    "$bin/stratus-kill-instance" 1 > /dev/null 2>&1

    rm -f hand.qcow2 hand.log
    start=$(now)
    qemu-img create -q -f qcow2 -F raw -b "$PWD/tiny.img" hand.qcow2
    qemu-system-x86_64 -machine pc -accel tcg -cpu max -m 256M -nodefaults -display none \
        -serial file:hand.log -drive file=hand.qcow2,format=qcow2,if=none,id=d0 \
        -device nvme,drive=d0,serial=s0 \
        -drive file=hand-context.iso,format=raw,media=cdrom,if=none,id=cd0,readonly=on \
        -device ide-cd,drive=cd0,bus=ide.1,unit=0 \
        -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 \
        -kernel guest/vmlinuz -append "$append" -pidfile hand.pid -daemonize
    printf 'hand-written qemu      run %s: %s s\n' "$i" "$(wait_line hand.log "$start")"
    kill "$(cat hand.pid)"
    sleep 1
done
