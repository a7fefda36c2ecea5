#!/bin/sh
# fresh-check: the README's two commands on a really fresh Debian bookworm machine.
#
# A minimal root is made with debootstrap from Debian's registry (the bare base is
# cached outside the repo, never what setup installs), Node 20 is copied in as the
# image recipe does, the commit under test (HEAD of this checkout) is cloned into it,
# and inside that root, as a newcomer would:
#   1. sh scripts/setup.sh && node bin/veilport.js demo    then veilport verify on the demo package
#   2. sh scripts/setup.sh && npm test
# A green result says: a machine that has never seen this project gets everything the
# code and its tests use from setup.sh alone; nothing left over from work by hand on
# the host counts. Uncommitted changes are not part of the check.
#
# Run as root (debootstrap, mount and chroot need it): `npm run fresh-check`; CI runs
# it from .ci/run. The exit code is the tests' exit code (2 when the root cannot be made
# or a stage before the tests fails). It never falls back to running on the host.
#
# Environment: VEILPORT_FRESH_CACHE (default /var/cache/veilport-fresh: the bare bases),
# VEILPORT_FRESH_WORK (default /var/tmp/veilport-fresh: one root per run, removed after),
# MIRROR (default: the host's Debian mirror), STAGE=base (stop once the base is cached),
# KEEP=1 (keep the run's root for a look inside; its mounts are still undone).
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
CACHE=${VEILPORT_FRESH_CACHE:-/var/cache/veilport-fresh}
WORK=${VEILPORT_FRESH_WORK:-/var/tmp/veilport-fresh}
STAGE=${STAGE:-all}
T0=$(date +%s)

log() { printf '%s fresh-check: %s\n' "$(date +%H:%M:%S)" "$*"; }
# One line on stderr, non-zero exit: the check did not run, and it says why.
die() { printf 'fresh-check: error: %s\n' "$*" >&2; exit 2; }
TIMES=""
stage_time() { # name start
  s=$(( $(date +%s) - $2 ))
  TIMES="$TIMES$(printf '  %-34s %5d s (%dm%02ds)' "$1" "$s" $((s / 60)) $((s % 60)))
"
  log "$1: $s s"
}

[ "$(id -u)" -eq 0 ] || die "run as root: debootstrap, mount and chroot need it"

# --- debootstrap: the tool that builds the root (installed on the host if missing) ----
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap on the host (the tool that builds the fresh root)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } \
    >"/tmp/fresh-check-debootstrap.$$.log" 2>&1 </dev/null ||
    die "cannot make the fresh root: debootstrap is not installed and apt-get install debootstrap failed (log: /tmp/fresh-check-debootstrap.$$.log)"
  command -v debootstrap >/dev/null 2>&1 || die "cannot make the fresh root: debootstrap is still not on PATH ($PATH) after installing it"
fi

# --- the same Debian sources as this host, without the non-Debian ones ------------------
HOST_SOURCES=/etc/apt/sources.list.d/debian.sources
if [ -z "${MIRROR:-}" ]; then
  MIRROR=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' "$HOST_SOURCES" 2>/dev/null | grep -v security | head -1)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
SECURITY=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' "$HOST_SOURCES" 2>/dev/null | grep security | head -1)
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
KEY=$(printf '%s|%s|minbase|amd64' "$SUITE" "$MIRROR" | sha256sum | cut -c1-12)
BASE=$CACHE/base-$SUITE-$KEY

# --- the bare base, cached: debootstrap output and nothing else ---------------------------
t=$(date +%s)
if [ -f "$BASE/.fresh-check-base" ]; then
  log "base $SUITE from $MIRROR is cached ($BASE)"
else
  mkdir -p "$CACHE"
  tmp=$CACHE/.making-$KEY.$$
  rm -rf "$tmp"
  log "debootstrap $SUITE (minbase) from $MIRROR into $CACHE"
  debootstrap --variant=minbase --arch=amd64 "$SUITE" "$tmp" "$MIRROR" >"$CACHE/debootstrap-$KEY.log" 2>&1 </dev/null || {
    why=$(grep '^E:' "$CACHE/debootstrap-$KEY.log" | tail -1)
    rm -rf "$tmp"
    die "cannot make the fresh root: debootstrap $SUITE from $MIRROR failed${why:+ ($why)} (log: $CACHE/debootstrap-$KEY.log)"
  }
  # The base is debootstrap's root as it is; the package cache it leaves is not needed.
  rm -rf "$tmp/var/cache/apt/archives/"*.deb
  printf 'suite=%s\nmirror=%s\nmade=%s\n' "$SUITE" "$MIRROR" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/.fresh-check-base"
  rm -rf "$BASE" && mv "$tmp" "$BASE"
fi
stage_time "base (debootstrap or cache)" "$t"
[ "$STAGE" = base ] && exit 0

# --- this run's root: a pristine copy of the base ---------------------------------------
t=$(date +%s)
RUN=$WORK/run-$$
ROOT=$RUN/root
LOGS=$WORK/logs-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN" "$LOGS"
mounted=""
inside_pids() { # processes whose root is this run's root (started by this run)
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && echo "${p#/proc/}"
  done
  return 0
}
cleanup() {
  rc=$?
  trap - EXIT INT TERM
  # Whatever a test left running inside (a broker, a browser) would keep the mounts busy.
  pids=$(inside_pids)
  [ -z "$pids" ] || { kill $pids 2>/dev/null || true; sleep 2; pids=$(inside_pids); [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true; }
  for m in $mounted; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  mounted=""
  # Never delete a tree with /dev (or anything else) still mounted inside it.
  if awk '{print $2}' /proc/mounts | grep -q "^$RUN/"; then
    printf 'fresh-check: warning: something is still mounted under %s; left in place\n' "$RUN" >&2
  elif [ "${KEEP:-0}" = 1 ]; then
    log "KEEP=1: the root stays in $ROOT"
  else
    rm -rf "$RUN"
  fi
  [ -z "${LOGS:-}" ] || printf 'fresh-check: logs in %s\n' "$LOGS"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp -a "$BASE" "$ROOT"
rm -f "$ROOT/.fresh-check-base"

# apt: the host's Debian sources only (the other files in sources.list.d are not Debian).
rm -f "$ROOT/etc/apt/sources.list"
if [ -f "$HOST_SOURCES" ]; then
  cp "$HOST_SOURCES" "$ROOT/etc/apt/sources.list.d/debian.sources"
else
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
    "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SECURITY" "$SUITE" >"$ROOT/etc/apt/sources.list"
fi
# The registry this host uses serves Release files whose dates apt would refuse; the
# host says so in its apt configuration, and the root gets the same two settings.
apt-config dump 2>/dev/null | grep -E '^Acquire::Check-(Valid-Until|Date) ' >"$ROOT/etc/apt/apt.conf.d/99fresh-check-registry" || true
# No service may start inside the chroot (mosquitto's postinst would start a broker that
# outlives the run and keeps its mounts busy; there is no init here to own it).
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d" && chmod 755 "$ROOT/usr/sbin/policy-rc.d"

# Trust what this host trusts: the registries are reached through its CA bundle.
mkdir -p "$ROOT/etc/ssl/certs" "$ROOT/usr/local/share/ca-certificates"
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
[ -d /usr/local/share/ca-certificates ] && cp -a /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"

# Node 20, copied in as the image recipe does: the binary, npm, and the headers that
# node-gyp finds through nodedir=/usr; npm's global and user configuration as here.
NODE=$(command -v node) || die "cannot make the fresh root: no node on this host to copy in"
case "$("$NODE" --version)" in v20.*) ;; *) die "cannot make the fresh root: $NODE is $("$NODE" --version), not Node 20";; esac
NPM_DIR=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
install -m 0755 "$NODE" "$ROOT/usr/bin/node"
mkdir -p "$ROOT/usr/lib/node_modules"
cp -a "$NPM_DIR" "$ROOT/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/bin/npx"
[ -d /usr/include/node ] && { mkdir -p "$ROOT/usr/include"; cp -a /usr/include/node "$ROOT/usr/include/node"; }
[ -f /usr/etc/npmrc ] && { mkdir -p "$ROOT/usr/etc"; cp /usr/etc/npmrc "$ROOT/usr/etc/npmrc"; }
[ -f "$HOME/.npmrc" ] && cp "$HOME/.npmrc" "$ROOT/root/.npmrc"
stage_time "root (copy of the base, Node 20)" "$t"

# --- a fresh clone of the commit under test ------------------------------------------------
t=$(date +%s)
COMMIT=$(git -C "$REPO" rev-parse HEAD) || die "cannot make the fresh root: $REPO is not a git checkout"
dirty=$(git -C "$REPO" status --porcelain --untracked-files=no | wc -l)
[ "$dirty" -eq 0 ] || log "note: $dirty changed files in $REPO are not committed; the check tests commit $(echo "$COMMIT" | cut -c1-12) only"
# Not under /root (0700): the doctor's tests probe as "nobody", as the daemon runs as its
# own user, so the checkout must be readable by others, as /opt/veilport is on the box.
APP=/srv/veilport
git clone --quiet --no-local "$REPO" "$ROOT$APP" >"$LOGS/clone.log" 2>&1 </dev/null &&
  git -C "$ROOT$APP" -c advice.detachedHead=false checkout --quiet "$COMMIT" >>"$LOGS/clone.log" 2>&1 ||
  die "cannot clone $COMMIT from $REPO (log: $LOGS/clone.log)"
log "testing $(git -C "$ROOT$APP" log -1 --format='%h %s' | cut -c1-100)"
stage_time "clone" "$t"

# --- what chromium, mosquitto and GStreamer need from the kernel ----------------------------
mnt() { # mount ARGS... TARGET (TARGET last); remembered for the trap, newest first
  target=$(eval echo "\${$#}")
  mkdir -p "$target"
  mount "$@" && mounted="$target $mounted"
}
# /proc: Node (os.cpus, process.memoryUsage), chromium (/proc/self), the tests that look
#   for their child processes, systeminformation in the doctor and the dashboard.
mnt -t proc proc "$ROOT/proc"
# /sys: chromium's and GStreamer's device probing (/sys/class/drm, /sys/devices/system/cpu),
#   the doctor's hardware and thermal checks through systeminformation.
mnt -t sysfs -o ro sysfs "$ROOT/sys"
# /dev: /dev/null, /dev/urandom for everyone; /dev/dri for GStreamer's va/vaapi probing.
mnt --bind /dev "$ROOT/dev"
# /dev/pts: apt runs dpkg on a pseudo-terminal (Dpkg::Use-Pty), as do tests that need a tty.
mnt --bind /dev/pts "$ROOT/dev/pts"
# /dev/shm: chromium's processes share memory through it; a new tmpfs, not the host's.
mnt -t tmpfs -o mode=1777,nosuid,nodev shm "$ROOT/dev/shm"
# /tmp: the tests' scratch folders, empty as on a newly booted machine and gone after.
mnt -t tmpfs -o mode=1777,nosuid,nodev tmp "$ROOT/tmp"

# Inside: a clean environment, as a newcomer's login shell would have it, plus the CA
# bundle for Node, OpenSSL and curl (see above). No stdin: nothing may ask a question.
in_root() { # command line, run by sh in the clone
  env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/sh LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ${CI:+CI=$CI} \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    chroot "$ROOT" /bin/sh -c "cd $APP && $1" </dev/null
}

# --- README command 1: setup and the demo export, then verify ------------------------------
# Each command is run as its two halves (what `a && b` does) to time them apart.
run_stage() { # name log command-line: runs it inside, fails the check when it fails
  t=$(date +%s)
  log "$1: $3 (log: $2)"
  # In the background and waited for, so that a TERM (CI cancelling) runs the cleanup at once.
  in_root "$3" >"$2" 2>&1 &
  if ! wait $!; then
    tail -40 "$2"
    die "$1 failed in the fresh root: $3 (log: $2)"
  fi
  stage_time "$1" "$t"
}
run_stage "command 1: setup" "$LOGS/command1-setup.log" 'sh scripts/setup.sh'
run_stage "command 1: demo" "$LOGS/command1-demo.log" 'node bin/veilport.js demo'
PKG=$(sed -n 's/.* open \(.*\.vpkg\) --password-file.*/\1/p' "$LOGS/command1-demo.log" | tail -1)
[ -n "$PKG" ] || { tail -20 "$LOGS/command1-demo.log"; die "the demo did not say where its package is (log: $LOGS/command1-demo.log)"; }
# The demo box's own key signed it: verify trusts it from the demo's data folder beside the package.
DATA="$(dirname "$PKG")/data"
run_stage "command 1: veilport verify" "$LOGS/verify.log" "node bin/veilport.js verify '$PKG' --data '$DATA'"
sed 's/^/  verify: /' "$LOGS/verify.log"

# --- README command 2: setup and all tests ---------------------------------------------------
# (this is where `npm test` runs: inside the fresh root, never on the host)
run_stage "command 2: setup (again)" "$LOGS/command2-setup.log" 'sh scripts/setup.sh'
t=$(date +%s)
log "command 2: npm test (log: $LOGS/command2-test.log)"
{ rc2=0; in_root 'npm test' 2>&1 || rc2=$?; echo "$rc2" >"$RUN/tests.rc"; } | tee "$LOGS/command2-test.log" &
wait $! || true
TESTS_RC=$(cat "$RUN/tests.rc")
stage_time "command 2: npm test" "$t"

stage_time "total" "$T0"
printf 'fresh-check: stage times\n%s' "$TIMES"
if [ "$TESTS_RC" -eq 0 ]; then
  log "PASS: both README commands work in a fresh $SUITE root (commit $(echo "$COMMIT" | cut -c1-12))"
else
  log "FAIL: command 2 (npm test) exited $TESTS_RC in a fresh $SUITE root (log: $LOGS/command2-test.log)"
fi
exit "$TESTS_RC"
