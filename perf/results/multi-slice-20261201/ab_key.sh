#!/bin/bash
# A/B of worker_slice_us with the key itself (after ab_slice.sh, which set
# the slice from outside with slicer.c): three settings taking turns, three
# rounds, CLIENTS="1 8" each.
cd "$(dirname "$0")/../../.." || exit 1
D=perf/results/multi-slice-20261201
for r in 1 2 3; do
	for mode in s0 s100 srv100; do
		case $mode in
		s0) env= ;;
		s100) env="WORKER_SLICE_US=100" ;;
		srv100) env="SERVER_SLICE_US=100" ;;
		esac
		env $env OUT=/tmp/abkey/$mode-$r RV_NO_BUILD=1 CLIENTS="1 8" C2C_ROUNDS=0 \
			bash perf/multi.sh >/tmp/abkey-$mode-$r.log 2>&1
		mkdir -p $D/key-$mode-$r
		cp /tmp/abkey/$mode-$r/results.md /tmp/abkey/$mode-$r/raw.tsv /tmp/abkey/$mode-$r/logs/ping-*.txt $D/key-$mode-$r/
		echo "$mode $r: $(grep -E '^\| [18] ' /tmp/abkey/$mode-$r/results.md | tr '\n' ' ')"
	done
done
