#!/usr/bin/env bash
# perf/lat_qlen.sh — where does latency under load queue? ringvpn (offloads
# on) between the two namespaces of topo.sh; for each TUN queue length given,
# set live on both ends' TUN devices (the kernel resizes the rings), one 10 s
# TCP stream with a ping every 10 ms through the tunnel: throughput and the
# ping's median and p99.
#
#   perf/lat_qlen.sh 256 64 32 16 8 4       Env: RV_BUILD (see vpn_ringvpn.sh)
#
# If the standing queue were in the TUN ring, a short ring would cut the p99
# in proportion; README ("Side by side") has what it showed here.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1
. ./topo.sh
. ./vpn_ringvpn.sh
# Keys, status sockets and the work directory go on any exit (an interrupted
# run left them: tester 290).
D=
# shellcheck disable=SC2317 # run by topo.sh's rvp_cleanup
rvp_cleanup_hook() {
	vpn_ringvpn_stop >/dev/null 2>&1
	[ -z "$D" ] || rm -rf "$D"
}
rvp_install_trap
rvp_topo_up || exit 1
D=$(mktemp -d)
vpn_ringvpn_start "$D" 1 || exit 1
rvp_spawn b "$D/iperf3-server.log" iperf3 -s -p 5301
sleep 0.5
rc=0
for q in "$@"; do
	for ns in "$RVP_NS_A" "$RVP_NS_B"; do
		for dev in $(ip -n "$ns" -o link show type tun | awk -F': ' '{print $2}'); do
			ip -n "$ns" link set dev "$dev" txqueuelen "$q"
		done
	done
	rvp_lat_probe "$VPN_DST" 5301 10 "$D/ping-$q.txt"
	IFS=$'\t' read -r g p50 _ p99 n lost <<<"$RVP_LAT"
	echo "txqueuelen $q: $g Gbit/s, ping p50 $p50 ms, p99 $p99 ms, $n replies, $lost lost"
	# A probe that measured nothing is a failure (exit 1), not a row of
	# zeros; a VPN that died ends the run.
	[ "$g" != NA ] && [ "$lost" != NA ] || rc=1
	[ "$lost" != NA ] || rvp_die "the probe counted no pings (see above): stopping"
done
exit $rc
