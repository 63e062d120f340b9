#!/usr/bin/env bash
# test_control_scale.sh — 50 clients connected at once all pass traffic.
# The clients run in one namespace, each with its own TUN device (rvm1..),
# status socket and UDP port; each pings the server's tunnel address through
# its own device. (Client-to-client traffic through the server is covered
# by test_control_basic.sh, with the clients in separate namespaces: here
# their addresses are all local to one namespace.)
#
# Usage: bash test_control_scale.sh [--clients N]   Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

N=50
[ "${1:-}" = --clients ] && N=$2

ctl_init "$N"
ctl_client_ns c1 1
C1=$(rvt_ns_name c1)
CTL_SERVER_KV=()
ctl_start_server

rvt_step "start $N clients"
for i in $(seq 1 "$N"); do
	# offload_tun off: 50 processes with 64 KiB superframe buffers each would
	# only cost memory here; the offloads are covered by the data-plane tests.
	CTL_IDX=1 ctl_client_conf "$RVT_TMP/m$i.conf" "$PKI/client$i" "rvm$i" "$RVT_TMP/m$i.sock" \
		offload_tun=no
	ip netns exec "$C1" "$RV_BIN" client -c "$RVT_TMP/m$i.conf" >"$RVT_TMP/m$i.log" 2>&1 &
	RVT_PIDS+=("$!")
done
T0=$(date +%s.%N)
rvt_wait_for 60 "$N sessions" ctl_sessions_eq "$N" || { ctl_status | head -1; rvt_fail "not all clients came up"; }
rvt_log "$N sessions running after $(awk -v t0="$T0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }') s"
ctl_status | head -1
[ "$(ctl_field server pool4_in_use)" = "$N" ] || rvt_fail "address count"
# Every client must have its own distinct address.
D=$(ctl_status | grep -a '^session' | tr ' ' '\n' | grep -c '^v4=')
U=$(ctl_status | grep -a '^session' | tr ' ' '\n' | grep '^v4=' | sort -u | wc -l)
[ "$D" -eq "$N" ] && [ "$U" -eq "$N" ] || rvt_fail "addresses not unique ($U of $D)"

rvt_step "every client passes traffic"
for i in $(seq 1 "$N"); do
	rvt_wait_for 10 "rvm$i address" sh -c "ip -n $C1 -4 addr show rvm$i | grep -q inet" ||
		rvt_fail "rvm$i has no address"
done
pids=()
for i in $(seq 1 "$N"); do
	ip netns exec "$C1" ping -I "rvm$i" -c 3 -i 0.3 -W 3 10.99.0.1 >"$RVT_TMP/ping$i.log" 2>&1 &
	pids+=("$!")
done
fails=0
for i in $(seq 1 "$N"); do
	wait "${pids[$((i - 1))]}" || { fails=$((fails + 1)); rvt_log "client$i: ping failed"; tail -2 "$RVT_TMP/ping$i.log" >&2; }
done
[ "$fails" -eq 0 ] || rvt_fail "$fails of $N clients could not pass traffic"
rvt_log "all $N clients reached the server"
ctl_status | grep -a '^workers total'
# Each client sent 3 echo requests; the server's workers received them all.
RX=$(ctl_field "workers total" rx_packets)
[ "$RX" -ge $((3 * N)) ] || rvt_fail "server received only $RX packets"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
