#!/usr/bin/env bash
# test_control_lanes.sh — a server spreads its sessions evenly over its
# workers: each session's receiver index names a worker (the one with the
# fewest sessions when it was made), and the kernel delivers the session's
# datagrams to that worker's socket (a classic BPF program on the
# SO_REUSEPORT group) instead of the one a hash of the client's address
# picks, which may give one worker three clients of four.
#
# Four clients ping the server 8, 16, 32 and 64 times (400-byte pings: bulk
# size); the packets each server worker received, in units of 8, must have
# exactly two bits set: two clients per worker, whatever ports the clients
# got. A hash would put three or four on one worker in 5 of 8 runs. Small
# datagrams (plain pings, ACKs: at most 256 inner bytes) go to the session's
# next worker instead, so that they do not queue behind the session's own
# bulk: the same pings at 56 bytes must land exactly the other way round.
#
# Then the server is killed with -9 and started again at once: the clients
# come back to a fresh socket group and are split two and two again.
#
# Usage: bash test_control_lanes.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

N=4
ctl_init $N
for i in $(seq $N); do ctl_client_ns "c$i" "$i"; done

rvt_step "server with two workers, four clients"
CTL_SERVER_KV=(workers=2)
ctl_start_server
grep -q "2 worker(s), sessions spread over them evenly" "$RVT_TMP/server.log" ||
	rvt_fail "server does not say it steers sessions: $(grep -a listening "$RVT_TMP/server.log")"
PIDS=()
for i in $(seq $N); do
	CTL_IDX=$i ctl_client_conf "$RVT_TMP/c$i.conf" "$PKI/client$i" rvc "$RVT_TMP/c$i.sock"
	rvt_bg "$(rvt_ns_name "c$i")" "client$i" "$RV_BIN" client -c "$RVT_TMP/c$i.conf"
	PIDS+=("$RVT_LAST_PID")
done
rvt_wait_for 10 "$N running sessions" ctl_sessions_eq $N || rvt_fail "sessions did not come up"

rx() { ctl_field "worker id=$1 " rx_packets; }
bits() { local v=$1 n=0; while [ "$v" -gt 0 ]; do n=$((n + (v & 1))); v=$((v >> 1)); done; echo $n; }
# ping_all SIZE: client i pings 4 << i times with SIZE-byte payloads; sets
# d0 and d1, the packets each worker received meanwhile.
ping_all() {
	local b0 b1 i
	b0=$(rx 0) b1=$(rx 1)
	[ -n "$b0" ] && [ -n "$b1" ] || rvt_fail "no per-worker rx_packets in status"
	for i in $(seq $N); do
		rvt_nsx "$(rvt_ns_name "c$i")" ping -q -s "$1" -c $((4 << i)) -i 0.01 -W 2 10.99.0.1 \
			>/dev/null || rvt_fail "client$i: ping"
	done
	d0=$(($(rx 0) - b0)) d1=$(($(rx 1) - b1))
}
# check_split: each worker's share of the bulk-size pings, rounded to units
# of 8, is the sum of its clients' counts: two bits set for two clients.
# The small pings come out the other way round. Sets u0 (worker 0's
# clients as bits).
check_split() {
	local u1 s0
	ping_all 400
	rvt_log "400-byte pings: worker 0 received $d0 packets, worker 1 $d1 (clients sent 8, 16, 32, 64)"
	u0=$(((d0 + 4) / 8)) u1=$(((d1 + 4) / 8))
	[ $((u0 + u1)) = 15 ] || rvt_fail "workers received $d0 + $d1 packets, want 120 in all"
	[ "$(bits $u0)" = 2 ] && [ "$(bits $u1)" = 2 ] ||
		rvt_fail "clients not split two and two: worker 0 got $d0, worker 1 $d1"
	ping_all 56
	rvt_log "56-byte pings: worker 0 received $d0 packets, worker 1 $d1"
	s0=$(((d0 + 4) / 8))
	[ "$s0" = "$u1" ] || rvt_fail "small datagrams not on the session's other worker: worker 0 got $d0 (its sessions' bulk share was $((u0 * 8)))"
}

rvt_step "each worker carries two of the clients"
check_split

rvt_step "clients that leave free their places: the next ones take them"
# Worker 0's two clients leave and come back: worker 0 then has the fewest
# sessions each time, so both land on it again.
for i in $(seq $N); do
	[ $(((u0 >> (i - 1)) & 1)) = 1 ] || continue
	rvt_stop_pid "${PIDS[i - 1]}" 10 || rvt_fail "client$i did not exit 0"
done
rvt_wait_for 10 "two sessions left" ctl_sessions_eq 2 || rvt_fail "sessions did not end"
for i in $(seq $N); do
	[ $(((u0 >> (i - 1)) & 1)) = 1 ] || continue
	rvt_bg "$(rvt_ns_name "c$i")" "client$i-again" "$RV_BIN" client -c "$RVT_TMP/c$i.conf"
	PIDS[i - 1]=$RVT_LAST_PID
done
rvt_wait_for 10 "$N running sessions again" ctl_sessions_eq $N || rvt_fail "sessions did not come back"
b0=$(rx 0) b1=$(rx 1)
for i in $(seq $N); do
	[ $(((u0 >> (i - 1)) & 1)) = 1 ] || continue
	rvt_nsx "$(rvt_ns_name "c$i")" ping -q -s 400 -c 16 -i 0.01 -W 2 10.99.0.1 >/dev/null ||
		rvt_fail "client$i: ping after its return"
done
d0=$(($(rx 0) - b0)) d1=$(($(rx 1) - b1))
rvt_log "after the return: worker 0 received $d0, worker 1 $d1 (want 32 and 0)"
[ "$d0" -ge 32 ] && [ "$d1" -le 2 ] || rvt_fail "returning clients not on the freed worker"

rvt_step "server killed with -9 and started again at once"
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
mv "$RVT_TMP/server.log" "$RVT_TMP/server-1.log"
ctl_start_server
rvt_wait_for 20 "$N clients back" ctl_sessions_eq $N || { ctl_status; rvt_fail "clients did not come back"; }
check_split

for p in "${PIDS[@]}"; do rvt_stop_pid "$p" 10 || rvt_fail "a client did not exit 0"; done
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server did not exit 0"
rvt_log "lanes test passed"
