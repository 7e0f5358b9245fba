#!/bin/sh
# Installs, from Debian's packages, what building and testing internvl-cpp needs, and nothing when all of
# it is already there: scripts/setup.sh [tests] (with "tests", also the sanitizer build's compiler, clang
# with its sanitizer runtimes, which only scripts/test.sh uses). Run as root (or with sudo available).
# Idempotent and quiet.
set -eu
packages="g++ meson ninja-build pkg-config python3 python3-numpy python3-pil libeigen3-dev libxsimd-dev libboost-dev catch2
libbenchmark-dev nlohmann-json3-dev libstb-dev libjpeg-dev libsentencepiece-dev"
[ "${1:-}" = tests ] && packages="$packages clang-14 libclang-rt-14-dev"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "setup: installing$missing"
  log=$(mktemp)
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
         --no-install-recommends $missing; } >"$log" 2>&1; then
    cat "$log"; rm -f "$log"; exit 1
  fi
  rm -f "$log"
fi
