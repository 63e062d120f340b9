#!/usr/bin/env bash
# test_control_flood.sh — 1,000 TCP connections to the control port that
# never finish a TLS handshake (held open for 15 s) do not keep a real client
# out and do not disturb an existing session: the server caps connections
# still handshaking (max_handshaking, oldest evicted first) and closes each
# after handshake_timeout.
#
# Usage: bash test_control_flood.sh [--count N]   Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

COUNT=1000
[ "${1:-}" = --count ] && COUNT=$2

ctl_init 2
ctl_client_ns c1 1
ctl_client_ns c2 2
ctl_client_ns f 3
C1=$(rvt_ns_name c1)
C2=$(rvt_ns_name c2)
F=$(rvt_ns_name f)
PROBE="$RV_BUILD/test/rvt_ctl_probe"
[ -x "$PROBE" ] || rvt_fail "$PROBE not built"
CTL_SERVER_KV=(max_handshaking=32 handshake_timeout=2)
ctl_start_server
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c1.conf" "$PKI/client1" rvc "$RVT_TMP/c1.sock"
CTL_IDX=2 ctl_client_conf "$RVT_TMP/c2.conf" "$PKI/client2" rvc "$RVT_TMP/c2.sock"
rvt_bg "$C1" client1 "$RV_BIN" client -c "$RVT_TMP/c1.conf"
rvt_wait_for 10 "client1 session" ctl_sessions_eq 1 || rvt_fail "client1 did not come up"

rvt_step "flood: $COUNT half-open connections held for 15 s"
rvt_bg "$F" flood "$PROBE" flood 10.88.3.1 "$SRV_PORT" "$COUNT" 15
FLOOD=$RVT_LAST_PID
rvt_wait_for 30 "flood established" grep -q "connections established" "$RVT_TMP/flood.log" ||
	rvt_fail "flood did not start"
cat "$RVT_TMP/flood.log"
ctl_status | head -1

rvt_step "existing session keeps passing traffic, a new client gets in"
rvt_bg "$C1" ping ping -c 25 -i 0.2 -W 2 10.99.0.1
PING=$RVT_LAST_PID
rvt_bg "$C2" client2 "$RV_BIN" client -c "$RVT_TMP/c2.conf"
T0=$(date +%s.%N)
rvt_wait_for 10 "client2 session during the flood" ctl_sessions_eq 2 ||
	{ ctl_status | head -1; rvt_fail "client2 kept out by the flood"; }
rvt_log "client2 connected $(awk -v t0="$T0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }') s into the flood"
kill -0 "$FLOOD" 2>/dev/null || rvt_fail "the flood ended too early to prove anything"
rvt_nsx "$C2" ping -c 3 -i 0.2 -W 2 10.99.0.1 || rvt_fail "client2 traffic during the flood"
wait "$PING" || { cat "$RVT_TMP/ping.log"; rvt_fail "client1 traffic disturbed by the flood"; }
tail -2 "$RVT_TMP/ping.log"
ctl_status | head -1
EV=$(ctl_field server evicted)
[ "$EV" -gt 0 ] || rvt_fail "no half-open connection was evicted"

rvt_step "after the flood"
wait "$FLOOD"
rvt_wait_for 10 "only the two clients left" sh -c "\"$RV_BIN\" status --kv -s $SRV_SOCK | head -1 | grep -q ' conns=2 handshaking=0\| handshaking=0 conns=2 '" ||
	{ ctl_status | head -1; rvt_fail "half-open connections left behind"; }
ctl_status | head -1
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
