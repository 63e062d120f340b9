#!/usr/bin/env bash
# perf/ctlload.sh — the control plane at scale: one ringvpn server against N
# simulated clients (perf/ctlload), for each N in turn, five scripted events:
#
#   storm    all N clients connect at once: time until all run, handshakes per
#            second, server control-thread CPU per handshake, next to the CPU
#            cost of one TLS 1.3 mutual-auth ECDSA P-256 handshake measured in
#            memory in the same run (ctlload floor)
#   steady   STEADY_S seconds with keepalives every 10 s: control-thread CPU %,
#            server RSS (total / N and growth over the idle server / N), fds
#   rekey    REKEY_ROUNDS times `ringvpn status --rekey` (every session): time
#            until every client sends under a new epoch, while client 1 pings
#            the server's tunnel address through the tunnel (PROBE_PPS): lost
#            replies, failed opens, and the server's drop counters must stay 0
#   churn    CHURN_PCT % of the clients replaced per minute for CHURN_MIN
#            minutes (half GOODBYE, half TCP reset): server RSS, fds and
#            sessions before and after
#   restart  kill -9 the server with N connected and start it again: time until
#            all N run again, the clients backing off as the real client does
#            (reconnect 500 ms doubling to 30 s, +25 % jitter)
# and then a teardown (every client says GOODBYE): server sessions and fds
# back to the idle baseline, RSS compared with it.
#
#   perf/ctlload.sh                      N = 1000 5000 10000, everything (~50 min)
#   NS_LIST="1000" CHURN_MIN=2 perf/ctlload.sh        a quick run
#   PHASES="storm steady rekey" perf/ctlload.sh       a subset (storm is implied)
#   perf/ctlload.sh plot OUT.png DIR...   one plot of several runs (e.g. before/after)
#
# Environment:
#   NS_LIST       the N to run (default "1000 5000 10000")
#   PHASES        default "storm steady rekey churn restart"
#   STEADY_S      default 60;  REKEY_ROUNDS default 3;  PROBE_PPS default 200
#   CHURN_PCT     default 10;  CHURN_MIN default 10
#   SOURCES       client source addresses (default 128: the new server admits
#                 at most max_handshaking_per_source (8) half-open connections
#                 per address, and WINDOW / SOURCES stays well below it)
#   WINDOW        ctlload --window: most client connections not yet running
#                 at once (default 256; 0: every client connects at once, see
#                 perf/README.md for why the default is not 0)
#   MAX_HANDSHAKING  server max_handshaking (default 1024, which the shipped
#                 default, auto, gives from 4096 clients up; 64, the default
#                 before, evicted most of a storm: see perf/README.md)
#   RV_BUILD      build dir with cli/ringvpn and perf/ctlload
#                 (default build/perf-release, built unless RV_NO_BUILD=1)
#   SERVER_BUILD  build dir of the server to measure (default RV_BUILD), e.g.
#                 an older commit's, for a before/after pair under one load
#   CACHE         certificate cache (default perf/cache/ctlload; not committed)
#   LABEL         results go to perf/results/ctlload/LABEL (default: the commit)
#   PROFILE=1     perf record -g of the server's control thread during each
#                 storm and steady phase: logs/PHASE-N.perf.txt (`perf report`)
#
# Output: results.tsv (one row per N), results.md (the table), storm-N.dat and
# restart-N.dat (clients running over time, every 100 ms), sessions.png (their
# plot), machine.txt, logs/; a rerun into the same OUT (LABEL) first removes
# those of the run before. Needs root; its traffic stays inside the two
# namespaces it creates (<RVP_TAG>-a: server, <RVP_TAG>-b: clients; RVP_TAG
# defaults to rvp-<pid>); it also writes WORK=/tmp/ctlload.XXXXXX (the
# status socket; removed on exit) and the certificate cache.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
. "$HERE/topo.sh"
. "$HERE/ctlload_lib.sh"

NS_LIST=${NS_LIST:-"1000 5000 10000"}
PHASES=${PHASES:-"storm steady rekey churn restart"}
STEADY_S=${STEADY_S:-60}
REKEY_ROUNDS=${REKEY_ROUNDS:-3}
PROBE_PPS=${PROBE_PPS:-200}
CHURN_PCT=${CHURN_PCT:-10}
CHURN_MIN=${CHURN_MIN:-10}
SOURCES=${SOURCES:-128}
WINDOW=${WINDOW:-256}
MAX_HANDSHAKING=${MAX_HANDSHAKING:-1024}
RV_BUILD=${RV_BUILD:-$SRC/build/perf-release}
CACHE=${CACHE:-$HERE/cache/ctlload}
LABEL=${LABEL:-$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo run)}
OUT=${OUT:-$HERE/results/ctlload/$LABEL}
RV_BIN=$RV_BUILD/cli/ringvpn
# The server (and the CLI that asks its status socket) may come from another
# build, e.g. an older commit, for a before/after run under the same load.
SRV_BIN=${SERVER_BUILD:-$RV_BUILD}/cli/ringvpn
CTLLOAD=$RV_BUILD/perf/ctlload
SRV_ADDR=$RVP_UL_A
SRV_PORT=4433
DATA_PORT=4434
CTL_TID_STAT=
LD_PID=

has_phase() { [[ " $PHASES " == *" $1 "* ]]; }

build() {
	if [ ! -x "$RV_BIN" ] || [ ! -x "$CTLLOAD" ] || [ "${RV_NO_BUILD:-0}" != 1 ]; then
		cmake -S "$SRC" -B "$RV_BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
			cmake --build "$RV_BUILD" -j2 --target ringvpn ctlload >/dev/null ||
			rvp_die "build failed in $RV_BUILD"
	fi
}

# make_pki N: CA, server and N client certificates in $CACHE (kept across
# runs; only the missing ones are issued).
make_pki() {
	mkdir -p "$CACHE"
	if [ ! -f "$CACHE/ca/ca.crt" ]; then
		"$RV_BIN" pki ca --out "$CACHE/ca" --name "ctlload CA" --days 3650 >/dev/null &&
			"$RV_BIN" pki server --ca "$CACHE/ca" --name vpn.test --out "$CACHE" \
				--file server --days 3650 >/dev/null || rvp_die "pki"
	fi
	"$CTLLOAD" certs --ca-dir "$CACHE/ca" --out "$CACHE" --count "$1" >&2 || rvp_die "certs"
}

server_conf() { # FILE N
	cat >"$1" <<EOC
# written by perf/ctlload.sh
listen = $SRV_PORT
data_port = $DATA_PORT
ca = $CACHE/ca/ca.crt
cert = $CACHE/server.crt
key = $CACHE/server.key
crl = $CACHE/ca/ca.crl
tun = rvl$$
pool4 = 10.210.0.0/16
pool6 = fd10:210::/64
keepalive = 10
dead_peer_timeout = 30
rekey_interval = 150
handshake_timeout = 5
max_handshaking = $MAX_HANDSHAKING
max_clients = $(($2 + 64))
status_socket = $WORK/server.sock
EOC
}

# start_server: in namespace A, with the soft fd limit raised to the hard
# one (the server raises its own to what max_clients and max_handshaking
# need, within the hard limit; this leaves it no such step).
start_server() {
	rvp_spawn a "$LOGS/server-$N.log" bash -c 'ulimit -n "$(ulimit -Hn)" && exec "$0" server -c "$1"' \
		"$SRV_BIN" "$WORK/server.conf"
	SRV_PID=$RVP_LAST_PID
	local i
	for i in $(seq 200); do
		"$SRV_BIN" status -s "$WORK/server.sock" >/dev/null 2>&1 && break
		rvp_alive "$SRV_PID" || rvp_die "server exited: $(tail -3 "$LOGS/server-$N.log")"
		sleep 0.05
	done
	# The control loop runs on the main thread.
	CTL_TID_STAT=/proc/$SRV_PID/task/$SRV_PID/schedstat
}

# prof_start PHASE / prof_stop PHASE: with PROFILE=1, perf record -g of the
# control thread in between; the report goes to logs/PHASE-N.perf.txt.
PROF_PID=
prof_start() {
	[ "${PROFILE:-0}" = 1 ] || return 0
	rvp_spawn host "$LOGS/$1-$N.perf.log" perf record -F 999 -g -e cpu-clock -t "$SRV_PID" \
		-o "$WORK/$1.perf.data"
	PROF_PID=$RVP_LAST_PID
	sleep 1
}
prof_stop() {
	[ -n "$PROF_PID" ] || return 0
	kill -INT "$PROF_PID"
	wait "$PROF_PID" 2>/dev/null
	forget "$PROF_PID"
	PROF_PID=
	{
		perf report -i "$WORK/$1.perf.data" --no-children --sort dso --stdio 2>/dev/null |
			grep -v '^$' | grep -v '^#' | head -20
		perf report -i "$WORK/$1.perf.data" --no-children --percent-limit 0.5 --stdio 2>/dev/null |
			grep -v '^$' | head -400
	} >"$LOGS/$1-$N.perf.txt"
}

# forget PID: drop a PID we killed ourselves from the cleanup list.
forget() {
	local -a keep=()
	local p
	for p in "${RVP_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	RVP_PIDS=("${keep[@]}")
}

ctl_cpu_ns() { awk '{ print $1 }' "$CTL_TID_STAT" 2>/dev/null || echo 0; }
# srv_cpu_ns: every server thread's, the workers' with the control thread's
# (the workers open the clients' keepalives and answer them).
srv_cpu_ns() { cat /proc/"$SRV_PID"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
# ctl_wait_ns: time the control thread was runnable but waited for a CPU (the
# machine is shared: this says how much of a wall time was someone else's).
ctl_wait_ns() { awk '{ print $2 }' "$CTL_TID_STAT" 2>/dev/null || echo 0; }
# gen_cpu_ns: CPU time of the load generator (one thread).
gen_cpu_ns() { awk '{ print $1 }' "/proc/$LD_PID/schedstat" 2>/dev/null || echo 0; }
srv_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SRV_PID/status"; }
srv_fds() { ls "/proc/$SRV_PID/fd" | wc -l; }
srv_field() { # PREFIX KEY: KEY= of the server's status line
	"$SRV_BIN" status $KV -s "$WORK/server.sock" 2>/dev/null | awk -v p="$1" -v k="$2" '
		index($0, p) == 1 { for (i = 1; i <= NF; i++) { split($i, kv, "=");
			if (kv[1] == k) { print substr($i, length(k) + 2); exit } } }'
}
# probe_drops: sum of the server's drop counters for client 1's session.
probe_drops() {
	"$SRV_BIN" status $KV -s "$WORK/server.sock" 2>/dev/null | awk '
		/^session name=load1 / { for (i = 1; i <= NF; i++) if ($i ~ /^drop_/) {
			split($i, kv, "="); s += kv[2] } } END { print s + 0 }'
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }

# ld SECS CMD...: one command to the generator, its answer in REPLY.
ld() {
	ldl "$@" || rvp_log "ctlload: '$*' -> $LDL_REPLY"
	REPLY=$LDL_REPLY
	[ -n "$LD_PID" ] && rvp_alive "$LD_PID" || rvp_die "ctlload exited: $(tail -3 "$LOGS/ctlload-$N.log")"
}
kv() { ldl_kv "$1"; }

start_load() {
	ldl_start "$RVP_NS_B" "$LOGS/ctlload-$N.log" "$CTLLOAD" --server "$SRV_ADDR:$SRV_PORT" \
		--name vpn.test --ca "$CACHE/ca/ca.crt" --certs "$CACHE" --count "$N" \
		--sources "$RVP_SRC_FIRST+$SOURCES" --window "$WINDOW"
	local rc=$?
	LD_PID=$LDL_GEN_PID
	RVP_PIDS+=("$LD_PID")
	[ $rc = 0 ] || rvp_die "ctlload did not start: $LDL_REPLY $(tail -3 "$LOGS/ctlload-$N.log")"
}

# add_sources: SOURCES addresses for the clients on B's side of the veth.
add_sources() {
	local i base=${RVP_UL_B%.*}
	RVP_SRC_FIRST=$base.10
	for ((i = 0; i < SOURCES; i++)); do
		ip -n "$RVP_NS_B" addr add "$base.$((10 + i))/24" dev "$RVP_VETH_B" || rvp_die "source address"
	done
}

# res KEY VALUE: one result of the current N (results.tsv: N KEY VALUE).
res() { printf '%s\t%s\t%s\n' "$N" "$1" "$2" >>"$OUT/results.tsv"; }

run_n() {
	N=$1
	rvp_log "=== N=$N"
	make_pki "$N"
	server_conf "$WORK/server.conf" "$N"
	start_server
	sleep 1
	local base_rss base_fds
	base_rss=$(srv_rss_kb)
	base_fds=$(srv_fds)
	local floor
	floor=$("$CTLLOAD" floor --ca "$CACHE/ca/ca.crt" --server-cert "$CACHE/server.crt" \
		--server-key "$CACHE/server.key" --client-cert "$CACHE/load1.crt" \
		--client-key "$CACHE/load1.key" --name vpn.test --count 300) || rvp_die "floor"
	echo "$floor" >>"$LOGS/floor.txt"
	local floor_us
	floor_us=$(tr ' ' '\n' <<<"$floor" | awk -F= '$1 == "server_median_us" { print $2 }')
	start_load

	# --- storm
	local la c0 c1 g0 g1 w0 w1 p0 p1 t ok
	prof_start storm
	la=$(loadavg)
	ld 5 mark
	ld 5 rec "$OUT/storm-$N.dat"
	c0=$(ctl_cpu_ns)
	w0=$(ctl_wait_ns)
	g0=$(gen_cpu_ns)
	ld 5 start
	ld 900 wait running "$N" 600
	c1=$(ctl_cpu_ns)
	w1=$(ctl_wait_ns)
	g1=$(gen_cpu_ns)
	[[ $REPLY == ok* ]] || rvp_log "storm: $REPLY"
	t=$(kv t)
	ok=$(kv tls_ok)
	prof_stop storm
	ld 5 rec off
	ld 5 stats
	echo "$REPLY" >>"$LOGS/stats-$N.txt"
	local accepted evicted
	accepted=$(srv_field server accepted)
	evicted=$(srv_field server evicted)
	local hs_per_s srv_ms_per_hs
	hs_per_s=$(awk -v n="$ok" -v t="$t" 'BEGIN { printf "%.0f", n / t }')
	srv_ms_per_hs=$(awk -v c="$((c1 - c0))" -v n="$ok" 'BEGIN { printf "%.2f", c / n / 1e6 }')
	local gen_ms_per_hs
	gen_ms_per_hs=$(awk -v c="$((g1 - g0))" -v n="$ok" 'BEGIN { printf "%.2f", c / n / 1e6 }')
	rvp_log "storm: $N running after $t s; $ok handshakes ($hs_per_s/s), accepted $accepted, evicted $evicted; CPU per handshake: server control thread $srv_ms_per_hs ms, generator $gen_ms_per_hs ms; floor $floor_us us; control thread on CPU $(((c1 - c0) / 1000000)) ms, waiting for a CPU $(((w1 - w0) / 1000000)) ms; load $la"
	res storm_s "$t"
	res storm_hs_per_s "$hs_per_s"
	res storm_handshakes "$ok"
	res storm_srv_ms_per_hs "$srv_ms_per_hs"
	res floor_srv_us "$floor_us"
	res storm_gen_ms_per_hs "$gen_ms_per_hs"
	res storm_ctl_cpu_s "$(awk -v c="$((c1 - c0))" 'BEGIN { printf "%.1f", c / 1e9 }')"
	res storm_ctl_wait_s "$(awk -v c="$((w1 - w0))" 'BEGIN { printf "%.1f", c / 1e9 }')"
	res storm_ratio "$(awk -v a="$srv_ms_per_hs" -v f="$floor_us" 'BEGIN { printf "%.1f", a * 1000 / f }')"
	res storm_accepted "$accepted"
	res storm_evicted "$evicted"
	res storm_load "$la"

	# --- steady
	if has_phase steady; then
		sleep 10
		la=$(loadavg)
		ld 5 stats
		local ka0 kr0
		ka0=$(kv ka_tx)
		kr0=$(kv udp_keepalive)
		c0=$(ctl_cpu_ns)
		p0=$(srv_cpu_ns)
		g0=$(gen_cpu_ns)
		prof_start steady
		sleep "$STEADY_S"
		prof_stop steady
		c1=$(ctl_cpu_ns)
		p1=$(srv_cpu_ns)
		g1=$(gen_cpu_ns)
		ld 5 stats
		echo "$REPLY" >>"$LOGS/stats-$N.txt"
		local rss fds pct gpct wpct
		rss=$(srv_rss_kb)
		fds=$(srv_fds)
		pct=$(awk -v c="$((c1 - c0))" -v s="$STEADY_S" 'BEGIN { printf "%.2f", c / s / 1e7 }')
		wpct=$(awk -v c="$((p1 - p0 - (c1 - c0)))" -v s="$STEADY_S" 'BEGIN { printf "%.2f", c / s / 1e7 }')
		gpct=$(awk -v c="$((g1 - g0))" -v s="$STEADY_S" 'BEGIN { printf "%.2f", c / s / 1e7 }')
		rvp_log "steady: control thread $pct % of a core, workers $wpct % (generator $gpct %); RSS $rss kB ($((rss / N)) kB/session, idle $base_rss kB); fds $fds; keepalives out $(($(kv ka_tx) - ka0)) in $(($(kv udp_keepalive) - kr0)); running $(kv running); load $la"
		res steady_cpu_pct "$pct"
		res steady_workers_cpu_pct "$wpct"
		res steady_gen_cpu_pct "$gpct"
		res steady_rss_kb "$rss"
		res steady_rss_per_n "$(awk -v r="$rss" -v n="$N" 'BEGIN { printf "%.1f", r / n }')"
		res steady_growth_per_n "$(awk -v r="$rss" -v b="$base_rss" -v n="$N" 'BEGIN { printf "%.1f", (r - b) / n }')"
		res steady_fds "$fds"
		res steady_load "$la"
	fi

	# --- rekey
	if has_phase rekey; then
		local d0 d1 r times="" worst=0 cpu_r=0 wait_r=0 lost bad drops
		# The probe's baseline is read before it starts: read while an
		# echo is in flight, its reply would count without its request.
		ld 5 stats
		local ptx0 prx0 pbad0
		ptx0=$(kv probe_tx)
		prx0=$(kv probe_rx)
		pbad0=$(kv probe_bad)
		ld 5 probe "$PROBE_PPS"
		sleep 2
		d0=$(probe_drops)
		la=$(loadavg)
		for ((r = 1; r <= REKEY_ROUNDS; r++)); do
			ld 5 mark
			ld 5 snap
			c0=$(ctl_cpu_ns)
			w0=$(ctl_wait_ns)
			"$SRV_BIN" status -s "$WORK/server.sock" --rekey >/dev/null || rvp_log "rekey request failed"
			ld 900 wait rekeyed 0 600
			c1=$(ctl_cpu_ns)
			wait_r=$((wait_r + $(ctl_wait_ns) - w0))
			[[ $REPLY == ok* ]] || rvp_log "rekey $r: $REPLY"
			t=$(kv t)
			rvp_log "rekey $r: every session on a new epoch after $t s (epochs $(kv min_epoch)..$(kv max_epoch)); server CPU $(((c1 - c0) / 1000000)) ms"
			times="$times${times:+/}$t"
			worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
			cpu_r=$((cpu_r + c1 - c0))
			sleep 2
		done
		ld 5 probe off
		sleep 1
		ld 5 stats
		echo "$REPLY" >>"$LOGS/stats-$N.txt"
		d1=$(probe_drops)
		lost=$(($(kv probe_tx) - ptx0 - ($(kv probe_rx) - prx0)))
		bad=$(($(kv probe_bad) - pbad0))
		drops=$((d1 - d0))
		rvp_log "rekey: probe sent $(($(kv probe_tx) - ptx0)), lost $lost, failed opens $bad, server drops $drops"
		# What a server spends per session once sessions have rekeyed
		# (as every one does, every rekey interval): the steady phase's
		# figure is from before any rekey, with one key epoch each.
		local rss_k
		rss_k=$(srv_rss_kb)
		rvp_log "rekey: RSS $rss_k kB ($((rss_k / N)) kB/session)"
		res rekey_rss_kb "$rss_k"
		res rekey_rss_per_n "$(awk -v r="$rss_k" -v n="$N" 'BEGIN { printf "%.1f", r / n }')"
		res rekey_times "$times"
		res rekey_worst_s "$worst"
		res rekey_ctl_cpu_s "$(awk -v c="$cpu_r" -v r="$REKEY_ROUNDS" 'BEGIN { printf "%.1f", c / r / 1e9 }')"
		res rekey_ctl_wait_s "$(awk -v c="$wait_r" -v r="$REKEY_ROUNDS" 'BEGIN { printf "%.1f", c / r / 1e9 }')"
		res rekey_srv_us_per_session "$(awk -v c="$cpu_r" -v n="$((N * REKEY_ROUNDS))" 'BEGIN { printf "%.0f", c / n / 1000 }')"
		res probe_sent "$(($(kv probe_tx) - ptx0))"
		res probe_lost "$lost"
		res probe_bad "$bad"
		res probe_srv_drops "$drops"
		res rekey_load "$la"
	fi

	# --- churn
	if has_phase churn; then
		local rss0 fds0 rss1 fds1 s1
		la=$(loadavg)
		rss0=$(srv_rss_kb)
		fds0=$(srv_fds)
		ld $((CHURN_MIN * 60 + 120)) churn "$CHURN_PCT" "$CHURN_MIN"
		local replaced
		replaced=$(kv replaced)
		ld 300 wait running "$N" 240
		sleep 5
		rss1=$(srv_rss_kb)
		fds1=$(srv_fds)
		s1=$(srv_field server sessions)
		rvp_log "churn: $replaced replaced over $CHURN_MIN min; RSS $rss0 -> $rss1 kB; fds $fds0 -> $fds1; sessions $s1; load $la"
		res churn_replaced "$replaced"
		res churn_rss_before "$rss0"
		res churn_rss_after "$rss1"
		res churn_fds_before "$fds0"
		res churn_fds_after "$fds1"
		res churn_sessions_after "$s1"
		res churn_load "$la"
	fi

	# --- restart
	if has_phase restart; then
		local t_up
		la=$(loadavg)
		ld 5 mark
		ld 5 rec "$OUT/restart-$N.dat"
		kill -KILL "$SRV_PID"
		wait "$SRV_PID" 2>/dev/null
		forget "$SRV_PID"
		local t0
		t0=$(date +%s.%N)
		start_server
		t_up=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
		ld 900 wait running "$N" 600
		[[ $REPLY == ok* ]] || rvp_log "restart: $REPLY"
		t=$(kv t)
		c1=$(ctl_cpu_ns)
		w1=$(ctl_wait_ns)
		ld 5 rec off
		rvp_log "restart: server up again after $t_up s; all $N running after $t s; new control thread on CPU $((c1 / 1000000)) ms, waiting for a CPU $((w1 / 1000000)) ms; load $la"
		res restart_up_s "$t_up"
		res restart_s "$t"
		res restart_ctl_cpu_s "$(awk -v c="$c1" 'BEGIN { printf "%.1f", c / 1e9 }')"
		res restart_ctl_wait_s "$(awk -v c="$w1" 'BEGIN { printf "%.1f", c / 1e9 }')"
		res restart_load "$la"
	fi

	# --- teardown
	ld 120 stop
	local i s
	for i in $(seq 100); do
		s=$(srv_field server sessions)
		[ "${s:-1}" = 0 ] && break
		sleep 0.2
	done
	sleep 2
	local rss_end fds_end
	rss_end=$(srv_rss_kb)
	fds_end=$(srv_fds)
	rvp_log "teardown: sessions ${s:-?}, fds $fds_end (idle $base_fds), RSS $rss_end kB (idle $base_rss kB)"
	res end_sessions "${s:-?}"
	res idle_fds "$base_fds"
	res end_fds "$fds_end"
	res idle_rss_kb "$base_rss"
	res end_rss_kb "$rss_end"
	ldl_quit 30
	forget "$LD_PID"
	LD_PID=
	rvp_kill "$SRV_PID"
}

write_md() {
	python3 - "$OUT/results.tsv" "$LABEL" "$STEADY_S" "$REKEY_ROUNDS" "$CHURN_PCT" "$CHURN_MIN" \
		>"$OUT/results.md" <<'EOF'
import sys, datetime
path, label, steady, rounds, cpct, cmin = sys.argv[1:7]
val, ns = {}, []
for line in open(path):
    n, k, v = line.rstrip("\n").split("\t")
    if n not in ns:
        ns.append(n)
    val[n, k] = v
rows = [
    ("storm: all N running after (s)", "storm_s"),
    ("storm: handshakes/s", "storm_hs_per_s"),
    ("storm: server control-thread CPU per handshake (ms)", "storm_srv_ms_per_hs"),
    ("one TLS 1.3 ECDSA P-256 handshake, server side, in memory (us)", "floor_srv_us"),
    ("storm: CPU per handshake / in-memory handshake", "storm_ratio"),
    ("storm: load generator CPU per handshake (ms)", "storm_gen_ms_per_hs"),
    ("storm: control thread on a CPU / runnable but waiting for one (s)", "storm_ctl_cpu_s storm_ctl_wait_s"),
    ("storm: connections accepted / half-open evicted", "storm_accepted storm_evicted"),
    ("steady (keepalive 10 s, %s s): control thread, %% of one core" % steady, "steady_cpu_pct"),
    ("steady: the server's workers together, % of one core", "steady_workers_cpu_pct"),
    ("steady: load generator, % of one core", "steady_gen_cpu_pct"),
    ("steady: server RSS (kB)", "steady_rss_kb"),
    ("steady: RSS / N (kB)", "steady_rss_per_n"),
    ("steady: (RSS - idle RSS) / N (kB)", "steady_growth_per_n"),
    ("steady: server fds", "steady_fds"),
    ("rekey-all x%s: time per round (s)" % rounds, "rekey_times"),
    ("rekey-all: server CPU per session rekey (us)", "rekey_srv_us_per_session"),
    ("rekey-all: control thread on a CPU / waiting for one, per round (s)", "rekey_ctl_cpu_s rekey_ctl_wait_s"),
    ("rekey-all: probe packets / lost / failed opens / server drops", "probe_sent probe_lost probe_bad probe_srv_drops"),
    ("after rekey-all: server RSS (kB) / RSS / N (kB)", "rekey_rss_kb rekey_rss_per_n"),
    ("churn %s %%/min x %s min: clients replaced" % (cpct, cmin), "churn_replaced"),
    ("churn: server RSS before / after (kB)", "churn_rss_before churn_rss_after"),
    ("churn: server fds before / after", "churn_fds_before churn_fds_after"),
    ("restart: server up again after (s)", "restart_up_s"),
    ("restart: all N running after (s)", "restart_s"),
    ("restart: new control thread on a CPU / waiting for one (s)", "restart_ctl_cpu_s restart_ctl_wait_s"),
    ("teardown: sessions left", "end_sessions"),
    ("teardown: server fds idle / after", "idle_fds end_fds"),
    ("teardown: server RSS idle / after (kB)", "idle_rss_kb end_rss_kb"),
    ("load average: storm / steady / rekey / churn / restart", "storm_load steady_load rekey_load churn_load restart_load"),
]
print("Control plane at scale (%s, %s)\n" % (label, datetime.date.today()))
print("| | " + " | ".join("N = %s" % n for n in ns) + " |")
print("|---|" + "---|" * len(ns))
for title, keys in rows:
    cells = [" / ".join(val.get((n, k), "-") for k in keys.split()) for n in ns]
    if all(c.strip("/ -") == "" for c in cells):
        continue
    print("| %s | %s |" % (title, " | ".join(cells)))
EOF
}

# plot PNG DIR...: clients running over time in the storm and the restart of
# every N found in each results DIR (one colour per N, one dash style per
# DIR, labelled with the DIR's name), side by side.
plot() {
	local png=$1 storm="" restart="" d f n dt=1 title
	shift
	title=$(for d in "$@"; do basename "$d"; done | paste -sd' ' | sed 's/ / vs /g')
	for d in "$@"; do
		for f in "$d"/storm-*.dat; do
			[ -s "$f" ] || continue
			n=${f##*/storm-}
			n=${n%.dat}
			storm="$storm${storm:+, }'$f' using 1:2 with lines lw 2 dt $dt lc $(ncolour "$n") title '$(basename "$d") N = $n'"
			[ -s "$d/restart-$n.dat" ] && restart="$restart${restart:+, }'$d/restart-$n.dat' using 1:2 with lines lw 2 dt $dt lc $(ncolour "$n") title '$(basename "$d") N = $n'"
		done
		dt=$((dt + 1))
	done
	[ -n "$storm" ] || return 0
	gnuplot <<EOG || rvp_log "gnuplot failed"
set terminal pngcairo size 1100,440 font ',10'
set output '$png'
set multiplot layout 1,2 title 'ringvpn control plane ($title): clients running over time'
set xlabel 'seconds since all clients started'
set ylabel 'clients running'
set key right bottom
set grid
set title 'connect storm'
plot $storm
set xlabel 'seconds since kill -9 of the server'
set title 'server restart'
$(if [ -n "$restart" ]; then echo "plot $restart"; else echo "plot 0 notitle"; fi)
unset multiplot
EOG
}
ncolour() { case $1 in 1000) echo 1 ;; 5000) echo 2 ;; 10000) echo 3 ;; *) echo 4 ;; esac; }

main() {
	rvp_install_trap
	build
	[ -x "$SRV_BIN" ] || rvp_die "no server binary $SRV_BIN"
	# key=value status lines: `status --kv` since the management rework,
	# plain `status` before it.
	KV=
	"$SRV_BIN" status --help 2>&1 | grep -q -- --kv && KV=--kv
	# A rerun into the same directory (by default one per commit) replaces
	# the earlier run's files: a storm-N.dat of an N not run again stayed
	# and was plotted as this run's, and logs/floor.txt held both runs
	# (tester 290). Only the files this script writes are removed.
	if [ -e "$OUT/results.tsv" ] || [ -d "$OUT/logs" ]; then
		rvp_log "$OUT holds an earlier run: replacing its results"
		rm -f "$OUT/results.tsv" "$OUT/results.md" "$OUT/machine.txt" "$OUT/sessions.png" \
			"$OUT"/storm-*.dat "$OUT"/restart-*.dat
		rm -rf "$OUT/logs"
	fi
	mkdir -p "$OUT/logs" || exit 1
	LOGS=$OUT/logs
	WORK=$(mktemp -d /tmp/ctlload.XXXXXX)
	rvp_cleanup_hook() { rm -rf "$WORK"; }
	: >"$OUT/results.tsv"
	{
		echo "date: $(date -Is)"
		echo "commit: $(git -C "$SRC" describe --always --dirty 2>/dev/null)"
		echo "server: $SRV_BIN ($("$SRV_BIN" version 2>/dev/null | head -1))"
		echo "kernel: $(uname -r)"
		echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
		echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "settings: NS_LIST='$NS_LIST' PHASES='$PHASES' STEADY_S=$STEADY_S REKEY_ROUNDS=$REKEY_ROUNDS PROBE_PPS=$PROBE_PPS CHURN_PCT=$CHURN_PCT CHURN_MIN=$CHURN_MIN SOURCES=$SOURCES WINDOW=$WINDOW MAX_HANDSHAKING=$MAX_HANDSHAKING"
	} >"$OUT/machine.txt"
	rvp_topo_up
	add_sources
	for n in $NS_LIST; do
		run_n "$n"
	done
	write_md
	plot "$OUT/sessions.png" "$OUT"
	echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
	cat "$OUT/results.md"
	rvp_log "results in $OUT"
}

if [ "${1:-}" = plot ]; then
	shift
	[ $# -ge 2 ] || { echo "usage: perf/ctlload.sh plot OUT.png RESULTS_DIR..." >&2; exit 2; }
	plot "$@"
	exit
fi
main "$@"
