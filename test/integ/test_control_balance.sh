#!/usr/bin/env bash
# test_control_balance.sh — a server moves busy sessions between its workers
# (balance_workers). Sessions are placed on the worker with the fewest
# sessions when they arrive: three clients connecting one after the other
# land on workers 0, 1 and 0, and when clients 1 and 3 are the busy ones,
# worker 0 carries both streams while worker 1 idles.
#
#   1. balance_workers = no: both streams arrive through worker 0 (worker
#      1's share of the bytes received is under a tenth), nothing moves.
#   2. A reload turns it on, the same streams run again: within a few
#      seconds one of the two sessions moves to worker 1 (status: moves 1,
#      away 1), and in the last seconds worker 1 receives at least a fifth
#      of the bytes. Exactly one move: after it the busy sessions are split
#      one and one, and nothing bounces. Both streams run to their end and
#      every client's pings, small and bulk-sized, are answered afterwards:
#      the move kept the session's keys, index and replay window working.
#      status names the moved session's worker, and a download to it leaves
#      through its new worker (the TUN side's lane tables followed).
#   3. The busy clients leave: the moved session's pin goes with it (away 0).
#
# Usage: bash test_control_balance.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

N=3
SECS=6
ctl_init $N
for i in $(seq $N); do ctl_client_ns "c$i" "$i"; done
command -v iperf3 >/dev/null || rvt_fail "iperf3 is missing (scripts/install-deps.sh installs it)"

rvt_step "server with two workers, balance_workers = no; three clients, one after the other"
CTL_SERVER_KV=(workers=2 balance_workers=no)
ctl_start_server
grep -q "2 worker(s), sessions spread over them evenly" "$RVT_TMP/server.log" ||
	rvt_fail "server does not steer sessions: $(grep -a listening "$RVT_TMP/server.log")"
PIDS=()
for i in $(seq $N); do
	ctl_client "$i"
	PIDS+=("$RVT_LAST_PID")
	rvt_wait_for 10 "$i running sessions" ctl_sessions_eq "$i" || rvt_fail "client$i did not come up"
done

rxb() { ctl_field "worker id=$1 " rx_bytes; }
srv_field() { ctl_field "server " "$1"; }
away_is() { [ "$(srv_field away)" = "$1" ]; }
# streams SECS: clients 1 and 3 each send one TCP stream to the server for
# SECS seconds; sets w0 and w1, the bytes each worker received in the last
# half of it.
streams() {
	local s1 s3 c1 c3 a0 a1
	rvt_bg "$S" iperf-s1 iperf3 -s -1 -B 10.99.0.1 -p 5201
	s1=$RVT_LAST_PID
	rvt_bg "$S" iperf-s3 iperf3 -s -1 -B 10.99.0.1 -p 5203
	s3=$RVT_LAST_PID
	sleep 0.5
	rvt_bg "$(rvt_ns_name c1)" iperf-c1 iperf3 -c 10.99.0.1 -p 5201 -t "$1"
	c1=$RVT_LAST_PID
	rvt_bg "$(rvt_ns_name c3)" iperf-c3 iperf3 -c 10.99.0.1 -p 5203 -t "$1"
	c3=$RVT_LAST_PID
	sleep $(($1 / 2))
	a0=$(rxb 0) a1=$(rxb 1)
	wait "$c1" || rvt_fail "client1's stream failed: $(tail -3 "$RVT_TMP/iperf-c1.log")"
	wait "$c3" || rvt_fail "client3's stream failed: $(tail -3 "$RVT_TMP/iperf-c3.log")"
	w0=$(($(rxb 0) - a0)) w1=$(($(rxb 1) - a1))
	rvt_forget_pid "$c1"
	rvt_forget_pid "$c3"
	rvt_stop_pid "$s1" 2 2>/dev/null
	rvt_stop_pid "$s3" 2 2>/dev/null
	rvt_log "last $(($1 / 2)) s: worker 0 received $w0 bytes, worker 1 $w1"
	[ $((w0 + w1)) -gt $((20 * 1000 * 1000)) ] || rvt_fail "the streams carried too little to tell"
}
pings_ok() {
	local i
	for i in $(seq $N); do
		rvt_nsx "$(rvt_ns_name "c$i")" ping -q -c 5 -i 0.05 -W 2 10.99.0.1 >/dev/null ||
			rvt_fail "client$i: small pings after the streams"
		rvt_nsx "$(rvt_ns_name "c$i")" ping -q -s 1000 -c 5 -i 0.05 -W 2 10.99.0.1 >/dev/null ||
			rvt_fail "client$i: bulk-sized pings after the streams"
	done
}

rvt_step "1. both busy clients on worker 0, balancing off"
streams "$SECS"
[ $((w1 * 10)) -lt $((w0 + w1)) ] ||
	rvt_fail "worker 1 received $w1 of $((w0 + w1)) bytes: clients 1 and 3 were not both on worker 0"
[ "$(srv_field moves)" = 0 ] || rvt_fail "sessions moved with balance_workers = no: $(srv_field moves)"
pings_ok

rvt_step "2. a reload turns balancing on: one busy session moves to worker 1"
ctl_conf_set "$RVT_TMP/server.conf" balance_workers=yes
kill -HUP "$SRV_PID"
rvt_wait_for 10 "reload applied" grep -q "reload applied: changed: balance_workers" "$RVT_TMP/server.log" ||
	rvt_fail "reload: $(grep -a reload "$RVT_TMP/server.log" | tail -2)"
streams "$SECS"
[ "$(srv_field moves)" = 1 ] || rvt_fail "moves = $(srv_field moves), want exactly 1"
[ "$(srv_field away)" = 1 ] || rvt_fail "away = $(srv_field away), want 1"
[ $((w1 * 5)) -ge $((w0 + w1)) ] ||
	rvt_fail "after the move worker 1 received only $w1 of $((w0 + w1)) bytes"
"$RV_BIN" status -s "$SRV_SOCK" | grep -a "sessions moved between workers 1 (1 away now)" ||
	rvt_fail "status does not show the move"
pings_ok

rvt_step "2b. what the server sends to the moved session leaves through its new worker"
moved=
for i in 1 3; do
	[ "$(ctl_field "session name=client$i " worker)" = 1 ] && moved=$i
done
[ -n "$moved" ] || rvt_fail "status names neither client1 nor client3 on worker 1: $(ctl_status | grep -a '^session')"
[ "$(ctl_field "session name=client2 " worker)" = 1 ] || rvt_fail "client2 should have stayed on worker 1"
txb() { ctl_field "worker id=$1 " tx_bytes; }
t0=$(txb 0) t1=$(txb 1)
rvt_bg "$S" iperf-sr iperf3 -s -1 -B 10.99.0.1 -p 5205
sr=$RVT_LAST_PID
sleep 0.5
rvt_nsx "$(rvt_ns_name "c$moved")" iperf3 -c 10.99.0.1 -p 5205 -t 3 -R >"$RVT_TMP/iperf-r.log" 2>&1 ||
	rvt_fail "download to client$moved: $(tail -3 "$RVT_TMP/iperf-r.log")"
rvt_stop_pid "$sr" 2 2>/dev/null
t0=$(($(txb 0) - t0)) t1=$(($(txb 1) - t1))
rvt_log "download to client$moved: worker 0 sent $t0 bytes, worker 1 $t1"
[ $((t1 * 10)) -ge $((9 * (t0 + t1))) ] ||
	rvt_fail "worker 1 sent only $t1 of $((t0 + t1)) bytes to the session moved there"

rvt_step "3. the busy clients leave: no session stays pinned"
rvt_stop_pid "${PIDS[0]}" || rvt_fail "client1 did not stop"
rvt_stop_pid "${PIDS[2]}" || rvt_fail "client3 did not stop"
rvt_wait_for 10 "1 running session" ctl_sessions_eq 1 || rvt_fail "clients 1 and 3 did not leave"
rvt_wait_for 5 "pins pruned" away_is 0 || rvt_fail "away = $(srv_field away) after the moved session left"
rvt_nsx "$(rvt_ns_name c2)" ping -q -c 3 -i 0.05 -W 2 10.99.0.1 >/dev/null || rvt_fail "client2 after the others left"
rvt_log "PASS"
