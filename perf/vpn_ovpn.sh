# perf/vpn_ovpn.sh — OpenVPN 2.6 point-to-point over UDP with AES-256-GCM
# between the two namespaces of perf/topo.sh. Sourced by run.sh / flame.sh.
#
#   vpn_ovpn_check          0 if openvpn and openssl exist (else prints why)
#   vpn_ovpn_start WORKDIR  make a throwaway CA + server/client certs with the
#                           openssl CLI (OpenVPN's own setup, not ringvpn's),
#                           start both ends, wait for the tunnel; sets VPN_PIDS
#   vpn_ovpn_stop           stop what vpn_ovpn_start started
#
# Static-key mode cannot use AES-GCM in 2.6, so this is TLS mode (p2p,
# --tls-server/--tls-client) with data cipher pinned to AES-256-GCM and DCO
# disabled (no ovpn-dco module here): the data path is OpenVPN's userspace.

vpn_ovpn_check() {
	command -v openvpn >/dev/null || { echo "openvpn not installed"; return 1; }
	command -v openssl >/dev/null || { echo "openssl CLI not installed"; return 1; }
	[ -c /dev/net/tun ] || { echo "/dev/net/tun missing"; return 1; }
}

ovpn_make_pki() {
	local d=$1
	[ -s "$d/server.key" ] && [ -s "$d/client.key" ] && return 0
	(
		set -e
		cd "$d"
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout ca.key -out ca.crt -days 2 -subj /CN=rvp-perf-ca \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
		for who in server client; do
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout $who.key -out $who.csr -subj /CN=rvp-perf-$who
			printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%sAuth\n' \
				$who >$who.ext
			openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
				-out $who.crt -days 2 -extfile $who.ext
		done
	) >"$d/pki.log" 2>&1 || { rvp_log "openssl PKI for OpenVPN failed"; cat "$d/pki.log" >&2; return 1; }
}

vpn_ovpn_start() {
	local dir=$1/ovpn port=1194
	# Its sockets as large as the host lets a process ask without
	# SO_RCVBUFFORCE (net.core.rmem_max; OpenVPN asks plainly), and
	# --fast-io: tuned, as ringvpn tunes itself (round-fifteen tester 74).
	local OVPN_SOCKBUF
	OVPN_SOCKBUF=$(sysctl -n net.core.rmem_max 2>/dev/null || echo 212992)
	mkdir -p "$dir"
	VPN_PIDS=()
	OVPN_DIR=$dir
	VPN_DESC="$(openvpn --version 2>/dev/null | awk 'NR==1{print $1, $2}') AES-256-GCM UDP, no DCO, --fast-io, socket buffers $OVPN_SOCKBUF"
	ovpn_make_pki "$dir" || return 1
	local common=(--dev-type tun --proto udp --port $port --verb 3
		--data-ciphers AES-256-GCM --cipher AES-256-GCM --disable-dco
		--tun-mtu "$RVP_TUN_MTU" --mssfix 0 --ca "$dir/ca.crt" --dh none
		--ping 10 --ping-exit 120 --persist-tun --script-security 0
		--sndbuf "$OVPN_SOCKBUF" --rcvbuf "$OVPN_SOCKBUF" --fast-io)
	# B (server role) first.
	rvp_spawn b "$dir/server.log" openvpn "${common[@]}" --tls-server \
		--cert "$dir/server.crt" --key "$dir/server.key" --local "$RVP_UL_B" --lport $port \
		--remote "$RVP_UL_A" --rport $port --ifconfig "$RVP_TUN_B" "$RVP_TUN_A" \
		--dev ovpnb$$
	VPN_PIDS+=("$RVP_LAST_PID")
	rvp_spawn a "$dir/client.log" openvpn "${common[@]}" --tls-client --remote-cert-tls server \
		--cert "$dir/client.crt" --key "$dir/client.key" --local "$RVP_UL_A" --lport $port \
		--remote "$RVP_UL_B" --rport $port --ifconfig "$RVP_TUN_A" "$RVP_TUN_B" \
		--dev ovpna$$
	VPN_PIDS+=("$RVP_LAST_PID")
	VPN_DST=$RVP_TUN_B
	local i
	for i in $(seq 100); do
		grep -q "Initialization Sequence Completed" "$dir/client.log" 2>/dev/null &&
			grep -q "Initialization Sequence Completed" "$dir/server.log" 2>/dev/null && break
		rvp_alive "${VPN_PIDS[0]}" && rvp_alive "${VPN_PIDS[1]}" || break
		sleep 0.1
	done
	rvp_wait_ping a "$VPN_DST" 10 || {
		rvp_log "OpenVPN tunnel does not pass ping"; tail -20 "$dir/client.log" "$dir/server.log" >&2
		return 1
	}
	grep -h "Data Channel: cipher" "$dir/client.log" | tail -1 | sed 's/^.*Data Channel/OpenVPN data channel/' >&2
}

vpn_ovpn_stop() {
	[ "${#VPN_PIDS[@]}" -gt 0 ] && rvp_kill "${VPN_PIDS[@]}"
	# Throwaway keys: do not leave them in the results.
	[ -n "${OVPN_DIR:-}" ] && rm -f "$OVPN_DIR"/*.key "$OVPN_DIR"/*.csr
	VPN_PIDS=()
}
