#!/usr/bin/env bash
# test_pinning.sh — where the workers run (pin_workers = auto|yes|no).
#
# By default (auto, workers = 0) a process runs one worker per CPU it may use and pins
# worker k to the k-th of those CPUs: each worker thread's affinity is one
# CPU, a different one for each. The CPUs are the process's affinity mask,
# not the online ones: a client started under `taskset -c LAST` (as a
# cpuset or systemd's CPUAffinity= would) runs one worker, on LAST. With
# an explicit worker count other than that number, auto leaves the workers
# to the kernel; yes pins them anyway, round the allowed CPUs; no never
# pins. Every client passes traffic.
#
#   ns rvt-$$-c1 (clients, TUN rvc)  --veth--  ns rvt-$$-s (server, TUN rvs0)
#
# Usage: bash test_pinning.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

mapfile -t CPUS < <(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)), sep="\n")')
NCPU=${#CPUS[@]}
ALL=$(IFS=,; echo "${CPUS[*]}")

ctl_init 1
ctl_client_ns c1 1
C1=$(rvt_ns_name c1)

# worker_cpus PID: "comm cpus" per worker thread, cpus as a sorted
# comma-separated list (from Cpus_allowed_list, ranges expanded).
worker_cpus() {
	local t comm
	for t in /proc/"$1"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		case $comm in rv-worker*) ;; *) continue ;; esac
		printf '%s %s\n' "$comm" "$(awk '/^Cpus_allowed_list:/ { print $2 }' "$t/status" |
			python3 -c 'import sys
out = []
for part in sys.stdin.read().strip().split(","):
    a, _, b = part.partition("-")
    out += range(int(a), int(b or a) + 1)
print(",".join(map(str, sorted(out))))')"
	done | sort -V
}

# expect_workers PID WHAT LINE...: the workers of PID, as worker_cpus prints
# them, are exactly LINE... ("rv-worker0 0", ...).
expect_workers() {
	local pid=$1 what=$2 have want; shift 2
	want=$(printf '%s\n' "$@")
	have=$(worker_cpus "$pid")
	[ "$have" = "$want" ] && return 0
	rvt_fail "$what: workers run on
$have
expected
$want"
}

# client N KV...: client N's config with KV..., started (under $TASKSET if
# set), up and passing traffic; sets CPID.
client() {
	local n=$1; shift
	CTL_IDX=1 ctl_client_conf "$RVT_TMP/c$n.conf" "$PKI/client1" rvc "$RVT_TMP/c$n.sock" "$@"
	rvt_bg "$C1" "client$n" ${TASKSET:+taskset -c "$TASKSET"} "$RV_BIN" client -c "$RVT_TMP/c$n.conf"
	CPID=$RVT_LAST_PID
	rvt_wait_for 15 "client $n passes traffic" rvt_nsx "$C1" ping -c 1 -W 1 10.99.0.1 ||
		rvt_fail "client $n: no tunnel ($(tail -n 3 "$RVT_TMP/client$n.log"))"
}

stop_client() {
	rvt_stop_pid "$CPID" || rvt_fail "client exited with $?"
	rvt_forget_pid "$CPID"
}

rvt_step "server, default: one worker per CPU ($NCPU), each pinned to its own"
CTL_SERVER_KV=(workers=0)
ctl_start_server
want=()
for i in "${!CPUS[@]}"; do want+=("rv-worker$i ${CPUS[$i]}"); done
expect_workers "$SRV_PID" "server (auto)" "${want[@]}"
grep -q "data plane: $NCPU workers (pinned, one per CPU)" "$RVT_TMP/server.log" ||
	rvt_fail "server log: $(grep -a 'data plane:' "$RVT_TMP/server.log")"

rvt_step "client, default, under taskset -c ${CPUS[$((NCPU - 1))]}: one worker, on that CPU"
TASKSET=${CPUS[$((NCPU - 1))]} client 1 workers=0
expect_workers "$CPID" "client under taskset (auto)" "rv-worker0 ${CPUS[$((NCPU - 1))]}"
stop_client

rvt_step "client, pin_workers = no: the kernel's choice"
client 2 workers=0 pin_workers=no
want=()
for i in "${!CPUS[@]}"; do want+=("rv-worker$i $ALL"); done
expect_workers "$CPID" "client (no)" "${want[@]}"
grep -q "data plane: $NCPU workers on" "$RVT_TMP/client2.log" ||
	rvt_fail "client log: $(grep -a 'data plane:' "$RVT_TMP/client2.log")"
stop_client

rvt_step "client, workers = $((NCPU + 1)): auto leaves them alone, yes pins them round the CPUs"
client 3 workers=$((NCPU + 1))
want=()
for ((i = 0; i <= NCPU; i++)); do want+=("rv-worker$i $ALL"); done
expect_workers "$CPID" "client (auto, $((NCPU + 1)) workers)" "${want[@]}"
# Said: they take turns (round-seventeen tester 80).
grep -q "$((NCPU + 1)) workers share the $NCPU CPU(s) this process may use: they take turns" \
	"$RVT_TMP/client3.log" || rvt_fail "more workers than CPUs not said: $(grep -a worker "$RVT_TMP/client3.log" | head -3)"
stop_client
client 4 workers=$((NCPU + 1)) pin_workers=yes
want=()
for ((i = 0; i <= NCPU; i++)); do want+=("rv-worker$i ${CPUS[$((i % NCPU))]}"); done
expect_workers "$CPID" "client (yes, $((NCPU + 1)) workers)" "${want[@]}"
grep -q "$((NCPU + 1)) workers share the $NCPU CPU(s) this process may use, pinned" "$RVT_TMP/client4.log" ||
	rvt_fail "more workers than CPUs, pinned, not said"
stop_client
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server did not exit 0"
