# perf/topo.sh — two network namespaces joined by one veth pair, plus the
# bookkeeping every perf script needs: PIDs we started, cleanup on exit.
#
# Source it (". perf/topo.sh"), then:
#   rvp_topo_up            create rvp-$$-a / rvp-$$-b and the veth between them
#   rvp_topo_down          kill what we started in them and delete both
#   rvp_spawn NS LOG CMD…  start CMD in namespace NS in the background, record
#                          its PID (in RVP_PIDS and $RVP_LAST_PID)
#   rvp_kill PID…          TERM, wait up to 3 s, then KILL; only recorded PIDs
#   rvp_cleanup            rvp_topo_down + kill every recorded PID; installed
#                          by rvp_install_trap on EXIT/INT/TERM
#   rvp_lat_probe …        one TCP stream with a ping beside it (latency
#                          under load), for lat_qlen.sh and lat_nice.sh
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
	trap - EXIT INT TERM
	[ "${#RVP_PIDS[@]}" -gt 0 ] && rvp_kill "${RVP_PIDS[@]}"
	[ "$(type -t rvp_cleanup_hook)" = function ] && rvp_cleanup_hook
	rvp_topo_down
	exit $rc
}

rvp_install_trap() {
	trap rvp_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
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
rvp_cpu_ticks() {
	local pid sum=0 line
	local -a f
	for pid in "$@"; do
		line=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		# Fields after the ")" of comm start at field 3 (state); utime is
		# field 14 and stime 15, i.e. indexes 11 and 12 here.
		read -r -a f <<<"${line##*) }"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# rvp_lat_probe DST PORT SECONDS PINGFILE [NS]: one TCP stream A -> DST:PORT
# (an iperf3 server must listen there in B) with a ping every 10 ms from A
# to DST beside it, every RTT kept in PINGFILE; from namespace NS instead of
# A if given. Prints, tab-separated:
# receiver Gbit/s, ping p50, p90, p99 (ms) and the number of replies.
rvp_lat_probe() {
	local dst=$1 port=$2 secs=$3 pingf=$4 ns=${5:-$RVP_NS_A} pp g
	ip netns exec "$ns" ping -n -i 0.01 -w "$secs" "$dst" >"$pingf" &
	pp=$!
	sleep 0.2
	g=$(ip netns exec "$ns" iperf3 -c "$dst" -p "$port" -t "$secs" -J |
		python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9,3))')
	wait "$pp"
	# p50 p90 p99 over every ping sent, lost ones ranked last, and the
	# replies' count (perf/rtt_stats.py, as run.sh's lat test).
	printf '%s\t%s\n' "${g:-NA}" "$(python3 "$RVP_PERF_DIR/rtt_stats.py" "$pingf" |
		awk '{ printf "%s\t%s\t%s\t%s", $2, $3, $4, $6 }')"
}

# rvp_lat_medians ROUNDS VALUE...: from ROUNDS, lines "VALUE<TAB>round<TAB>"
# followed by rvp_lat_probe's fields, one line per VALUE: the medians over
# its rounds of throughput and ping p50/p90/p99.
rvp_lat_medians() {
	local rounds=$1 v
	shift
	for v in "$@"; do
		awk -F'\t' -v n="$v" '$1 == n' "$rounds" | python3 -c '
import sys, statistics as s
rows = [l.split("\t") for l in sys.stdin.read().split("\n") if l]
m = lambda i: s.median(float(r[i]) for r in rows if r[i] != "NA")
print(f"{rows[0][0]:>4}: {m(2):.3f} Gbit/s, ping p50 {m(3):.3f} p90 {m(4):.3f} p99 {m(5):.3f} ms")'
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

# If run directly: bring the topology up, print it, wait for Enter, tear down.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
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
