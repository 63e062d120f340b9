# perf/vpn_nebula.sh — Nebula 1.6 (Debian `nebula`) between the two
# namespaces of perf/topo.sh: static hosts (no lighthouse discovery),
# AES-256-GCM, tunnel MTU $RVP_TUN_MTU. Sourced by run.sh / flame.sh.
#
#   vpn_nebula_check          0 if nebula and nebula-cert exist (else prints why)
#   vpn_nebula_start WORKDIR  throwaway CA and host certificates from
#                             nebula-cert, one nebula per namespace, wait for
#                             the tunnel; sets VPN_PIDS, VPN_DST, VPN_DESC
#   vpn_nebula_stop           stop what vpn_nebula_start started
#
# Nebula's cipher is `aes` (AES-256-GCM) on both ends, the same AEAD as
# ringvpn and WireGuard's ChaCha20 counterpart. Its firewall allows any
# traffic between the two hosts. Tuned as its example config documents, as
# ringvpn tunes itself: 8 MiB socket buffers (ringvpn's receive buffer;
# SO_RCVBUFFORCE) and two routines, a TUN queue and a UDP socket per CPU
# (with the defaults, 208 KiB and one routine, it received half the UDP
# flood it does tuned: round-fifteen tester 74).

vpn_nebula_check() {
	command -v nebula >/dev/null || { echo "nebula not installed (apt-get install nebula)"; return 1; }
	command -v nebula-cert >/dev/null || { echo "nebula-cert not installed"; return 1; }
	[ -c /dev/net/tun ] || { echo "/dev/net/tun missing"; return 1; }
}

vpn_nebula_start() {
	local dir=$1/nebula port=4242 side ul peer_ul peer_tun tun
	mkdir -p "$dir"
	VPN_PIDS=()
	NEBULA_DIR=$dir
	VPN_DESC="nebula $(nebula -version 2>/dev/null | awk '{print $2}') AES-256-GCM, static hosts, 2 routines, 8 MiB socket buffers"
	(
		set -e
		cd "$dir"
		umask 077
		nebula-cert ca -name rvp-perf -duration 48h
		nebula-cert sign -name a -ip "$RVP_TUN_A/24"
		nebula-cert sign -name b -ip "$RVP_TUN_B/24"
	) >"$dir/pki.log" 2>&1 || { rvp_log "nebula-cert failed"; cat "$dir/pki.log" >&2; return 1; }
	for side in a b; do
		if [ $side = a ]; then ul=$RVP_UL_A peer_ul=$RVP_UL_B peer_tun=$RVP_TUN_B tun=nebpa$$
		else ul=$RVP_UL_B peer_ul=$RVP_UL_A peer_tun=$RVP_TUN_A tun=nebpb$$; fi
		cat >"$dir/$side.yml" <<-EOF2
		pki:
		  ca: $dir/ca.crt
		  cert: $dir/$side.crt
		  key: $dir/$side.key
		static_host_map:
		  "$peer_tun": ["$peer_ul:$port"]
		lighthouse:
		  am_lighthouse: false
		  hosts: []
		listen:
		  host: $ul
		  port: $port
		  read_buffer: 8388608
		  write_buffer: 8388608
		routines: 2
		punchy:
		  punch: false
		cipher: aes
		tun:
		  disabled: false
		  dev: $tun
		  mtu: $RVP_TUN_MTU
		  tx_queue: 500
		logging:
		  level: info
		firewall:
		  outbound:
		    - port: any
		      proto: any
		      host: any
		  inbound:
		    - port: any
		      proto: any
		      host: any
		EOF2
		rvp_spawn $side "$dir/nebula-$side.log" nebula -config "$dir/$side.yml"
		VPN_PIDS+=("$RVP_LAST_PID")
	done
	VPN_DST=$RVP_TUN_B
	rvp_wait_ping a "$VPN_DST" 15 || {
		rvp_log "nebula tunnel does not pass ping"; tail -n 20 "$dir"/nebula-*.log >&2
		return 1
	}
}

vpn_nebula_stop() {
	[ "${#VPN_PIDS[@]}" -gt 0 ] && rvp_kill "${VPN_PIDS[@]}"
	# Throwaway keys: do not leave them in the results.
	[ -n "${NEBULA_DIR:-}" ] && rm -f "$NEBULA_DIR"/*.key
	VPN_PIDS=()
}
