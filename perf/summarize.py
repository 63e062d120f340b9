#!/usr/bin/env python3
"""summarize.py RAW EXTRA OUT "VPNS" — perf/run.sh's report.

Reads raw.tsv (one row per measurement) and extra.tsv (idle RTT, RSS, start
status per VPN and repetition) and writes, in OUT:
  results.tsv   medians, one row per VPN
  results.md    the table, the ratios the issues ask for, notes, machine
  chart.dat     input of chart.gp
  latency.dat   input of latency.gp: per VPN a histogram (log-spaced bins) and
                a CDF of every RTT measured during the lat test (all reps)
"""
import csv
import glob
import math
import os
import re
import statistics
import sys

raw, extra, out, order = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
labels = {
    "veth": "bare veth",
    "wg": "wireguard-go 0.0.20220316",
    "wgo": "wireguard-go 0.0.20250522 (offloads)",
    "ovpn": "OpenVPN 2.6",
    "nebula": "Nebula 1.6",
    "rv-off": "ringvpn offloads off",
    "rv-on": "ringvpn offloads on",
    "rv-nice": f"ringvpn offloads on, worker_nice = {os.environ.get('RV_NICE_VALUE', '-20')}",
    "rv-rt": f"ringvpn offloads on, worker_rtprio = {os.environ.get('RV_RTPRIO_VALUE', '1')}",
    "rv-base": " ".join(f"ringvpn baseline {os.environ.get('RV_BASE_LABEL', '')} offloads on".split()),
}
PEERS = ("wg", "wgo", "ovpn", "nebula")


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


rows = list(csv.DictReader(open(raw), delimiter="\t"))
ex = list(csv.DictReader(open(extra), delimiter="\t"))
cols = [
    ("vpn", None),
    ("tcp1_gbps", ("tcp1", "gbps")),
    ("tcp1r_gbps", ("tcp1r", "gbps")),
    ("tcp4_gbps", ("tcp4", "gbps")),
    ("tcp4r_gbps", ("tcp4r", "gbps")),
    ("cpu_s_per_gb_tcp1", ("tcp1", "cpu_s_per_gb")),
    ("cpu_s_per_gb_tcp4", ("tcp4", "cpu_s_per_gb")),
    ("lat_gbps", ("lat", "gbps")),
    ("rtt_load_avg_ms", ("lat", "rtt_avg_ms")),
    ("rtt_load_p99_ms", None),  # below: lost pings ranked
    ("rtt_load_lost_pct", None),
    ("pps64_kpps", ("pps64", "pps")),
    ("pps512_kpps", ("pps512", "pps")),
    ("udp1_gbps", ("udp1", "gbps")),
    ("udp1_loss_pct", ("udp1", "loss_pct")),
    ("cpu_s_per_gb_udp1", ("udp1", "cpu_s_per_gb")),
    ("rtt_idle_ms", None),
    ("peak_rss_mb", None),
    ("n", None),
    ("status", None),
]
summary = []
for vpn in order:
    r = {"vpn": vpn}
    mine = [x for x in rows if x["vpn"] == vpn]
    for name, src in cols:
        if src is None:
            continue
        t, field = src
        v = med([num(x[field]) for x in mine if x["test"] == t])
        if v is not None and name.endswith("_kpps"):
            v /= 1000.0
        r[name] = v
    # A p99 that falls on a lost ping (perf/rtt_stats.py says NA) is worse
    # than any measured: ranked so in the median, and said as "lost".
    # A rep whose loss count is NA (ping printed no summary, or the VPN
    # died during the test) measured no p99 and is left out.
    lat = [x for x in mine if x["test"] == "lat" and num(x.get("rtt_lost")) is not None]
    if lat:
        p99 = [num(x["rtt_p99_ms"]) for x in lat if num(x["rtt_n"]) or num(x["rtt_lost"])]
        p99 = [float("inf") if v is None else v for v in p99]
        if p99:
            v = statistics.median(p99)
            r["rtt_load_p99_ms"] = "lost" if v == float("inf") else v
        lost = [
            100.0 * num(x["rtt_lost"]) / (num(x["rtt_n"]) + num(x["rtt_lost"]))
            for x in lat
            if (num(x["rtt_n"]) or 0) + num(x["rtt_lost"]) > 0
        ]
        r["rtt_load_lost_pct"] = med(lost)
    e = [x for x in ex if x["vpn"] == vpn]
    r["rtt_idle_ms"] = med([num(x["rtt_idle_ms"]) for x in e])
    rss = med([num(x["rss_kb"]) for x in e])
    r["peak_rss_mb"] = rss / 1024 if rss else None
    # n: the repetitions that measured something, whatever the tests (it
    # counted tcp1 rows: TESTS=lat gave n=0 after a repetition, and one whose
    # every test failed counted: tester 290).
    r["n"] = len({x["rep"] for x in mine if any(
        num(x.get(k)) is not None for k in ("gbps", "pps", "rtt_avg_ms"))})
    st = sorted({x["status"] for x in e})
    r["status"] = ",".join(st) if st else "not run"
    r["desc"] = next((x["desc"] for x in e if x.get("desc")), "")
    summary.append(r)


def fmt(name, v):
    if v is None:
        return "NA"
    if isinstance(v, str):
        return v
    if name == "n":
        return str(int(v))
    if name.endswith("_ms") or name.endswith("_gbps"):
        return f"{v:.3f}"
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"


names = [c for c, _ in cols]
with open(f"{out}/results.tsv", "w") as f:
    f.write("\t".join(names) + "\n")
    for r in summary:
        f.write("\t".join(fmt(n, r.get(n)) for n in names) + "\n")

heads = {
    "vpn": "VPN",
    "tcp1_gbps": "TCP 1 A→B Gbit/s",
    "tcp1r_gbps": "TCP 1 B→A",
    "tcp4_gbps": "TCP 4 A→B",
    "tcp4r_gbps": "TCP 4 B→A",
    "cpu_s_per_gb_tcp1": "CPU s/GB (TCP 1)",
    "cpu_s_per_gb_tcp4": "CPU s/GB (TCP 4)",
    "lat_gbps": "TCP 1 during ping, Gbit/s",
    "rtt_load_avg_ms": "ping under load avg ms",
    "rtt_load_p99_ms": "ping under load p99 ms",
    "rtt_load_lost_pct": "pings lost under load %",
    "pps64_kpps": "64 B loss-free kpps",
    "pps512_kpps": "512 B loss-free kpps",
    "udp1_gbps": "UDP 1200 B flood, received Gbit/s",
    "udp1_loss_pct": "its loss %",
    "cpu_s_per_gb_udp1": "CPU s/GB (UDP)",
    "rtt_idle_ms": "RTT idle ms",
    "peak_rss_mb": "peak RSS MB",
    "n": "n",
}
by = {r["vpn"]: r for r in summary}


def best_peer(field, lower=False):
    vals = [(by[p][field], p) for p in PEERS
            if p in by and isinstance(by[p].get(field), (int, float))]
    if not vals:
        return None, None
    return (min if lower else max)(vals)


# The optional tests' columns only where a VPN ran them.
optional = ("udp1_gbps", "udp1_loss_pct", "cpu_s_per_gb_udp1")
md_cols = [n for n in names if n != "status" and
           (n not in optional or any(r.get(n) is not None for r in summary))]
with open(f"{out}/results.md", "w") as f:
    f.write("| " + " | ".join(heads[n] for n in md_cols) + " |\n")
    f.write("|" + "|".join("---" if n == "vpn" else "---:" for n in md_cols) + "|\n")
    for r in summary:
        cells = [labels.get(r["vpn"], r["vpn"]) if n == "vpn" else fmt(n, r.get(n)) for n in md_cols]
        f.write("| " + " | ".join(cells) + " |\n")
    f.write("\n")
    for rv_id in ("rv-on", "rv-nice", "rv-rt"):
        rv = by.get(rv_id)
        if not rv:
            continue
        lines = []
        v, p = best_peer("tcp1_gbps")
        if v and rv.get("tcp1_gbps"):
            lines.append(f"single stream: {rv_id} {rv['tcp1_gbps']:.2f} Gbit/s = "
                         f"{rv['tcp1_gbps'] / v:.2f}× the best peer ({labels[p]}, {v:.2f})")
        v, p = best_peer("cpu_s_per_gb_tcp1", lower=True)
        if v and rv.get("cpu_s_per_gb_tcp1"):
            lines.append(f"CPU: {rv_id} {rv['cpu_s_per_gb_tcp1']:.2f} s/GB, "
                         f"{v / rv['cpu_s_per_gb_tcp1']:.1f}× cheaper than the cheapest peer "
                         f"({labels[p]}, {v:.1f})")
        if rv.get("rtt_load_p99_ms") is not None:
            v, p = best_peer("rtt_load_p99_ms", lower=True)
            lines.append(f"ping under a saturating single stream: {rv_id} avg "
                         f"{fmt('x_ms', rv.get('rtt_load_avg_ms'))} / p99 "
                         f"{fmt('x_ms', rv['rtt_load_p99_ms'])} ms" +
                         (f" (best peer p99: {labels[p]}, {v:.3f} ms)" if v is not None else ""))
        ve = by.get("veth")
        for size in (64, 512):
            k = f"pps{size}_kpps"
            if rv.get(k) and ve and ve.get(k):
                lines.append(f"{size}-byte loss-free rate: {rv_id} {rv[k]:.1f} kpps = "
                             f"{rv[k] / ve[k]:.2f}× bare veth ({ve[k]:.1f} kpps)")
        v, p = best_peer("udp1_gbps")
        if v and rv.get("udp1_gbps"):
            lines.append(f"UDP flood (1200 B): {rv_id} {rv['udp1_gbps']:.2f} Gbit/s received "
                         f"(loss {fmt('x', rv.get('udp1_loss_pct'))} %) = {rv['udp1_gbps'] / v:.2f}× "
                         f"the best peer ({labels[p]}, {v:.2f})")
        f.write(f"Ratios for {labels[rv_id]} (same run, medians):\n\n")
        for l in lines:
            f.write(f"- {l}\n")
        f.write("\n")
    for r in summary:
        st = r["status"]
        f.write(f"- {labels.get(r['vpn'], r['vpn'])}: {r['desc'] or '-'}" +
                ("" if st == "ok" else f" — **{st}**") + "\n")
    f.write("\nMedians over n repetitions (packet-rate search: first repetition). Machine:\n\n```\n")
    f.write(open(f"{out}/machine.txt").read())
    f.write("```\n")

with open(f"{out}/chart.dat", "w") as f:
    f.write("# label\ttcp1\ttcp1r\ttcp4\ttcp4r\tcpu1\tcpu4\tpps64\tpps512\n")
    for r in summary:
        if "ok" not in r["status"].split(","):
            continue
        v = [fmt(n, r.get(n)) for n in ("tcp1_gbps", "tcp1r_gbps", "tcp4_gbps", "tcp4r_gbps",
                                         "cpu_s_per_gb_tcp1", "cpu_s_per_gb_tcp4",
                                         "pps64_kpps", "pps512_kpps")]
        f.write('"' + labels.get(r["vpn"], r["vpn"]) + '"\t' + "\t".join(v) + "\n")

# Latency under load: every RTT of the lat test, per VPN over all reps.
# Histogram over log-spaced bins (fraction of pings per bin) and the CDF;
# gnuplot plots one data block (index) per VPN.
edges = [0.01 * 10 ** (k / 10) for k in range(0, 41)]  # 0.01 ms .. 100 ms
with open(f"{out}/latency.dat", "w") as f:
    for vpn in order:
        rtts = []
        for path in sorted(glob.glob(f"{out}/rtt/{vpn}-*.txt")):
            rtts += [float(m.group(1)) for m in
                     re.finditer(r"time=([\d.]+) ms", open(path).read())]
        if not rtts:
            continue
        rtts.sort()
        n = len(rtts)
        # First row of a block: its title (gnuplot's columnheader), with
        # the p99 of the table (lost pings ranked last) and the replies.
        p99 = by.get(vpn, {}).get("rtt_load_p99_ms")
        p99s = f"{p99:.2f} ms" if isinstance(p99, float) else (p99 or "NA")
        f.write(f'"{labels.get(vpn, vpn)} (p99 {p99s}, n={n})"'
                "\tfraction\trtt_ms\tcdf\n")
        hist = [0] * (len(edges) - 1)
        for x in rtts:
            for b in range(len(edges) - 1):
                if x < edges[b + 1] or b == len(edges) - 2:
                    hist[b] += 1
                    break
        step = max(1, n // 400)
        cdf = [(rtts[i], (i + 1) / n) for i in range(0, n, step)] + [(rtts[-1], 1.0)]
        for b in range(max(len(hist), len(cdf))):
            c = f"{math.sqrt(edges[b] * edges[b + 1]):.4f}\t{hist[b] / n:.4f}" if b < len(hist) else "NaN\tNaN"
            d = f"{cdf[b][0]:.4f}\t{cdf[b][1]:.4f}" if b < len(cdf) else "NaN\tNaN"
            f.write(f"{c}\t{d}\n")
        f.write("\n\n")
