#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests: browsers cannot be downloaded here,
# so Playwright drives the OS package. Does nothing when it is already there.
set -euo pipefail
source "$(dirname "$0")/common.sh"
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0
command -v apt-get >/dev/null || die "$chromium is missing: install Chromium (Debian: apt-get install chromium chromium-driver)"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "$chromium is missing: run as root: apt-get install -y chromium chromium-driver"
  sudo="sudo"
fi
log "installing chromium and chromium-driver (Debian packages)"
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >&2
[ -x "$chromium" ] || die "chromium did not install at $chromium"
