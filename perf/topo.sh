# perf/topo.sh — two network namespaces joined by one veth pair, plus the
# bookkeeping every perf script needs: PIDs we started, cleanup on exit.
#
# Source it (". perf/topo.sh"), then:
#   rvp_topo_up            create rvp-$$-a / rvp-$$-b and the veth between them
#   rvp_topo_down          kill what we started in them and delete both
#   rvp_spawn NS LOG CMD…  start CMD in namespace NS in the background, record
#                          its PID (in RVP_PIDS and $RVP_LAST_PID)
#   rvp_kill PID…          TERM, wait up to 3 s, then KILL; only recorded PIDs
#   rvp_forget PID…        drop PIDs that were waited for from the record
#   rvp_cleanup            kill every recorded PID, run rvp_cleanup_hook if
#                          the script defines one (its keys, sockets, temp
#                          dirs), rvp_topo_down; installed by
#                          rvp_install_trap on EXIT/INT/TERM (and on a SIGINT
#                          bash cannot trap: rvp_watch_int)
#   rvp_lat_probe …        one TCP stream with a ping beside it (latency
#                          under load), for lat_qlen.sh and lat_nice.sh
#   rvp_sweep [PREFIX]     what a run killed with -9 left: namespaces
#                          PREFIX-<pid>-* (default rvp) whose <pid> is dead,
#                          the processes in them, /tmp/rvp-<pid>-*.sock and
#                          the keys their configs name; `perf/topo.sh --sweep`
#
# Names: RVP_TAG (default rvp-<pid of the script>) prefixes every namespace
# a script makes; set it to keep two runs' names apart (run.sh and the
# others: <tag>-a, <tag>-b; multi.sh <tag>-s and <tag>-c1..; ctlload.sh
# <tag>-a/-b). rvp_sweep can only attribute names that keep the default
# form <prefix>-<pid>-.
#
# Addresses (private, only ever configured inside the two namespaces):
#   underlay  A 10.201.0.1/24  fd00:201::1/64     B 10.201.0.2/24  fd00:201::2/64
#   tunnel    A 10.202.0.1/24  fd00:202::1/64     B 10.202.0.2/24  fd00:202::2/64
# (the tunnel addresses are assigned by each VPN's start function).
#
# Traffic never leaves the namespaces: the host's own namespace only holds
# the processes' parents.

RVP_PERF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RVP_TAG=${RVP_TAG:-rvp-$$}
RVP_NS_A=${RVP_TAG}-a
RVP_NS_B=${RVP_TAG}-b
# Interface names are at most 15 bytes; keep them short and unique per run.
RVP_VETH_A=rvpa$$
RVP_VETH_B=rvpb$$
RVP_UL_A=10.201.0.1
RVP_UL_B=10.201.0.2
RVP_UL6_A=fd00:201::1
RVP_UL6_B=fd00:201::2
RVP_TUN_A=10.202.0.1
RVP_TUN_B=10.202.0.2
RVP_TUN6_A=fd00:202::1
RVP_TUN6_B=fd00:202::2
RVP_TUN_MTU=${RVP_TUN_MTU:-1420}
# UDP GRO on the veth receive path (ringvpn uses UDP_GRO; harmless for the
# others, which do not ask for it). Same underlay for every VPN measured.
RVP_UNDERLAY_GRO=${RVP_UNDERLAY_GRO:-1}

RVP_PIDS=()
RVP_TOPO_UP=0
RVP_MADE=()
RVP_LAST_PID=

rvp_log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
rvp_die() { rvp_log "error: $*"; exit 1; }

rvp_ns_a() { ip netns exec "$RVP_NS_A" "$@"; }
rvp_ns_b() { ip netns exec "$RVP_NS_B" "$@"; }

rvp_topo_up() {
	[ "$(id -u)" = 0 ] || rvp_die "needs root (network namespaces)"
	# Only what this run made is removed (rvp_topo_down): a name taken
	# by another run sharing RVP_TAG is its own (a failed add of B took
	# the other run's B down with A: round-fifteen tester 74).
	RVP_MADE=()
	ip netns add "$RVP_NS_A" || rvp_die "ip netns add $RVP_NS_A"
	RVP_MADE+=("$RVP_NS_A")
	RVP_TOPO_UP=1
	ip netns add "$RVP_NS_B" || rvp_die "ip netns add $RVP_NS_B"
	RVP_MADE+=("$RVP_NS_B")
	# Create the pair inside A directly so it never appears in the host netns.
	ip -n "$RVP_NS_A" link add "$RVP_VETH_A" type veth peer name "$RVP_VETH_B" netns "$RVP_NS_B" \
		|| rvp_die "veth"
	local ns dev ul ul6
	for side in a b; do
		if [ $side = a ]; then ns=$RVP_NS_A dev=$RVP_VETH_A ul=$RVP_UL_A ul6=$RVP_UL6_A
		else ns=$RVP_NS_B dev=$RVP_VETH_B ul=$RVP_UL_B ul6=$RVP_UL6_B; fi
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$ul/24" dev "$dev"
		ip -n "$ns" -6 addr add "$ul6/64" dev "$dev" nodad
		ip -n "$ns" link set "$dev" up
		if [ "$RVP_UNDERLAY_GRO" = 1 ]; then
			ip netns exec "$ns" ethtool -K "$dev" gro on rx-udp-gro-forwarding on \
				>/dev/null 2>&1 || rvp_log "note: ethtool gro on $dev refused"
		fi
	done
	# Wait for the link (veth carrier is immediate, but be safe).
	local i
	for i in $(seq 50); do
		ip netns exec "$RVP_NS_A" ping -c1 -W1 -q "$RVP_UL_B" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	rvp_die "underlay $RVP_UL_A -> $RVP_UL_B does not answer"
}

# rvp_spawn NS LOG CMD...: NS is "a", "b" or "host".
rvp_spawn() {
	local side=$1 log=$2; shift 2
	case $side in
	a) ip netns exec "$RVP_NS_A" "$@" >"$log" 2>&1 </dev/null & ;;
	b) ip netns exec "$RVP_NS_B" "$@" >"$log" 2>&1 </dev/null & ;;
	host) "$@" >"$log" 2>&1 </dev/null & ;;
	*) rvp_die "rvp_spawn: bad side $side" ;;
	esac
	RVP_LAST_PID=$!
	RVP_PIDS+=("$RVP_LAST_PID")
}

rvp_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# rvp_kill PID...: only PIDs this script recorded are touched.
rvp_kill() {
	local pid known p i
	local -a pending=()
	for pid in "$@"; do
		known=0
		for p in "${RVP_PIDS[@]}"; do [ "$p" = "$pid" ] && known=1; done
		[ $known = 1 ] || { rvp_log "refusing to kill unrecorded pid $pid"; continue; }
		rvp_alive "$pid" && { kill -TERM "$pid" 2>/dev/null; pending+=("$pid"); }
	done
	for i in $(seq 30); do
		local any=0
		for pid in "${pending[@]}"; do rvp_alive "$pid" && any=1; done
		[ $any = 0 ] && break
		sleep 0.1
	done
	for pid in "${pending[@]}"; do
		rvp_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${pending[@]}"; do wait "$pid" 2>/dev/null; done
	# Forget them.
	local -a keep=()
	for p in "${RVP_PIDS[@]}"; do
		local drop=0
		for pid in "$@"; do [ "$p" = "$pid" ] && drop=1; done
		[ $drop = 1 ] || keep+=("$p")
	done
	RVP_PIDS=("${keep[@]}")
	return 0
}

# rvp_forget PID...: drop PIDs this script waited for itself from the record.
rvp_forget() {
	local -a keep=()
	local p pid drop
	for p in "${RVP_PIDS[@]}"; do
		drop=0
		for pid in "$@"; do [ "$p" = "$pid" ] && drop=1; done
		[ $drop = 1 ] || keep+=("$p")
	done
	RVP_PIDS=("${keep[@]}")
}

rvp_topo_down() {
	[ "$RVP_TOPO_UP" = 1 ] || return 0
	local ns
	for ns in "${RVP_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	RVP_MADE=()
	RVP_TOPO_UP=0
}

rvp_cleanup() {
	local rc=$?
	# Ignored, not reset: the watcher's SIGUSR1 (rvp_watch_int) or a second
	# signal arriving now would end the shell half way through the cleanup.
	trap - EXIT
	trap '' INT TERM USR1
	[ "${#RVP_PIDS[@]}" -gt 0 ] && rvp_kill "${RVP_PIDS[@]}"
	[ "$(type -t rvp_cleanup_hook)" = function ] && rvp_cleanup_hook
	rvp_topo_down
	exit $rc
}

rvp_install_trap() {
	trap rvp_cleanup EXIT
	trap 'exit 130' INT USR1
	trap 'exit 143' TERM
	rvp_watch_int
}

# rvp_watch_int: a recorded helper that turns a SIGINT to the process group
# into SIGUSR1 to this script (its trap: exit 130). A shell started in the
# background by a non-interactive one inherits SIGINT ignored, and bash can
# neither trap nor reset a signal ignored at its start, while iperf3 and
# ping catch SIGINT and exit 1: the run went on to the next VPN, wrote its
# results and exited 0 (tester 290). The helper ends with the script.
rvp_watch_int() {
	rvp_spawn host /dev/null python3 -c '
import os, signal, sys, time
pid = int(sys.argv[1])
def hit(*_):
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        pass
    os._exit(0)
signal.signal(signal.SIGINT, hit)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
while os.getppid() == pid:
    time.sleep(1)' "$$"
}

# rvp_wait_ping SIDE ADDR SECONDS: wait until ADDR answers from SIDE.
rvp_wait_ping() {
	local side=$1 addr=$2 secs=${3:-10} i
	for i in $(seq $((secs * 5))); do
		ip netns exec "$(rvp_ns_name "$side")" ping -c1 -W1 -q "$addr" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

rvp_ns_name() { if [ "$1" = a ]; then echo "$RVP_NS_A"; else echo "$RVP_NS_B"; fi; }

# rvp_cpu_ticks PID...: sum of utime+stime (clock ticks) of the processes
# (all threads; includes reaped children's times only once waited, so none).
# NA when one of them is gone: its ticks went with it, and a sum without
# them gave a negative CPU time (tester 290).
rvp_cpu_ticks() {
	local pid sum=0 line
	local -a f
	for pid in "$@"; do
		line=$(cat "/proc/$pid/stat" 2>/dev/null) || { echo NA; return; }
		# Fields after the ")" of comm start at field 3 (state); utime is
		# field 14 and stime 15, i.e. indexes 11 and 12 here.
		read -r -a f <<<"${line##*) }"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# rvp_lat_probe DST PORT SECONDS PINGFILE [NS]: one TCP stream A -> DST:PORT
# (an iperf3 server must listen there in B) with a ping every 10 ms from A
# to DST beside it, every RTT kept in PINGFILE and iperf3's JSON in
# PINGFILE less .txt plus .iperf3.json; from namespace NS instead of A if
# given. Sets RVP_LAT, tab-separated: receiver Gbit/s, ping p50, p90, p99
# (ms), replies, pings lost (perf/rtt_stats.py). It runs in the caller's
# shell, not in $(...), so that both processes are recorded where the
# cleanup sees them (from a subshell they outlived the script), each under
# timeout (a dead tunnel held iperf3 for minutes), and a failed iperf3 (its
# JSON's "error") is NA, not 0.0 Gbit/s; a VPN process (VPN_PIDS) that died
# meanwhile makes the whole line NA (tester 290).
rvp_lat_probe() {
	local dst=$1 port=$2 secs=$3 pingf=$4 ns=${5:-$RVP_NS_A} pp ipf json g rtt p
	json=${pingf%.txt}.iperf3.json
	timeout --foreground --kill-after=2 $((secs + 5)) ip netns exec "$ns" \
		ping -n -i 0.01 -w "$secs" "$dst" >"$pingf" 2>&1 </dev/null &
	pp=$!
	RVP_PIDS+=("$pp")
	sleep 0.2
	timeout --foreground --kill-after=5 $((secs + 20)) ip netns exec "$ns" \
		iperf3 -c "$dst" -p "$port" -t "$secs" -J >"$json" 2>"$json.err" </dev/null &
	ipf=$!
	RVP_PIDS+=("$ipf")
	wait "$ipf"
	wait "$pp"
	rvp_forget "$ipf" "$pp"
	g=$(python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print("NA" if d.get("error") else "%.3f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("NA")' "$json")
	[ "$g" != NA ] ||
		rvp_log "rvp_lat_probe: no throughput: $(grep -o '"error":[^}]*' "$json" | head -c 200) $(head -c 200 "$json.err")"
	rtt=$(python3 "$RVP_PERF_DIR/rtt_stats.py" "$pingf" |
		awk '{ printf "%s\t%s\t%s\t%s\t%s", $2, $3, $4, $6, $7 }')
	# shellcheck disable=SC2153 # VPN_PIDS: the caller's vpn_*_start set it
	for p in ${VPN_PIDS[@]+"${VPN_PIDS[@]}"}; do
		rvp_alive "$p" && continue
		rvp_log "rvp_lat_probe: VPN process $p died; this probe measured nothing"
		g=NA rtt=$'NA\tNA\tNA\tNA\tNA'
		break
	done
	# shellcheck disable=SC2034 # the caller reads it
	RVP_LAT=$(printf '%s\t%s' "$g" "$rtt")
}

# rvp_lat_medians ROUNDS VALUE...: from ROUNDS, lines "VALUE<TAB>round<TAB>"
# followed by RVP_LAT's fields, one line per VALUE: the medians over its
# rounds of throughput and ping p50/p90/p99. A percentile that fell on a lost
# ping (NA beside a count of lost pings) ranks above every measured one, as
# in summarize.py, and a median on it reads "lost"; a round that measured
# nothing (NA throughput, or no loss count: the VPN died) is left out and
# the line says of how many rounds it is. Skipping lost percentiles made a
# lost round vanish from the median, and no round at all crashed it (tester
# 290).
rvp_lat_medians() {
	local rounds=$1 v
	shift
	for v in "$@"; do
		awk -F'\t' -v n="$v" '$1 == n' "$rounds" | python3 -c '
import statistics, sys
name = sys.argv[1]
rows = [l.split("\t") for l in sys.stdin.read().split("\n") if l]
def num(x):
    try:
        return float(x)
    except ValueError:
        return None
def med(vals):
    if not vals:
        return "NA"
    m = statistics.median(vals)
    return "lost" if m == float("inf") else f"{m:.3f}"
g = [num(r[2]) for r in rows if num(r[2]) is not None]
pinged = [r for r in rows if len(r) > 7 and num(r[7]) is not None]
p = [med([float("inf") if num(r[i]) is None else num(r[i]) for r in pinged]) for i in (3, 4, 5)]
note = "" if len(g) == len(pinged) == len(rows) else \
    f" (throughput of {len(g)}, ping of {len(pinged)} of {len(rows)} rounds)"
print(f"{name:>4}: {med(g)} Gbit/s, ping p50 {p[0]} p90 {p[1]} p99 {p[2]} ms{note}")' "$v"
	done
}

# rvp_hwm_kb PID...: the largest VmHWM (peak RSS, kB) among the processes.
rvp_hwm_kb() {
	local pid max=0 v
	for pid in "$@"; do
		v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
	done
	echo "$max"
}

# rvp_sweep [PREFIX]: what runs killed with -9 left (their EXIT trap never
# ran, tester 290): every namespace PREFIX-<pid>-* (default prefix rvp) whose
# <pid> is no running process, the processes in it, the keys of the pki/
# directory a config of theirs names (only a config perf/ wrote, which says
# so on its first line), and /tmp/rvp-<pid>-*.sock of a dead <pid> that no
# process listens on. A <pid> that is alive (its run goes on, or the number
# was reused) keeps all its names; a namespace not of that form (another
# RVP_TAG) is never touched, but an RVP_TAG of the form PREFIX-<number>
# is taken for a run of that pid: give none such. The keys are found
# through a process of the run: when the whole process group was killed
# with -9 none is left, and the keys stay under the run's OUT
# (logs/*/ringvpn/pki/*.key: remove them by hand, tester 296).
rvp_sweep() {
	local prefix=${1:-rvp} ns pid p conf key sock rc
	[ "$(id -u)" = 0 ] || rvp_die "rvp_sweep needs root (network namespaces)"
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		[[ $ns =~ ^${prefix}-([0-9]+)- ]] || continue
		pid=${BASH_REMATCH[1]}
		[ -d "/proc/$pid" ] && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			# The config follows -c (ringvpn server|client -c FILE).
			conf=$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | awk 'f { print; exit } $0 == "-c" { f = 1 }')
			if [ -n "$conf" ] && [ -f "$conf" ] && head -n 1 "$conf" | grep -q '^# written by perf/'; then
				key=$(awk -F' = ' '$1 == "key" { print $2; exit }' "$conf")
				case $key in
				*/pki/*.key) rm -f "${key%/*}"/*.key && rvp_log "sweep: removed the keys in ${key%/*}" ;;
				esac
			fi
			rvp_log "sweep: killing $p ($(cat "/proc/$p/comm" 2>/dev/null)) of $ns"
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" && rvp_log "sweep: deleted namespace $ns (pid $pid is gone)"
	done
	# A socket some process still listens on is left (a run of another
	# prefix whose server goes on, or a number reused: its listener lost
	# the socket, tester 296).
	for sock in /tmp/rvp-[0-9]*-*.sock; do
		[ -S "$sock" ] || continue
		pid=${sock#/tmp/rvp-}
		pid=${pid%%-*}
		[[ $pid =~ ^[0-9]+$ ]] && [ ! -d "/proc/$pid" ] || continue
		# Exit 1 only when nobody listens: a listener that does not
		# take the connection in time (stopped, its backlog full) is
		# alive, and the look must not hang on it (tester 297).
		rc=0
		timeout 3 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(1)
try:
    s.connect(sys.argv[1])
except (ConnectionRefusedError, FileNotFoundError):
    sys.exit(1)
except OSError:
    pass' "$sock" 2>/dev/null || rc=$?
		if [ "$rc" = 1 ]; then
			rm -f "$sock" && rvp_log "sweep: removed $sock"
		fi
	done
}

# If run directly: bring the topology up, print it, wait for Enter, tear
# down; with --sweep [PREFIX], rvp_sweep instead.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	if [ "${1:-}" = --sweep ]; then
		rvp_sweep "${2:-rvp}"
		exit 0
	fi
	rvp_install_trap
	rvp_topo_up
	ip -n "$RVP_NS_A" -br addr
	ip -n "$RVP_NS_B" -br addr
	ip netns exec "$RVP_NS_A" ping -c 3 -i 0.2 -q "$RVP_UL_B"
	if [ -t 0 ] && [ "${1:-}" != --check ]; then
		echo "namespaces $RVP_NS_A / $RVP_NS_B up; press Enter to tear down"
		read -r _
	fi
fi
