#!/usr/bin/env bash
# perf/sched_delay.sh — where a ping waits under load, thread by thread:
# ringvpn (offloads on) between the two namespaces of topo.sh, one TCP stream
# A -> B of DURATION seconds with a ping every 10 ms beside it, and
# `perf sched record` (scheduler tracepoints, no PMU needed) for RECORD
# seconds in its middle. perf/sched_delay.py then prints every busy
# thread's scheduling delay (wake-up to running: p50, p90, p99, max) and,
# for the long delays of the threads that carry the ping (each end's
# small-packet worker, the ping process), which tasks held the CPU meanwhile.
#
#   perf/sched_delay.sh                  Env: DURATION (12), RECORD (4),
#                                        RV_WORKER_NICE / RV_WORKER_RTPRIO /
#                                        RV_WORKER_SLICE_US,
#                                        RV_BUILD (see vpn_ringvpn.sh), OUT
#
# Output in $OUT (default perf/results/sched-delay-<timestamp>): report.txt
# (the tables, the stream's rate and the ping's percentiles), tids.txt.
# The recording itself (tens of MB) is not kept. README ("Worker priority")
# has what it showed here.
set -u
[ -z "${OUT:-}" ] || [ "${OUT#/}" != "$OUT" ] || OUT=$PWD/$OUT
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1
. ./topo.sh
. ./vpn_ringvpn.sh
command -v perf >/dev/null || rvp_die "perf (linux-perf) not installed"
DURATION=${DURATION:-12}
RECORD=${RECORD:-4}
[ "$DURATION" -ge $((RECORD + 4)) ] || rvp_die "DURATION must be at least RECORD + 4"
# Keys, status sockets and the work directory (tens of MB of recording) go
# on any exit (an interrupted run left them: tester 290).
D=
rvp_cleanup_hook() {
	vpn_ringvpn_stop >/dev/null 2>&1
	[ -z "$D" ] || rm -rf "$D"
}
rvp_install_trap
rvp_topo_up || exit 1
D=$(mktemp -d)
OUT=${OUT:-$PWD/results/sched-delay-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || exit 1
rvp_spawn b "$D/iperf3-server.log" iperf3 -s -p 5301
vpn_ringvpn_start "$D/rv" 1 >"$D/start.log" 2>&1 || { cat "$D/start.log"; exit 1; }

# Label the threads: the client's last worker carries its small packets
# both ways; with one session the server's does too (its lane + 1).
: >"$OUT/tids.txt"
for i in 0 1; do
	pid=${VPN_PIDS[$i]} side=$([ $i = 0 ] && echo server || echo client)
	last=$(ls "/proc/$pid/task" | while read -r t; do cat "/proc/$pid/task/$t/comm"; done |
		grep -c '^rv-worker')
	for t in /proc/"$pid"/task/*; do
		comm=$(cat "$t/comm")
		case $comm in
		rv-worker$((last - 1))) label="$side small" ;;
		rv-worker*) label="$side bulk ${comm#rv-worker}" ;;
		*) label="$side control" ;;
		esac
		echo "${t##*/} $label" >>"$OUT/tids.txt"
	done
done

ip netns exec "$RVP_NS_A" ping -n -i 0.01 -w "$DURATION" "$VPN_DST" >"$D/ping.txt" &
pp=$!
RVP_PIDS+=("$pp")
sleep 0.2
timeout --foreground --kill-after=5 $((DURATION + 20)) \
	ip netns exec "$RVP_NS_A" iperf3 -c "$VPN_DST" -p 5301 -t "$DURATION" -J >"$D/iperf3.json" 2>&1 &
ip=$!
RVP_PIDS+=("$ip")
sleep $(((DURATION - RECORD) / 2))
perf sched record -a -o "$D/sched.data" -- sleep "$RECORD" >"$D/perf.log" 2>&1 ||
	{ cat "$D/perf.log"; exit 1; }
wait "$ip" "$pp"
rvp_forget "$ip" "$pp"
dead=
for p in "${VPN_PIDS[@]}"; do rvp_alive "$p" || dead=$p; done
vpn_ringvpn_stop
# The ping process's own delays count as well: it is woken by the reply.
ping_tid=$(perf sched timehist -i "$D/sched.data" 2>/dev/null | awk '$3 ~ /^ping\[/ { sub(/^ping\[/, "", $3); sub(/[]\/].*/, "", $3); print $3; exit }')
[ -n "$ping_tid" ] && echo "$ping_tid ping" >>"$OUT/tids.txt"
{
	echo "one TCP stream A -> B for ${DURATION} s with a ping every 10 ms; perf sched record for ${RECORD} s in its middle"
	[ -z "$dead" ] || echo "ringvpn process $dead died during the stream: the figures below are not the VPN's"
	echo "stream: $(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("NA" if d.get("error") else round(d["end"]["sum_received"]["bits_per_second"] / 1e9, 3))' "$D/iperf3.json" 2>/dev/null || echo NA) Gbit/s"
	# Every ping sent counts, a lost one ranked above every reply
	# (perf/rtt_stats.py; the replies alone hid the losses: tester 290).
	python3 ./rtt_stats.py "$D/ping.txt" |
		awk '{ printf "ping RTT (ms): p50 %s p90 %s p99 %s max %s; %s replies, %s lost\n", $2, $3, $4, $5, $6, $7 }'
	echo "worker_nice ${RV_WORKER_NICE:-0} worker_rtprio ${RV_WORKER_RTPRIO:-0} worker_slice_us ${RV_WORKER_SLICE_US:-0}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	perf sched timehist -i "$D/sched.data" 2>/dev/null |
		python3 ./sched_delay.py --tids "$OUT/tids.txt" --watch "client small,server small,ping"
} | tee "$OUT/report.txt"
[ -z "$dead" ] || exit 1
