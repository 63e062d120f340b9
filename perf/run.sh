#!/usr/bin/env bash
# perf/run.sh — throughput run: bare veth (ceiling), wireguard-go, OpenVPN 2.6
# and ringvpn (offloads off and on) between two network namespaces.
#
#   perf/run.sh                 DURATION=10 s per test, REPEATS=3, medians
#   QUICK=1 perf/run.sh         smoke run (~2 min): DURATION=2, REPEATS=1
#
# Environment:
#   DURATION     seconds per iperf3 test (default 10; QUICK: 2)
#   REPEATS      repetitions of every test (default 3; QUICK: 1)
#   VPNS         configurations, in order (default "veth wg ovpn rv-off rv-on")
#   UDP_RATE     iperf3 -b for the small-packet UDP tests (default 0 = as fast
#                as the sender can go)
#   MAX_SECONDS  hard budget for the whole run; remaining tests are skipped
#                (and marked NA) once it is spent (default: 3x the estimate)
#   RV_BUILD     ringvpn build dir (default /work/main/build/perf-release)
#   OUT          output directory (default perf/results/<timestamp>)
#
# Output: $OUT/raw.tsv (every measurement), $OUT/results.tsv (medians, one row
# per VPN), $OUT/results.md (markdown table + machine), $OUT/chart.png, logs;
# the whole directory is copied to perf/results/latest/.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/topo.sh"
. "$HERE/vpn_wg.sh"
. "$HERE/vpn_ovpn.sh"
. "$HERE/vpn_ringvpn.sh"

if [ "${QUICK:-0}" = 1 ]; then
	DURATION=${DURATION:-2}
	REPEATS=${REPEATS:-1}
else
	DURATION=${DURATION:-10}
	REPEATS=${REPEATS:-3}
fi
VPNS=${VPNS:-"veth wg ovpn rv-off rv-on"}
UDP_RATE=${UDP_RATE:-0}
TESTS="tcp1 tcp1r tcp4 tcp4r udp64 udp512"
n_vpns=$(wc -w <<<"$VPNS")
n_tests=$(wc -w <<<"$TESTS")
estimate=$((n_vpns * (REPEATS * n_tests * (DURATION + 3) + 15)))
MAX_SECONDS=${MAX_SECONDS:-$((estimate * 3))}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$HERE/results/$STAMP}
mkdir -p "$OUT/logs" || exit 1
RAW=$OUT/raw.tsv
IPERF_PORT=5201

rvp_install_trap
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

vpn_label() {
	case $1 in
	veth) echo "bare veth" ;;
	wg) echo "wireguard-go" ;;
	ovpn) echo "OpenVPN 2.6" ;;
	rv-off) echo "ringvpn offloads off" ;;
	rv-on) echo "ringvpn offloads on" ;;
	*) echo "$1" ;;
	esac
}

# vpn_check ID: prints why not and returns 1 when the VPN cannot run here.
vpn_check() {
	case $1 in
	veth) return 0 ;;
	wg) vpn_wg_check ;;
	ovpn) vpn_ovpn_check ;;
	rv-off | rv-on) vpn_ringvpn_check ;;
	*) echo "unknown VPN id '$1'"; return 1 ;;
	esac
}

vpn_start() {
	local id=$1 dir=$2
	VPN_PIDS=()
	VPN_DESC=
	case $id in
	veth) VPN_DST=$RVP_UL_B; VPN_DESC="veth pair, no tunnel" ;;
	wg) vpn_wg_start "$dir" ;;
	ovpn) vpn_ovpn_start "$dir" ;;
	rv-off) vpn_ringvpn_start "$dir" 0 ;;
	rv-on) vpn_ringvpn_start "$dir" 1 ;;
	esac
}

vpn_stop() {
	case $1 in
	veth) ;;
	wg) vpn_wg_stop ;;
	ovpn) vpn_ovpn_stop ;;
	rv-off | rv-on) vpn_ringvpn_stop ;;
	esac
}

# ping_avg FILE: average RTT in ms from ping -q output ("NA" if none).
ping_avg() {
	awk -F'/' '/^rtt|^round-trip/ { print $5; found=1 } END { if (!found) print "NA" }' "$1"
}

# parse_iperf JSON KIND LEN: prints "seconds bytes gbps packets lost loss_pct pps retrans".
parse_iperf() {
	python3 - "$@" <<'EOF'
import json, sys
path, kind, plen = sys.argv[1], sys.argv[2], int(sys.argv[3])
na = ["NA"] * 8
try:
    d = json.load(open(path))
except Exception:
    print("\t".join(na)); sys.exit(0)
if "error" in d or "end" not in d:
    print("\t".join(na)); sys.exit(0)
e = d["end"]
if kind == "tcp":
    r = e.get("sum_received", {})
    s = e.get("sum_sent", {})
    secs = r.get("seconds") or 0
    b = r.get("bytes", 0)
    gbps = b * 8 / secs / 1e9 if secs else 0
    print("\t".join(str(x) for x in (f"{secs:.3f}", b, f"{gbps:.4f}", "NA", "NA", "NA",
                                      "NA", s.get("retransmits", "NA"))))
else:
    r = e.get("sum_received") or e.get("sum", {})
    secs = r.get("seconds") or 0
    b = r.get("bytes", 0)
    pkts = r.get("packets", 0)
    lost = r.get("lost_packets", 0)
    delivered = b // plen if plen else 0
    pps = delivered / secs if secs else 0
    loss = 100.0 * lost / pkts if pkts else 100.0
    gbps = b * 8 / secs / 1e9 if secs else 0
    print("\t".join(str(x) for x in (f"{secs:.3f}", b, f"{gbps:.4f}", pkts, lost, f"{loss:.2f}",
                                      f"{pps:.0f}", "NA")))
EOF
}

start_iperf_server() {
	rvp_spawn b "$OUT/logs/$1-iperf3-server.log" iperf3 -s -p $IPERF_PORT
	IPERF_SRV=$RVP_LAST_PID
	local i
	for i in $(seq 50); do
		ip netns exec "$RVP_NS_B" ss -Hltn "sport = :$IPERF_PORT" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	rvp_log "iperf3 server did not start"
	return 1
}

# run_test ID TEST REP
run_test() {
	local id=$1 t=$2 rep=$3 args kind plen=0
	local json=$OUT/logs/$id-$t-$rep.json
	case $t in
	tcp1) args=(-P 1) kind=tcp ;;
	tcp1r) args=(-P 1 -R) kind=tcp ;;
	tcp4) args=(-P 4) kind=tcp ;;
	tcp4r) args=(-P 4 -R) kind=tcp ;;
	udp64) args=(-u -l 64 -b "$UDP_RATE") kind=udp plen=64 ;;
	udp512) args=(-u -l 512 -b "$UDP_RATE") kind=udp plen=512 ;;
	esac
	local pingf=$OUT/logs/$id-ping-load-$rep.txt ping_pid=
	if [ "$t" = tcp1 ]; then
		# RTT under load: ping through the tunnel while one TCP stream fills it.
		rvp_spawn a "$pingf" ping -q -i 0.05 -w "$DURATION" "$VPN_DST"
		ping_pid=$RVP_LAST_PID
	fi
	local c0 c1 t0 t1
	c0=$(rvp_cpu_ticks "${VPN_PIDS[@]}")
	t0=$(date +%s.%N)
	timeout --kill-after=5 $((DURATION + 20)) ip netns exec "$RVP_NS_A" \
		iperf3 -c "$VPN_DST" -p $IPERF_PORT -t "$DURATION" -J --connect-timeout 3000 "${args[@]}" \
		>"$json" 2>"$json.err"
	local rc=$?
	t1=$(date +%s.%N)
	c1=$(rvp_cpu_ticks "${VPN_PIDS[@]}")
	local rtt=NA
	if [ -n "$ping_pid" ]; then
		wait "$ping_pid" 2>/dev/null
		rvp_kill "$ping_pid"
		rtt=$(ping_avg "$pingf")
	fi
	[ $rc = 0 ] || rvp_log "$id $t rep $rep: iperf3 exit $rc ($(head -c 200 "$json.err"; grep -o '"error":.*' "$json" | head -c 200))"
	local fields cpu_s cpu_gb
	fields=$(parse_iperf "$json" $kind $plen)
	local bytes; bytes=$(cut -f2 <<<"$fields")
	if [ "${#VPN_PIDS[@]}" -gt 0 ]; then
		cpu_s=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (b - a) / hz }')
		cpu_gb=$(awk -v c="$cpu_s" -v by="$bytes" 'BEGIN { if (by + 0 > 0) printf "%.3f", c / (by / 1e9); else print "NA" }')
	else
		cpu_s=NA cpu_gb=NA
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$t" "$rep" "$fields" "$rtt" "$cpu_s" "$cpu_gb" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" >>"$RAW"
	rvp_log "$(printf '%-7s %-7s rep %s: %s Gbit/s  pps %s  loss %s%%  cpu %s s (%s s/GB)  rtt-load %s' \
		"$id" "$t" "$rep" "$(cut -f3 <<<"$fields")" "$(cut -f7 <<<"$fields")" \
		"$(cut -f6 <<<"$fields")" "$cpu_s" "$cpu_gb" "$rtt")"
}

# ---------------------------------------------------------------------------
printf 'vpn\ttest\trep\tseconds\tbytes\tgbps\tpackets\tlost\tloss_pct\tpps\tretrans\trtt_load_ms\tcpu_s\tcpu_s_per_gb\twall_s\n' >"$RAW"
EXTRA=$OUT/extra.tsv   # per-VPN values measured once per run: idle RTT, peak RSS
printf 'vpn\trep\trtt_idle_ms\trss_kb\tstatus\tdesc\n' >"$EXTRA"

case " $VPNS " in
*" rv-"*)
	if [ "${RV_NO_BUILD:-0}" != 1 ]; then
		rvp_log "building ringvpn (Release) in $RV_BUILD"
		( vpn_ringvpn_build "$OUT/logs/build.log" ) ||
			rvp_log "ringvpn build failed or incomplete (see $OUT/logs/build.log); using what exists"
	fi
	;;
esac
rvp_log "perf run: VPNS='$VPNS' DURATION=$DURATION REPEATS=$REPEATS budget ${MAX_SECONDS}s -> $OUT"
# Repetitions are the outer loop so that a change in background load over the
# run hits every VPN alike instead of all repetitions of one.
RUNNABLE=
for id in $VPNS; do
	if why=$(vpn_check "$id"); then
		RUNNABLE+=" $id"
	else
		rvp_log "skip $id: $why"
		printf '%s\t-\tNA\tNA\tskipped: %s\t\n' "$id" "$why" >>"$EXTRA"
	fi
done
for rep in $(seq "$REPEATS"); do
	for id in $RUNNABLE; do
		if [ "$SECONDS" -ge "$MAX_SECONDS" ]; then
			rvp_log "budget of ${MAX_SECONDS}s spent; skipping $id rep $rep"
			printf '%s\t%s\tNA\tNA\tskipped: time budget\t\n' "$id" "$rep" >>"$EXTRA"
			continue
		fi
		rvp_log "=== $(vpn_label "$id") (rep $rep/$REPEATS)"
		# A fresh topology per VPN and repetition: no state carries over.
		rvp_topo_up
		wd=$OUT/logs/$id-$rep
		mkdir -p "$wd"
		if ! vpn_start "$id" "$wd" >"$wd/start.log" 2>&1; then
			rvp_log "$id did not start:"; tail -20 "$wd/start.log" >&2
			vpn_stop "$id" >/dev/null 2>&1
			printf '%s\t%s\tNA\tNA\tfailed to start\t%s\n' "$id" "$rep" "$VPN_DESC" >>"$EXTRA"
			rvp_topo_down
			continue
		fi
		start_iperf_server "$id-$rep" || { vpn_stop "$id"; rvp_topo_down; continue; }
		ip netns exec "$RVP_NS_A" ping -q -c 20 -i 0.05 -w 10 "$VPN_DST" >"$OUT/logs/$id-ping-idle-$rep.txt" 2>&1
		rtt_idle=$(ping_avg "$OUT/logs/$id-ping-idle-$rep.txt")
		for t in $TESTS; do
			if [ "$SECONDS" -ge "$MAX_SECONDS" ]; then
				rvp_log "budget spent; skipping $id $t"
				continue
			fi
			# An endpoint that died invalidates the rest of this repetition.
			for p in "${VPN_PIDS[@]}"; do
				rvp_alive "$p" || { rvp_log "$id: VPN process $p died"; break 2; }
			done
			run_test "$id" "$t" "$rep"
		done
		case $id in rv-*) ringvpn_counters "$wd" >"$wd/counters.txt" 2>&1 ;; esac
		rss=$(rvp_hwm_kb "${VPN_PIDS[@]}")
		[ "${#VPN_PIDS[@]}" -gt 0 ] || rss=NA
		printf '%s\t%s\t%s\t%s\tok\t%s\n' "$id" "$rep" "$rtt_idle" "$rss" "$VPN_DESC" >>"$EXTRA"
		rvp_kill "$IPERF_SRV"
		vpn_stop "$id"
		rvp_topo_down
	done
done

# ---------------------------------------------------------------------------
# Machine description for the report.
{
	echo "cpu: $(lscpu | awk -F': +' '/^Model name/ {print $2; exit}')"
	echo "cores: $(nproc) online ($(lscpu | awk -F': +' '/^Thread\(s\) per core/ {print $2; exit}') thread(s)/core)"
	echo "kernel: $(uname -r)"
	echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "iperf3: $(iperf3 --version | head -1)"
	echo "run: DURATION=${DURATION}s REPEATS=$REPEATS UDP_RATE=$UDP_RATE tunnel MTU $RVP_TUN_MTU underlay GRO $RVP_UNDERLAY_GRO"
	echo "load average (1/5/15 min): $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end (the run itself adds 2-3; more means other work shared the cores)"
	echo "date: $(date -u +%FT%TZ)"
} >"$OUT/machine.txt"

python3 - "$RAW" "$EXTRA" "$OUT" "$VPNS" <<'EOF'
import csv, statistics, sys
raw, extra, out, order = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
labels = {"veth": "bare veth", "wg": "wireguard-go", "ovpn": "OpenVPN 2.6",
          "rv-off": "ringvpn offloads off", "rv-on": "ringvpn offloads on"}

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
cols = [("vpn", None), ("tcp1_gbps", ("tcp1", "gbps")), ("tcp1r_gbps", ("tcp1r", "gbps")),
        ("tcp4_gbps", ("tcp4", "gbps")), ("tcp4r_gbps", ("tcp4r", "gbps")),
        ("udp64_kpps", ("udp64", "pps")), ("udp64_loss_pct", ("udp64", "loss_pct")),
        ("udp512_kpps", ("udp512", "pps")), ("udp512_loss_pct", ("udp512", "loss_pct")),
        ("rtt_idle_ms", None), ("rtt_load_ms", ("tcp1", "rtt_load_ms")),
        ("cpu_s_per_gb_tcp1", ("tcp1", "cpu_s_per_gb")),
        ("cpu_s_per_gb_tcp4", ("tcp4", "cpu_s_per_gb")),
        ("peak_rss_mb", None), ("n", None), ("status", None)]
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
    e = [x for x in ex if x["vpn"] == vpn]
    r["rtt_idle_ms"] = med([num(x["rtt_idle_ms"]) for x in e])
    rss = med([num(x["rss_kb"]) for x in e])
    r["peak_rss_mb"] = rss / 1024 if rss is not None else None
    r["n"] = len([x for x in mine if x["test"] == "tcp1"])
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
    if name.endswith("_ms"):
        return f"{v:.3f}"
    if name.endswith("_gbps"):
        return f"{v:.3f}"
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"

names = [c for c, _ in cols]
with open(f"{out}/results.tsv", "w") as f:
    f.write("\t".join(names) + "\n")
    for r in summary:
        f.write("\t".join(fmt(n, r.get(n)) for n in names) + "\n")

heads = {"vpn": "VPN", "tcp1_gbps": "TCP 1 A→B Gbit/s", "tcp1r_gbps": "TCP 1 B→A Gbit/s",
         "tcp4_gbps": "TCP 4 A→B Gbit/s", "tcp4r_gbps": "TCP 4 B→A Gbit/s",
         "udp64_kpps": "UDP 64 B kpps", "udp64_loss_pct": "UDP 64 loss %",
         "udp512_kpps": "UDP 512 B kpps", "udp512_loss_pct": "UDP 512 loss %",
         "rtt_idle_ms": "RTT idle ms", "rtt_load_ms": "RTT load ms",
         "cpu_s_per_gb_tcp1": "CPU s/GB (TCP 1)", "cpu_s_per_gb_tcp4": "CPU s/GB (TCP 4)",
         "peak_rss_mb": "peak RSS MB", "n": "n"}
md_cols = [n for n in names if n != "status"]
with open(f"{out}/results.md", "w") as f:
    f.write("| " + " | ".join(heads[n] for n in md_cols) + " |\n")
    f.write("|" + "|".join("---" if n == "vpn" else "---:" for n in md_cols) + "|\n")
    for r in summary:
        cells = []
        for n in md_cols:
            cells.append(labels.get(r["vpn"], r["vpn"]) if n == "vpn" else fmt(n, r.get(n)))
        f.write("| " + " | ".join(cells) + " |\n")
    notes = [(labels.get(r["vpn"], r["vpn"]), r["status"], r["desc"]) for r in summary]
    f.write("\n")
    for lab, st, desc in notes:
        f.write(f"- {lab}: {desc or '-'}" + ("" if st == "ok" else f" — **{st}**") + "\n")
    f.write("\nMedians over n repetitions. Machine:\n\n```\n")
    f.write(open(f"{out}/machine.txt").read())
    f.write("```\n")

# Data file for gnuplot: one row per VPN, label without spaces issues.
with open(f"{out}/chart.dat", "w") as f:
    f.write("# label\ttcp1\ttcp1r\ttcp4\ttcp4r\tcpu1\tcpu4\tudp64\tudp512\n")
    for r in summary:
        if "ok" not in r["status"].split(","):
            continue
        v = [fmt(n, r.get(n)) for n in ("tcp1_gbps", "tcp1r_gbps", "tcp4_gbps", "tcp4r_gbps",
                                         "cpu_s_per_gb_tcp1", "cpu_s_per_gb_tcp4",
                                         "udp64_kpps", "udp512_kpps")]
        f.write("\"" + labels.get(r["vpn"], r["vpn"]) + "\"\t" + "\t".join(v) + "\n")
EOF

if command -v gnuplot >/dev/null && [ "$(wc -l <"$OUT/chart.dat")" -gt 1 ]; then
	has_cpu=$(awk -F'\t' '!/^#/ && $6 != "NA" { f = 1 } END { print f + 0 }' "$OUT/chart.dat")
	gnuplot -e "has_cpu=$has_cpu; nrows=$(($(wc -l <"$OUT/chart.dat") - 1)); datafile='$OUT/chart.dat'; outfile='$OUT/chart.png'; subtitle='$(head -1 "$OUT/machine.txt" | sed "s/'//g"), $(nproc) cores, DURATION=${DURATION}s, n=$REPEATS'" \
		"$HERE/chart.gp" 2>"$OUT/logs/gnuplot.err" || rvp_log "gnuplot failed: $(cat "$OUT/logs/gnuplot.err")"
fi

# perf/results/latest mirrors the newest run (only when OUT is under results/).
case $OUT in
"$HERE"/results/*)
	rm -rf "$HERE/results/latest.tmp"
	cp -r "$OUT" "$HERE/results/latest.tmp" && rm -rf "$HERE/results/latest" &&
		mv "$HERE/results/latest.tmp" "$HERE/results/latest"
	;;
esac
echo
cat "$OUT/results.md"
rvp_log "results in $OUT (elapsed ${SECONDS}s)"
