#!/bin/sh
# Sets up a fresh Debian (bookworm) machine with Node 20 for Veilport: system packages
# (GStreamer, build tools for the native runner, mosquitto and chromium for the tests,
# Korean fonts for printed reports), npm
# packages, the native runner, the TypeScript build, models and sample photos.
# Idempotent: run it as often as you like.
set -eu
cd "$(dirname "$0")/.."

# The Debian packages: scripts/debian-packages.txt, one per line with why
# (tests/appliance/packages.test.ts checks it against the GStreamer elements the code names).
PACKAGES=$(sed -e 's/#.*//' scripts/debian-packages.txt | tr -s ' \t\n' '   ')
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages:$missing"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# onnxruntime-node's postinstall downloads GPU binaries from a host we cannot reach;
# its CPU binaries ship inside the package.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
node scripts/fetch-models.mjs
node scripts/fetch-fixtures.mjs
echo "setup: done"
