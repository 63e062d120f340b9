#!/usr/bin/env python3
"""rtt_stats.py PINGLOG — the round-trip times of a `ping -n` log.

Prints "avg p50 p90 p99 max replies lost" (ms). The percentiles rank every
ping sent up to the last one answered, a lost one above every reply (one that never came back is worse
than any that did), so a system that drops pings under load cannot have a
better p99 than one that answers them late; a percentile that falls on a
lost ping is NA. avg and max are of the replies. Ranks are 0-based,
value = sorted[int(p * n)] (perf/run.sh's lat test and perf/topo.sh's
rvp_lat_probe both use this file: they were one rank apart).
"""
import re
import sys

text = open(sys.argv[1], errors="replace").read()
replies = {}
for m in re.finditer(r"icmp_seq=(\d+) .*?time=([\d.]+) ms", text):
    replies.setdefault(int(m.group(1)), float(m.group(2)))  # a DUP! counts once
r = sorted(replies.values())
# Lost: the pings before the last one answered that never were; those still
# on their way when ping's deadline came are no loss of the system's.
lost = max(replies) - len(replies) if replies else 0
n = len(r) + lost
if not r:
    print(f"NA NA NA NA NA 0 {lost}")
    sys.exit(0)


def q(p):
    i = min(n - 1, int(p * n))
    return f"{r[i]:.3f}" if i < len(r) else "NA"


print(f"{sum(r) / len(r):.3f} {q(0.5)} {q(0.9)} {q(0.99)} {r[-1]:.3f} {len(r)} {lost}")
