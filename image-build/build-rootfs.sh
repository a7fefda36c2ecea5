#!/bin/sh
# Builds the Veilport appliance root filesystem: amd64 Debian bookworm by debootstrap,
# Debian's GStreamer with the Intel VA plugins, Node 20, mosquitto clients, cage +
# Chromium for the touchscreen, Veilport with its models in /opt/veilport, the units
# installed and enabled, first boot armed (no keys, no machine id, no accounts).
#
# CI-optional: `npm test` never runs it. Run as root on a Debian/Ubuntu build host:
#
#   npm run build && sudo sh image-build/build-rootfs.sh            # -> image-build/out/rootfs
#   sudo sh image-build/make-disk.sh                                 # -> image-build/out/veilport-amd64.img
#   VEILPORT_IMAGE_TEST=1 npx tap tests/appliance/image.test.ts       # doctor + units, inside (chroot)
#
# Two stages: "base" (debootstrap + Debian packages, the slow part, kept while
# image-build/packages.txt and the mirror are unchanged) and "veilport" (the
# application, units and first-boot state, redone on every run).
#
# Environment: OUT (default image-build/out), MIRROR (default http://deb.debian.org/debian),
# VEILPORT_NODE (a Node 20 binary for linux-x64; default: this host's `node`),
# STAGE=base to stop after the base stage.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$REPO/image-build/out}
ROOT=$OUT/rootfs
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
STAGE=${STAGE:-all}

log() { printf '%s build-rootfs: %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'build-rootfs: error: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
mkdir -p "$OUT"
T0=$(date +%s)

# --- mounts for the chroot, always undone ------------------------------------------
mounted=""
mount_chroot() {
  for d in proc sys dev dev/pts; do mkdir -p "$ROOT/$d"; done
  mount -t proc proc "$ROOT/proc" && mounted="$ROOT/proc $mounted"
  mount -t sysfs sysfs "$ROOT/sys" && mounted="$ROOT/sys $mounted"
  mount --bind /dev "$ROOT/dev" && mounted="$ROOT/dev $mounted"
  mount --bind /dev/pts "$ROOT/dev/pts" && mounted="$ROOT/dev/pts $mounted"
}
umount_chroot() {
  for m in $mounted; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  mounted=""
}
trap umount_chroot EXIT INT TERM
no_mounts_under() {
  # Never delete a tree with /dev bound inside it.
  ! awk '{print $2}' /proc/mounts | grep -q "^$1/"
}
in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$ROOT" "$@"; }

# --- stage 1: base system ------------------------------------------------------------
PKGS=$(sed -e 's/#.*//' "$REPO/image-build/packages.txt" | tr -s ' \n\t' '   ' | sed 's/^ *//; s/ *$//')
STAMP=$(printf '%s|%s|%s' "$SUITE" "$MIRROR" "$PKGS" | sha256sum | cut -c1-16)
if [ "$(cat "$ROOT/.veilport-base" 2>/dev/null || true)" = "$STAMP" ]; then
  log "base stage is current ($STAMP), kept"
else
  no_mounts_under "$ROOT" || die "something is still mounted under $ROOT; unmount it first"
  rm -rf "$ROOT"
  mkdir -p "$OUT/debs"
  log "debootstrap $SUITE (minbase) from $MIRROR"
  t=$(date +%s)
  debootstrap --variant=minbase --arch=amd64 --cache-dir="$OUT/debs" "$SUITE" "$ROOT" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 ||
    { tail -20 "$OUT/debootstrap.log"; die "debootstrap failed (log: $OUT/debootstrap.log)"; }
  log "debootstrap took $(( $(date +%s) - t )) s"
  cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main non-free-firmware
deb $MIRROR $SUITE-updates main non-free-firmware
deb http://deb.debian.org/debian-security $SUITE-security main non-free-firmware
EOF
  # No service may start inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d" && chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$ROOT/etc/apt/apt.conf.d/90veilport"
  mount_chroot
  t=$(date +%s)
  log "installing $(echo "$PKGS" | wc -w) packages (and their dependencies)"
  in_root apt-get update -qq >"$OUT/apt.log" 2>&1
  # shellcheck disable=SC2086
  in_root apt-get install -y -q -o Dpkg::Use-Pty=0 $PKGS >>"$OUT/apt.log" 2>&1 ||
    { tail -30 "$OUT/apt.log"; die "apt-get install failed (log: $OUT/apt.log)"; }
  in_root apt-get clean
  rm -rf "$ROOT/var/lib/apt/lists/"*
  umount_chroot
  log "packages took $(( $(date +%s) - t )) s"
  echo "$STAMP" >"$ROOT/.veilport-base"
fi
[ "$STAGE" = base ] && { log "STAGE=base: done in $(( $(date +%s) - T0 )) s"; exit 0; }

# --- stage 2: Veilport ----------------------------------------------------------------
[ -f "$REPO/dist/cli/main.js" ] || die "dist/ is missing: run npm run build first"
[ -x "$REPO/build/gst-run" ] && [ -x "$REPO/build/veilport-sys" ] || die "build/gst-run or build/veilport-sys is missing: run npm run build:native"
NODE=${VEILPORT_NODE:-$(command -v node)}
NODE_VERSION=$("$NODE" --version)
case "$NODE_VERSION" in v20.*) ;; *) die "$NODE is $NODE_VERSION; the appliance runs Node 20 (set VEILPORT_NODE)";; esac
t=$(date +%s)
APP=$ROOT/opt/veilport
rm -rf "$APP"
mkdir -p "$APP/build" "$APP/models"
log "installing Veilport into /opt/veilport"
cp -a "$REPO/package.json" "$REPO/package-lock.json" "$REPO/README.md" "$REPO/bin" "$REPO/dist" "$REPO/pipelines" "$REPO/docs" "$APP/"
cp -a "$REPO/build/gst-run" "$REPO/build/veilport-sys" "$APP/build/"
cp -a "$REPO/models/manifest.json" "$APP/models/"
if [ -d "$REPO/models/files" ]; then cp -a "$REPO/models/files" "$APP/models/"; else log "warning: models/files is missing (npm run setup:models); the doctor will say so"; fi
# Production dependencies only, and only this platform's onnxruntime binaries.
cp -a "$REPO/node_modules" "$APP/node_modules"
(cd "$APP" && npm prune --omit=dev --offline --no-audit --no-fund >/dev/null 2>&1) || die "npm prune failed"
find "$APP/node_modules/onnxruntime-node/bin" -mindepth 2 -maxdepth 3 -type d \( -path '*/darwin' -o -path '*/win32' -o -path '*/linux/arm64' \) -prune -exec rm -rf {} + 2>/dev/null || true
find "$APP/node_modules" -type d -empty -delete
chown -R root:root "$APP"
chmod -R u=rwX,go=rX "$APP"
install -m 0755 "$NODE" "$ROOT/usr/bin/node"
printf '#!/bin/sh\nexec /usr/bin/node /opt/veilport/bin/veilport.js "$@"\n' >"$ROOT/usr/local/bin/veilport"
chmod 0755 "$ROOT/usr/local/bin/veilport"

log "installing units, users, directories"
install -m 0644 "$REPO"/systemd/*.service "$ROOT/usr/lib/systemd/system/"
install -D -m 0644 "$REPO/systemd/veilport.sysusers" "$ROOT/usr/lib/sysusers.d/veilport.conf"
install -D -m 0644 "$REPO/systemd/veilport.tmpfiles" "$ROOT/usr/lib/tmpfiles.d/veilport.conf"
install -D -m 0644 "$REPO/image-build/overlay/etc/pam.d/veilport-kiosk" "$ROOT/etc/pam.d/veilport-kiosk"
install -D -m 0644 "$REPO/image-build/overlay/etc/polkit-1/rules.d/50-veilport-kiosk.rules" "$ROOT/etc/polkit-1/rules.d/50-veilport-kiosk.rules"
install -D -m 0644 "$REPO/image-build/overlay/etc/systemd/network/80-wired.network" "$ROOT/etc/systemd/network/80-wired.network"
install -D -m 0644 "$REPO/image-build/overlay/etc/fstab" "$ROOT/etc/fstab"
mkdir -p "$ROOT/etc/veilport"
[ -f "$ROOT/etc/veilport/veilport.json" ] || install -m 0640 "$REPO/image-build/overlay/etc/veilport/veilport.json" "$ROOT/etc/veilport/veilport.json"
# First boot grows the root partition to the disk (systemd-repart) and its file system (growfs).
install -D -m 0644 "$REPO/image-build/overlay/usr/lib/repart.d/50-root.conf" "$ROOT/usr/lib/repart.d/50-root.conf"
mkdir -p "$ROOT/etc/systemd/system/sysinit.target.wants"
ln -sf /usr/lib/systemd/system/systemd-repart.service "$ROOT/etc/systemd/system/sysinit.target.wants/systemd-repart.service"
echo veilport >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tveilport\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
ln -sf /usr/share/zoneinfo/Asia/Seoul "$ROOT/etc/localtime" && echo Asia/Seoul >"$ROOT/etc/timezone"

mount_chroot
in_root systemd-sysusers >/dev/null
in_root chgrp veilport /etc/veilport/veilport.json
in_root systemd-tmpfiles --create /usr/lib/tmpfiles.d/veilport.conf >/dev/null 2>&1 || true
in_root systemctl enable veilport.service veilport-setup.service veilport-kiosk.service systemd-networkd.service systemd-timesyncd.service >/dev/null 2>&1
in_root systemctl set-default graphical.target >/dev/null 2>&1
# getty on tty1 stays for the console banner; the kiosk takes tty7.
umount_chroot

log "arming first boot"
# A fresh identity on every box: machine id, appliance keys, accounts and the
# provisioning marker are made on the box by veilport-setup.service, never baked in.
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
rm -rf "$ROOT/var/lib/veilport/keys" "$ROOT/var/lib/veilport/db" "$ROOT/var/lib/veilport/.provisioned" "$ROOT/var/lib/veilport/.bootstrap-token-boot"
# No default password: root stays locked (console recovery is single-user mode).
in_root passwd -l root >/dev/null 2>&1 || true
cat >"$APP/IMAGE-INFO" <<EOF
built: $(date -u +%Y-%m-%dT%H:%M:%SZ)
debian: $SUITE ($(cat "$ROOT/etc/debian_version")) from $MIRROR, base stage $STAMP
node: $NODE_VERSION (from $NODE)
veilport: $(node -p "require('$REPO/package.json').version") ($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown))
gstreamer: $(in_root dpkg-query -W -f='${Version}' gstreamer1.0-tools 2>/dev/null || echo unknown)
EOF
log "veilport stage took $(( $(date +%s) - t )) s"
log "rootfs $ROOT: $(du -sh --exclude=proc --exclude=sys --exclude=dev "$ROOT" | cut -f1), total $(( $(date +%s) - T0 )) s"
