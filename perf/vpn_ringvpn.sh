# perf/vpn_ringvpn.sh — ringvpn between the two namespaces of perf/topo.sh.
# Sourced by run.sh / flame.sh.
#
#   vpn_ringvpn_build            (re)build RV_BUILD as Release (quiet; best effort)
#   vpn_ringvpn_check            0 if a usable binary exists (else prints why)
#   vpn_ringvpn_start DIR OFFL   start both ends; OFFL 1 = offloads on, 0 = off;
#                                sets VPN_PIDS, VPN_DST, VPN_DESC
#   vpn_ringvpn_stop             stop what vpn_ringvpn_start started
#
# Two ways to run it, chosen automatically (RV_MODE=cli|dp_peer forces one):
#   cli      `ringvpn server -c FILE` in B and `ringvpn client -c FILE` in A,
#            with a PKI made by `ringvpn pki ...` (the real product path);
#   dp_peer  test/integ/dp_peer.c (rvt_dp_peer): the data plane alone with a
#            static session pair, for when the control plane is not there.
#
# Binaries: RV_BUILD (default build/perf-release of this checkout, CMAKE_BUILD_TYPE=Release).
# RV_SECCOMP=no runs the cli mode without the seccomp filter (default: the
# binary's, on), to measure what the filter costs side by side.
# RV_EXTRA_CONF: config lines appended to both ends' files.

RV_SRC=${RV_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
RV_BUILD=${RV_BUILD:-$RV_SRC/build/perf-release}
RV_BIN=${RV_BIN:-$RV_BUILD/cli/ringvpn}
RV_DP_PEER=${RV_DP_PEER:-$RV_BUILD/test/rvt_dp_peer}
RV_PORT=${RV_PORT:-51900}
RV_CTRL_PORT=${RV_CTRL_PORT:-4433}
RV_WORKERS=${RV_WORKERS:-0}

vpn_ringvpn_build() {
	local log=${1:-/dev/null}
	(
		rc=1
		cmake -S "$RV_SRC" -B "$RV_BUILD" -DCMAKE_BUILD_TYPE=Release -DRV_WERROR=OFF || exit 1
		# Each target on its own: the CLI may not exist yet (no cli/*.c), and
		# rvt_dp_peer only exists once test/integ/dp_peer.c does.
		if ls "$RV_SRC"/cli/*.c >/dev/null 2>&1; then
			cmake --build "$RV_BUILD" -j"$(nproc)" --target ringvpn && rc=0
		fi
		if [ -f "$RV_SRC/test/integ/dp_peer.c" ]; then
			cmake --build "$RV_BUILD" -j"$(nproc)" --target rvt_dp_peer && rc=0
		fi
		exit $rc
	) >"$log" 2>&1
}

# ringvpn_mode: prints cli or dp_peer, or fails with the reason.
ringvpn_mode() {
	case ${RV_MODE:-auto} in
	cli | auto)
		# Ask the top-level help (never `server --help`, which on an old
		# binary could start a server in this namespace).
		if [ -x "$RV_BIN" ] && timeout 5 "$RV_BIN" --help 2>&1 | grep -qw server &&
			timeout 5 "$RV_BIN" --help 2>&1 | grep -qw pki; then
			echo cli; return 0
		fi
		[ "${RV_MODE:-auto}" = cli ] && { echo "no usable $RV_BIN (its --help lists no server/pki)"; return 1; }
		;;&
	dp_peer | auto)
		if [ -x "$RV_DP_PEER" ]; then echo dp_peer; return 0; fi
		echo "neither $RV_BIN (with server/pki) nor $RV_DP_PEER exists; build: cmake -S $RV_SRC -B $RV_BUILD -DCMAKE_BUILD_TYPE=Release && cmake --build $RV_BUILD"
		return 1
		;;
	*) echo "RV_MODE must be cli, dp_peer or auto"; return 1 ;;
	esac
}

vpn_ringvpn_check() {
	[ -c /dev/net/tun ] || { echo "/dev/net/tun missing"; return 1; }
	ringvpn_mode >/dev/null || { ringvpn_mode; return 1; }
}

vpn_ringvpn_start() {
	local dir=$1/ringvpn offl=$2 mode
	mkdir -p "$dir"
	VPN_PIDS=()
	RV_WORKDIR=$dir
	mode=$(ringvpn_mode) || { echo "$mode"; return 1; }
	VPN_DESC="ringvpn ($mode), offloads $([ "$offl" = 1 ] && echo on || echo off), workers ${RV_WORKERS/#0/auto}"
	VPN_DST=$RVP_TUN_B
	case $mode in
	cli) ringvpn_start_cli "$dir" "$offl" ;;
	dp_peer) ringvpn_start_dp_peer "$dir" "$offl" ;;
	esac || return 1
	rvp_wait_ping a "$VPN_DST" 15 || {
		rvp_log "ringvpn tunnel does not pass ping"
		tail -n 20 "$dir"/*.log >&2
		return 1
	}
}

vpn_ringvpn_stop() {
	# Client first, so the server does not log it as a lost peer.
	local i
	for ((i = ${#VPN_PIDS[@]} - 1; i >= 0; i--)); do rvp_kill "${VPN_PIDS[i]}"; done
	VPN_PIDS=()
	rm -f "/tmp/rvp-$$-server.sock" "/tmp/rvp-$$-client.sock"
	# Throwaway keys: do not leave them in the results.
	[ -n "${RV_WORKDIR:-}" ] && rm -f "$RV_WORKDIR"/pki/*.key
	return 0
}

# ringvpn_start_cli DIR OFFL: the product path. PKI from `ringvpn pki`,
# `ringvpn server -c` in B (listening on B's underlay address), `ringvpn
# client -c` in A; the client's address is pinned with `fixed` (10.202.0.10),
# the server's own tunnel address is read back from its TUN device and is
# what iperf3 and ping aim at.
ringvpn_start_cli() {
	local dir=$1 offl=$2 pki=$1/pki yn cn=perf-client i
	# Not .1: the server may take the first address of its pool for itself.
	local rv_cli4=${RVP_TUN_A%.*}.10 rv_cli6=${RVP_TUN6_A%::*}::10
	# A DNS name, not the IP: the client verifies server_name as a host name.
	local rv_srv_name=perf-server.ringvpn.test
	yn=$([ "$offl" = 1 ] && echo yes || echo no)
	mkdir -p "$pki"
	{
		"$RV_BIN" pki ca --out "$pki" &&
			"$RV_BIN" pki server --ca "$pki" --name "$rv_srv_name" --out "$pki" --file server &&
			"$RV_BIN" pki client --ca "$pki" --name "$cn" --out "$pki" --file client
	} >"$dir/pki.log" 2>&1 || { echo "ringvpn pki failed:"; cat "$dir/pki.log"; return 1; }
	local common
	common="ca = $pki/ca.crt
workers = $RV_WORKERS
$(case ${RV_PIN:-} in 1) echo "pin_workers = yes" ;; 0) echo "pin_workers = no" ;; esac)
offload_tun = $yn
offload_gso = $yn
offload_gro = $yn
log_level = info"
	# Only when asked for (the default is on): a binary from before the
	# sandbox existed refuses the key.
	[ -n "${RV_SECCOMP:-}" ] && common+="
seccomp = $RV_SECCOMP"
	# Only when asked for: a binary from before zerocopy existed refuses the key.
	[ -n "${RV_ZEROCOPY:-}" ] && common+="
zerocopy = $RV_ZEROCOPY"
	# Only when asked for: a binary from before worker_nice refuses the key.
	[ -n "${RV_WORKER_NICE:-}" ] && common+="
worker_nice = $RV_WORKER_NICE"
	[ -n "${RV_WORKER_RTPRIO:-}" ] && common+="
worker_rtprio = $RV_WORKER_RTPRIO"
	[ -n "${RV_WORKER_SLICE_US:-}" ] && common+="
worker_slice_us = $RV_WORKER_SLICE_US"
	[ -n "${RV_EXTRA_CONF:-}" ] && common+="
$RV_EXTRA_CONF"
	cat >"$dir/server.conf" <<-EOF
	# written by perf/vpn_ringvpn.sh
	$common
	cert = $pki/server.crt
	key = $pki/server.key
	tun = rvpsrv
	status_socket = /tmp/rvp-$$-server.sock
	listen = $RVP_UL_B:$RV_CTRL_PORT
	data_port = $RV_PORT
	mtu = $RVP_TUN_MTU
	pool4 = ${RVP_TUN_A%.*}.0/24
	pool6 = ${RVP_TUN6_A%::*}::/64
	fixed = $cn $rv_cli4 $rv_cli6
	EOF
	# RV_SITE_NET: a network behind the client (site-to-site), for
	# benchmarks that aim at a host in it (perf/lat_nice.sh SITE=1).
	[ -n "${RV_SITE_NET:-}" ] && echo "subnet = $cn $RV_SITE_NET" >>"$dir/server.conf"
	cat >"$dir/client.conf" <<-EOF
	# written by perf/vpn_ringvpn.sh
	$common
	cert = $pki/client.crt
	key = $pki/client.key
	tun = rvpcli
	status_socket = /tmp/rvp-$$-client.sock
	server = $RVP_UL_B:$RV_CTRL_PORT
	server_name = $rv_srv_name
	EOF
	rvp_spawn b "$dir/server.log" "$RV_BIN" server -c "$dir/server.conf"
	VPN_PIDS+=("$RVP_LAST_PID")
	for i in $(seq 50); do
		ip netns exec "$RVP_NS_B" ss -Hltn "sport = :$RV_CTRL_PORT" 2>/dev/null | grep -q . && break
		rvp_alive "${VPN_PIDS[0]}" || break
		sleep 0.1
	done
	rvp_alive "${VPN_PIDS[0]}" || { echo "ringvpn server exited:"; tail -n 20 "$dir/server.log"; return 1; }
	rvp_spawn a "$dir/client.log" "$RV_BIN" client -c "$dir/client.conf"
	VPN_PIDS+=("$RVP_LAST_PID")
	# The client is up when its TUN carries the pinned address; the
	# server's tunnel address is whatever it gave its own TUN.
	RV_SERVER_TUN=
	for i in $(seq 100); do
		rvp_alive "${VPN_PIDS[0]}" && rvp_alive "${VPN_PIDS[1]}" || break
		RV_SERVER_TUN=$(ip -n "$RVP_NS_B" -4 -o addr show dev rvpsrv 2>/dev/null |
			awk '{ sub(/\/.*/, "", $4); print $4; exit }')
		ip -n "$RVP_NS_A" -4 -o addr show dev rvpcli 2>/dev/null | grep -q "inet $rv_cli4/" &&
			[ -n "$RV_SERVER_TUN" ] && break
		sleep 0.1
	done
	[ -n "$RV_SERVER_TUN" ] || {
		echo "ringvpn: no tunnel address on the server's rvpsrv"; tail -n 20 "$dir/server.log" "$dir/client.log"
		return 1
	}
	VPN_DST=$RV_SERVER_TUN
}

ringvpn_hexkey() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# ringvpn_start_dp_peer DIR OFFL: rvt_dp_peer on both sides with one static
# session (epoch 1, random keys), i.e. the data plane without a control plane.
ringvpn_start_dp_peer() {
	local dir=$1 offl=$2 k_ab k_ba offload side
	k_ab=$(ringvpn_hexkey) k_ba=$(ringvpn_hexkey)
	offload=$([ "$offl" = 1 ] && echo tun,gso,gro || echo none)
	local -a pin=()
	case ${RV_PIN:-} in 1) pin=(--pin) ;; 0) pin=(--no-pin) ;; esac
	rvp_spawn b "$dir/peer-b.log" "$RV_DP_PEER" --tun rvptb --port "$RV_PORT" \
		--peer "$RVP_UL_A:$RV_PORT" --local-index 0x22222222 --remote-index 0x11111111 \
		--send-key "$k_ba" --recv-key "$k_ab" --vaddr4 "$RVP_TUN_A" --vaddr6 "$RVP_TUN6_A" \
		--workers "$RV_WORKERS" --offload "$offload" --mtu "$RVP_TUN_MTU" \
		--counters "$dir/counters-b.txt" ${RV_ZEROCOPY:+--zerocopy "$RV_ZEROCOPY"} "${pin[@]}"
	VPN_PIDS+=("$RVP_LAST_PID")
	rvp_spawn a "$dir/peer-a.log" "$RV_DP_PEER" --tun rvpta --port "$RV_PORT" \
		--peer "$RVP_UL_B:$RV_PORT" --local-index 0x11111111 --remote-index 0x22222222 \
		--send-key "$k_ab" --recv-key "$k_ba" --vaddr4 "$RVP_TUN_B" --vaddr6 "$RVP_TUN6_B" \
		--workers "$RV_WORKERS" --offload "$offload" --mtu "$RVP_TUN_MTU" \
		--counters "$dir/counters-a.txt" ${RV_ZEROCOPY:+--zerocopy "$RV_ZEROCOPY"} "${pin[@]}"
	VPN_PIDS+=("$RVP_LAST_PID")
	unset k_ab k_ba
	local i
	for i in $(seq 100); do
		grep -q '^ready' "$dir/peer-a.log" 2>/dev/null && grep -q '^ready' "$dir/peer-b.log" 2>/dev/null && break
		rvp_alive "${VPN_PIDS[0]}" && rvp_alive "${VPN_PIDS[1]}" || break
		sleep 0.1
	done
	for side in a b; do
		grep -q '^ready' "$dir/peer-$side.log" 2>/dev/null || {
			echo "rvt_dp_peer ($side) did not become ready:"; tail -n 20 "$dir/peer-$side.log"
			return 1
		}
	done
	grep -h '^ready' "$dir/peer-a.log"
	VPN_DESC+=" [$(grep -h '^ready' "$dir/peer-a.log" | sed 's/^ready //')]"
	ip -n "$RVP_NS_A" addr add "$RVP_TUN_A/24" dev rvpta &&
		ip -n "$RVP_NS_A" -6 addr add "$RVP_TUN6_A/64" dev rvpta nodad &&
		ip -n "$RVP_NS_A" link set rvpta mtu "$RVP_TUN_MTU" up &&
		ip -n "$RVP_NS_B" addr add "$RVP_TUN_B/24" dev rvptb &&
		ip -n "$RVP_NS_B" -6 addr add "$RVP_TUN6_B/64" dev rvptb nodad &&
		ip -n "$RVP_NS_B" link set rvptb mtu "$RVP_TUN_MTU" up
}

# ringvpn_counters DIR: ask both rvt_dp_peer processes to write their
# counters (SIGUSR1) and print the non-zero ones; no-op in cli mode.
ringvpn_counters() {
	local dir=$1/ringvpn p
	[ -f "$dir/peer-a.log" ] || return 0
	for p in "${VPN_PIDS[@]}"; do rvp_alive "$p" && kill -USR1 "$p"; done
	sleep 0.3
	for side in a b; do
		[ -f "$dir/counters-$side.txt" ] || continue
		echo "[$side] $(awk '$2 != 0 { printf "%s=%s ", $1, $2 }' "$dir/counters-$side.txt")"
	done
}
