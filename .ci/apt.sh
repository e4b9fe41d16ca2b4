#!/usr/bin/env bash
# apt-get for the CI scripts that waits for another package manager instead of failing.
#   source .ci/apt.sh; apt_install chromium fonts-dejavu-core
#
# On a busy machine another apt-get or unattended-upgrades may hold a lock. apt's own
# `-o DPkg::Lock::Timeout=N` waits for dpkg's locks (/var/lib/dpkg/lock-frontend, lock),
# but not for the locks `apt-get update` takes (/var/lib/apt/lists/lock) nor the download
# cache's (/var/cache/apt/archives/lock): apt 2.6 fails at once on those. So every call
# passes the option and is also retried while it fails on a lock, up to the same deadline.
APT_LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}"  # seconds to wait for others' locks, per call

_apt_get_waiting() {
  local deadline=$((SECONDS + APT_LOCK_TIMEOUT)) output status said=""
  while :; do
    status=0
    output="$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" "$@" 2>&1)" \
      || status=$?
    if [ "$status" = 0 ]; then
      [ -z "$output" ] || printf '%s\n' "$output" >&2
      return 0
    fi
    if ! grep -qE 'Could not get lock|Unable to lock|Unable to acquire the dpkg frontend lock' <<<"$output" \
        || [ "$SECONDS" -ge "$deadline" ]; then
      printf '%s\n' "$output" >&2
      return "$status"
    fi
    if [ -z "$said" ]; then
      echo "apt-get $1: another package manager holds a lock; waiting (up to ${APT_LOCK_TIMEOUT}s)..." >&2
      said=1
    fi
    sleep 5
  done
}

# apt_install PACKAGE...: refresh the package lists, then install (root only).
apt_install() {
  _apt_get_waiting update -qq && _apt_get_waiting install -y -qq "$@"
}
