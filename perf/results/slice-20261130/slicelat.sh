#!/usr/bin/env bash
# variants: def | s100 (small workers slice 100us) | batch (bulk workers SCHED_BATCH) | both
set -u
cd /work/main/perf
. ./topo.sh
. ./vpn_ringvpn.sh
export RV_NO_BUILD=1
rvp_install_trap
rvp_topo_up || exit 1
D=$(mktemp -d)
rvp_spawn b "$D/iperf3-server.log" iperf3 -s -p 5301
ROUNDS=${ROUNDS:-4}
R=${OUT:-/tmp/slicelat.tsv}; : > $R
tid_of() { local pid=$1 name=$2 t; for t in /proc/$pid/task/*; do [ "$(cat $t/comm)" = "$name" ] && basename $t; done; }
for ((r = 1; r <= ROUNDS; r++)); do
	for v in "$@"; do
		vpn_ringvpn_start "$D/rv-$r-$v" 1 >"$D/start.log" 2>&1 || { cat "$D/start.log"; exit 1; }
		for pid in "${VPN_PIDS[@]}"; do
			small=$(tid_of $pid rv-worker1) bulk=$(tid_of $pid rv-worker0)
			case $v in
			s100) python3 /tmp/setslice.py $small normal 100 ;;
			s100all) python3 /tmp/setslice.py $small normal 100; python3 /tmp/setslice.py $bulk normal 100 ;;
			batch) python3 /tmp/setslice.py $bulk batch 0 ;;
			both) python3 /tmp/setslice.py $small normal 100; python3 /tmp/setslice.py $bulk batch 0 ;;
			esac
		done
		p=$(rvp_lat_probe "$VPN_DST" 5301 "${DURATION:-10}" "$D/ping.txt")
		vpn_ringvpn_stop
		printf '%s\t%s\t%s\n' "$v" "$r" "$p" | tee -a "$R"
	done
done
rvp_lat_medians "$R" "$@"
rm -rf "$D"
