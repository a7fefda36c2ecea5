#!/bin/sh
# Boots the disk image in QEMU (copy-on-write, the image stays pristine) with a real
# systemd, and checks the first boot end to end: veilport-setup.service provisions the
# box and prints the token, veilport.service reaches READY (Type=notify) inside its
# sandbox and keeps its watchdog fed for two minutes without a restart, the doctor runs
# as root on the booted box. The kernel and initrd come from the root filesystem and
# are booted directly (faster than firmware + GRUB; make-disk.sh's GRUB path is the
# one a real box uses).
#
# CI-optional (minutes under TCG emulation):  sh image-build/boot-test.sh
# Needs: qemu-system-x86_64, qemu-img.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$REPO/image-build/out}
IMG=${IMG:-$OUT/veilport-amd64.img}
ROOT=$OUT/rootfs
LOG=${LOG:-$OUT/boot-test.log}
WAIT=${WAIT:-120}
die() { printf 'boot-test: error: %s\n' "$*" >&2; exit 2; }
[ -f "$IMG" ] || die "no disk image at $IMG (image-build/make-disk.sh)"
command -v qemu-system-x86_64 >/dev/null && command -v qemu-img >/dev/null || die "qemu-system-x86_64 and qemu-img are needed (apt-get install qemu-system-x86 qemu-utils)"
KERNEL=$(ls "$ROOT"/boot/vmlinuz-* | tail -1)
INITRD=$(ls "$ROOT"/boot/initrd.img-* | tail -1)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM
qemu-img create -q -f qcow2 -b "$IMG" -F raw "$WORK/disk.qcow2" 8G

# What runs once the box is up: wait, then report what systemd and the doctor say, power off.
# systemd.run makes kernel-command-line.service; systemd.wants pulls it in beside the
# normal boot (the image's default.target in /etc wins over the generator's).
PROBE="sleep $WAIT; systemctl show veilport.service -p ActiveState -p SubState -p NRestarts -p StatusText -p WatchdogUSec -p Result; systemctl show veilport-setup.service -p Result; systemctl is-active veilport-kiosk.service; veilport doctor --brief; echo BOOT-TEST-DONE"
# TCG by default (works anywhere, ~5 min); ACCEL="-accel kvm -cpu host" where KVM works.
ACCEL=${ACCEL:--accel tcg -cpu max}
T0=$(date +%s)
timeout $((WAIT + 600)) qemu-system-x86_64 $ACCEL -smp 2 -m 2048 -no-reboot \
  -kernel "$KERNEL" -initrd "$INITRD" \
  -append "root=LABEL=veilport-root ro console=ttyS0,115200 systemd.journald.forward_to_console=1 systemd.run=\"/bin/sh -c '$PROBE'\" systemd.wants=kernel-command-line.service systemd.run_success_action=poweroff systemd.run_failure_action=poweroff" \
  -drive file="$WORK/disk.qcow2",format=qcow2,if=virtio -nic user,model=virtio-net-pci \
  -serial file:"$LOG" -display none -monitor none || true
T=$(( $(date +%s) - T0 ))
tr -d '\r' <"$LOG" >"$LOG.txt"
fail=0
check() { if grep -qE "$2" "$LOG.txt"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
check "first boot ran and printed a token" 'one-time setup token'
check "setup finished" 'Finished veilport-setup.service'
check "veilport.service started (READY=1 received)" 'Started veilport.service'
check "still running after ${WAIT} s" 'ActiveState=active'
check "never restarted (watchdog fed)" 'NRestarts=0'
check "status line from the daemon" 'StatusText=serving http://127.0.0.1:8080'
check "watchdog armed" 'WatchdogUSec=30s'
check "doctor ran on the booted box" 'veilport doctor on veilport'
check "probe finished" '\]: BOOT-TEST-DONE'
if grep -q 'Watchdog timeout' "$LOG.txt"; then echo "FAIL a watchdog timeout was logged"; fail=1; fi
echo "boot-test: $T s ($ACCEL), serial log $LOG.txt"
exit $fail
