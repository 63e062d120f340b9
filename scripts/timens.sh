#!/usr/bin/env bash
# timens.sh — run a command with the monotonic and boot-time clocks reading
# SECONDS at its start, in a new time namespace (unshare(1) -T; Linux 5.6+
# with CONFIG_TIME_NS). The wall clock is not affected.
#
#   scripts/timens.sh 30 ctest --test-dir build/ci -L unit      # a freshly booted machine
#   scripts/timens.sh 10000000 ./scripts/test.sh               # ~116 days of uptime
#
# Needs root (CAP_SYS_ADMIN). Exits 77 when time namespaces are not available.
set -euo pipefail
if [ $# -lt 2 ]; then
	echo "usage: $0 SECONDS COMMAND [ARG...]" >&2
	exit 2
fi
secs=$1
shift
# Both clocks are read in one process so that the offsets match each other.
read -r mono boot < <(python3 -c 'import time
print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 10**9,
      time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 10**9)')
if ! unshare -T --fork --monotonic=$((secs - mono)) --boottime=$((secs - boot)) true 2>/dev/null; then
	echo "SKIP: no time namespaces here (unshare -T failed; needs root and CONFIG_TIME_NS)" >&2
	exit 77
fi
exec unshare -T --fork --monotonic=$((secs - mono)) --boottime=$((secs - boot)) "$@"
