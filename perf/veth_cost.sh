#!/usr/bin/env bash
# perf/veth_cost.sh — what iperf3 itself spends per datagram over the bare
# veth (no VPN) at a fixed offered rate: the part of the two vCPUs that the
# packet source and sink take in the small-packet test, beside which a
# VPN's two ends must fit (README, Limitations: "Unmet benchmark targets").
#
#   RATE=148000 SIZE=64 SECS=5 perf/veth_cost.sh
#
# Prints the datagrams sent and lost and the CPU-µs per datagram of the
# iperf3 sender and receiver (from /proc: this shell's reaped child and the
# server process).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/topo.sh"
RATE=${RATE:-148000} SIZE=${SIZE:-64} SECS=${SECS:-5}
rvp_install_trap
rvp_topo_up
hz=$(getconf CLK_TCK)
out=$(mktemp /tmp/rvp-vethcost.XXXXXX)
rvp_spawn b /dev/null iperf3 -s -p 5299
srv=$RVP_LAST_PID
sleep 0.5
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
child_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }'; }
s0=$(ticks "$srv") c0=$(child_ticks)
rvp_ns_a iperf3 -c "$RVP_UL_B" -p 5299 -u -l "$SIZE" -b $((RATE * SIZE * 8)) -t "$SECS" -J >"$out" 2>/dev/null
s1=$(ticks "$srv") c1=$(child_ticks)
python3 - "$out" "$s0" "$s1" "$c0" "$c1" "$hz" "$RATE" <<'PY'
import json, sys
path = sys.argv[1]
s0, s1, c0, c1, hz, rate = map(int, sys.argv[2:])
e = json.load(open(path))["end"]["sum"]
n, lost = e["packets"], e["lost_packets"]
print("offered %d/s: sent %d (%.0f/s), lost %d (%.2f%%); iperf3 sender %.2f, receiver %.2f CPU-us per datagram"
      % (rate, n, e["packets"] / e["seconds"], lost, 100.0 * lost / max(n, 1),
         (c1 - c0) / hz * 1e6 / max(n, 1), (s1 - s0) / hz * 1e6 / max(n, 1)))
PY
rm -f "$out"
