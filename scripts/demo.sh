#!/usr/bin/env bash
# demo.sh — ringvpn end to end on one machine: installs the dependencies,
# builds, creates network namespaces and a throw-away PKI, starts a server
# and three clients, pings across the tunnel (client -> server, client ->
# client), runs a short iperf3 through it, shows `ringvpn status`, reloads
# the server's configuration while a client pings (no session and no packet
# lost), and tears everything down (namespaces, processes, files) on exit.
#
#   sudo scripts/demo.sh [--no-install] [--secs N]
#
#   ns rvt-$$-c1 (client1) --veth--+
#   ns rvt-$$-c2 (client2) --veth--+-- ns rvt-$$-s (server)
#   ns rvt-$$-c3 (client3) --veth--+
#   tunnel 10.99.0.0/24 + fd99::/64, server 10.99.0.1
set -u
cd "$(dirname "$0")/.."
SRC=$(pwd)
INSTALL=1
SECS=5
while [ $# -gt 0 ]; do
	case $1 in
	--no-install) INSTALL=0; shift ;;
	--secs) SECS=$2; shift 2 ;;
	*) echo "usage: $0 [--no-install] [--secs N]" >&2; exit 2 ;;
	esac
done
if [ "$INSTALL" = 1 ]; then
	bash scripts/install-deps.sh || exit 1
fi
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build build/demo -j"$(nproc)" --target ringvpn rvt_ctl_probe >/dev/null || exit 1

export RV_SRC="$SRC" RV_BUILD="$SRC/build/demo" RV_BIN="$SRC/build/demo/cli/ringvpn"
. "$SRC/test/integ/lib.sh"
. "$SRC/test/integ/control_lib.sh"

rvt_step "namespaces and a test PKI (ringvpn pki)"
ctl_init 3
for i in 1 2 3; do
	ctl_client_ns c$i $i
done
C1=$(rvt_ns_name c1)
C2=$(rvt_ns_name c2)

rvt_step "server and three clients"
CTL_SERVER_KV=(rekey_interval=60 keepalive=5 dead_peer_timeout=15)
ctl_start_server
for i in 1 2 3; do
	CTL_IDX=$i ctl_client_conf "$RVT_TMP/c$i.conf" "$PKI/client$i" rv0 "$RVT_TMP/c$i.sock"
	rvt_bg "$(rvt_ns_name c$i)" client$i "$RV_BIN" client -c "$RVT_TMP/c$i.conf"
done
rvt_wait_for 15 "three sessions" ctl_sessions_eq 3 || rvt_fail "clients did not connect"
A2=$(ctl_field "session name=client2" v4)

rvt_step "ping: client1 -> server, client1 -> client2 (through the server)"
rvt_nsx "$C1" ping -c 3 -i 0.2 10.99.0.1 || rvt_fail "ping server"
rvt_nsx "$C1" ping -c 3 -i 0.2 "$A2" || rvt_fail "ping client2"

rvt_step "iperf3 client1 -> server through the tunnel (${SECS} s)"
rvt_bg "$S" iperf3-server iperf3 -s -1 -B 10.99.0.1
sleep 0.5
rvt_nsx "$C1" iperf3 -c 10.99.0.1 -t "$SECS" || rvt_fail "iperf3"

rvt_step "ringvpn status (server)"
"$RV_BIN" status -s "$SRV_SOCK"
rvt_step "ringvpn status (client1)"
"$RV_BIN" status -s "$RVT_TMP/c1.sock"

rvt_step "ringvpn reload: new keepalive and log level while client1 pings"
# session_ids: name and receiver index of every session (a new session
# after a reconnect would get a new index).
session_ids() { ctl_status | sed -nE 's/^session name=([^ ]*) .* index=([0-9a-f]*) .*/\1 \2/p' | sort; }
sessions_before=$(session_ids)
rvt_bg "$C1" ping-reload ping -q -i 0.05 -W 2 10.99.0.1
PING=$RVT_LAST_PID
sleep 1
ctl_conf_set "$RVT_TMP/server.conf" keepalive=10 log_level=debug
"$RV_BIN" reload -s "$SRV_SOCK" || rvt_fail "reload"
sleep 1
kill -INT "$PING"
wait "$PING"
tail -2 "$RVT_TMP/ping-reload.log"
GOT=$(rvt_ping_stopped_ok "$RVT_TMP/ping-reload.log") || rvt_fail "packets lost across the reload ($GOT)"
[ "$(session_ids)" = "$sessions_before" ] && [ "$(echo "$sessions_before" | wc -l)" = 3 ] ||
	rvt_fail "a session was dropped by the reload"
rvt_log "all three sessions kept, no packet lost"
grep -a "server updated the configuration" "$RVT_TMP/client1.log" | tail -1
rvt_step "tearing down"
