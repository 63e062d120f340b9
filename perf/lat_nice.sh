#!/usr/bin/env bash
# perf/lat_nice.sh — latency under load against the workers' priority:
# ringvpn (offloads on) between the two namespaces of topo.sh, restarted with
# each worker_nice value given (a value rtN: worker_rtprio = N, SCHED_FIFO,
# instead; sN: worker_slice_us = N at nice 0); per value and round one TCP stream of
# DURATION seconds with a ping every 10 ms through the tunnel. The values take
# turns within every round, so a change in background load hits all alike.
#
#   perf/lat_nice.sh 0 -10 -20 rt1 s100  Env: ROUNDS (3), DURATION (10),
#                                        RV_BUILD (see vpn_ringvpn.sh), OUT
#   RV_BIN_B=OLD/ringvpn perf/lat_nice.sh 0 0@b rt1 rt1@b
#                                        a value with @b runs the binary
#                                        RV_BIN_B instead: an A/B of two
#                                        builds in one run
#
#   SITE=1 perf/lat_nice.sh 0 ...       the stream and the ping go the other
#                                        way, from B to 10.203.0.1, a host in
#                                        a network behind the client
#                                        (subnet = ... 10.203.0.0/24, the
#                                        address on A's loopback): the server
#                                        sends them through its TUN lanes for
#                                        networks
#
# Prints, per value: throughput, ping p50/p90/p99, replies and lost pings of
# every round, and the medians over the rounds (a p99 on a lost ping ranks
# worst: "lost"; a round that measured nothing is NA, left out of the
# medians and makes the exit status 1); keeps them in $OUT (default
# perf/results/lat-nice-<timestamp>): rounds.tsv, summary.txt (with the load
# average). README ("Worker priority") has what it showed here.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1
. ./topo.sh
. ./vpn_ringvpn.sh
[ $# -gt 0 ] || { echo "usage: perf/lat_nice.sh NICE|rtPRIO|sSLICE_US..." >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
# Keys, status sockets and the work directory go on any exit (an interrupted
# run left them: tester 290).
D=
rvp_cleanup_hook() {
	vpn_ringvpn_stop >/dev/null 2>&1
	[ -z "$D" ] || rm -rf "$D"
}
rvp_install_trap
rvp_topo_up || exit 1
D=$(mktemp -d)
OUT=${OUT:-$PWD/results/lat-nice-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || exit 1
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "${SITE:-0}" = 1 ]; then
	export RV_SITE_NET=10.203.0.0/24
	ip -n "$RVP_NS_A" addr add 10.203.0.1/32 dev lo || exit 1
	rvp_spawn a "$D/iperf3-server.log" iperf3 -s -p 5301 -B 10.203.0.1
else
	rvp_spawn b "$D/iperf3-server.log" iperf3 -s -p 5301
fi
R=$D/rounds.tsv
for ((r = 1; r <= ROUNDS; r++)); do
	for nice in "$@"; do
		val=${nice%@b} bin=$RV_BIN
		[ "$val" = "$nice" ] || bin=${RV_BIN_B:?"$nice: RV_BIN_B is not set"}
		if [ "${val#rt}" != "$val" ]; then
			RV_BIN=$bin RV_WORKER_RTPRIO=${val#rt} vpn_ringvpn_start "$D/rv-$r-$nice" 1 >"$D/start.log" 2>&1
		elif [ "${val#s}" != "$val" ]; then
			RV_BIN=$bin RV_WORKER_SLICE_US=${val#s} vpn_ringvpn_start "$D/rv-$r-$nice" 1 >"$D/start.log" 2>&1
		else
			RV_BIN=$bin RV_WORKER_NICE=$val vpn_ringvpn_start "$D/rv-$r-$nice" 1 >"$D/start.log" 2>&1
		fi || { cat "$D/start.log"; exit 1; }
		if [ "${SITE:-0}" = 1 ]; then
			rvp_lat_probe 10.203.0.1 5301 "$DURATION" "$D/ping.txt" "$RVP_NS_B"
		else
			rvp_lat_probe "$VPN_DST" 5301 "$DURATION" "$D/ping.txt"
		fi
		vpn_ringvpn_stop
		printf '%s\t%s\t%s\n' "$nice" "$r" "$RVP_LAT" | tee -a "$R"
	done
done
{
echo "medians over $ROUNDS rounds of ${DURATION} s (worker_nice, or rtN: worker_rtprio = N, or sN: worker_slice_us = N; Gbit/s, ping p50, p90, p99 ms):"
rvp_lat_medians "$R" "$@"
[ "${SITE:-0}" = 1 ] && echo "SITE=1: from B to 10.203.0.1, behind the client"
echo "load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
} | tee "$OUT/summary.txt"
{ printf 'worker_nice\tround\tgbps\tp50_ms\tp90_ms\tp99_ms\tpings\tlost\n'; cat "$R"; } >"$OUT/rounds.tsv"
# A round that measured nothing is a failure (exit 1) though the others
# are kept.
awk -F'\t' '$3 == "NA" || $8 == "NA" { bad = 1 } END { exit bad }' "$R"
