#!/usr/bin/env python3
"""stackcollapse.py — fold `perf script` call-graph output into one line per
unique stack: "comm;outer;...;leaf COUNT" (Brendan Gregg's folded format).

  perf script -i perf.data | perf/stackcollapse.py > out.folded
  perf/stackcollapse.py --pid-in-comm perf-script.txt > out.folded

Kernel frames get a "_[k]" suffix so the flame graph can colour them.
Offsets ("+0x1f") are dropped; unknown symbols become "[dso]" or "[unknown]".
"""
import argparse
import collections
import re
import sys

# A sample header: "comm  PID/TID [CPU] time: period event:" — we only need the
# comm (which may contain spaces) and the pid.
HEADER = re.compile(r"^(?P<comm>\S.*?)\s+(?P<pid>\d+)(?:/(?P<tid>\d+))?\s")
# A frame: "\t ffffffff81234567 sym+0x12 (/path/dso)"
FRAME = re.compile(r"^\s+(?P<addr>[0-9a-fA-F]+)\s+(?P<sym>.*?)\s+\((?P<dso>.*)\)\s*$")


def frame_name(sym, dso):
    sym = re.sub(r"\+0x[0-9a-fA-F]+$", "", sym.strip())
    kernel = dso.startswith("[kernel") or dso.endswith("vmlinux") or dso.endswith(".ko")
    if not sym or sym == "[unknown]":
        base = dso.rsplit("/", 1)[-1] if dso and dso != "[unknown]" else "unknown"
        sym = f"[{base}]"
    # ';' separates frames in the folded format.
    sym = sym.replace(";", ":")
    return sym + "_[k]" if kernel else sym


def collapse(lines, pid_in_comm, drop_idle):
    counts = collections.Counter()
    comm = None
    frames = []

    def flush():
        if comm is not None and frames:
            stack = [comm] + list(reversed(frames))
            if not (drop_idle and any(f.startswith(("cpuidle", "default_idle", "intel_idle"))
                                      for f in frames[:3])):
                counts[";".join(stack)] += 1
        elif comm is not None:
            counts[comm] += 1

    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            comm, frames = None, []
            continue
        if line[0] in " \t":
            m = FRAME.match(line)
            if m and comm is not None:
                frames.append(frame_name(m.group("sym"), m.group("dso")))
            continue
        if line.startswith("#"):
            continue
        flush()
        frames = []
        m = HEADER.match(line)
        if m:
            comm = m.group("comm").strip().replace(";", ":").replace(" ", "_")
            if pid_in_comm:
                comm += "-" + m.group("pid")
        else:
            comm = None
    flush()
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", nargs="?", help="perf script output (default stdin)")
    ap.add_argument("--pid-in-comm", action="store_true", help="name root frames comm-PID")
    ap.add_argument("--keep-idle", action="store_true", help="keep idle-loop samples")
    args = ap.parse_args()
    src = open(args.input, errors="replace") if args.input else sys.stdin
    counts = collapse(src, args.pid_in_comm, not args.keep_idle)
    if not counts:
        print("stackcollapse.py: no samples with call chains in the input", file=sys.stderr)
        return 1
    for stack, n in sorted(counts.items()):
        print(f"{stack} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
