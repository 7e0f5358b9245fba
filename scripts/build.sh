#!/bin/sh
# Configures (once) and builds a build directory: scripts/build.sh [DIR [meson options...] [-- targets...]]
# (everything by default; after "--", only the named ninja targets, e.g. examples/classify).
set -eu
dir=${1:-build}
[ $# -gt 0 ] && shift
options=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  options="$options $1"
  shift
done
[ $# -gt 0 ] && shift
[ -d /usr/local/cuda/bin ] && PATH=/usr/local/cuda/bin:$PATH && export PATH
if [ ! -f "$dir/build.ninja" ]; then
  # shellcheck disable=SC2086  # one word per option
  meson setup "$dir" $options >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
  rm -f "$dir.setup.log"
fi
ninja -C "$dir" "$@" >"$dir.ninja.log" 2>&1 || { tail -n 60 "$dir.ninja.log"; exit 1; }
rm -f "$dir.ninja.log"
