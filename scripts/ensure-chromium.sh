#!/bin/sh
# Run by `npm test` (pretest): the dashboard test drives a real headless Chromium. Installs
# Debian's `chromium` when it is missing and apt-get is usable as root; otherwise says why and
# carries on, and the dashboard test skips with the same reason. Never fails the suite.
# SLUICE_CHROMIUM names another Chromium binary to use instead (the test reads it too).
chromium="${SLUICE_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  exit 0
fi
if [ -n "${SLUICE_CHROMIUM:-}" ]; then
  echo "ensure-chromium: SLUICE_CHROMIUM=$chromium is not an executable; the dashboard test will be skipped" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $chromium is missing and apt-get is not available; the dashboard test will be skipped" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: $chromium is missing and installing it needs root (run: sudo apt-get install -y chromium); the dashboard test will be skipped" >&2
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium for the dashboard test" >&2
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends chromium >&2; then
  exit 0
fi
echo "ensure-chromium: apt-get could not install chromium; the dashboard test will be skipped" >&2
exit 0
