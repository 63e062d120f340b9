#!/usr/bin/env bash
# perf/veth_cost.sh — what iperf3 itself sends and spends per datagram over
# the bare veth (no VPN) at a fixed offered rate: the packet source and sink
# of the small-packet test, measured without a VPN between them (README,
# Limitations: "Unmet benchmark targets").
#
#   RATE=148000 SIZE=64 SECS=5 perf/veth_cost.sh
#   RATE=0 perf/veth_cost.sh        unpaced (-b 0), as perf/run.sh's first probe
#
# Prints the datagrams offered, sent and lost and the CPU-µs per datagram
# of the iperf3 sender and receiver (from /proc: this shell's reaped child
# and the server process). Both iperf3 ends use 2 MiB socket buffers, as in
# perf/run.sh's packet-rate search. On this VM paced iperf3 sends no more
# than about 107,000 datagrams/s, at twice the CPU per datagram of unpaced
# (README, Limitations).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/topo.sh"
RATE=${RATE:-148000} SIZE=${SIZE:-64} SECS=${SECS:-5}
# The JSON's temp file goes on any exit, as the namespaces do.
out=
# shellcheck disable=SC2317 # run by topo.sh's rvp_cleanup
rvp_cleanup_hook() { [ -z "$out" ] || rm -f "$out"; }
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
timeout --foreground --kill-after=5 $((SECS + 20)) ip netns exec "$RVP_NS_A" iperf3 -c "$RVP_UL_B" -p 5299 -u -l "$SIZE" -b $((RATE * SIZE * 8)) -w 2M -t "$SECS" -J >"$out" 2>/dev/null
s1=$(ticks "$srv") c1=$(child_ticks)
python3 - "$out" "$s0" "$s1" "$c0" "$c1" "$hz" "$RATE" <<'PY'
import json, sys
path = sys.argv[1]
s0, s1, c0, c1, hz, rate = map(int, sys.argv[2:])
# A failed iperf3 (its JSON's "error", or no JSON) measured nothing: exit 1.
try:
    d = json.load(open(path))
    if d.get("error"):
        raise ValueError(d["error"])
    e = d["end"]["sum"]
    n, lost = e["packets"], e["lost_packets"]
except Exception as err:
    print(f"iperf3 gave no count ({err}); nothing measured")
    sys.exit(1)
print("offered %d/s: sent %d (%.0f/s), lost %d (%.2f%%); iperf3 sender %.2f, receiver %.2f CPU-us per datagram"
      % (rate, n, e["packets"] / e["seconds"], lost, 100.0 * lost / max(n, 1),
         (c1 - c0) / hz * 1e6 / max(n, 1), (s1 - s0) / hz * 1e6 / max(n, 1)))
PY
