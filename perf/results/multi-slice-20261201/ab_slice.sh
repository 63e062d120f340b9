#!/bin/bash
# /tmp/slicer BIN SLICE_NS [WORD]: the helper README.md describes (every
# 0.3 s, a slice for every thread of the processes running BIN); not kept.
cd /work/main
BIN=$(readlink -f build/perf-release/cli/ringvpn)
for r in ${ROUNDS:-1 2 3}; do
 for mode in off on; do
  sp=""
  if [ $mode = on ]; then /tmp/slicer $BIN ${SLICE:-100000} ${MATCH:-} 2>/dev/null & sp=$!; fi
  OUT=/tmp/abslice/$TAG$mode-$r RV_NO_BUILD=1 CLIENTS="${CL:-8}" C2C_ROUNDS=0 bash perf/multi.sh > /tmp/abslice-$TAG$mode-$r.log 2>&1
  [ -n "$sp" ] && kill $sp
  python3 /tmp/p99.py /tmp/abslice/$TAG$mode-$r/logs/ping-${CL:-8}.txt; awk -v m=$mode -v r=$r '$1=="streams"{s+=$4} END{print m, r, "agg", s}' /tmp/abslice/$TAG$mode-$r/raw.tsv
 done
done
