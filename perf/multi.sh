#!/usr/bin/env bash
# perf/multi.sh — many clients on one ringvpn server, in one run:
#   1, 4 and 8 clients each send one TCP stream (iperf3) to the server at
#   once: aggregate Gbit/s, each client's share, Jain's fairness index
#   (sum x)^2 / (n sum x^2), and meanwhile an idle client's ping every 10 ms
#   to the server (avg / p99 with lost pings ranked worst, and the share
#   lost: perf/rtt_stats.py); a row for every N of CLIENTS, NA where it
#   measured nothing, "vs 1 client" NA unless 1 ran;
#   client-to-client: one stream client1 -> client2 with client_to_client =
#   internal (and = kernel), against client1 -> server; C2C_ROUNDS rounds,
#   internal and client-to-server taking turns, medians reported.
#
#   perf/multi.sh                 DURATION=10, CLIENTS="1 4 8" ("" runs only
#                                 the client-to-client part), C2C_ROUNDS=3,
#                                 WORKER_NICE=0 (worker_nice of every end),
#                                 WORKER_RTPRIO=0 (worker_rtprio of every end),
#                                 WORKER_SLICE_US=0 (worker_slice_us of every
#                                 end), SERVER_SLICE_US (the server's alone)
#
# Topology: namespace <RVP_TAG>-s (server; RVP_TAG defaults to rvp-<pid>)
# and one namespace per client, <RVP_TAG>-c<i> (i = 1 .. the largest N + 1), joined to the server's by its own veth (10.203.<i>.1/.2,
# UDP GRO on). Clients have one worker each; the server one per core.
# Output: perf/results/multi-<timestamp>/ (results.md, raw.tsv, logs), copied
# to perf/results/multi-latest/.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/topo.sh"
. "$HERE/vpn_ringvpn.sh"

DURATION=${DURATION:-10}
CLIENTS=${CLIENTS-"1 4 8"}
PING_MS=${PING_MS:-10}
WORKER_NICE=${WORKER_NICE:-0}
# Only when asked for: a binary from before worker_nice refuses the key.
NICE_LINE=
[ "$WORKER_NICE" = 0 ] || NICE_LINE="worker_nice = $WORKER_NICE"
WORKER_RTPRIO=${WORKER_RTPRIO:-0}
[ "$WORKER_RTPRIO" = 0 ] || NICE_LINE+="
worker_rtprio = $WORKER_RTPRIO"
WORKER_SLICE_US=${WORKER_SLICE_US:-0}
SERVER_SLICE_US=${SERVER_SLICE_US:-$WORKER_SLICE_US}
SLICE_CLI= SLICE_SRV=
[ "$WORKER_SLICE_US" = 0 ] || SLICE_CLI="worker_slice_us = $WORKER_SLICE_US"
[ "$SERVER_SLICE_US" = 0 ] || SLICE_SRV="worker_slice_us = $SERVER_SLICE_US"
C2C_ROUNDS=${C2C_ROUNDS:-3}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$HERE/results/multi-$STAMP}
mkdir -p "$OUT/logs" || exit 1
MAXC=0
for n in $CLIENTS; do [ "$n" -gt "$MAXC" ] && MAXC=$n; done
NCLI=$((MAXC + 1)) # + the idle client
[ "$NCLI" -ge 2 ] || NCLI=2 # client-to-client needs two
NS_S=${RVP_TAG}-s
MULTI_NS=()
SRV_SOCK=/tmp/rvp-$$-msrv.sock

rvp_cleanup_hook() {
	local ns
	for ns in "${MULTI_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -f "$SRV_SOCK" /tmp/rvp-$$-mc*.sock
	[ -n "${PKI:-}" ] && rm -f "$PKI"/*.key
}
rvp_install_trap
[ "$(id -u)" = 0 ] || rvp_die "needs root"
[ "${RV_NO_BUILD:-0}" = 1 ] || vpn_ringvpn_build "$OUT/logs/build.log" || rvp_log "build failed; using what exists"
[ -x "$RV_BIN" ] || rvp_die "no $RV_BIN"

ns_c() { echo "${RVP_TAG}-c$1"; }

topo_up() {
	local i ns
	ip netns add "$NS_S" && MULTI_NS+=("$NS_S") || rvp_die "netns"
	ip -n "$NS_S" link set lo up
	for i in $(seq "$NCLI"); do
		ns=$(ns_c "$i")
		ip netns add "$ns" && MULTI_NS+=("$ns") || rvp_die "netns $ns"
		ip -n "$ns" link set lo up
		ip -n "$ns" link add "mv$$c$i" type veth peer name "ms$i" netns "$NS_S" || rvp_die "veth"
		ip -n "$ns" addr add "10.203.$i.2/24" dev "mv$$c$i"
		ip -n "$NS_S" addr add "10.203.$i.1/24" dev "ms$i"
		ip -n "$ns" link set "mv$$c$i" up
		ip -n "$NS_S" link set "ms$i" up
		ip netns exec "$ns" ethtool -K "mv$$c$i" gro on rx-udp-gro-forwarding on >/dev/null 2>&1
		ip netns exec "$NS_S" ethtool -K "ms$i" gro on rx-udp-gro-forwarding on >/dev/null 2>&1
	done
}

make_pki() {
	PKI=$OUT/pki
	mkdir -p "$PKI"
	{
		"$RV_BIN" pki ca --out "$PKI" &&
			"$RV_BIN" pki server --ca "$PKI" --name perf-server.ringvpn.test --out "$PKI" --file server &&
			for i in $(seq "$NCLI"); do
				"$RV_BIN" pki client --ca "$PKI" --name "c$i" --out "$PKI" --file "c$i" || exit 1
			done
	} >"$OUT/logs/pki.log" 2>&1 || rvp_die "pki failed (see $OUT/logs/pki.log)"
}

# start_server C2C: the server in NS_S with client_to_client = C2C.
start_server() {
	# The first line tells topo.sh's rvp_sweep whose keys these are.
	cat >"$OUT/server.conf" <<-EOC
	# written by perf/multi.sh
	ca = $PKI/ca.crt
	cert = $PKI/server.crt
	key = $PKI/server.key
	tun = rvms
	listen = 4433
	data_port = 4434
	pool4 = 10.202.0.0/24
	pool6 = fd00:202::/64
	mtu = 1420
	workers = 0
	$NICE_LINE
	$SLICE_SRV
	max_clients = 64
	client_to_client = $1
	status_socket = $SRV_SOCK
	log_level = info
	EOC
	rvp_spawn host "$OUT/logs/server-$1.log" ip netns exec "$NS_S" "$RV_BIN" server -c "$OUT/server.conf"
	SRV_PID=$RVP_LAST_PID
	local k
	for k in $(seq 50); do "$RV_BIN" status -s "$SRV_SOCK" >/dev/null 2>&1 && return 0; sleep 0.1; done
	rvp_die "server did not start"
}

# start_clients N: clients 1..N; CLI_PIDS, CLI_ADDR[i].
start_clients() {
	local i n=$1 k
	CLI_PIDS=()
	for i in $(seq "$n"); do
		cat >"$OUT/c$i.conf" <<-EOC
		# written by perf/multi.sh
		ca = $PKI/ca.crt
		cert = $PKI/c$i.crt
		key = $PKI/c$i.key
		tun = rvmc
		server = 10.203.$i.1:4433
		server_name = perf-server.ringvpn.test
		workers = 1
		$NICE_LINE
		$SLICE_CLI
		status_socket = /tmp/rvp-$$-mc$i.sock
		log_level = info
		EOC
		rvp_spawn host "$OUT/logs/c$i.log" ip netns exec "$(ns_c "$i")" "$RV_BIN" client -c "$OUT/c$i.conf"
		CLI_PIDS+=("$RVP_LAST_PID")
	done
	for k in $(seq 100); do
		[ "$("$RV_BIN" status -s "$SRV_SOCK" 2>/dev/null | grep -c '^session .*state=running')" -ge "$n" ] && break
		sleep 0.1
	done
	for i in $(seq "$n"); do
		CLI_ADDR[i]=$(ip -n "$(ns_c "$i")" -4 -o addr show dev rvmc 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
		[ -n "${CLI_ADDR[i]}" ] || rvp_die "client $i has no address"
	done
}

stop_all() {
	local p
	for p in "${CLI_PIDS[@]}"; do rvp_kill "$p"; done
	rvp_kill "$SRV_PID"
	CLI_PIDS=()
}

# gbps JSON: receiver Gbit/s of an iperf3 JSON (NA if none, or if iperf3
# reported an error: its "end" may still hold what it got before).
gbps() {
	python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1]))
    print("NA" if d.get("error") else "%.4f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("NA")' "$1"
}

# vpn_dead N: prints the first dead of the server and clients 1..N, fails if
# all live: a phase in which one died measured nothing.
vpn_dead() {
	local p
	for p in "$SRV_PID" "${CLI_PIDS[@]:0:$1}"; do
		rvp_alive "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# streams N: clients 1..N each run one TCP stream to the server; client N+1
# (idle) pings the server. Appends to raw.tsv.
streams() {
	local n=$1 i pids=() srv=()
	for i in $(seq "$n"); do
		rvp_spawn host "$OUT/logs/iperfs-$n-$i.log" ip netns exec "$NS_S" iperf3 -s -1 -p $((5200 + i))
		srv+=("$RVP_LAST_PID")
	done
	sleep 0.5
	rvp_spawn host "$OUT/logs/ping-$n.txt" ip netns exec "$(ns_c "$NCLI")" ping -n \
		-i "$(awk -v m="$PING_MS" 'BEGIN { print m / 1000 }')" -w "$DURATION" 10.202.0.1
	local ping=$RVP_LAST_PID
	# Recorded, so that an interrupted run kills them too.
	for i in $(seq "$n"); do
		ip netns exec "$(ns_c "$i")" timeout $((DURATION + 20)) iperf3 -c 10.202.0.1 -p $((5200 + i)) \
			-t "$DURATION" -J >"$OUT/logs/iperf-$n-$i.json" 2>&1 </dev/null &
		pids+=($!)
		RVP_PIDS+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	rvp_forget "${pids[@]}"
	wait "$ping" 2>/dev/null
	rvp_kill "$ping" "${srv[@]}"
	# Where the sessions ended up (workers, sessions moved between them).
	"$RV_BIN" status -s "$SRV_SOCK" >"$OUT/logs/server-status-$n.txt" 2>&1
	local dead=
	dead=$(vpn_dead "$NCLI") && rvp_log "$n client(s): ringvpn process $dead died; this phase measured nothing"
	for i in $(seq "$n"); do
		printf 'streams\t%s\t%s\t%s\n' "$n" "$i" "$([ -z "$dead" ] && gbps "$OUT/logs/iperf-$n-$i.json" || echo NA)" >>"$OUT/raw.tsv"
	done
	rvp_log "$n client(s): $(awk -F'\t' -v n="$n" '$1 == "streams" && $2 == n { printf "%s ", $4 }' "$OUT/raw.tsv")Gbit/s"
}

# one_stream TAG FROM_NS DST [ROUND]: one TCP stream, appended to raw.tsv.
one_stream() {
	rvp_spawn host "$OUT/logs/iperfs-$1.log" ip netns exec "$3" iperf3 -s -1 -p 5299
	local srv=$RVP_LAST_PID
	sleep 0.5
	local json=$OUT/logs/iperf-$1-${5:-1}.json
	ip netns exec "$2" timeout $((DURATION + 20)) iperf3 -c "$4" -p 5299 -t "$DURATION" -J \
		>"$json" 2>&1
	rvp_kill "$srv"
	local g dead
	g=$(gbps "$json")
	dead=$(vpn_dead 2) && { rvp_log "$1: ringvpn process $dead died; NA"; g=NA; }
	printf 'one\t%s\t%s\t%s\n' "$1" "${5:-1}" "$g" >>"$OUT/raw.tsv"
	rvp_log "$1 (round ${5:-1}): $g Gbit/s"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'kind\tn\tclient\tgbps\n' >"$OUT/raw.tsv"
topo_up
make_pki
rvp_log "clients: $CLIENTS (+1 idle pinging), ${DURATION}s each -> $OUT"
start_server internal
start_clients "$NCLI"
for n in $CLIENTS; do streams "$n"; done
for r in $(seq "$C2C_ROUNDS"); do
	one_stream c2c-internal "$(ns_c 1)" "$(ns_c 2)" "${CLI_ADDR[2]}" "$r"
	one_stream c2s "$(ns_c 1)" "$NS_S" 10.202.0.1 "$r"
done
"$RV_BIN" status -s "$SRV_SOCK" >"$OUT/logs/server-status.txt" 2>&1
stop_all
ip netns exec "$NS_S" sysctl -qw net.ipv4.ip_forward=1
start_server kernel
start_clients 2
for r in $(seq "$C2C_ROUNDS"); do
	one_stream c2c-kernel "$(ns_c 1)" "$(ns_c 2)" "${CLI_ADDR[2]}" "$r"
done
stop_all

RVP_PERF_DIR=$HERE python3 - "$OUT" "$CLIENTS" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" "$DURATION" "$WORKER_NICE" "$WORKER_RTPRIO" "$WORKER_SLICE_US/$SERVER_SLICE_US" <<'PY'
import csv, os, statistics, subprocess, sys
here = os.environ["RVP_PERF_DIR"]
out, clients, l0, l1, dur, nice, rtprio, slices = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
rows = list(csv.DictReader(open(f"{out}/raw.tsv"), delimiter="\t"))
def f(x):
    try: return float(x)
    except ValueError: return None
def ping(n):
    # perf/rtt_stats.py, as run.sh's lat test: every ping sent counts, a lost
    # one ranked above every reply (replies alone hid a stalled client's
    # losses: tester 290). avg of the replies, p99 ("NA": it fell on a lost
    # ping), lost of sent.
    try:
        v = subprocess.run([sys.executable, f"{here}/rtt_stats.py", f"{out}/logs/ping-{n}.txt"],
                           capture_output=True, text=True, check=True).stdout.split()
    except (subprocess.CalledProcessError, OSError):
        return "NA", "NA", "NA"
    rep, lost = f(v[5]), f(v[6])
    pct = f"{100 * lost / (rep + lost):.1f} %" if lost is not None and rep + lost > 0 else "NA"
    return v[0], v[3], pct
# Every client's rate, and an N whose run measured nothing (a failed
# iperf3, a dead client) is NA in the table, not left out: the aggregate
# and Jain's index are of all N or NA.
single = None
ones = [f(r["gbps"]) for r in rows if r["kind"] == "streams" and r["n"] == "1"]
if ones and None not in ones:
    single = sum(ones)
with open(f"{out}/results.md", "w") as o:
    o.write("| clients | aggregate Gbit/s | vs 1 client | per client Gbit/s | Jain's index | idle client ping avg / p99 ms, lost |\n")
    o.write("|---:|---:|---:|---|---:|---:|\n")
    for n in clients:
        x = [f(r["gbps"]) for r in rows if r["kind"] == "streams" and r["n"] == n]
        a, p, l = ping(n)
        per = " ".join("NA" if v is None else f"{v:.2f}" for v in x) or "NA"
        if not x or None in x:
            o.write(f"| {n} | NA | NA | {per} | NA | {a} / {p}, {l} |\n")
            continue
        agg = sum(x)
        jain = agg * agg / (len(x) * sum(v * v for v in x)) if any(x) else 0
        vs = f"{agg / single:.2f}×" if single else "NA"
        o.write(f"| {n} | {agg:.2f} | {vs} | {per} | {jain:.3f} | {a} / {p}, {l} |\n")
    one = {}
    for r in rows:
        if r["kind"] == "one" and f(r["gbps"]) is not None:
            one.setdefault(r["n"], []).append(f(r["gbps"]))
    med = lambda v: statistics.median(v) if v else None
    base = med(one.get("c2s"))
    o.write("\n| one stream | Gbit/s, median | vs client → server | every round, Gbit/s |\n|---|---:|---:|---|\n")
    for k, lab in (("c2s", "client → server"), ("c2c-internal", "client → client, client_to_client = internal"),
                   ("c2c-kernel", "client → client, client_to_client = kernel (ip_forward)")):
        v = med(one.get(k))
        o.write(f"| {lab} | {v:.2f} | {v / base:.2f}× | {' '.join(f'{x:.2f}' for x in one[k])} |\n" if v and base else f"| {lab} | NA | NA | |\n")
    o.write(f"\nDURATION={dur}s, worker_nice = {nice}, worker_rtprio = {rtprio}, worker_slice_us (clients/server) = {slices}; load average {l0} at start, {l1} at end.\n")
print(open(f"{out}/results.md").read())
PY
case $OUT in
"$HERE"/results/*) rm -rf "$HERE/results/multi-latest"; cp -r "$OUT" "$HERE/results/multi-latest"; rm -rf "$HERE/results/multi-latest/pki" ;;
esac
rvp_log "results in $OUT"
