#!/usr/bin/env bash
# test_control_load.sh — 1,000 clients at once from one load generator
# (perf/ctlload: real TLS handshakes with 1,000 certificates, the client state
# machine, sealed UDP keepalives), twice over:
#   connect all; every client's data-channel keepalives reach the server,
#   which sends none back (the client's keep its NAT open), and no session
#   is dropped by either side's dead-peer check (control keepalives pass
#   both ways); rekey every session while client 1 pings the server through the
#   tunnel, with no lost reply, no failed open and no server drop; GOODBYE
#   from all; the server is back to no session, no address, no demux entry,
#   nothing left to reclaim and its idle fd count.
# The second round must leave the server's RSS where the first left it: memory
# a session takes is given back for the next (glibc keeps the heap, so RSS
# does not fall to the idle figure; that is printed, not asserted).
# Client certificates are issued once into $RV_BUILD/ctlload-pki and reused.
#
# Usage: bash test_control_load.sh [--clients N]   Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

N=1000
[ "${1:-}" = --clients ] && N=$2

rvt_init
ctl_load_init "$N"
CTL_SERVER_KV=(max_clients=$((N + 64)) max_handshaking=1024 handshake_timeout=5
	pool4=10.99.0.0/20 keepalive=2 dead_peer_timeout=10 rekey_interval=150)
ctl_start_server

srv_rss() { ctl_rss_kb "$SRV_PID"; }
srv_drops_load1() { ctl_sum '^session name=load1 ' '^drop_'; }
gen() { ldl "$@" || rvt_fail "ctlload: '$*' -> $LDL_REPLY"; }
srv_keepalives_rx() { ctl_sum '^worker ' '^keepalives_rx$'; }
server_is_empty() {
	local line
	line=$(ctl_status | head -1)
	for kv in sessions=0 handshaking=0 conns=0 pool4_in_use=0 pool6_in_use=0 demux=0 qsbr_pending=0; do
		[[ " $line " == *" $kv "* ]] || return 1
	done
}

sleep 0.5
BASE_FDS=$(ctl_fd_count "$SRV_PID")
BASE_RSS=$(srv_rss)
rvt_log "idle server: $BASE_FDS fds, RSS $BASE_RSS kB"

ldl_start "$G" "$RVT_TMP/ctlload.log" "$CTLLOAD" --server 10.88.1.1:$SRV_PORT --name vpn.test \
	--ca "$PKI/ca/ca.crt" --certs "$PKI" --count "$N" --sources 10.88.1.2+64 --window 128
rc=$?
RVT_PIDS+=("$LDL_GEN_PID")
[ $rc = 0 ] || rvt_fail "ctlload did not start: $LDL_REPLY"

declare -a RSS_AFTER=()
for round in 1 2; do
	rvt_step "round $round: $N clients connect"
	gen 5 mark
	gen 5 start
	gen 200 wait running "$N" 180
	rvt_log "$N clients running after $(ldl_kv t) s"
	[ "$(ctl_field server sessions)" = "$N" ] || rvt_fail "server has $(ctl_field server sessions) sessions"
	[ "$(ctl_field server pool4_in_use)" = "$N" ] || rvt_fail "addresses in use"

	if [ "$round" = 1 ]; then
		rvt_step "keepalives: the clients' reach the server, which answers each (they ask); no session is dropped"
		gen 5 stats
		ka0=$(ldl_kv ka_tx) kin0=$(ldl_kv udp_keepalive) srx0=$(srv_keepalives_rx)
		sleep 5
		gen 5 stats
		ka=$(($(ldl_kv ka_tx) - ka0)) kin=$(($(ldl_kv udp_keepalive) - kin0))
		srx=$(($(srv_keepalives_rx) - srx0))
		rvt_log "data-channel keepalives in 5 s: $ka sent, $srx received by the server, $kin from it"
		[ "$ka" -ge "$N" ] && [ "$srx" -ge "$N" ] || rvt_fail "keepalives: $srx of $ka; $LDL_REPLY"
		# One every keepalive (2 s): 2-3 each in 5 s. Asked again every
		# second only while an answer is missing, which they are not.
		[ "$ka" -le $((N * 3)) ] || rvt_fail "$ka keepalives in 5 s from $N clients: answers taken for missing"
		# Each asks for an answer (RV_DATA_F_ECHO): as many come back, give
		# or take those in flight at either reading.
		[ "$kin" -ge $((ka - N / 10)) ] && [ "$kin" -le $((ka + N / 10)) ] ||
			rvt_fail "the server answered $kin of $ka keepalives that asked"
		[ "$(ldl_kv udp_bad)" = 0 ] || rvt_fail "datagrams that did not open: $LDL_REPLY"
		[ "$(ldl_kv reached_running)" = "$N" ] && [ "$(ldl_kv closed_by_server)" = 0 ] ||
			rvt_fail "sessions dropped or reconnected: $LDL_REPLY"
		# Every server session has learnt its client's endpoint from a
		# keepalive: an endpoint is taken only from a datagram that
		# authenticated. (Keepalives are not counted in a session's
		# rx_packets: those are packets passed on to the TUN.)
		known=$(ctl_status | grep -a '^session ' | grep -vc ' endpoint=- ')
		[ "$known" = "$N" ] || rvt_fail "server: $known endpoints known of $N"

		rvt_step "rekey every session while client 1 pings through the tunnel"
		# The baseline is read before the probe starts: read while an echo
		# is in flight, its reply would be counted without its request.
		gen 5 stats
		p_tx=$(ldl_kv probe_tx) p_rx=$(ldl_kv probe_rx) p_bad=$(ldl_kv probe_bad)
		gen 5 probe 100
		sleep 1
		d0=$(srv_drops_load1)
		gen 5 snap
		gen 5 mark
		rvt_run "$RV_BIN" status -s "$SRV_SOCK" --rekey >/dev/null || rvt_fail "rekey request"
		gen 120 wait rekeyed 0 90
		rvt_log "every session on a new epoch after $(ldl_kv t) s (epochs $(ldl_kv min_epoch)..$(ldl_kv max_epoch))"
		sleep 1
		gen 5 probe off
		sleep 1
		gen 5 stats
		sent=$(($(ldl_kv probe_tx) - p_tx)) got=$(($(ldl_kv probe_rx) - p_rx))
		bad=$(($(ldl_kv probe_bad) - p_bad)) drops=$(($(srv_drops_load1) - d0))
		rvt_log "probe: $sent echo requests, $got replies, $bad failed opens, $drops server drops"
		[ "$sent" -gt 100 ] && [ "$got" = "$sent" ] && [ "$bad" = 0 ] && [ "$drops" = 0 ] ||
			rvt_fail "packets lost across the rekey"
		# Running for longer than dead_peer_timeout by now: the server's
		# control keepalives kept every client's dead-peer check quiet.
		[ "$(ldl_kv closed_by_ctl)" = 0 ] && [ "$(ldl_kv closed_by_server)" = 0 ] ||
			rvt_fail "sessions ended by a dead-peer check or the server: $LDL_REPLY"

		rvt_step "40 callers ask for the whole status and read none of it: an operator's status still gets in"
		# The answer ($N sessions) is larger than a Unix socket's send
		# buffer, so each such caller's slot stalls; they held every place
		# until the management deadline, 5 s a batch of 32, and 200 of
		# them the operator 10-14 s (round-twenty-three tester 99).
		python3 - "$SRV_SOCK" "$RV_BIN" <<'PY' || rvt_fail "stalled readers held the operator out"
import socket, subprocess, sys, threading, time
path, rv = sys.argv[1], sys.argv[2]
stalled = []
def stall():
    s = socket.socket(socket.AF_UNIX)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(path)
    s.sendall(b"status json\n")
    stalled.append(s)
ts = [threading.Thread(target=stall) for _ in range(40)]
for t in ts:
    t.start()
for t in ts:
    t.join(10)
time.sleep(0.5)
t0 = time.monotonic()
r = subprocess.run([rv, "status", "-s", path], capture_output=True, text=True, timeout=20)
dt = time.monotonic() - t0
print("ringvpn status beside %d callers that read nothing: exit %d after %.2f s"
      % (len(stalled), r.returncode, dt))
for s in stalled:
    s.close()
if r.returncode != 0 or not r.stdout.startswith("ringvpn server: running"):
    sys.exit("status failed: %r %r" % (r.stdout[:80], r.stderr))
if dt > 3.5:
    sys.exit("answered after %.1f s: callers that read nothing held the places" % dt)
PY
		grep -a "closing one that has read nothing more of its answer" "$RVT_TMP/server.log" | tail -1
		# "part of" when its sends of 16 KB filled the socket's buffer
		# within the last second (round sixty-six).
		grep -qaE "management: no place for a waiting caller: closing one that has read (nothing more of|part of) its answer" \
			"$RVT_TMP/server.log" || rvt_fail "the stalled callers' closing was not said"

		rvt_step "300 half-sent callers, then 150 that read the status a chunk a second, reconnecting: the operator still gets in"
		# Places freed a second at a time and taken in turn: 300
		# half-sent callers held an operator's status 8-10 s, 150 slow
		# readers 5-6 s (round-twenty-four tester 105). Local callers
		# silent a quarter of a second, or reading one answer for a
		# second, are closed for one that waits.
		cat >"$RVT_TMP/crowd.py" <<'PY'
import socket, subprocess, sys, threading, time
path, rv, kind, n, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
stop = time.monotonic() + 10
def half():
    while time.monotonic() < stop:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.sendall(b"stat")
            while time.monotonic() < stop:
                time.sleep(0.1)
                try:
                    if s.recv(100, socket.MSG_DONTWAIT) == b"":
                        break
                except BlockingIOError:
                    pass
            s.close()
        except OSError:
            time.sleep(0.01)
def slow():
    while time.monotonic() < stop:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            s.connect(path)
            s.sendall(b"status json\n")
            while time.monotonic() < stop:
                time.sleep(0.9)
                if not s.recv(200000):
                    break
            s.close()
        except OSError:
            time.sleep(0.01)
ts = [threading.Thread(target=half if kind == "half" else slow) for _ in range(n)]
for t in ts:
    t.start()
time.sleep(2)
worst = 0
for _ in range(3):
    t0 = time.monotonic()
    r = subprocess.run([rv, "status", "-s", path], capture_output=True, text=True, timeout=30)
    dt = time.monotonic() - t0
    worst = max(worst, dt)
    print("ringvpn status beside %d %s callers: exit %d after %.2f s" % (n, kind, r.returncode, dt))
    if r.returncode != 0:
        sys.exit("status failed: %r" % r.stderr)
    time.sleep(0.3)
stop = time.monotonic()  # measured: the crowd leaves now, not at 10 s
for t in ts:
    t.join()
if worst > limit:
    sys.exit("the operator waited %.1f s" % worst)
PY
		python3 "$RVT_TMP/crowd.py" "$SRV_SOCK" "$RV_BIN" half 300 5.5 || rvt_fail "half-sent callers held the operator out"
		# 4.5 s was passed (4.7) beside four other sessions' work at a
		# load of 8-10: the bound is loose, and the closing of readers
		# that read one answer for a second is what the build before
		# lacked (said in the log).
		python3 "$RVT_TMP/crowd.py" "$SRV_SOCK" "$RV_BIN" slow 150 6.0 || rvt_fail "slow readers held the operator out"
		grep -qa "management: no place for a waiting caller: closing one that has read part of its answer" \
			"$RVT_TMP/server.log" || rvt_fail "the slow readers' closing was not said"
		grep -qa "management: no place for a waiting caller: closing one that has read part of its answer for" \
			"$RVT_TMP/server.log" || rvt_fail "the slow readers' closing was not said"

		rvt_step "one caller reads the status slowly, 4 KB every 0.2 s for 12 s, then the rest: it gets all of it"
		# The 5 s deadline ran from the connect: a reply read slowly (a
		# loaded machine) was cut, and a cut ends as a whole one does
		# (round-sixty-six tester 281); then from the last send the
		# caller's reading let complete, which takes some 150 KB read:
		# a steady reader of 60 KB a second was cut (tester 284). It
		# runs from the last part read.
		python3 - "$SRV_SOCK" <<'PY' || rvt_fail "a slow reader did not get the whole status"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"status json\n")
t0, got, parts = time.monotonic(), b"", 0
while True:
    slow = time.monotonic() - t0 < 12
    if slow:
        time.sleep(0.2)
    d = s.recv(4096 if slow else 1 << 20)
    if not d:
        break
    got += d
    parts += 1
dt = time.monotonic() - t0
print("read %d bytes in %d parts over %.1f s" % (len(got), parts, dt))
if dt < 6:
    sys.exit("read in %.1f s: not slow enough to show anything" % dt)
if not got.startswith(b"ok\n"):
    sys.exit("no ok line: %r" % got[:40])
json.loads(got[3:])
PY
	fi

	rvt_step "round $round: every client says GOODBYE"
	gen 90 stop
	rvt_wait_for 30 "server empty" server_is_empty || rvt_fail "server not empty: $(ctl_status | head -1)"
	rvt_wait_for 10 "fds back to $BASE_FDS" sh -c "[ \$(ls /proc/$SRV_PID/fd | wc -l) -eq $BASE_FDS ]" ||
		rvt_fail "server holds $(ctl_fd_count "$SRV_PID") fds, $BASE_FDS when idle"
	RSS_AFTER[round]=$(srv_rss)
	rvt_log "after round $round: $(ctl_fd_count "$SRV_PID") fds, RSS ${RSS_AFTER[round]} kB (idle $BASE_RSS kB)"
done

# A session's memory comes back for the next one: the second round may not
# leave more than a small margin (2 MiB or 5 %) on top of the first.
margin=$((RSS_AFTER[1] / 20 > 2048 ? RSS_AFTER[1] / 20 : 2048))
[ "${RSS_AFTER[2]}" -le $((RSS_AFTER[1] + margin)) ] ||
	rvt_fail "server RSS grew from ${RSS_AFTER[1]} kB to ${RSS_AFTER[2]} kB over a second round"
ldl_quit 30 || rvt_fail "ctlload quit"

rvt_step "more names in a loop than the pool holds: their routine log lines stay bounded"
# 400 names, 125 addresses: 275 are refused at HELLO (no address left)
# and retry every 0.3-1.5 s. A name's routine lines are logged for 6
# connections, then for one in 30 s (README, Logs). The names' table had
# 256 slots and a collision reset one: past ~256 names in a loop nearly
# every connection was logged (a hostile tester: 522 lines a second).
LOOP=400 ADDRS=125
ctl_conf_set "$RVT_TMP/server.conf" pool4=10.99.0.0/25
# A reload reads the file as the service user, through $RVT_TMP (0700).
chgrp "$(id -gn nobody)" "$RVT_TMP" && chmod g+x "$RVT_TMP" && chmod a+r "$RVT_TMP/server.conf" ||
	rvt_fail "chmod"
OUT=$("$RV_BIN" reload -s "$SRV_SOCK" 2>&1) || rvt_fail "reload to a /25: $OUT"
ldl_start "$G" "$RVT_TMP/ctlload-loop.log" "$CTLLOAD" --server 10.88.1.1:$SRV_PORT --name vpn.test \
	--ca "$PKI/ca/ca.crt" --certs "$PKI" --count $LOOP --sources 10.88.1.2+64 --window 128 \
	--reconnect-min 300 --reconnect-max 1500
rc=$?
RVT_PIDS+=("$LDL_GEN_PID")
[ $rc = 0 ] || rvt_fail "ctlload did not start: $LDL_REPLY"
gen 5 start
authenticated() { grep -c "authenticated from" "$RVT_TMP/server.log"; }
# Past every name's burst (6 attempts, at most ~9 s) before counting.
sleep 12
a0=$(authenticated) r0=$(ctl_field server refused_no_address)
sleep 10
a1=$(authenticated) r1=$(ctl_field server refused_no_address)
rvt_log "in 10 s: $((r1 - r0)) refusals for want of an address, $((a1 - a0)) 'authenticated' lines logged ($((LOOP - ADDRS)) names in a loop)"
[ $((r1 - r0)) -ge $((LOOP - ADDRS)) ] || rvt_fail "too few refusals to show anything: $((r1 - r0))"
# Each looping name may log once in the 30 s after its burst, the clients
# that got an address not again; the build before logged ~9 in 10 of the
# refusals.
[ $((a1 - a0)) -le $(((LOOP - ADDRS) * 3 / 2)) ] ||
	rvt_fail "$((a1 - a0)) 'authenticated' lines in 10 s for $((LOOP - ADDRS)) names in a loop"
notes=$(grep -c "connects and leaves often" "$RVT_TMP/server.log")
[ "$notes" -ge 1 ] && [ "$notes" -le $((LOOP - ADDRS)) ] ||
	rvt_fail "$notes notes that a name connects and leaves often, for $((LOOP - ADDRS)) names"
gen 90 stop
ldl_quit 30 || rvt_fail "ctlload quit"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
