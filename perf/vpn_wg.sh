# perf/vpn_wg.sh — wireguard-go (userspace WireGuard) between the two
# namespaces of perf/topo.sh. Sourced by run.sh / flame.sh.
#
#   vpn_wg_check [BIN]           0 if BIN (default wireguard-go) and wg exist
#   vpn_wg_start WORKDIR [BIN]   start both ends, configure, wait for the tunnel;
#                                sets VPN_PIDS (both wireguard-go processes)
#   vpn_wg_stop                  stop what vpn_wg_start started
#
# Two binaries are measured: Debian's wireguard-go 0.0.20220316 and
# WG_OFFLOAD_BIN, upstream 0.0.20250522 with the TUN offloads (TSO/GRO on
# the TUN) and UDP GSO/GRO that Tailscale contributed (../shared/anchors).
#
# Interfaces are named wgpa<pid>/wgpb<pid> because wireguard-go's UAPI socket
# (/var/run/wireguard/<ifname>.sock) lives in the shared filesystem.

WG_OFFLOAD_BIN=${WG_OFFLOAD_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/anchors/wireguard-go-offload}

vpn_wg_check() {
	local bin=${1:-wireguard-go}
	command -v "$bin" >/dev/null || { echo "$bin not installed"; return 1; }
	command -v wg >/dev/null || { echo "wg (wireguard-tools) not installed"; return 1; }
	[ -c /dev/net/tun ] || { echo "/dev/net/tun missing"; return 1; }
}

vpn_wg_start() {
	local dir=$1 bin=${2:-wireguard-go} port=51820
	VPN_PIDS=()
	WG_DIR=$dir
	VPN_DESC="wireguard-go $("$bin" --version 2>/dev/null | awk 'NR==1{print $2}')"
	WG_IF_A=wgpa$$ WG_IF_B=wgpb$$
	(
		umask 077
		wg genkey >"$dir/wg-a.key" && wg pubkey <"$dir/wg-a.key" >"$dir/wg-a.pub" &&
			wg genkey >"$dir/wg-b.key" && wg pubkey <"$dir/wg-b.key" >"$dir/wg-b.pub"
	) || return 1
	local side ifn peerpub peer_ul my_tun peer_tun
	for side in a b; do
		if [ $side = a ]; then
			ifn=$WG_IF_A peerpub=$(cat "$dir/wg-b.pub") peer_ul=$RVP_UL_B my_tun=$RVP_TUN_A peer_tun=$RVP_TUN_B
		else
			ifn=$WG_IF_B peerpub=$(cat "$dir/wg-a.pub") peer_ul=$RVP_UL_A my_tun=$RVP_TUN_B peer_tun=$RVP_TUN_A
		fi
		# -f: stay in the foreground so the PID we record is the daemon.
		WG_PROCESS_FOREGROUND=1 rvp_spawn $side "$dir/wg-$side.log" "$bin" -f "$ifn"
		VPN_PIDS+=("$RVP_LAST_PID")
		local i
		for i in $(seq 50); do
			[ -S "/var/run/wireguard/$ifn.sock" ] && break
			sleep 0.1
		done
		[ -S "/var/run/wireguard/$ifn.sock" ] || { rvp_log "wireguard-go $ifn did not start"; cat "$dir/wg-$side.log" >&2; return 1; }
		local ns; ns=$(rvp_ns_name $side)
		ip netns exec "$ns" wg set "$ifn" private-key "$dir/wg-$side.key" listen-port $port \
			peer "$peerpub" allowed-ips "$peer_tun/32" endpoint "$peer_ul:$port" || return 1
		ip -n "$ns" addr add "$my_tun/24" dev "$ifn"
		ip -n "$ns" link set "$ifn" mtu "$RVP_TUN_MTU" up
	done
	VPN_DST=$RVP_TUN_B
	rvp_wait_ping a "$VPN_DST" 10 || { rvp_log "wireguard-go tunnel does not pass ping"; return 1; }
}

vpn_wg_stop() {
	[ "${#VPN_PIDS[@]}" -gt 0 ] && rvp_kill "${VPN_PIDS[@]}"
	rm -f "/var/run/wireguard/$WG_IF_A.sock" "/var/run/wireguard/$WG_IF_B.sock"
	# Throwaway keys: do not leave them in the results.
	[ -n "${WG_DIR:-}" ] && rm -f "$WG_DIR/wg-a.key" "$WG_DIR/wg-b.key"
	VPN_PIDS=()
}
