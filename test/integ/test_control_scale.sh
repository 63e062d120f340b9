#!/usr/bin/env bash
# test_control_scale.sh — 50 clients connected at once all pass traffic.
# Each client has 20 s to get an echo reply: under a CPU hog replies take
# longer than on an idle machine (see the README's note on this test), while
# a client that cannot pass traffic at all still fails, with its counters
# printed.
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
# Ready means ready on both ends: the server lists the session as running
# (above), and the client's own status says running (it can send only once
# it has processed the server's KEY_CONFIRM) with its address on its TUN.
client_ready() {
	ctl_status "$RVT_TMP/m$1.sock" 2>/dev/null | rvt_matches '^client .*state=running' &&
		ip -n "$C1" -4 addr show "rvm$1" | rvt_matches inet
}
for i in $(seq 1 "$N"); do
	rvt_wait_for 20 "client$i running with its address" client_ready "$i" ||
		rvt_fail "client$i is not up on its own side"
done

# pass_traffic I: three echo requests through rvmI; if none is answered,
# single ones until 20 s have passed. A first round without a reply is
# logged with the client's counters: on a busy machine replies can be later
# than ping waits (3 s after the last request), and the counters tell a late
# reply from a dropped packet. Prints the number of rounds it took.
pass_traffic() {
	local i=$1 t0=$SECONDS rounds=1
	if ip netns exec "$C1" ping -I "rvm$i" -c 3 -i 0.3 -W 3 10.99.0.1 >"$RVT_TMP/ping$i.log" 2>&1; then
		echo 1
		return 0
	fi
	{
		echo "--- first round unanswered; client status:"
		ctl_status "$RVT_TMP/m$i.sock"
		echo "--- server's session:"
		ctl_status | grep -a "name=client$i "
	} >>"$RVT_TMP/ping$i.log" 2>&1
	while [ $((SECONDS - t0)) -lt 20 ]; do
		rounds=$((rounds + 1))
		if ip netns exec "$C1" ping -I "rvm$i" -c 1 -W 2 10.99.0.1 >>"$RVT_TMP/ping$i.log" 2>&1; then
			echo "$rounds"
			return 0
		fi
	done
	echo "$rounds"
	return 1
}
pids=()
for i in $(seq 1 "$N"); do
	pass_traffic "$i" >"$RVT_TMP/rounds$i" &
	pids+=("$!")
done
fails=0
slow=0
for i in $(seq 1 "$N"); do
	if ! wait "${pids[$((i - 1))]}"; then
		fails=$((fails + 1))
		rvt_log "client$i: no reply within 20 s ($(cat "$RVT_TMP/rounds$i") rounds)"
		cat "$RVT_TMP/ping$i.log" "$RVT_TMP/m$i.log" >&2
		ctl_status "$RVT_TMP/m$i.sock" >&2
	elif [ "$(cat "$RVT_TMP/rounds$i")" != 1 ]; then
		slow=$((slow + 1))
		rvt_log "client$i: first round unanswered, passed in round $(cat "$RVT_TMP/rounds$i")"
		cat "$RVT_TMP/ping$i.log" >&2
	fi
done
[ "$fails" -eq 0 ] || rvt_fail "$fails of $N clients could not pass traffic"
rvt_log "all $N clients reached the server ($slow needed more than one round)"
ctl_status | grep -a '^workers total'
# Each client's echo requests reached the server's workers.
RX=$(ctl_field "workers total" rx_packets)
[ "$RX" -ge "$N" ] || rvt_fail "server received only $RX packets"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
