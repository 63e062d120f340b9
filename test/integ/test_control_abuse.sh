#!/usr/bin/env bash
# test_control_abuse.sh — a client cannot make the server work or buffer
# without bound (issue 7 E), and the abuse disturbs no one else:
#   1. Rekey flood: a client (rvt_ctl_probe then=rekey-flood) starts key
#      exchanges back to back once its session runs. The server disconnects
#      it with a rate reason (ERROR "too many requests", a log line, the
#      rate_limited counter), having done at most a handful of exchanges.
#   2. Rekey budget: a client that keeps the minimum spacing (one exchange
#      every 500 ms) is cut off once it has spent its budget of 20 per minute.
#   3. A peer that stops reading: a client (then=stall) that reaches RUNNING
#      and then never reads its socket again, with a small receive window,
#      while it keeps writing keepalives (so it is never "silent"). The
#      server's output for it is provoked by configuration reloads, each of
#      which pushes it a CONFIG update with 32 routes (~650 bytes): with the
#      rekey limits in place nothing a client sends makes the server answer
#      faster, so this is the quickest way to pile output up. Once more than
#      64 KiB of control output waits unread, the server disconnects it
#      ("peer stopped reading", slow_readers), and its RSS stays bounded.
#   8. TLS KeyUpdates (openssl s_client's K): more than 20 in a minute end
#      the connection, said.
# Meanwhile client1, a real client, pings through the tunnel without a
# lost packet and keeps its session.
# On the old code (0d09d52) part 1 fails: peer-started rekeys had no spacing
# nor budget (the probe completes thousands of exchanges) and unread
# replies piled up without bound.
#
#   ns rvt-$$-c1 (client1, ping)  --veth--  ns rvt-$$-s (server)
#   ns rvt-$$-a  (rvt_ctl_probe as client2, client3)  --veth--/
#
# Usage: bash test_control_abuse.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

ctl_init 3
ctl_client_ns c1 1
ctl_client_ns a 2
C1=$(rvt_ns_name c1)
A=$(rvt_ns_name a)
CTL_SERVER_KV=()
ctl_start_server
SLOG="$RVT_TMP/server.log"
ctl_client 1
rvt_wait_for 10 "client1 session" ctl_sessions_eq 1 || rvt_fail "client1 did not come up"
IDX1=$(ctl_field "session name=client1" index)
rvt_bg "$C1" ping ping -i 0.2 -W 2 10.99.0.1
PING=$RVT_LAST_PID

# probe NAME ARGS...: rvt_ctl_probe session as NAME from namespace a.
probe() { ctl_probe "$A" 2 "$@"; }

rvt_step "1. rekey flood: KEY after KEY as fast as the server answers"
CPU0=$(rvt_cpu_ticks "$SRV_PID")
OUT=$(probe client2 then=rekey-flood hold=15) || { echo "$OUT"; rvt_fail "client2 probe"; }
CPU1=$(rvt_cpu_ticks "$SRV_PID")
echo "$OUT"
grep -q "^closed: error 12 (too many requests): client started a key exchange" <<<"$OUT" ||
	rvt_fail "the flood was not cut off with a rate reason"
N=$(sed -n 's/^rekey-flood: \([0-9]*\) exchange.*/\1/p' <<<"$OUT")
[ "${N:-99999}" -le 2 ] || rvt_fail "the server did $N exchanges for the flood"
rvt_log "server CPU during the flood: $((CPU1 - CPU0)) tick(s)"
grep "client2" "$SLOG" | grep "disconnected" | tail -1
grep -q "client client2 .*disconnected: client started a key exchange .* ms after the last one" "$SLOG" ||
	rvt_fail "no log line for the rate limit"
[ "$(ctl_field server rate_limited)" = 1 ] || rvt_fail "rate_limited not counted"

rvt_step "2. rekey budget: one exchange every 500 ms"
OUT=$(probe client2 then=rekey-flood hold=40 gap=500) || { echo "$OUT"; rvt_fail "client2 probe"; }
echo "$OUT" | grep -v "^server rekey"
grep -q "^closed: error 12 (too many requests): client started more than 20 key exchanges in a minute" <<<"$OUT" ||
	rvt_fail "the budget was not enforced"
N=$(sed -n 's/^rekey-flood: \([0-9]*\) exchange.*/\1/p' <<<"$OUT")
# 20 at once, then one every 3 s: about 24 in the ~12 s it takes at 2/s.
[ "$N" -ge 20 ] && [ "$N" -le 30 ] || rvt_fail "$N exchanges before the budget ran out"
[ "$(ctl_field server rate_limited)" = 2 ] || rvt_fail "rate_limited not counted"

rvt_step "3. a peer that stops reading while the server has things to say"
# Two configurations that differ only in 32 pushed IPv6 routes: each reload
# sends every running client a CONFIG update of ~650 bytes.
for set in a b; do
	cp "$RVT_TMP/server.conf" "$RVT_TMP/server.conf.$set"
	for i in $(seq 0 31); do
		printf 'route = fd7%s:%x::/64\n' "$([ $set = a ] && echo 7 || echo 8)" "$i" >>"$RVT_TMP/server.conf.$set"
	done
done
RSS0=$(ctl_rss_kb "$SRV_PID")
rvt_bg "$A" stall "$PROBE" session 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client3.crt" "$PKI/client3.key" rcvbuf=2048 then=stall hold=60
STALL=$RVT_LAST_PID
rvt_wait_for 10 "client3 running" grep -q "^running" "$RVT_TMP/stall.log" || rvt_fail "client3 probe"
rvt_log "reloading until the server gives up on client3 (RSS before: $RSS0 kB)"
python3 - "$SRV_SOCK" "$RVT_TMP" "$SRV_PID" >"$RVT_TMP/reloads.log" 2>&1 <<'EOF' || { cat "$RVT_TMP/reloads.log"; rvt_fail "reloads"; }
import os, shutil, socket, sys
sock, tmp, pid = sys.argv[1:4]
def rss():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
def request(line):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(line)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        reply += b
    s.close()
    return reply.decode()
peak = 0
for n in range(1, 601):
    shutil.copy("%s/server.conf.%s" % (tmp, "ab"[n % 2]), "%s/server.conf.new" % tmp)
    os.replace("%s/server.conf.new" % tmp, "%s/server.conf" % tmp)
    r = request(b"reload\n")
    if not r.startswith("ok"):
        sys.exit("reload %d refused: %s" % (n, r))
    peak = max(peak, rss())
    if n % 10 == 0 and " slow_readers=1 " in request(b"status kv\n"):
        print("reloads: %d, peak RSS %d kB" % (n, peak))
        sys.exit(0)
sys.exit("600 reloads and client3 is still connected (peak RSS %d kB)" % peak)
EOF
cat "$RVT_TMP/reloads.log"
PEAK=$(sed -n 's/.*peak RSS \([0-9]*\) kB.*/\1/p' "$RVT_TMP/reloads.log")
grep "client3" "$SLOG" | grep -E "unread|stopped reading" | tail -2
grep -q "client client3 .*bytes of control output unread: disconnecting" "$SLOG" ||
	rvt_fail "no log line for the slow reader"
grep -q "client client3 .*disconnected: peer stopped reading" "$SLOG" ||
	rvt_fail "client3 not disconnected as a slow reader"
! ctl_status | rvt_matches "^session name=client3 " || rvt_fail "client3's session is still listed"
# The server ended it: a slow reader, not a session the client left (it
# was counted as both: round-twenty-five tester 115).
ctl_status | grep -a "^server " | rvt_matches " slow_readers=1 .* left_closed=0 " ||
	rvt_fail "the slow reader counted as a session the client left: $(ctl_status | grep -a '^server ')"
"$RV_BIN" status -s "$SRV_SOCK" | rvt_matches "slow readers cut off 1" ||
	rvt_fail "the text status leaves the slow reader out (tester 118)"
rvt_wait_for 10 "the probe sees the cut" grep -q "^stall: server cut the connection" "$RVT_TMP/stall.log" ||
	{ cat "$RVT_TMP/stall.log"; rvt_fail "the stalled client was not cut off"; }
cat "$RVT_TMP/stall.log"
RSS1=$(ctl_rss_kb "$SRV_PID")
rvt_log "server RSS: $RSS0 kB before, $PEAK kB at most during, $RSS1 kB after"
[ "$PEAK" -le $((RSS0 + 4096)) ] || rvt_fail "RSS grew by $((PEAK - RSS0)) kB during the abuse"

rvt_step "4. a client that claims a silence longer than its session"
# DATA_STATUS(silent, 4294967295 s) from a session a second old: said as
# at most the session's age, as status shows it (it went into the log as
# "none for 4294967295 s": round-five tester 31). The probe sends no
# datagram: said as none since the session began, not as keepalives "which
# we answer" missing for 0 s from "(none)" (round-fifteen tester 70).
OUT=$(probe client2 then=silent hold=2) || { echo "$OUT"; rvt_fail "client2 probe"; }
rvt_wait_for 5 "the silence said" grep -q "client client2: data channel silent: no data-channel datagram has come from it since its session began [0-9] s ago" "$SLOG" ||
	rvt_fail "the claimed silence: $(grep -a "client client2: .*silent\|client client2: our data" "$SLOG" | tail -1)"
! grep -a "client client2: .*silent" "$SLOG" | rvt_matches "\(none\)" || rvt_fail "the silence names the address (none)"

rvt_step "4b. a client that reconnects to report back and forth hides no other client's report"
# Each name has one budget of report lines (4, one more every 10 minutes),
# kept across its connections: each connection had a fresh one, so a
# client reconnecting once a second used the shared limit of such lines up
# and another client's report of silence was never said (round-sixty-nine
# tester 309). Nor does a second connection of the name that authenticates
# while the reporter runs and never sends HELLO give it back: each
# connection's copy of the budget, written back as it closed, gave the
# next reporter a full one (tester 313). Step 4 spent one of client2's.
report_lines() { grep -ac "client $1: data channel silent\|client $1: our data-channel datagrams reach it again" "$SLOG"; }
hello_hold() {
	rvt_nsx "$A" "$PROBE" hello 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
		"$PKI/client2.crt" "$PKI/client2.key" 3 >/dev/null 2>&1
}
F0=$(report_lines client2)
hello_hold &
HPIDS=$!
sleep 0.3
for _ in $(seq 6); do
	probe client2 then=flap hold=0.5 >/dev/null &
	fp=$!
	sleep 0.15
	hello_hold &
	HPIDS="$HPIDS $!"
	wait "$fp"
done
# shellcheck disable=SC2086 # a list of PIDs
wait $HPIDS
F1=$(report_lines client2)
rvt_log "client2's report lines over 6 connections of 4 changes, each beside a connection without HELLO: $((F1 - F0))"
[ $((F1 - F0)) -le 4 ] || rvt_fail "a connection without HELLO gave client2's budget back: $((F1 - F0)) lines"
for _ in $(seq 12); do
	OUT=$(probe client2 then=flap hold=0) || { echo "$OUT"; rvt_fail "client2 flap probe"; }
done
F2=$(report_lines client2)
rvt_log "client2's report lines over 12 more connections of 4 changes each: $((F2 - F1))"
[ $((F2 - F1)) -le 1 ] || rvt_fail "client2's budget of report lines started afresh at each connection: $((F2 - F1)) lines"
OUT=$(probe client3 then=silent hold=2) || { echo "$OUT"; rvt_fail "client3 probe"; }
rvt_wait_for 5 "client3's silence said" grep -q "client client3: data channel silent" "$SLOG" ||
	rvt_fail "client3's report hidden behind client2's: $(grep -a "suppressed" "$SLOG" | tail -2)"

rvt_step "5. a frame of another control version"
# No common version (ERROR 2), as core/ctlmsg.h says, counted among the
# protocol errors; it went as a malformed message (ERROR 1: round-twenty-
# seven tester 127).
P0=$(ctl_field server protocol_errors)
OUT=$(probe client2 then=badver hold=2) || { echo "$OUT"; rvt_fail "client2 probe"; }
rvt_matches "^closed: error 2 .*client sent a control frame of version 2, this end speaks 1" <<<"$OUT" ||
	rvt_fail "a frame of version 2: $OUT"
proto_more() { [ "$(ctl_field server protocol_errors)" -gt "$P0" ]; }
rvt_wait_for 5 "protocol_errors counted" proto_more ||
	rvt_fail "not counted: protocol_errors $(ctl_field server protocol_errors), was $P0"

rvt_step "6. a forged TLS record in a running session"
# Said at warn and counted among the protocol errors: it went as the client
# leaving, at info, in left_closed (round-twenty-seven tester 127).
P0=$(ctl_field server protocol_errors)
L0=$(ctl_field server left_closed)
OUT=$(probe client2 then=forge hold=2) || { echo "$OUT"; rvt_fail "client2 probe"; }
rvt_wait_for 5 "protocol_errors counted" proto_more ||
	rvt_fail "not counted: protocol_errors $(ctl_field server protocol_errors), was $P0"
[ "$(ctl_field server left_closed)" = "$L0" ] || rvt_fail "counted as the client leaving"
grep -a "client client2 .*disconnected: TLS error: .*BAD_DECRYPT\|client client2 .*disconnected: TLS error: .*BAD_RECORD_MAC" "$SLOG" | rvt_matches "warn" ||
	rvt_fail "not said at warn: $(grep -a "client client2 .*disconnected: TLS" "$SLOG" | tail -1)"
# Before its HELLO: a refusal for what it sent (counted nowhere: tester 131).
R0=$(ctl_field server refused_protocol)
rvt_nsx "$A" "$PROBE" hello 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client3.crt" "$PKI/client3.key" 2 forge >/dev/null
refused_more() { [ "$(ctl_field server refused_protocol)" -gt "$R0" ]; }
rvt_wait_for 5 "refused_protocol counted" refused_more ||
	rvt_fail "a forged record before HELLO counted nowhere: refused_protocol $(ctl_field server refused_protocol)"

rvt_step "7. a name that connects and leaves often: its rate-limited session said at warn, its connection without HELLO counted"
# A rate limit's end went to debug once the name connected and left often,
# and a connection closed for no HELLO was counted nowhere (round-thirty-six
# tester 177).
rvt_nsx "$A" "$PROBE" cycles 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client3.crt" "$PKI/client3.key" 8 >/dev/null || rvt_fail "client3's cycles"
rvt_wait_for 5 "client3 connects and leaves often" grep -q "client client3 connects and leaves often" "$SLOG" ||
	rvt_fail "client3 was not taken for a name that connects and leaves often (the test's own setup)"
OUT=$(probe client3 then=rekey-flood hold=15) || { echo "$OUT"; rvt_fail "client3 probe"; }
grep -q "^closed: error 12 (too many requests)" <<<"$OUT" || rvt_fail "client3's flood was not cut off: $OUT"
rvt_wait_for 3 "the rate limit said" sh -c "grep -a 'client client3 .*disconnected: client started a key exchange' '$SLOG' | grep -q warn" ||
	rvt_fail "client3's rate-limited session not said at warn: $(grep -a 'client client3 .*disconnected' "$SLOG" | tail -2)"
NH0=$(ctl_field server refused_no_hello)
OUT=$(rvt_nsx "$A" "$PROBE" hello 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client3.crt" "$PKI/client3.key" 5)
grep -q "closed" <<<"$OUT" || rvt_fail "the server did not close a connection without HELLO: $OUT"
nh_more() { [ "$(ctl_field server refused_no_hello)" = "$((NH0 + 1))" ]; }
rvt_wait_for 3 "refused_no_hello counted" nh_more ||
	rvt_fail "a connection without HELLO counted as $(ctl_field server refused_no_hello), was $NH0"
"$RV_BIN" status -s "$SRV_SOCK" | rvt_matches "no HELLO in time $((NH0 + 1))" ||
	rvt_fail "not in the text status: $("$RV_BIN" status -s "$SRV_SOCK" | grep refusals)"
"$RV_BIN" status -s "$SRV_SOCK" --prometheus | rvt_matches "^ringvpn_clients_refused_total\{reason=\"no_hello\"\} $((NH0 + 1))$" ||
	rvt_fail "not in the metrics: $("$RV_BIN" status -s "$SRV_SOCK" --prometheus | grep refused_total)"

rvt_step "8. TLS KeyUpdates in a flood: ended past the budget of 20 a minute"
# TLS answers each KeyUpdate by itself: 11,000 a second went uncounted for
# as long as a client liked (round-sixty-two tester 254). openssl's
# s_client sends one for each line "K" it reads (one read each: the
# pauses), before HELLO, which the server waits for 2 s. The K lines start
# once the handshake is done: lines that waited in the pipe meanwhile were
# read at once, as one KeyUpdate (a loaded machine's run failed so).
RP0=$(ctl_field server refused_protocol)
: >"$RVT_TMP/ku.out"
rvt_nsx "$A" timeout 10 bash -c "(for i in \$(seq 100); do grep -q 'Verify return code' '$RVT_TMP/ku.out' && break; sleep 0.05; done
	for i in \$(seq 40); do echo K; sleep 0.03; done; sleep 2) |
	openssl s_client -connect 10.88.2.1:$SRV_PORT -tls1_3 -cert '$PKI/client3.crt' \
		-key '$PKI/client3.key' -CAfile '$PKI/ca/ca.crt' >'$RVT_TMP/ku.out' 2>&1"
rvt_wait_for 5 "the KeyUpdate flood said" grep -aq "client client3 .*disconnected: client sent more than 20 TLS KeyUpdates in a minute" "$SLOG" ||
	rvt_fail "a flood of TLS KeyUpdates not ended: $(grep -a 'client3' "$SLOG" | tail -3; tail -5 "$RVT_TMP/ku.out")"
n=$(grep -ac "TLS KeyUpdates in a minute" "$SLOG")
[ "$n" = 1 ] || rvt_fail "the KeyUpdate flood's end said $n times"
# Counted as a refusal, as its TLS error was (counted nowhere: tester 256).
rp_more() { [ "$(ctl_field server refused_protocol)" = "$((RP0 + 1))" ]; }
rvt_wait_for 3 "refused_protocol counted" rp_more ||
	rvt_fail "the KeyUpdate flood counted as $(ctl_field server refused_protocol) refusals, was $RP0"

# hostile_server NAME INPUT TICKETS WHAT: openssl s_server plays the server
# with the server's certificate, reading INPUT's lines (K: a KeyUpdate) and
# sending TICKETS session tickets; a client in namespace a connects to it
# and must end it as "server sent more than 20 TLS WHAT in a minute", said
# at warn.
CTL_IDX=2 ctl_client_conf "$RVT_TMP/kuc.conf" "$PKI/client3" rvk "$RVT_TMP/kuc.sock" \
	"server=10.88.2.1:4555"
s_server_listening() { [ -n "$(ip netns exec "$S" ss -Hltn "sport = :4555")" ]; }
hostile_server() {
	local name=$1 input=$2 tickets=$3 what=$4 srv cli
	rvt_nsx "$S" bash -c "($input) | timeout 10 openssl s_server -accept 10.88.2.1:4555 \
		-tls1_3 -cert '$PKI/server.crt' -key '$PKI/server.key' -CAfile '$PKI/ca/ca.crt' \
		-Verify 1 -naccept 1 -num_tickets $tickets >'$RVT_TMP/$name.srv' 2>&1" &
	srv=$!
	# Listening before the client's one attempt (a full run on a busy
	# machine connected first, refused).
	rvt_wait_for 5 "openssl s_server listening" s_server_listening ||
		rvt_fail "openssl s_server did not listen: $(cat "$RVT_TMP/$name.srv")"
	rvt_bg "$A" "$name" "$RV_BIN" client -c "$RVT_TMP/kuc.conf" --max-attempts 1
	cli=$RVT_LAST_PID
	rvt_wait_for 12 "the client's end of the server's $what" grep -aq \
		"warn: disconnected from server .*: server sent more than 20 TLS $what in a minute" \
		"$RVT_TMP/$name.log" ||
		rvt_fail "the server's $what at the client: $(tail -3 "$RVT_TMP/$name.log"; tail -3 "$RVT_TMP/$name.srv")"
	rvt_stop_pid "$cli" >/dev/null || true
	rvt_forget_pid "$cli"
	wait "$srv" 2>/dev/null
}
# A server's flood of KeyUpdates: ended as well, said at warn (at info it
# went unseen: tester 256); with the two session tickets s_server sends by
# default at the start, still said as KeyUpdates, what overdrew the budget
# (tester 263).
hostile_server kuclient "sleep 1.5; for i in \$(seq 40); do echo K; sleep 0.03; done; sleep 3" \
	2 KeyUpdates
# A server's NewSessionTickets: ringvpn's server sends none, the client
# parsed every one a hostile server sent, without end (tester 256's nit).
hostile_server nstclient "sleep 6" 200 "session tickets"

rvt_step "client1 was never disturbed"
kill -INT "$PING"
wait "$PING"
tail -2 "$RVT_TMP/ping.log"
GOT=$(rvt_ping_stopped_ok "$RVT_TMP/ping.log") || rvt_fail "client1 lost packets ($GOT)"
ctl_status | head -1
[ "$(ctl_field "session name=client1" index)" = "$IDX1" ] || rvt_fail "client1's session was replaced"
[ "$(ctl_field server sessions)" = 1 ] || rvt_fail "sessions left behind"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
