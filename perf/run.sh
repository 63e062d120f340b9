#!/usr/bin/env bash
# perf/run.sh — side-by-side run: bare veth (ceiling), wireguard-go (Debian
# 0.0.20220316 and upstream 0.0.20250522 with offloads), OpenVPN 2.6, Nebula
# 1.6 and ringvpn (offloads off and on) between two network namespaces.
#
#   perf/run.sh                 DURATION=10 s per test, REPEATS=3, medians
#   QUICK=1 perf/run.sh         smoke run: DURATION=2, REPEATS=1; about 1 min
#                               per VPN (132 s for VPNS="veth rv-on"), ~9 min
#                               for the default nine
#
# Tests per VPN and repetition: TCP 1 and 4 streams each way (iperf3), "lat"
# (one more single-stream run with a ping every 10 ms through the tunnel:
# latency under load, every RTT kept for the histogram), and in the first
# PPS_REPEATS repetitions "pps64"/"pps512": the highest offered UDP rate
# (iperf3 -u -l 64/512 -b R, or perf/blast) the receiver gets with < 1 % loss
# (pps_search below). Optional (TESTS), not in the default list: "udp1", one UDP flow of
# 1200-byte datagrams (QUIC's size; below every VPN's MTU) offered as fast as
# iperf3 sends them (-u -b 0): what the receiver got, the loss, and the VPN's
# CPU per GB received.
#
# Environment:
#   DURATION     seconds per iperf3 test (default 10; QUICK: 2)
#   REPEATS      repetitions of every test (default 3; QUICK: 1)
#   VPNS         configurations, in order (default
#                "veth wg wgo ovpn nebula rv-off rv-on rv-nice rv-rt"); rv-nice is
#                rv-on with worker_nice = RV_NICE_VALUE (default -20), rv-rt
#                rv-on with worker_rtprio = RV_RTPRIO_VALUE (default 1)
#   TESTS        tests, in order (default "tcp1 tcp1r tcp4 tcp4r lat pps64 pps512")
#   PING_MS      ping interval of the lat test (default 10)
#   PPS_SECONDS  seconds per probe of the packet-rate search (default 2)
#   PPS_STEPS    search probes after the flood and the hint at 1.1x its
#                delivered rate (default 6)
#   PPS_REPEATS  repetitions that run the packet-rate search (default 1)
#   PPS_TOOL     source and sink of the packet-rate search: iperf3 (default)
#                or blast (perf/blast.c, RV_BUILD/perf/blast): paced iperf3
#                costs twice the CPU per datagram of unpaced and tops out near
#                107 kpps here, while the veth is taken unpaced (README)
#   MAX_SECONDS  hard budget for the whole run; remaining tests are skipped
#                (and marked NA) once it is spent (default: 3x the estimate)
#   RV_BUILD     ringvpn build dir (default build/perf-release of this checkout)
#   RV_BASE_BIN  a second ringvpn binary (an older commit) measured as the VPN
#                id "rv-base" (offloads on), for before/after in one run
#   RV_BASE_CONF extra config lines for both ends of rv-base only (e.g.
#                "offload_udp_coalesce = yes"; RV_BASE_BIN may be the same
#                binary as rv-on): a config key's A/B in one run
#   OUT          output directory (default perf/results/<timestamp>)
#   RVP_TAG      prefix of the namespaces' names (default rvp-<pid>; topo.sh)
#
# Output: $OUT/raw.tsv (every measurement), $OUT/results.tsv (medians, one row
# per VPN), $OUT/results.md (markdown table, ratios, machine), $OUT/chart.png,
# $OUT/latency.png (latency-under-load histogram and CDF of every VPN),
# $OUT/rtt/ (every RTT of the lat test), logs; the whole directory is copied
# to perf/results/latest/ when OUT is under perf/results/ and the run ended
# (not interrupted: exit 130) having measured something (else exit 1).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/topo.sh"
. "$HERE/vpn_wg.sh"
. "$HERE/vpn_ovpn.sh"
. "$HERE/vpn_ringvpn.sh"
. "$HERE/vpn_nebula.sh"

if [ "${QUICK:-0}" = 1 ]; then
	DURATION=${DURATION:-2}
	REPEATS=${REPEATS:-1}
else
	DURATION=${DURATION:-10}
	REPEATS=${REPEATS:-3}
fi
VPNS=${VPNS:-"veth wg wgo ovpn nebula rv-off rv-on rv-nice rv-rt"}
TESTS=${TESTS:-"tcp1 tcp1r tcp4 tcp4r lat pps64 pps512"}
PING_MS=${PING_MS:-10}
PPS_SECONDS=${PPS_SECONDS:-2}
PPS_STEPS=${PPS_STEPS:-6}
PPS_REPEATS=${PPS_REPEATS:-1}
PPS_TOOL=${PPS_TOOL:-iperf3}
BLAST_PORT=5400
n_vpns=$(wc -w <<<"$VPNS")
n_tests=$(wc -w <<<"$TESTS")
estimate=$((n_vpns * (REPEATS * n_tests * (DURATION + 3) + 2 * (PPS_STEPS + 1) * (PPS_SECONDS + 2) + 15)))
MAX_SECONDS=${MAX_SECONDS:-$((estimate * 3))}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$HERE/results/$STAMP}
# Every test drives iperf3: without it a run measured nothing and exited 0
# (round-forty tester 201).
command -v iperf3 >/dev/null ||
	{ echo "perf/run.sh: iperf3 is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
mkdir -p "$OUT/logs" || exit 1
RAW=$OUT/raw.tsv
IPERF_PORT=5201

# An interrupted run stops the VPN it was measuring as a finished one
# does: its throwaway keys and status sockets were left behind (round-forty
# tester 201).
CUR_VPN=
rvp_cleanup_hook() { [ -z "$CUR_VPN" ] || vpn_stop "$CUR_VPN" >/dev/null 2>&1; }
rvp_install_trap
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

vpn_label() {
	case $1 in
	veth) echo "bare veth" ;;
	wg) echo "wireguard-go 0.0.20220316" ;;
	wgo) echo "wireguard-go 0.0.20250522 (offloads)" ;;
	ovpn) echo "OpenVPN 2.6" ;;
	nebula) echo "Nebula 1.6" ;;
	rv-off) echo "ringvpn offloads off" ;;
	rv-on) echo "ringvpn offloads on" ;;
	rv-nice) echo "ringvpn offloads on, worker_nice = ${RV_NICE_VALUE:--20}" ;;
	rv-rt) echo "ringvpn offloads on, worker_rtprio = ${RV_RTPRIO_VALUE:-1}" ;;
	rv-base) echo "ringvpn baseline ${RV_BASE_LABEL:-} offloads on" ;;
	*) echo "$1" ;;
	esac
}

# vpn_check ID: prints why not and returns 1 when the VPN cannot run here.
vpn_check() {
	case $1 in
	veth) return 0 ;;
	wg) vpn_wg_check ;;
	wgo) vpn_wg_check "$WG_OFFLOAD_BIN" ;;
	ovpn) vpn_ovpn_check ;;
	nebula) vpn_nebula_check ;;
	rv-off | rv-on | rv-nice | rv-rt) vpn_ringvpn_check ;;
	rv-base)
		[ -x "${RV_BASE_BIN:-}" ] || { echo "RV_BASE_BIN is not set to a ringvpn binary"; return 1; }
		RV_BIN=$RV_BASE_BIN RV_MODE=cli vpn_ringvpn_check
		;;
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
	wgo) vpn_wg_start "$dir" "$WG_OFFLOAD_BIN" ;;
	ovpn) vpn_ovpn_start "$dir" ;;
	nebula) vpn_nebula_start "$dir" ;;
	rv-off) vpn_ringvpn_start "$dir" 0 ;;
	rv-on) vpn_ringvpn_start "$dir" 1 ;;
	rv-nice) RV_WORKER_NICE=${RV_NICE_VALUE:--20} vpn_ringvpn_start "$dir" 1 ;;
	rv-rt) RV_WORKER_RTPRIO=${RV_RTPRIO_VALUE:-1} vpn_ringvpn_start "$dir" 1 ;;
	rv-base) RV_BIN=$RV_BASE_BIN RV_MODE=cli RV_EXTRA_CONF=${RV_BASE_CONF:-} vpn_ringvpn_start "$dir" 1 ;;
	esac
}

vpn_stop() {
	case $1 in
	veth) ;;
	wg | wgo) vpn_wg_stop ;;
	ovpn) vpn_ovpn_stop ;;
	nebula) vpn_nebula_stop ;;
	rv-off | rv-on | rv-nice | rv-rt | rv-base) vpn_ringvpn_stop ;;
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

# rtt_stats FILE: "avg p50 p99 max count lost" (ms) of the pings in ping
# output FILE (perf/rtt_stats.py: lost pings ranked above every reply).
rtt_stats() {
	python3 "$HERE/rtt_stats.py" "$1" | awk '{ print $1, $2, $4, $5, $6, $7 }'
}

# iperf_run ID JSON ARGS...: one iperf3 client run from A (timeout-guarded;
# --foreground keeps it in the script's process group, so a Ctrl-C reaches it
# at once: it waited out its timeout, round-forty tester 201).
iperf_run() {
	local json=$2 rc
	shift 2
	timeout --foreground --kill-after=5 $((DURATION + 20)) ip netns exec "$RVP_NS_A" \
		iperf3 -c "$VPN_DST" -p $IPERF_PORT -J --connect-timeout 3000 "$@" \
		>"$json" 2>"$json.err"
	rc=$?
	# 124/137: timeout ended it (a stalled tunnel), whose SIGTERM iperf3
	# reports as an interrupt too.
	[ $rc = 124 ] || [ $rc = 137 ] || rvp_stop_if_interrupted "$json"
	return $rc
}

# rvp_stop_if_interrupted JSON: iperf3 says "interrupt" when a SIGINT reached
# it; the run stops there (exit 130, the EXIT trap cleans up, latest is left
# alone) even if this shell could not trap the SIGINT itself (rvp_watch_int
# in topo.sh is the first line of defence; this the second).
rvp_stop_if_interrupted() {
	grep -q '"error":[^"]*"[^"]*interrupt' "$1" 2>/dev/null || return 0
	rvp_log "iperf3 was interrupted ($(grep -o '"error":[^}]*' "$1" | head -c 120)): stopping"
	exit 130
}

# vpn_dead: prints the first of VPN_PIDS that is gone; fails if all live.
vpn_dead() {
	local p
	for p in ${VPN_PIDS[@]+"${VPN_PIDS[@]}"}; do
		rvp_alive "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# pps_probe ID SIZE RATE REP STEP: offers RATE datagrams/s of SIZE bytes for
# PPS_SECONDS (RATE 0: as fast as the sender goes); prints "delivered_pps
# loss_pct offered_pps", the last what the sender actually sent per second.
pps_probe() {
	local id=$1 size=$2 rate=$3 rep=$4 step=$5 bps
	local json=$OUT/logs/$id-pps$size-$rep-$step.json
	[ "$PPS_TOOL" = blast ] && { blast_probe "$@"; return; }
	bps=$((rate * size * 8))
	timeout --foreground --kill-after=5 $((PPS_SECONDS + 20)) ip netns exec "$RVP_NS_A" \
		iperf3 -c "$VPN_DST" -p $IPERF_PORT -J --connect-timeout 3000 -u -l "$size" \
		-b "$bps" -w 2M -t "$PPS_SECONDS" >"$json" 2>"$json.err"
	parse_iperf "$json" udp "$size" | awk -F'\t' '{
		o = ($4 == "NA" || $1 == "NA" || $1 == 0) ? "NA" : sprintf("%.0f", $4 / $1)
		print $7, $6, o }'
}

# blast_probe: pps_probe with perf/blast.c as the source (in A) and the sink
# (in B, bound to the tunnel address), the same datagrams for every system.
blast_probe() {
	local id=$1 size=$2 rate=$3 rep=$4 step=$5 rlog sent got i rp
	rlog=$OUT/logs/$id-pps$size-$rep-$step.blast
	ip netns exec "$RVP_NS_B" "$BLAST" recv "$VPN_DST" $BLAST_PORT "$PPS_SECONDS" >"$rlog" 2>&1 &
	rp=$!
	for i in $(seq 50); do
		grep -q '^ready' "$rlog" && break
		sleep 0.1
	done
	sent=$(timeout --foreground --kill-after=5 $((PPS_SECONDS + 20)) ip netns exec "$RVP_NS_A" \
		"$BLAST" send "$VPN_DST" $BLAST_PORT "$size" "$rate" "$PPS_SECONDS" 2>>"$rlog" |
		awk '/^sent/ { print $2 }')
	wait "$rp"
	echo "offered $rate sent ${sent:-NA}" >>"$rlog"
	got=$(awk '/^received/ { print $2 }' "$rlog")
	awk -v s="${sent:-0}" -v g="${got:-0}" -v t="$PPS_SECONDS" 'BEGIN {
		if (s == 0) { print "NA NA NA"; exit }
		printf "%.0f %.2f %.0f\n", g / t, 100 * (s - g) / s, s / t }'
}

# pps_search ID SIZE REP: the highest offered rate with < 1 % loss. First an
# unlimited probe: what the sender manages (o, the ceiling: no higher rate can
# be offered) and what the receiver took (d). Then one probe at 1.1 d, the
# likely neighbourhood; if it loses, a binary search between 0 and it; if it
# does not, the answer lies between it and o, searched geometrically (a
# system that sheds load under a flood can take more when paced, and o may be
# many times d). A passing probe counts at what the sender really offered in
# it, never at more than was asked, and one the sender fell short in ends the
# search above it. Socket buffers of 2 MiB on both iperf3
# ends (-w) so that iperf3's own bursts are not the loss. Prints "rate_pps
# loss_pct_at_rate search_upper_bound".
pps_search() {
	local id=$1 size=$2 rep=$3 lo=0 hi mid out d loss o k best=0 best_loss=NA ceil eff
	out=$(pps_probe "$id" "$size" 0 "$rep" 0)
	read -r d loss ceil <<<"$out"
	[ "$d" = NA ] && { echo "NA NA NA"; return; }
	# The sender's own ceiling; with < 1 % loss there it is the answer.
	if awk -v l="$loss" 'BEGIN { exit !(l + 0 < 1) }'; then
		echo "$d $loss $d"
		return
	fi
	hi=$(awk -v d="$d" 'BEGIN { printf "%d", d * 1.1 }')
	[ "$ceil" = NA ] && ceil=$hi
	for k in $(seq 0 "$PPS_STEPS"); do
		if [ "$k" -eq 0 ]; then
			mid=$hi
		elif [ "$lo" -gt 0 ]; then
			mid=$(awk -v a="$lo" -v b="$hi" 'BEGIN { printf "%d", sqrt(a * b) }')
		else
			mid=$(((lo + hi) / 2))
		fi
		[ "$mid" -le "$lo" ] && break
		out=$(pps_probe "$id" "$size" "$mid" "$rep" "$((k + 1))")
		read -r d loss o <<<"$out"
		if [ "$d" != NA ] && awk -v l="$loss" 'BEGIN { exit !(l + 0 < 1) }'; then
			# What was really offered: a paced sender starved of CPU
			# (real-time workers beside it) falls short of the rate.
			eff=$(awk -v m="$mid" -v o="$o" 'BEGIN { printf "%d", (o != "NA" && o + 0 < m) ? o : m }')
			[ "$eff" -gt "$best" ] && best=$eff best_loss=$loss
			[ "$eff" -gt "$lo" ] && lo=$eff
			if [ $((eff * 100)) -lt $((mid * 98)) ]; then
				hi=$mid # the sender's own limit: nothing to learn above
			elif [ "$k" -eq 0 ]; then
				hi=$((ceil > mid ? ceil : mid)) # passed at the hint: up to the ceiling
			fi
		else
			hi=$mid
		fi
	done
	echo "$best $best_loss $hi"
}

# run_test ID TEST REP
run_test() {
	local id=$1 t=$2 rep=$3 args kind=tcp plen=0
	local json=$OUT/logs/$id-$t-$rep.json
	case $t in
	tcp1 | lat) args=(-P 1) ;;
	tcp1r) args=(-P 1 -R) ;;
	tcp4) args=(-P 4) ;;
	tcp4r) args=(-P 4 -R) ;;
	udp1) args=(-u -l 1200 -b 0 -w 2M) kind=udp plen=1200 ;;
	pps64 | pps512)
		[ "$rep" -le "$PPS_REPEATS" ] || return 0
		local size=${t#pps} res dead
		res=$(pps_search "$id" "$size" "$rep")
		# A VPN that died during the search measured nothing.
		if dead=$(vpn_dead); then
			rvp_log "$id $t rep $rep: VPN process $dead died during the search; NA"
			res="NA NA NA"
		fi
		printf '%s\t%s\t%s\tNA\tNA\tNA\tNA\tNA\t%s\t%s\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n' \
			"$id" "$t" "$rep" "$(cut -d' ' -f2 <<<"$res")" "$(cut -d' ' -f1 <<<"$res")" >>"$RAW"
		rvp_log "$(printf '%-7s %-7s rep %s: loss-free rate %s pps (loss %s%%, search upper bound %s)' \
			"$id" "$t" "$rep" $res)"
		return 0
		;;
	esac
	local pingf=$OUT/rtt/$id-$rep.txt ping_pid=
	if [ "$t" = lat ]; then
		# Latency under load: a ping every PING_MS through the tunnel
		# while one TCP stream fills it; every RTT is kept.
		rvp_spawn a "$pingf" ping -n -i "$(awk -v m="$PING_MS" 'BEGIN { print m / 1000 }')" \
			-w "$DURATION" "$VPN_DST"
		ping_pid=$RVP_LAST_PID
		sleep 0.2
	fi
	local c0 c1 t0 t1
	c0=$(rvp_cpu_ticks "${VPN_PIDS[@]}")
	t0=$(date +%s.%N)
	iperf_run "$id" "$json" -t "$DURATION" "${args[@]}"
	local rc=$?
	t1=$(date +%s.%N)
	c1=$(rvp_cpu_ticks "${VPN_PIDS[@]}")
	local rtt="NA NA NA NA 0 0"
	if [ -n "$ping_pid" ]; then
		wait "$ping_pid" 2>/dev/null
		rvp_kill "$ping_pid"
		rtt=$(rtt_stats "$pingf")
	fi
	[ $rc = 0 ] || rvp_log "$id $t rep $rep: iperf3 exit $rc ($(head -c 200 "$json.err"; grep -o '"error":.*' "$json" | head -c 200))"
	local fields cpu_s cpu_gb dead
	fields=$(parse_iperf "$json" $kind $plen)
	# A VPN process that died during the test: whatever iperf3 and ping
	# got before is no figure of the VPN (the repetition is "died").
	if dead=$(vpn_dead); then
		rvp_log "$id $t rep $rep: VPN process $dead died during the test; its figures are NA"
		fields=$(printf 'NA\tNA\tNA\tNA\tNA\tNA\tNA\tNA')
		rtt="NA NA NA NA NA NA" c1=NA rc=died
	fi
	local bytes; bytes=$(cut -f2 <<<"$fields")
	if [ "$c0" = NA ] || [ "$c1" = NA ]; then
		cpu_s=NA cpu_gb=NA
	elif [ "${#VPN_PIDS[@]}" -gt 0 ]; then
		cpu_s=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (b - a) / hz }')
		cpu_gb=$(awk -v c="$cpu_s" -v by="$bytes" 'BEGIN { if (by + 0 > 0) printf "%.3f", c / (by / 1e9); else print "NA" }')
	else
		cpu_s=NA cpu_gb=NA
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$t" "$rep" "$fields" \
		"$(cut -d' ' -f1-5 <<<"$rtt" | tr ' ' '\t')" "$cpu_s" "$cpu_gb" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" "$rc" \
		"$([ -n "$ping_pid" ] && cut -d' ' -f6 <<<"$rtt" || echo NA)" >>"$RAW"
	rvp_log "$(printf '%-7s %-7s rep %s: %s Gbit/s  cpu %s s (%s s/GB)  rtt under load avg/p99 %s/%s ms (%s lost)%s' \
		"$id" "$t" "$rep" "$(cut -f3 <<<"$fields")" "$cpu_s" "$cpu_gb" \
		"$(cut -d' ' -f1 <<<"$rtt")" "$(cut -d' ' -f3 <<<"$rtt")" "$(cut -d' ' -f6 <<<"$rtt")" \
		"$([ $kind = udp ] && echo "  loss $(cut -f6 <<<"$fields") %")")"
}

# ---------------------------------------------------------------------------
printf 'vpn\ttest\trep\tseconds\tbytes\tgbps\tpackets\tlost\tloss_pct\tpps\tretrans\trtt_avg_ms\trtt_p50_ms\trtt_p99_ms\trtt_max_ms\trtt_n\tcpu_s\tcpu_s_per_gb\twall_s\trc\trtt_lost\n' >"$RAW"
mkdir -p "$OUT/rtt"
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
BLAST=${BLAST:-$RV_BUILD/perf/blast}
if [ "$PPS_TOOL" = blast ] && [ ! -x "$BLAST" ]; then
	rvp_log "building perf/blast in $RV_BUILD"
	cmake --build "$RV_BUILD" --target blast >>"$OUT/logs/build.log" 2>&1 ||
		rvp_die "PPS_TOOL=blast: $BLAST not built (cmake --build $RV_BUILD --target blast)"
fi
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
		CUR_VPN=$id
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
		status=ok
		for t in $TESTS; do
			if [ "$SECONDS" -ge "$MAX_SECONDS" ]; then
				rvp_log "budget spent; skipping $id $t"
				continue
			fi
			# An endpoint that died invalidates the rest of this
			# repetition, and the repetition is recorded so (it was
			# written "ok": tester 290).
			if dead=$(vpn_dead); then
				rvp_log "$id: VPN process $dead died"
				status=died
				break
			fi
			run_test "$id" "$t" "$rep"
		done
		[ "$status" = ok ] && dead=$(vpn_dead) && { rvp_log "$id: VPN process $dead died"; status=died; }
		case $id in rv-*) ringvpn_counters "$wd" >"$wd/counters.txt" 2>&1 ;; esac
		rss=$(rvp_hwm_kb "${VPN_PIDS[@]}")
		[ "${#VPN_PIDS[@]}" -gt 0 ] && [ "$status" = ok ] || rss=NA
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$rep" "$rtt_idle" "$rss" "$status" "$VPN_DESC" >>"$EXTRA"
		rvp_kill "$IPERF_SRV"
		vpn_stop "$id"
		CUR_VPN=
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
	echo "run: DURATION=${DURATION}s REPEATS=$REPEATS PING_MS=$PING_MS PPS_SECONDS=$PPS_SECONDS PPS_STEPS=$PPS_STEPS PPS_TOOL=$PPS_TOOL tunnel MTU $RVP_TUN_MTU underlay GRO $RVP_UNDERLAY_GRO"
	echo "load average (1/5/15 min): $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end (the run itself adds 2-3; more means other work shared the cores)"
	echo "date: $(date -u +%FT%TZ)"
} >"$OUT/machine.txt"

python3 "$HERE/summarize.py" "$RAW" "$EXTRA" "$OUT" "$VPNS"

if command -v gnuplot >/dev/null && [ "$(wc -l <"$OUT/chart.dat")" -gt 1 ]; then
	has_cpu=$(awk -F'\t' '!/^#/ && $6 != "NA" { f = 1 } END { print f + 0 }' "$OUT/chart.dat")
	subtitle="$(head -1 "$OUT/machine.txt" | sed "s/'//g"), $(nproc) cores, DURATION=${DURATION}s, n=$REPEATS"
	gnuplot -e "has_cpu=$has_cpu; nrows=$(($(wc -l <"$OUT/chart.dat") - 1)); datafile='$OUT/chart.dat'; outfile='$OUT/chart.png'; subtitle='$subtitle'" \
		"$HERE/chart.gp" 2>"$OUT/logs/gnuplot.err" ||
		# A subset without a packet-rate test leaves a panel empty,
		# which gnuplot complains of after writing the chart.
		if [ -s "$OUT/chart.png" ]; then
			rvp_log "chart.png written; a panel without data (logs/gnuplot.err)"
		else
			rvp_log "gnuplot failed: $(cat "$OUT/logs/gnuplot.err")"
		fi
	if [ -s "$OUT/latency.dat" ]; then
		gnuplot -e "datafile='$OUT/latency.dat'; outfile='$OUT/latency.png'; nsys=$(grep -c '^"' "$OUT/latency.dat"); subtitle='$subtitle, ping every ${PING_MS} ms'" \
			"$HERE/latency.gp" 2>"$OUT/logs/gnuplot-latency.err" ||
			rvp_log "gnuplot (latency) failed: $(cat "$OUT/logs/gnuplot-latency.err")"
	fi
fi

# perf/results/latest mirrors the newest run (only when OUT is under results/),
# and only a run that measured something: a failed one replaced the
# README table's source and exited 0 (round-forty tester 201).
measured=$(awk -F'\t' 'NR > 1 && (($6 != "NA" && $6 > 0) || ($10 != "NA" && $10 > 0)) { n++ } END { print n + 0 }' "$RAW" 2>/dev/null)
if [ "${measured:-0}" = 0 ]; then
	cat "$OUT/results.md" 2>/dev/null
	rvp_log "nothing was measured (see $OUT/extra.tsv and logs/); perf/results/latest left as it was"
	exit 1
fi
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
