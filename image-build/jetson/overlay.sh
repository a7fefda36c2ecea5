#!/bin/sh
# Puts Veilport onto an NVIDIA Jetson Linux (L4T) root filesystem: the sample rootfs of
# the BSP before flashing (Linux_for_Tegra/rootfs, on the x86 flashing host), or a
# running Jetson (ROOTFS=/). Everything is done from the host side (systemctl --root,
# systemd-sysusers --root): no arm64 emulation needed.
#
#   sudo ROOTFS=~/Linux_for_Tegra/rootfs APP=/path/to/veilport-arm64 sh image-build/jetson/overlay.sh
#
# APP is a Veilport tree prepared ON AN ARM64 MACHINE (the Jetson itself, or any
# aarch64 Debian/Ubuntu): `npm ci --omit=dev && npm run build` there, so that
# node_modules holds the linux-arm64 binaries of onnxruntime-node and lmdb and
# build/gst-run and build/veilport-sys are aarch64 programs. NODE is an arm64 Node 20
# binary (default $APP/node, e.g. from nodejs.org's linux-arm64 tarball).
#
# The GStreamer elements of the jetson profile (nvv4l2decoder, nvvidconv,
# nvv4l2h264enc) come from L4T (nvidia-l4t-gstreamer, installed in the BSP rootfs);
# Debian/Ubuntu's gstreamer1.0-plugins-base/-good/-bad and -libav are still needed for
# demuxers, parsers and the software fallback:
#   apt-get install gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
#     gstreamer1.0-plugins-bad gstreamer1.0-libav mosquitto-clients cage chromium-browser
# The profile is chosen automatically (jetson ranks above every other) once
# `veilport probe` finds the elements and its test run passes.
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOTFS=${ROOTFS:?set ROOTFS to the L4T root filesystem (or / on the Jetson)}
APP=${APP:?set APP to a Veilport tree built on arm64 (see the header)}
NODE=${NODE:-$APP/node}
die() { printf 'jetson-overlay: error: %s\n' "$*" >&2; exit 2; }
[ -d "$ROOTFS/etc" ] || die "$ROOTFS does not look like a root filesystem"
[ -f "$APP/dist/cli/main.js" ] || die "$APP/dist is missing: npm run build in APP"
if [ -z "${ALLOW_FOREIGN:-}" ]; then
  file "$APP/build/gst-run" 2>/dev/null | grep -q aarch64 || die "$APP/build/gst-run is not an aarch64 program: build APP on arm64"
  [ -d "$APP/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64" ] || die "onnxruntime-node has no linux/arm64 binaries in APP"
  file "$NODE" 2>/dev/null | grep -q aarch64 || die "NODE=$NODE is not an aarch64 Node 20 binary"
fi
[ -e "$ROOTFS/usr/lib/aarch64-linux-gnu/gstreamer-1.0/libgstnvvideo4linux2.so" ] || [ -n "${ALLOW_FOREIGN:-}" ] ||
  echo "jetson-overlay: warning: L4T's nvvideo4linux2 plugin is not in $ROOTFS; the jetson profile will not be usable (install nvidia-l4t-gstreamer)"

echo "jetson-overlay: /opt/veilport"
rm -rf "$ROOTFS/opt/veilport"
mkdir -p "$ROOTFS/opt/veilport/models"
for p in package.json bin dist pipelines docs README.md build node_modules; do cp -a "$APP/$p" "$ROOTFS/opt/veilport/"; done
cp -a "$APP/models/manifest.json" "$APP/models/files" "$ROOTFS/opt/veilport/models/"
install -m 0755 "$NODE" "$ROOTFS/usr/bin/node"
printf '#!/bin/sh\nexec /usr/bin/node /opt/veilport/bin/veilport.js "$@"\n' >"$ROOTFS/usr/local/bin/veilport"
chmod 0755 "$ROOTFS/usr/local/bin/veilport"

echo "jetson-overlay: units, users, directories"
mkdir -p "$ROOTFS/etc/systemd/system/veilport.service.d" "$ROOTFS/usr/lib/sysusers.d" "$ROOTFS/usr/lib/tmpfiles.d" "$ROOTFS/etc/veilport" "$ROOTFS/etc/pam.d" "$ROOTFS/etc/polkit-1/rules.d"
install -m 0644 "$REPO"/systemd/*.service "$ROOTFS/etc/systemd/system/"
install -m 0644 "$REPO/systemd/veilport-jetson.conf" "$ROOTFS/etc/systemd/system/veilport.service.d/20-jetson.conf"
install -m 0644 "$REPO/systemd/veilport.sysusers" "$ROOTFS/usr/lib/sysusers.d/veilport.conf"
install -m 0644 "$REPO/systemd/veilport.tmpfiles" "$ROOTFS/usr/lib/tmpfiles.d/veilport.conf"
install -m 0644 "$REPO/image-build/overlay/etc/pam.d/veilport-kiosk" "$ROOTFS/etc/pam.d/veilport-kiosk"
install -m 0644 "$REPO/image-build/overlay/etc/polkit-1/rules.d/50-veilport-kiosk.rules" "$ROOTFS/etc/polkit-1/rules.d/"
[ -f "$ROOTFS/etc/veilport/veilport.json" ] || install -m 0640 "$REPO/image-build/overlay/etc/veilport/veilport.json" "$ROOTFS/etc/veilport/veilport.json"
# Ubuntu (L4T) names the browser chromium-browser.
[ -x "$ROOTFS/usr/bin/chromium" ] || [ ! -x "$ROOTFS/usr/bin/chromium-browser" ] || ln -sf chromium-browser "$ROOTFS/usr/bin/chromium"
systemd-sysusers --root="$ROOTFS" "$ROOTFS/usr/lib/sysusers.d/veilport.conf"
systemd-tmpfiles --root="$ROOTFS" --create "$ROOTFS/usr/lib/tmpfiles.d/veilport.conf" || true
systemctl --root="$ROOTFS" enable veilport.service veilport-setup.service veilport-kiosk.service

echo "jetson-overlay: first boot armed"
rm -rf "$ROOTFS/var/lib/veilport/keys" "$ROOTFS/var/lib/veilport/db" "$ROOTFS/var/lib/veilport/.provisioned"
echo "jetson-overlay: done. Flash as usual (sudo ./flash.sh <board> internal); on first boot veilport-setup prints the token on the console."
