#!/usr/bin/env bash
# One-step set-up on a fresh Debian machine: the Debian packages HallQ needs (installed
# with apt-get when running as root and missing), a virtual environment in .venv and the
# project installed into it. Safe to run again: it only installs what is missing.
#   scripts/setup.sh          run-time needs (the demo hall)
#   scripts/setup.sh --test   also what the test suite needs
set -euo pipefail
cd "$(dirname "$0")/.."

mode=run
[ "${1:-}" = "--test" ] && mode=test

# Debian packages HallQ uses at run time: GL/EGL for Kivy's windows, a CJK font for
# Chinese on screens and ticket previews, espeak-ng for offline voice and alsa-utils for
# aplay, the player of last resort (display/voice/sinks.py uses pw-play or paplay first
# when the desktop has them): without a player the hall display is silent.
run_pkgs=(libgl1 libgl1-mesa-dri libegl1 libegl-mesa0 libmtdev1 fonts-wqy-microhei espeak-ng
          alsa-utils)
# ...and for the tests: a virtual X server for real Kivy windows and clicks, Chromium for
# the web pages, socat for serial-port experiments.
test_pkgs=(xvfb xauth xdotool chromium socat)
needs=()
python3 -c 'import ensurepip, venv' 2>/dev/null || needs+=(python3-venv)
pkgs=("${run_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || needs+=("$pkg")
    done
fi
if [ ${#needs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian packages: ${needs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${needs[@]}" >/dev/null
    else
        echo "setup: please install these Debian packages first: ${needs[*]}" >&2
        exit 1
    fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip >/dev/null
if [ "$mode" = test ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
else
    .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
echo "setup: ready ($mode)"
