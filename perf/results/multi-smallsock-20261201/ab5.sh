#!/bin/bash
cd /work/main
for round in 1 2 3; do for v in new old; do
 if [ $v = old ]; then b=/tmp/exp-src/build/rel/cli/ringvpn; else b=/tmp/newbin3/ringvpn; fi
 RV_NO_BUILD=1 RV_BIN=$b CLIENTS="1 8" C2C_ROUNDS=0 OUT=/tmp/qprobe/ab5-$v-$round perf/multi.sh >/tmp/qprobe/ab5-$v-$round.log 2>&1
 echo "== $v r$round"; sed -n 3,5p /tmp/qprobe/ab5-$v-$round/results.md
done; done
