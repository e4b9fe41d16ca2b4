#!/usr/bin/env bash
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
# Debian's Chromium for the Playwright tests (Playwright cannot download its own browser here).
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then
    export SAMLOKAL_CHROMIUM="$(command -v chromium)"
    return 0
  fi
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's chromium for the browser tests..." >&2
    apt_install chromium fonts-dejavu-core || return 1
    export SAMLOKAL_CHROMIUM="$(command -v chromium)"
  else
    echo "chromium is missing: install Debian's 'chromium' package for the browser tests." >&2
    return 1
  fi
}
