#!/usr/bin/env bash
# Chromium for the docs site's browser test (tests/docs). CI runs as root and gets Debian's
# chromium package when it is missing; as another user nothing is installed and the test skips,
# saying why.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Debian's chromium package for the docs browser test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is not installed and this is not root: the docs browser test will skip" \
       "(install it with: sudo apt-get install chromium)"
fi
