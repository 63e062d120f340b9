#!/bin/bash
# A/B: old (eadffce) and new (balance) binaries taking turns in perf/multi.sh.
cd /work/main
for r in 1 2 3 4; do
  for v in old bal; do
    b=/tmp/c2c/ringvpn-eadffce; [ $v = bal ] && b=/tmp/c2c/ringvpn-bal
    RV_BIN=$b RV_NO_BUILD=1 CLIENTS="1 4 8" C2C_ROUNDS=0 OUT=/tmp/c2c/ab-$v-$r perf/multi.sh > /tmp/c2c/ab-$v-$r.log 2>&1
    echo "$v $r: $(grep -E '^\| (1|4|8) ' /tmp/c2c/ab-$v-$r/results.md | awk -F'|' '{printf "%s:%s/%s/%s ", $2,$3,$6,$7}')"
  done
done
