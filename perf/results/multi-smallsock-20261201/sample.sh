#!/bin/bash
# sample.sh OUTDIR [BIN] : run multi.sh CLIENTS=8 and sample server worker gauges every 0.5 s
out=$1; bin=${2:-/work/main/build/perf-release/cli/ringvpn}
cd /work/main
(RV_NO_BUILD=1 RV_BIN=$bin CLIENTS="8" C2C_ROUNDS=0 OUT=$out perf/multi.sh > $out.log 2>&1 &)
sleep 1; pid=$(pgrep -f "OUT=$out" | head -1); [ -z "$pid" ] && pid=$(pgrep -f "perf/multi.sh" | head -1)
s=/tmp/rvp-$pid-msrv.sock
for i in $(seq 1 100); do
  if [ -S $s ]; then
    $bin status -s $s --kv 2>/dev/null | grep "^worker" | awk -v t=$(date +%S.%N|cut -c1-4) '{ o=t; for(i=1;i<=NF;i++) if ($i ~ /^(worker|q_udp_rcvq_bytes|q_udp_sojourn_us|drop_aqm|aqm|udp_sock_drops|rx_packets)=/) o=o" "$i; print o }'
  fi
  sleep 0.5
  pgrep -f "perf/multi.sh" >/dev/null || break
done
