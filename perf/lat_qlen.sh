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
cd "$(dirname "${BASH_SOURCE[0]}")"
. ./topo.sh
. ./vpn_ringvpn.sh
rvp_install_trap
rvp_topo_up || exit 1
D=$(mktemp -d)
vpn_ringvpn_start "$D" 1 || exit 1
rvp_spawn b "$D/iperf3-server.log" iperf3 -s -p 5301
sleep 0.5
for q in "$@"; do
	for ns in "$RVP_NS_A" "$RVP_NS_B"; do
		for dev in $(ip -n "$ns" -o link show type tun | awk -F': ' '{print $2}'); do
			ip -n "$ns" link set dev "$dev" txqueuelen "$q"
		done
	done
	ip netns exec "$RVP_NS_A" ping -n -i 0.01 -w 10 "$VPN_DST" > "$D/ping-$q.txt" &
	pp=$!
	sleep 0.2
	g=$(ip netns exec "$RVP_NS_A" iperf3 -c "$VPN_DST" -p 5301 -t 10 -J | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9,3))')
	wait $pp
	p=$(grep -o 'time=[0-9.]*' "$D/ping-$q.txt" | cut -d= -f2 | sort -n | awk '{a[NR]=$1} END {printf "p50 %.3f ms, p99 %.3f ms, n %d", a[int(NR*0.5)], a[int(NR*0.99)], NR}')
	echo "txqueuelen $q: $g Gbit/s, ping $p"
done
vpn_ringvpn_stop
rm -rf "$D"
