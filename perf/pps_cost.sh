#!/usr/bin/env bash
# perf/pps_cost.sh — what a small packet costs ringvpn at a fixed offered
# rate, for two builds side by side: CPU time of both ends per packet and
# io_uring_enter calls per packet (a count that machine noise does not move),
# and beside them what the iperf3 sender and receiver spent per packet (the
# rest of the machine's budget: README, Limitations).
#
#   perf/pps_cost.sh OLD_BIN NEW_BIN     e.g. an older commit's cli/ringvpn
#   RATE=30000 SIZE=64 SECS=6 N=4 perf/pps_cost.sh A B
#   WINDOW=2M ...                     iperf3 -w: socket buffers of both iperf3 ends
#   SRC=blast ...                     perf/blast.c as the source and sink
#                                     (RV_BUILD/perf/blast: sendmmsg batches
#                                     of 32 on a schedule, as perf/run.sh's
#                                     PPS_TOOL=blast) instead of iperf3
#   NEW_CONF="offload_udp_coalesce = yes" perf/pps_cost.sh B B
#                                     extra config lines for one build's ends
#                                     (OLD_CONF likewise): a key's A/B
#
# Each of N rounds starts the two builds in turn (perf/topo.sh namespaces,
# `ringvpn server`/`client` with offloads on, as perf/run.sh's rv-on), offers
# RATE datagrams/s of SIZE bytes with iperf3 through the tunnel for SECS
# seconds and reads the processes' CPU ticks and, through the
# syscalls:sys_enter_io_uring_enter tracepoint (`perf stat`, no PMU needed),
# how often they entered the kernel, and where the lost datagrams were
# dropped. Prints one line per build and round.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/topo.sh"
. "$HERE/vpn_ringvpn.sh"
RATE=${RATE:-30000} SIZE=${SIZE:-64} SECS=${SECS:-6} N=${N:-4}
[ $# = 2 ] && [ -x "$1" ] && [ -x "$2" ] || { echo "usage: $0 OLD_BIN NEW_BIN" >&2; exit 2; }
SRC=${SRC:-iperf3} BLAST=${BLAST:-$RV_BUILD/perf/blast}
case $SRC in
iperf3) ;;
blast) [ -x "$BLAST" ] || { echo "pps_cost.sh: $BLAST not built (cmake --build $RV_BUILD --target blast)" >&2; exit 2; } ;;
*) echo "pps_cost.sh: SRC is iperf3 or blast, not '$SRC'" >&2; exit 2 ;;
esac
command -v perf >/dev/null || { echo "pps_cost.sh: perf (linux-perf) not installed" >&2; exit 2; }
# The round's keys, status sockets and work directory go on any exit.
dir=
# shellcheck disable=SC2317 # run by topo.sh's rvp_cleanup
rvp_cleanup_hook() {
	vpn_ringvpn_stop >/dev/null 2>&1
	[ -z "$dir" ] || rm -rf "$dir"
}
rvp_install_trap
rvp_topo_up
rc=0
hz=$(getconf CLK_TCK)
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo "$t"; }
# child_ticks: CPU of this shell's reaped children (the iperf3 sender, run in
# the foreground, is one; perf stat is reaped only after it is read).
child_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }'; }
# Where datagrams are lost: UDP RcvbufErrors of the receiving namespace (its
# iperf3 socket and ringvpn's), the drops of ringvpn's sockets there (ss: the
# rest is iperf3's), and the client's TUN queue (tx_dropped: the sending
# end did not read its TUN fast enough).
rcvbuf_errors() { rvp_ns_b awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }
vpn_sock_drops() { rvp_ns_b ss -Huamn | grep -v ":5299 " | grep -o 'd[0-9]*)' | tr -dc '0-9\n' | awk '{ s += $1 } END { print s + 0 }'; }
tun_tx_dropped() { rvp_ns_a cat /sys/class/net/rvpcli/statistics/tx_dropped 2>/dev/null || echo 0; }
for r in $(seq "$N"); do
	for which in old new; do
		bin=$1 extra=${OLD_CONF:-}
		[ "$which" = new ] && bin=$2 extra=${NEW_CONF:-}
		dir=$(mktemp -d /tmp/rvp-ppscost.XXXXXX)
		if ! RV_BIN=$bin RV_MODE=cli RV_EXTRA_CONF=$extra vpn_ringvpn_start "$dir" 1 >"$dir/start.log" 2>&1; then
			echo "$which: start failed"; tail -5 "$dir/start.log"; vpn_ringvpn_stop; rm -rf "$dir"; dir='' rc=1; continue
		fi
		if [ "$SRC" = blast ]; then
			rvp_spawn b "$dir/blast-recv.txt" "$BLAST" recv "$VPN_DST" 5299 $((SECS + 2))
		else
			rvp_spawn b /dev/null iperf3 -s -p 5299
		fi
		srv=$RVP_LAST_PID
		sleep 0.5
		c0=$(cpu_ticks "${VPN_PIDS[@]}") s0=$(cpu_ticks "$srv") k0=$(child_ticks)
		rb0=$(rcvbuf_errors) td0=$(tun_tx_dropped)
		perf stat -x, -e syscalls:sys_enter_io_uring_enter -o "$dir/perf.txt" \
			-p "$(IFS=,; echo "${VPN_PIDS[*]}")" -- sleep $((SECS + 1)) &
		pf=$!
		RVP_PIDS+=("$pf")
		if [ "$SRC" = blast ]; then
			timeout --foreground --kill-after=5 $((SECS + 20)) \
				ip netns exec "$RVP_NS_A" "$BLAST" send "$VPN_DST" 5299 "$SIZE" "$RATE" "$SECS" >"$dir/blast-send.txt" 2>&1
		else
			timeout --foreground --kill-after=5 $((SECS + 20)) \
				ip netns exec "$RVP_NS_A" iperf3 -c "$VPN_DST" -p 5299 ${WINDOW:+-w "$WINDOW"} -u -l "$SIZE" \
				-b $((RATE * SIZE * 8)) -t "$SECS" -J >"$dir/iperf.json" 2>/dev/null
		fi
		c1=$(cpu_ticks "${VPN_PIDS[@]}") s1=$(cpu_ticks "$srv") k1=$(child_ticks)
		# perf stat's own status: a failed count is NA, never 0 (tester 290).
		wait "$pf"
		pf_rc=$?
		rvp_forget "$pf"
		if [ "$SRC" = blast ]; then
			# The sink stops SECS + 2 s after it started: its count is final.
			wait "$srv"
			awk '/^sent/ { s = $2 } END { printf "{\"end\": {\"sum\": {\"packets\": %d, ", s }' "$dir/blast-send.txt" >"$dir/iperf.json"
			awk '/^received/ { g = $2 } END { printf "\"received\": %d}}}\n", g }' "$dir/blast-recv.txt" >>"$dir/iperf.json"
		fi
		sleep 0.5 # iperf3 closes its data socket: what is left is ringvpn's
		rb=$(($(rcvbuf_errors) - rb0)) vd=$(vpn_sock_drops) td=$(($(tun_tx_dropped) - td0))
		enters=$(awk -F, '/io_uring_enter/ && $1 ~ /^[0-9]+$/ { print $1 }' "$dir/perf.txt" 2>/dev/null)
		if [ "$pf_rc" != 0 ] || [ -z "$enters" ]; then
			echo "$which: perf stat failed (exit $pf_rc): $(head -c 200 "$dir/perf.txt" 2>/dev/null)" >&2
			enters=NA
		fi
		dead=
		for p in "${VPN_PIDS[@]}"; do rvp_alive "$p" || dead=$p; done
		if [ -n "$dead" ]; then
			echo "$which: ringvpn process $dead died during the round; nothing measured"
			rc=1
		elif ! python3 - "$dir/iperf.json" "$which" "$((c1 - c0))" "$enters" "$hz" \
			"$((k1 - k0))" "$((s1 - s0))" "$((rb - vd))" "$vd" "$td" "$SRC" <<'PY'
import json, sys
src = sys.argv[11]
try:
    j = json.load(open(sys.argv[1]))
    if j.get("error"):
        raise ValueError(j["error"])
    d = j["end"]["sum"]
    pk = d["packets"]
    lost = d["lost_packets"] if "lost_packets" in d else pk - d["received"]
    if not pk:
        raise ValueError("no packets sent")
except Exception as e:
    print(f"{sys.argv[2]}: {src} gave no count ({e}); nothing measured")
    sys.exit(1)
ticks, hz = int(sys.argv[3]), int(sys.argv[5])
enters = "NA" if sys.argv[4] == "NA" else f"{int(sys.argv[4]) / pk:.3f}"
us = lambda t: int(t) * 1e6 / hz / pk
print(f"{sys.argv[2]}: {pk} packets, {lost} lost, {us(ticks):.2f} CPU-us/packet, "
      f"{enters} io_uring_enter/packet; {src} sender {us(sys.argv[6]):.2f}, "
      f"receiver {us(sys.argv[7]):.2f} CPU-us/packet; losses: {src}'s socket {sys.argv[8]}, "
      f"ringvpn's sockets {sys.argv[9]}, client TUN queue {sys.argv[10]}")
PY
		then
			rc=1
		fi
		[ "$enters" != NA ] || rc=1
		rvp_kill "$srv"
		vpn_ringvpn_stop
		rm -rf "$dir"
		dir=
	done
done
exit $rc
