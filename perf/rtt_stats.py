#!/usr/bin/env python3
"""rtt_stats.py PINGLOG — the round-trip times of a `ping -n` log.

Prints "avg p50 p90 p99 max replies lost" (ms). The percentiles rank every
ping sent, a lost one above every reply (one that never came back is worse
than any that did), so a system that drops pings under load cannot have a
better p99 than one that answers them late; a percentile that falls on a
lost ping is NA. avg and max are of the replies. Ranks are 0-based,
value = sorted[int(p * n)] (perf/run.sh's lat test and perf/topo.sh's
rvp_lat_probe both use this file: they were one rank apart).

Pings sent: ping's own summary, "N packets transmitted". Counting up to the
last reply instead let every ping after it vanish: a tunnel that stopped
half way showed 0 lost (tester 290). Of the pings after the last reply,
those sent in the run's last RTT (the largest reply's, at most 1 s: a ping
takes its RTT to come back, and ping -w stops at its deadline without
waiting) are left out as still in flight; every other unanswered ping is
lost. Without a summary line (ping killed before it could print one) the
number sent is not known: lost and the percentiles are NA.
"""
import math
import re
import sys

text = open(sys.argv[1], errors="replace").read()
replies = {}
for m in re.finditer(r"icmp_seq=(\d+) .*?time=([\d.]+) ms", text):
    replies.setdefault(int(m.group(1)), float(m.group(2)))  # a DUP! counts once
r = sorted(replies.values())
summ = re.search(r"(\d+) packets transmitted, (\d+) received.*?time (\d+)ms", text)
avg = f"{sum(r) / len(r):.3f}" if r else "NA"
top = f"{r[-1]:.3f}" if r else "NA"
if not summ:
    print(f"{avg} NA NA NA {top} {len(r)} NA")
    sys.exit(0)
sent, elapsed_ms = int(summ.group(1)), float(summ.group(3))
last = max(replies) if replies else 0
# Pings go out every elapsed / sent ms; those of the last in-flight window
# after the last reply are not the system's loss.
window_ms = min(r[-1], 1000.0) if r else 0.0
gap_ms = elapsed_ms / sent if sent else 0.0
in_flight = math.ceil(window_ms / gap_ms) if gap_ms > 0 else 0
in_flight = max(0, min(in_flight, sent - last))
lost = max(0, sent - in_flight - len(r))
n = len(r) + lost
if not r:
    print(f"NA NA NA NA NA 0 {lost}")
    sys.exit(0)


def q(p):
    i = min(n - 1, int(p * n))
    return f"{r[i]:.3f}" if i < len(r) else "NA"


print(f"{avg} {q(0.5)} {q(0.9)} {q(0.99)} {top} {len(r)} {lost}")
