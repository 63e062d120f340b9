#!/usr/bin/env python3
"""perf/sched_delay.py — who keeps a thread from the CPU (see sched_delay.sh).

Reads `perf sched timehist` output (one line per switch-out: time, CPU,
task, wait, scheduling delay, run time in ms) and a file of "TID LABEL"
lines naming the threads of interest. Prints per thread the scheduling
delay (wake-up to running) at p50/p90/p99/max, then, for the watched
threads' delays of at least --long ms, which tasks ran on that CPU during
them and for how long in all: where an interactive packet waits.

    perf sched timehist -i sched.data | perf/sched_delay.py --tids tids.txt \
        --watch 'client small,server small,ping'
"""
import argparse
import collections
import re
import sys

ROW = re.compile(r"^\s*(\d+\.\d+)\s+\[(\d+)\]\s+(\S.*?)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s*$")


def pct(sorted_vals, q):
    return sorted_vals[min(len(sorted_vals) - 1, int(len(sorted_vals) * q))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tids", required=True, help='file of "TID LABEL" lines')
    ap.add_argument("--watch", default="", help="comma-separated labels (or command names) to blame for")
    ap.add_argument("--long", type=float, default=0.3, help="a delay of at least this many ms is long")
    ap.add_argument("timehist", nargs="?", type=argparse.FileType("r"), default=sys.stdin)
    a = ap.parse_args()

    labels = {}
    with open(a.tids) as f:
        for line in f:
            tid, _, label = line.strip().partition(" ")
            if tid.isdigit() and label:
                labels[tid] = label

    def name(task):
        # "comm[tid/pid]" or "comm[tid]"
        m = re.match(r"(.*)\[(\d+)(?:/\d+)?\]$", task)
        if not m:
            return task
        return labels.get(m.group(2), m.group(1))

    runs = []  # (end s, cpu, name, sched delay ms, run ms)
    for line in a.timehist:
        m = ROW.match(line)
        if m:
            t, cpu, task, _wait, sch, run = m.groups()
            runs.append((float(t), cpu, name(task), float(sch), float(run)))
    if not runs:
        sys.exit("sched_delay.py: no rows in the timehist input")

    delays = collections.defaultdict(list)
    for _, _, n, sch, _ in runs:
        delays[n].append(sch)
    print(f"scheduling delay, wake-up to running (ms), over {runs[-1][0] - runs[0][0]:.1f} s:")
    print(f"{'thread':24s} {'runs':>7s} {'p50':>7s} {'p90':>7s} {'p99':>7s} {'max':>7s}")
    for n, v in sorted(delays.items(), key=lambda kv: -len(kv[1]))[:14]:
        v.sort()
        print(f"{n:24s} {len(v):7d} {pct(v, .5):7.3f} {pct(v, .9):7.3f} {pct(v, .99):7.3f} {v[-1]:7.3f}")

    watch = {w.strip() for w in a.watch.split(",") if w.strip()}
    if not watch:
        return
    per_cpu = collections.defaultdict(list)
    for r in runs:
        per_cpu[r[1]].append(r)
    held = collections.Counter()
    total = 0.0
    count = 0
    for r in runs:
        end, cpu, n, sch, run = r
        if n not in watch or sch < a.long:
            continue
        start = end - run / 1e3
        woke = start - sch / 1e3
        total += sch
        count += 1
        for o in per_cpu[cpu]:
            o_start = o[0] - o[4] / 1e3
            overlap = min(o[0], start) - max(o_start, woke)
            if overlap > 0 and o is not r:
                held[o[2]] += overlap * 1e3
    print(f"\n{count} delays of at least {a.long} ms of {', '.join(sorted(watch))}: {total:.1f} ms in all;")
    print("the CPU they waited for was running (ms, share):")
    for n, ms in held.most_common(10):
        print(f"  {n:24s} {ms:8.1f} {100 * ms / total if total else 0:5.1f} %")


if __name__ == "__main__":
    main()
