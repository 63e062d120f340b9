#!/bin/bash
# probe8.sh OUT BIN: multi.sh CLIENTS=8 and, near the end of the streams, each client's and the server's drop counters
out=$1; bin=$2
cd /work/main
(RV_NO_BUILD=1 RV_BIN=$bin CLIENTS="8" C2C_ROUNDS=0 OUT=$out perf/multi.sh > $out.log 2>&1 &)
sleep 1; pid=$(pgrep -f "perf/multi.sh" | head -1)
for i in $(seq 1 100); do grep -q "clients: 8" $out.log 2>/dev/null && break; sleep 0.2; done
# wait for the sessions and then ~8 s into the streams
for i in $(seq 1 100); do [ -f $out/logs/iperf-8-1.json ] && break; sleep 0.2; done
sleep 8
for c in 1 2 3 9; do echo "client $c: $($bin status -s /tmp/rvp-$pid-mc$c.sock --kv 2>/dev/null | grep '^workers total' | tr ' ' '\n' | grep -E '^(udp_recvs|udp_small_recvs|udp_sock_drops|drop_[a-z_]+|rx_packets|tx_packets)=' | grep -v '=0$' | paste -sd' ')"; done
echo "server: $($bin status -s /tmp/rvp-$pid-msrv.sock --kv 2>/dev/null | grep '^workers total' | tr ' ' '\n' | grep -E '^(udp_recvs|udp_small_recvs|udp_sock_drops|drop_[a-z_]+|rx_packets|tx_packets)=' | grep -v '=0$' | paste -sd' ')"
while pgrep -f "OUT=$out" >/dev/null || pgrep -f "perf/multi.sh" >/dev/null; do sleep 1; done
