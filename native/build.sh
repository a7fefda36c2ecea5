#!/bin/sh
# Builds the GStreamer runner (native/gst-run.c) into build/gst-run.
# Needs: gcc, pkg-config, libgstreamer1.0-dev (installed by scripts/setup.sh).
set -eu
cd "$(dirname "$0")/.."
mkdir -p build
cc -O2 -Wall -Wextra -o build/gst-run native/gst-run.c $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-app-1.0)
