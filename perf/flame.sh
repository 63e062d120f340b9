#!/usr/bin/env bash
# perf/flame.sh — CPU flame graph of a VPN's processes during a throughput run.
#
#   perf/flame.sh [VPN] [TEST]
#     VPN   rv-on (default), rv-off, wg, wgo, ovpn, nebula
#     TEST  tcp1 (default), tcp1r, tcp4, tcp4r, udp64, udp512
#           (the UDP tests flood unless PPS=N sets a fixed packet rate;
#           SRC=blast sends and receives them with perf/blast, as
#           perf/run.sh's PPS_TOOL=blast, instead of iperf3)
#
# Starts the VPN between two fresh namespaces (perf/topo.sh), runs iperf3 for
# DURATION seconds (default 10) and meanwhile records
#   perf record -F 999 -g -e cpu-clock -p <VPN PIDs>
# then folds the stacks (perf/stackcollapse.py) and draws a self-contained
# interactive HTML flame graph (perf/flamegraph.py). Output in
# perf/results/flame-<VPN>-<timestamp>/ (or $OUT):
#   flame.html, stacks.folded, perf-script.txt.gz, iperf3.json, summary.txt
# and flame-<VPN>.html / flame-<VPN>.folded (of the default test, one TCP
# stream from iperf3; other tests flame-<VPN>-<TEST>[-blast].*) are also
# copied to perf/results/flame/ (the newest of each) when OUT is under
# perf/results/.
#
# perf's own `perf script report flamegraph` needs the d3-flame-graph template
# (/usr/share/d3-flame-graph, package libjs-d3-flame-graph, not in Debian 12)
# and otherwise loads d3 from a CDN, so it is only used when that template
# exists (FLAME_PERF_TEMPLATE=1 also writes flame-perf.html then).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/topo.sh"
. "$HERE/vpn_wg.sh"
. "$HERE/vpn_ovpn.sh"
. "$HERE/vpn_ringvpn.sh"
. "$HERE/vpn_nebula.sh"

VPN=${1:-rv-on}
TEST=${2:-tcp1}
DURATION=${DURATION:-10}
FREQ=${FREQ:-999}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$HERE/results/flame-$VPN-$STAMP}
mkdir -p "$OUT" || exit 1
command -v perf >/dev/null || rvp_die "perf (linux-perf) not installed"

case $VPN in
wg) vpn_wg_check >/dev/null || rvp_die "$(vpn_wg_check)" ;;
wgo) vpn_wg_check "$WG_OFFLOAD_BIN" >/dev/null || rvp_die "$(vpn_wg_check "$WG_OFFLOAD_BIN")" ;;
ovpn) vpn_ovpn_check >/dev/null || rvp_die "$(vpn_ovpn_check)" ;;
nebula) vpn_nebula_check >/dev/null || rvp_die "$(vpn_nebula_check)" ;;
rv-on | rv-off) vpn_ringvpn_check >/dev/null || rvp_die "$(vpn_ringvpn_check)" ;;
*) rvp_die "unknown VPN '$VPN' (rv-on, rv-off, wg, wgo, ovpn, nebula)" ;;
esac
case $TEST in
tcp1) args=(-P 1) ;; tcp1r) args=(-P 1 -R) ;; tcp4) args=(-P 4) ;; tcp4r) args=(-P 4 -R) ;;
udp64) args=(-u -l 64 -b $((${PPS:-0} * 64 * 8))) ;; udp512) args=(-u -l 512 -b $((${PPS:-0} * 512 * 8))) ;;
*) rvp_die "unknown TEST '$TEST'" ;;
esac
SRC=${SRC:-iperf3} BLAST=${BLAST:-$RV_BUILD/perf/blast}
case $SRC:$TEST in
iperf3:*) ;;
blast:udp*) [ -x "$BLAST" ] || rvp_die "SRC=blast: $BLAST not built (cmake --build $RV_BUILD --target blast)" ;;
blast:*) rvp_die "SRC=blast is for the UDP tests (udp64, udp512), not $TEST" ;;
*) rvp_die "SRC is iperf3 or blast, not '$SRC'" ;;
esac

vstart() {
	case $VPN in
	wg) vpn_wg_start "$1" ;; wgo) vpn_wg_start "$1" "$WG_OFFLOAD_BIN" ;;
	ovpn) vpn_ovpn_start "$1" ;; nebula) vpn_nebula_start "$1" ;;
	rv-on) vpn_ringvpn_start "$1" 1 ;; rv-off) vpn_ringvpn_start "$1" 0 ;;
	esac
}
vstop() {
	case $VPN in
	wg | wgo) vpn_wg_stop ;; ovpn) vpn_ovpn_stop ;; nebula) vpn_nebula_stop ;;
	rv-on | rv-off) vpn_ringvpn_stop ;;
	esac
}

# An interrupted run stops the VPN as a finished one does: its throwaway
# keys (under $OUT, by default in the checkout) and status sockets were left
# behind (tester 290).
VPN_UP=0
rvp_cleanup_hook() {
	[ "$VPN_UP" = 0 ] || vstop >/dev/null 2>&1
	[ ! -d "$OUT/work" ] || find "$OUT/work" -name '*.key' -delete
}
rvp_install_trap
rvp_topo_up
mkdir -p "$OUT/work"
VPN_UP=1
vstart "$OUT/work" >"$OUT/start.log" 2>&1 || { cat "$OUT/start.log" >&2; rvp_die "$VPN did not start"; }
[ "${#VPN_PIDS[@]}" -gt 0 ] || rvp_die "no VPN processes to record"
if [ "$SRC" = blast ]; then
	# The sink counts for DURATION seconds from its first datagram.
	rvp_spawn b "$OUT/blast-recv.log" "$BLAST" recv "$VPN_DST" 5201 "$DURATION"
	srv=$RVP_LAST_PID
	for i in $(seq 50); do
		grep -q '^ready' "$OUT/blast-recv.log" && break
		sleep 0.1
	done
else
	rvp_spawn b "$OUT/iperf3-server.log" iperf3 -s -p 5201
	srv=$RVP_LAST_PID
	for i in $(seq 50); do
		ip netns exec "$RVP_NS_B" ss -Hltn "sport = :5201" | grep -q . && break
		sleep 0.1
	done
fi

pids=$(IFS=,; echo "${VPN_PIDS[*]}")
rvp_log "recording $VPN (pids $pids) for ${DURATION}s at ${FREQ} Hz during iperf3 $TEST"
rvp_spawn host "$OUT/perf-record.log" perf record -F "$FREQ" -g -e cpu-clock -p "$pids" \
	-o "$OUT/perf.data" -- sleep "$DURATION"
rec=$RVP_LAST_PID
sleep 0.3
if [ "$SRC" = blast ]; then
	timeout --kill-after=5 $((DURATION + 20)) ip netns exec "$RVP_NS_A" \
		"$BLAST" send "$VPN_DST" 5201 "${TEST#udp}" "${PPS:-0}" "$DURATION" >"$OUT/blast-send.log" 2>&1
	# The sink ends DURATION s after its first datagram or 2 s after its last.
	for i in $(seq 50); do rvp_alive "$srv" || break; sleep 0.1; done
else
	timeout --kill-after=5 $((DURATION + 20)) ip netns exec "$RVP_NS_A" \
		iperf3 -c "$VPN_DST" -p 5201 -t "$DURATION" -J "${args[@]}" >"$OUT/iperf3.json" 2>&1
fi
# perf record ends by itself after DURATION (its "sleep" workload); bounded wait.
for i in $(seq $((DURATION * 10 + 100))); do rvp_alive "$rec" || break; sleep 0.1; done
rvp_alive "$rec" && kill -INT "$rec"
wait "$rec" 2>/dev/null
rvp_kill "$rec" "$srv"
vstop
VPN_UP=0
rvp_topo_down

[ -s "$OUT/perf.data" ] || rvp_die "perf record wrote nothing (see $OUT/perf-record.log)"
perf script -i "$OUT/perf.data" -F comm,pid,tid,time,event,ip,sym,dso 2>"$OUT/perf-script.err" \
	>"$OUT/perf-script.txt" || rvp_die "perf script failed: $(head -5 "$OUT/perf-script.err")"
python3 "$HERE/stackcollapse.py" "$OUT/perf-script.txt" >"$OUT/stacks.folded" || rvp_die "stackcollapse failed"
if [ "$SRC" = blast ]; then
	gbps=$(awk -v d="$DURATION" '/^sent/ { s = $2 } END { printf "blast sent %.0f pps", s / d }' "$OUT/blast-send.log")
	gbps="$gbps, $(awk -v d="$DURATION" '/^received/ { r = $2 } END { printf "received %.0f pps", r / d }' "$OUT/blast-recv.log")"
else
	gbps=$(python3 -c '
import json,sys
try:
    d=json.load(open(sys.argv[1]))
    if d.get("error"): print("iperf3 failed: %s" % d["error"][:80]); sys.exit()
    e=d["end"]; r=e.get("sum_received") or e["sum"]
    print("%.3f Gbit/s" % (r["bytes"]*8/r["seconds"]/1e9))
except Exception: print("iperf3 result unavailable")' "$OUT/iperf3.json")
fi
samples=$(awk '{ s += $NF } END { print s + 0 }' "$OUT/stacks.folded")
title="$VPN — $SRC $TEST, $gbps"
sub="perf record -F $FREQ -g -e cpu-clock -p <VPN pids>, ${DURATION}s, $samples samples ($(nproc) cores, $(uname -r), $(date -u +%FT%TZ))"
python3 "$HERE/flamegraph.py" "$OUT/stacks.folded" -o "$OUT/flame.html" --title "$title" --subtitle "$sub" ||
	rvp_die "flamegraph.py failed"

if [ -f /usr/share/d3-flame-graph/d3-flamegraph-base.html ] || [ "${FLAME_PERF_TEMPLATE:-0}" = 1 ]; then
	(cd "$OUT" && perf script -i perf.data report flamegraph -o flame-perf.html >/dev/null 2>&1) ||
		rvp_log "perf script report flamegraph failed (template?)"
fi

# Top self-time functions, for the report.
python3 - "$OUT/stacks.folded" >"$OUT/summary.txt" <<'EOF'
import collections, sys
self_ = collections.Counter(); comm = collections.Counter(); total = 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    n = int(n); total += n
    frames = stack.split(";")
    self_[frames[-1]] += n; comm[frames[0]] += n
def category(leaf):
    if leaf.endswith("_[k]"):
        return "kernel"
    if "libcrypto" in leaf or leaf.startswith(("CRYPTO_", "EVP_", "aes", "gcm")):
        return "crypto (libcrypto)"
    if "liburing" in leaf or leaf.startswith("io_uring"):
        return "liburing"
    if leaf.startswith("rv_") or leaf.startswith("[ringvpn"):
        return "ringvpn"
    if leaf.startswith(("__mem", "mem", "__GI", "__libc", "[libc")):
        return "libc (memcpy etc.)"
    return "other user"
cat = collections.Counter()
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    cat[category(stack.split(";")[-1])] += int(n)
print(f"samples: {total}")
print("self time by category (leaf frame):")
for c, n in cat.most_common(): print(f"  {100*n/total:6.2f}%  {c}")
print("by thread (comm):")
for c, n in comm.most_common(10): print(f"  {100*n/total:6.2f}%  {c}")
print("top self time:")
for f, n in self_.most_common(25): print(f"  {100*n/total:6.2f}%  {f}")
EOF
gzip -f "$OUT/perf-script.txt"
rm -f "$OUT/perf.data.old"
# perf.data is large and only readable with this kernel's symbols; the
# folded stacks and perf-script.txt.gz carry the same samples.
[ "${KEEP_PERF_DATA:-0}" = 1 ] || rm -f "$OUT/perf.data"
[ -n "$(ls "$OUT/work" 2>/dev/null)" ] && find "$OUT/work" -name '*.key' -delete
# The README quotes flame-<VPN>.* as one TCP stream: another test's graph
# goes under its own name (a udp64 one replaced it: round-fifteen tester 74).
# The tracked copies follow only a run kept under perf/results/, as run.sh's
# latest does: a run with OUT elsewhere replaced them (tester 290).
kept=flame-$VPN
[ "$TEST" = tcp1 ] && [ "$SRC" = iperf3 ] || kept=flame-$VPN-$TEST$([ "$SRC" = blast ] && echo -blast)
also=
case $OUT in
"$HERE"/results/*)
	mkdir -p "$HERE/results/flame"
	cp "$OUT/flame.html" "$HERE/results/flame/$kept.html"
	cp "$OUT/stacks.folded" "$HERE/results/flame/$kept.folded"
	cp "$OUT/summary.txt" "$HERE/results/flame/$kept.summary.txt"
	also=" (also perf/results/flame/$kept.html)"
	;;
esac
echo "$title"
head -30 "$OUT/summary.txt"
rvp_log "flame graph: $OUT/flame.html$also"
