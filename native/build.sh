#!/bin/sh
# Builds the GStreamer runner (native/gst-run.c) into build/gst-run and the system
# helper (native/veilport-sys.c) into build/veilport-sys.
# Needs: gcc, pkg-config, libgstreamer1.0-dev (installed by scripts/setup.sh).
set -eu
cd "$(dirname "$0")/.."
mkdir -p build
cc -O2 -Wall -Wextra -o build/gst-run native/gst-run.c $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-app-1.0)
# System calls Node cannot make: sd_notify datagrams, a test listener, adjtimex (libc only).
cc -O2 -Wall -Wextra -o build/veilport-sys native/veilport-sys.c
