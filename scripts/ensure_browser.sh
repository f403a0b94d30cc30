#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the dashboard's browser test.
#
# Playwright drives this system browser (executable_path=/usr/bin/chromium), so nothing is
# downloaded from Playwright's CDN. Idempotent: does nothing when the browser is already there.
# Installs with apt-get when running as root (CI), or through passwordless sudo when available;
# otherwise prints why it could not, and the browser test skips with that reason.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_browser: $CHROMIUM missing and apt-get not available; browser tests will skip" >&2
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "ensure_browser: $CHROMIUM missing and not root (no passwordless sudo); browser tests will skip" >&2
    exit 0
fi

echo "ensure_browser: installing Debian's chromium (apt-get) for the dashboard browser test"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
"$CHROMIUM" --version
