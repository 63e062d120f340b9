#!/usr/bin/env bash
# test_control_rekey.sh — rekey every second under load: iperf3 TCP transfers
# through the tunnel with rekey_interval = 1 s must see no packet dropped for
# key reasons (no_key, key_expired, auth counters on both ends stay 0),
# advance the key epoch about once a second (at least 5/6 of the seconds),
# and keep their throughput within 10% of the same transfers with rekeying
# effectively off (60 s). Then, at 2 s, one exchange per interval (each
# used to come with a second one 0.9 s later); and rekey_packets counts
# the client's packets too (an upload went out under one key).
# Throughput on a small shared machine drifts by more than 10% within half a
# minute, so the two settings take turns in short phases, A B B A A B B A
# (A: no rekey, B: rekey every 1 s; 3 s each), switched by `ringvpn reload`
# (the interval is a live setting), and the mean of the B phases is compared
# with the mean of the A phases: a slow stretch of the machine falls on both
# alike; a set short of the bound is followed by another (up to three, the
# bound over all of them). One session carries every phase. (The earlier form, three 30 s
# runs no rekey / rekey / no rekey with server restarts between them, took
# 96 s.)
#
# Usage: bash test_control_rekey.sh [--secs N (per phase)]   Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

SECS=3
[ "${1:-}" = --secs ] && SECS=$2
PHASES=(A B B A A B B A)
command -v iperf3 >/dev/null || rvt_fail "iperf3 not installed"

ctl_init 1
ctl_client_ns c1 1
C1=$(rvt_ns_name c1)
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c1.conf" "$PKI/client1" rvc "$RVT_TMP/c1.sock"
CSOCK="$RVT_TMP/c1.sock"

# key_drops SOCK: sum of the key-related drop counters over all workers.
key_drops() { ctl_sum '^workers total' '^(drop_no_key|drop_key_expired|drop_auth)$' "$1"; }

# set_rekey SECONDS: the server's rekey_interval, through a reload.
set_rekey() {
	local out
	ctl_conf_set "$RVT_TMP/server.conf" "rekey_interval=$1"
	out=$("$RV_BIN" reload -s "$SRV_SOCK" 2>&1) || { echo "$out"; rvt_fail "reload"; }
}

# run_iperf NAME: SECS s of TCP client -> server; prints Mbit/s received.
run_iperf() {
	rvt_nsx "$C1" iperf3 -c 10.99.0.1 -p 5201 -t "$SECS" -J >"$RVT_TMP/iperf-$1.json" ||
		rvt_fail "iperf3 ($1) failed"
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("%.1f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))' "$RVT_TMP/iperf-$1.json"
}

rvt_step "server, client and an iperf3 server in the server's namespace"
CTL_SERVER_KV=(rekey_interval=60)
ctl_start_server
rvt_bg "$C1" client1 "$RV_BIN" client -c "$RVT_TMP/c1.conf"
C1_PID=$RVT_LAST_PID
rvt_wait_for 15 "session" ctl_sessions_eq 1 || rvt_fail "client did not connect"
rvt_wait_for 5 "tunnel" ip netns exec "$C1" ping -c 1 -W 1 10.99.0.1 || rvt_fail "no tunnel"
rvt_bg "$S" iperf-srv iperf3 -s -B 10.99.0.1 -p 5201
iperf_listening() { ip netns exec "$S" ss -Hltn "sport = :5201" | rvt_matches LISTEN; }
rvt_wait_for 5 "iperf3 server" iperf_listening || rvt_fail "iperf3 server did not start"

SD0=$(key_drops "$SRV_SOCK")
CD0=$(key_drops "$CSOCK")
RES_A=()
RES_B=()
REKEYS=0
cur=A
# run_phases ROUND: one A B B A A B B A set, appended to RES_A and RES_B.
run_phases() {
	local i p R E1 E2
	for i in "${!PHASES[@]}"; do
		p=${PHASES[$i]}
		if [ "$p" != "$cur" ]; then
			if [ "$p" = B ]; then set_rekey 1; else set_rekey 60; fi
			cur=$p
		fi
		E1=$(ctl_field "session name=client1" epoch)
		R=$(run_iperf "$1-$i$p")
		E2=$(ctl_field "session name=client1" epoch)
		if [ "$p" = B ]; then
			RES_B+=("$R")
			REKEYS=$((REKEYS + E2 - E1))
		else
			RES_A+=("$R")
		fi
		rvt_log "round $1 phase $((i + 1)) $p ($([ "$p" = B ] && echo "rekey every 1 s" || echo "no rekey")): $R Mbit/s, epoch $E1 -> $E2"
	done
}
# within_10pct: the mean of every B phase so far is at least 0.9 of the A
# phases'.
within_10pct() {
	python3 -c 'import sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ma, mb = sum(a) / len(a), sum(b) / len(b)
print("throughput ratio rekey/no-rekey: %.3f (%.1f vs %.1f Mbit/s, %d phases each)" % (mb / ma, mb, ma, len(a)))
sys.exit(0 if mb >= 0.9 * ma else 1)' "${RES_A[*]}" "${RES_B[*]}"
}
# A busy machine (two other test runs beside this one) has put one set at
# 0.86 with phases of each kind from 2.0 to 3.3 Gbit/s: a set short of the
# bound is followed by another, up to three, and the bound applies to all
# of them together. A real cost of rekeying stays in every set; the
# machine's drift averages out.
for round in 1 2 3; do
	run_phases "$round"
	within_10pct && break
	[ "$round" = 3 ] && rvt_fail "throughput with rekey more than 10% lower"
	rvt_log "short of the bound after $round set(s): one more"
done
SD1=$(key_drops "$SRV_SOCK")
CD1=$(key_drops "$CSOCK")
ctl_status | grep -a '^session'
rvt_log "key-related drops during the runs: server $((SD1 - SD0)), client $((CD1 - CD0))"
BSECS=$((${#RES_B[@]} * SECS))
rvt_log "$REKEYS rekeys in the $BSECS s of the B phases"
[ "$REKEYS" -ge $((BSECS * 5 / 6)) ] || rvt_fail "only $REKEYS rekeys in $BSECS s"
[ "$SD1" -eq "$SD0" ] && [ "$CD1" -eq "$CD0" ] || rvt_fail "packets dropped for key reasons"

rvt_step "one exchange per interval, not two"
# Each timed rekey was followed about 0.9 s later by a second one: the
# deadline, counted from the last key change, was checked while the
# exchange was in flight, and the data plane's request for the epoch being
# replaced was honoured after it.
set_rekey 2
E1=$(ctl_field "session name=client1" epoch)
sleep 6
E2=$(ctl_field "session name=client1" epoch)
rvt_log "rekey_interval 2 s: epoch $E1 -> $E2 in 6 s"
[ $((E2 - E1)) -ge 2 ] && [ $((E2 - E1)) -le 4 ] || rvt_fail "$((E2 - E1)) key exchanges in 6 s at a 2 s interval, want 3 (2-4; pairs made 6)"
rvt_step "rekey_packets holds for what the client sends too"
# The limit was applied to the server's sends only (the client is not told
# it): 40,000 packets up went out under one key.
# With a 10 s keepalive: the receive side's request must wake the control
# thread, not wait for its next timer (one exchange in the 2 s then).
ctl_conf_set "$RVT_TMP/server.conf" "rekey_interval=60" "rekey_packets=1000" "keepalive=10" \
	"dead_peer_timeout=30"
"$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "reload"
sleep 1
E1=$(ctl_field "session name=client1" epoch)
R1=$(ctl_field "session name=client1" rx_packets)
ip netns exec "$C1" iperf3 -c 10.99.0.1 -p 5201 -u -b 20M -l 1000 -t 2 >/dev/null 2>&1 || rvt_fail "iperf3 upload"
E2=$(ctl_field "session name=client1" epoch)
R2=$(ctl_field "session name=client1" rx_packets)
rvt_log "upload of $((R2 - R1)) packets at rekey_packets 1000, keepalive 10 s: epoch $E1 -> $E2"
[ $((R2 - R1)) -ge 4000 ] || rvt_fail "only $((R2 - R1)) packets up"
[ $((E2 - E1)) -ge 2 ] || rvt_fail "$((E2 - E1)) key exchanges for $((R2 - R1)) packets up in 2 s"

rvt_step "what the server sends before a session's first key is tx_no_key, not no_key"
# The control connection through a relay that delays it 150 ms each way:
# the server's first key is in a round trip after the session is made, and
# its pings to the client meanwhile were counted as no_key, the count of
# received datagrams that name no key (round-forty-seven tester 214).
rvt_stop_pid "$C1_PID" 10 || rvt_fail "client exit"
rvt_wait_for 10 "no session" ctl_sessions_eq 0 || rvt_fail "the session stayed"
rvt_bg "$S" relay python3 "$RV_SRC/test/integ/delay_relay.py" 10.88.1.1 4443 10.88.1.1 "$SRV_PORT" 150
rvt_wait_for 10 "relay listening" grep -q "relay: listening" "$RVT_TMP/relay.log" || rvt_fail "relay"
ctl_conf_set "$RVT_TMP/c1.conf" "server=10.88.1.1:4443"
K0=$(ctl_field "workers total" drop_no_key)
T0=$(ctl_field "workers total" drop_tx_no_key)
rvt_bg "$S" ping-c1 ping -q -i 0.01 -c 600 -W 1 10.99.0.2
rvt_bg "$C1" client1b "$RV_BIN" client -c "$RVT_TMP/c1.conf"
rvt_wait_for 15 "session" ctl_sessions_eq 1 || rvt_fail "client did not connect through the relay"
rvt_wait_for 5 "tunnel" ip netns exec "$C1" ping -c 1 -W 1 10.99.0.1 || rvt_fail "no tunnel"
K1=$(ctl_field "workers total" drop_no_key)
T1=$(ctl_field "workers total" drop_tx_no_key)
SK=$(ctl_field "session name=client1" drop_tx_no_key)
rvt_log "server: tx_no_key $((T1 - T0)) (the session's $SK), no_key $((K1 - K0))"
[ $((T1 - T0)) -ge 3 ] && [ "$SK" -ge 3 ] || rvt_fail "the pings before the first key not counted as tx_no_key"
[ "$K1" -eq "$K0" ] || rvt_fail "the server's own sends counted as no_key"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
