#!/bin/sh
# Assembles a bootable raw disk image (GPT, UEFI, amd64) from the root filesystem that
# build-rootfs.sh made, without loop devices or mounts:
#
#   p1  ESP, FAT32, 256 MiB, label VP-BOOT: GRUB as EFI/BOOT/BOOTX64.EFI (standalone,
#       config embedded), an example provisioning file. The installer drops
#       veilport-provision.json here (any PC can write FAT) before the first boot.
#   p2  ext4, label veilport-root: the root filesystem (mke2fs -d). It is sized to its
#       content plus room; on the first boot systemd-repart grows the partition to the
#       disk and systemd-growfs the file system (x-systemd.growfs in /etc/fstab).
#
# CI-optional, as root or not:   sh image-build/make-disk.sh   -> image-build/out/veilport-amd64.img
# Needs on the build host: e2fsprogs fdisk dosfstools mtools (apt-get install ...).
# Flash:  dd if=veilport-amd64.img of=/dev/sdX bs=4M conv=fsync status=progress
# Try:    qemu-system-x86_64 -enable-kvm -m 2048 -bios /usr/share/OVMF/OVMF_CODE.fd -drive file=veilport-amd64.img,format=raw -nographic
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$REPO/image-build/out}
ROOT=$OUT/rootfs
IMG=${IMG:-$OUT/veilport-amd64.img}
log() { printf '%s make-disk: %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'make-disk: error: %s\n' "$*" >&2; exit 2; }
for t in mke2fs sfdisk mkfs.vfat mcopy mmd; do command -v $t >/dev/null || die "$t is missing (apt-get install e2fsprogs fdisk dosfstools mtools)"; done
[ -f "$ROOT/.veilport-base" ] && [ -d "$ROOT/opt/veilport" ] || die "no root filesystem at $ROOT: run image-build/build-rootfs.sh first"
awk '{print $2}' /proc/mounts | grep -q "^$ROOT/" && die "something is mounted under $ROOT; unmount it first"
T0=$(date +%s)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM

log "GRUB for UEFI (standalone, config embedded)"
cat >"$ROOT/tmp/grub.cfg" <<'EOF'
set timeout=1
search --no-floppy --label --set=root veilport-root
menuentry "Veilport" {
  linux /vmlinuz root=LABEL=veilport-root ro console=ttyS0,115200 console=tty1 quiet
  initrd /initrd.img
}
EOF
chroot "$ROOT" grub-mkstandalone -O x86_64-efi -o /tmp/BOOTX64.EFI --modules="part_gpt ext2 fat search search_label linux normal echo" "boot/grub/grub.cfg=/tmp/grub.cfg" ||
  die "grub-mkstandalone failed (is grub-efi-amd64-bin in image-build/packages.txt?)"
mv "$ROOT/tmp/BOOTX64.EFI" "$WORK/" && rm -f "$ROOT/tmp/grub.cfg"

log "ESP (FAT32, VP-BOOT)"
ESP_MB=256
mkfs.vfat -C -F 32 -n VP-BOOT "$WORK/esp.img" $((ESP_MB * 1024)) >/dev/null
mmd -i "$WORK/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$WORK/esp.img" "$WORK/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$WORK/esp.img" "$REPO/image-build/veilport-provision.example.json" ::/veilport-provision.example.json

SIZE_MB=$(du -sm --exclude=proc --exclude=sys "$ROOT" | cut -f1)
ROOT_MB=$(( SIZE_MB + SIZE_MB / 4 + 512 ))
log "root file system (ext4, veilport-root): $SIZE_MB MiB of content in $ROOT_MB MiB"
mke2fs -q -t ext4 -L veilport-root -d "$ROOT" -E root_owner=0:0 "$WORK/root.img" "${ROOT_MB}M"

log "disk image (GPT)"
TOTAL_MB=$(( 1 + ESP_MB + ROOT_MB + 1 ))
rm -f "$IMG"
truncate -s "${TOTAL_MB}M" "$IMG"
sfdisk -q "$IMG" <<EOF
label: gpt
start=1MiB, size=${ESP_MB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="VP-BOOT"
start=$((1 + ESP_MB))MiB, size=${ROOT_MB}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="veilport-root"
EOF
dd if="$WORK/esp.img" of="$IMG" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$WORK/root.img" of="$IMG" bs=1M seek=$((1 + ESP_MB)) conv=notrunc,sparse status=none
log "$IMG: $(du -h --apparent-size "$IMG" | cut -f1) ($(du -h "$IMG" | cut -f1) allocated), $(( $(date +%s) - T0 )) s"
