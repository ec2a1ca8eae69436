#!/usr/bin/env bash
# Debian's Chromium (with a font) for the browser tests of `specops docs` (tests/test_site_browser.py), when
# missing. Playwright, which drives it, comes with the dev extra; it never downloads a browser of its own.
#
# Needs root and apt-get (CI runs it from .ci/run). Elsewhere it only says so: those tests then skip
# locally, with the reason.
set -euo pipefail

if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
  echo "install-chromium: $(chromium --version 2>/dev/null | head -n 1 || echo chromium) already installed"
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: Chromium is missing and this is not root with apt-get; the browser tests will skip" >&2
  exit 0
fi
echo "install-chromium: apt-get install chromium fonts-dejavu-core"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version 2>/dev/null | head -n 1 || true
