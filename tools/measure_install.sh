#!/usr/bin/env bash
# Time README command 1's install step and size its venv, with pip's cache warm and cold.
#
#   tools/measure_install.sh CHECKOUT PYENV_VERSION [WORKDIR]
#
# CHECKOUT is a clean clone of the commit to measure; PYENV_VERSION picks python3 (e.g. 3.13.0).
# "warm" uses pip's usual cache (run it once before to fill it); "cold" an empty cache folder, so
# every wheel is downloaded. Prints one line per mode; the last venv is left in WORKDIR/venv.
set -uo pipefail
checkout=$(cd "$1" && pwd); export PYENV_VERSION=$2; work=${3:-$(mktemp -d)}
mkdir -p "$work"
for mode in warm cold; do
  rm -rf "$work/venv" "$work/empty-cache"
  if [ "$mode" = cold ]; then export PIP_CACHE_DIR="$work/empty-cache"; else unset PIP_CACHE_DIR; fi
  start=$(date +%s.%N)
  (cd "$checkout" && python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q -r requirements.txt -e . >"$work/$mode.log" 2>&1)
  rc=$?
  seconds=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
  heavy=$(ls "$work"/venv/lib/python*/site-packages | grep -iE '^(tensorflow|keras|jax|jaxlib|mediapipe)$' | tr '\n' ' ')
  echo "python $(python3 --version 2>&1 | cut -d' ' -f2), $mode cache: exit $rc, ${seconds} s, venv $(du -sm "$work/venv" | cut -f1) MB, heavy packages: [${heavy% }]"
done
rm -rf "$work/empty-cache"
