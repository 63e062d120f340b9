#!/bin/bash
out=/tmp/qprobe/sd/multi
cd /work/main
(RV_NO_BUILD=1 CLIENTS="8" C2C_ROUNDS=0 OUT=$out perf/multi.sh > $out.log 2>&1 &)
for i in $(seq 1 300); do [ -f $out/logs/iperf-8-1.json ] && break; sleep 0.1; done
sleep 3
: > /tmp/qprobe/sd/tids.txt
srv=$(pgrep -f "ringvpn server -c $out/server.conf" | while read p; do [ "$(cat /proc/$p/comm)" = ringvpn ] && echo $p; done | head -1)
idle=$(pgrep -f "ringvpn client -c $out/c9.conf" | while read p; do [ "$(cat /proc/$p/comm)" = ringvpn ] && echo $p; done | head -1)
busy=$(pgrep -f "ringvpn client -c $out/c1.conf" | while read p; do [ "$(cat /proc/$p/comm)" = ringvpn ] && echo $p; done | head -1)
for t in /proc/$srv/task/*; do echo "${t##*/} server $(cat $t/comm)" >> /tmp/qprobe/sd/tids.txt; done
for t in /proc/$idle/task/*; do echo "${t##*/} idle $(cat $t/comm)" >> /tmp/qprobe/sd/tids.txt; done
for t in /proc/$busy/task/*; do echo "${t##*/} busy1 $(cat $t/comm)" >> /tmp/qprobe/sd/tids.txt; done
perf sched record -a -o /tmp/qprobe/sd/sched.data -- sleep 4 > /tmp/qprobe/sd/perf.log 2>&1
while pgrep -f "OUT=$out" >/dev/null || pgrep -f perf/multi.sh > /dev/null; do sleep 1; done
perf sched timehist -i /tmp/qprobe/sd/sched.data 2>/dev/null | python3 perf/sched_delay.py --tids /tmp/qprobe/sd/tids.txt --watch "idle rv-worker0,server rv-worker0,server rv-worker1" > /tmp/qprobe/sd/report.txt 2>&1
cat /tmp/qprobe/sd/tids.txt
