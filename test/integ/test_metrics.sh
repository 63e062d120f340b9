#!/usr/bin/env bash
# test_metrics.sh — the Prometheus metrics endpoint (metrics_listen) and
# `ringvpn status --prometheus`, with seccomp on as in production:
#   1. a server and a client pass traffic; GET /metrics on each answers 200
#      with the text exposition, `promtool check metrics` accepts it and the
#      output of `ringvpn status --prometheus`; HEAD and 404 behave;
#   1b. 20 scrapes in a row within a second get one rendering, the same
#      bytes (one made a second: round-seventy tester 321);
#   2. malformed requests (raw sockets) get their 4xx/5xx status, every
#      slot held by idle connections gets 503 for one more, the idle ones
#      408 at their deadline, the loop keeps serving meanwhile, and the
#      endpoint counts what it refused;
#   3. a real Prometheus server (in the server's namespace, on loopback,
#      storage in the test's temp dir) scrapes the endpoint every second
#      and answers a query for the tunnel's byte counter with a value > 0;
#   4. with the server stopped (SIGSTOP) and bulk datagrams filling its
#      socket, pings sent meanwhile are all answered once it runs again:
#      they waited in the worker's socket for small datagrams;
#   5. with the server stopped, datagrams routed into its TUN and sent to
#      its data port overflow the TUN queue and the socket buffer: status
#      (kv, human) and the exposition count both kernel drops.
#
#   ns rvt-$$-c1 (client1, TUN rvc, metrics 0.0.0.0:9586)
#        --veth--  ns rvt-$$-s (server, TUN rvs0, metrics 127.0.0.1:9586,
#                               prometheus 127.0.0.1:9090)
#
# Usage: bash test_metrics.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
# Needs Debian's prometheus package (promtool, prometheus): install-deps.sh.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

for tool in promtool prometheus curl; do
	command -v "$tool" >/dev/null || { echo "$tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done
ctl_init 2
ctl_client_ns c1 1
C1=$(rvt_ns_name c1)
URL=http://127.0.0.1:9586/metrics

# scrape NS OUT: GET /metrics in NS, headers to OUT.hdr, body to OUT.
scrape() {
	ip netns exec "$1" curl -sS --max-time 5 -D "$2.hdr" -o "$2" "$URL"
}
# fresh_scrape NS OUT: scrape once the last rendering is over a second
# old: the exposition is made at most once a second, so one made after
# what the caller just did.
fresh_scrape() {
	sleep 1.1
	scrape "$@"
}

# metric FILE SERIES: the value of SERIES (exact name{labels}) in FILE.
metric() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "none" }' "$1"; }

rvt_step "server and client with metrics_listen, traffic through the tunnel"
# The floods below stop the server for the flood's time and two seconds more:
# under a loaded suite that passed the default 4 s dead-peer timeout, the
# client reconnected meanwhile and the pings queued for the old session
# were answered to keys it had dropped.
CTL_SERVER_KV=("metrics_listen=127.0.0.1:9586" "dead_peer_timeout=30")
ctl_start_server
# The client's on every address of its namespace: its start says so.
ctl_client_conf "$RVT_TMP/c1.conf" "$PKI/client1" rvc "$RVT_TMP/c1.sock" "metrics_listen=0.0.0.0"
rvt_bg "$C1" client1 "$RV_BIN" client -c "$RVT_TMP/c1.conf"
CLI_PID=$RVT_LAST_PID
rvt_wait_for 10 "a running session" ctl_sessions_eq 1 || rvt_fail "session did not come up"
rvt_nsx "$C1" ping -c 5 -i 0.2 -W 2 10.99.0.1 || rvt_fail "ping through the tunnel"
grep -q 'metrics: serving http://127.0.0.1:9586/metrics' "$RVT_TMP/server.log" ||
	rvt_fail "the server does not say where it serves metrics"
# A wildcard metrics_listen is said at the start, once; loopback is not
# (round-seventy tester 321).
[ "$(grep -c "metrics_listen 0.0.0.0:9586 is every address of this host: the endpoint has no authentication or TLS" "$RVT_TMP/client1.log")" = 1 ] ||
	rvt_fail "the client's start does not say its metrics_listen is every address: $(grep -a metrics "$RVT_TMP/client1.log")"
! grep -q "is every address of this host" "$RVT_TMP/server.log" || rvt_fail "the server's 127.0.0.1 said as every address"

rvt_step "GET /metrics: 200, text exposition, accepted by promtool"
scrape "$S" "$RVT_TMP/srv.prom" || rvt_fail "GET $URL on the server"
head -n 1 "$RVT_TMP/srv.prom.hdr" | rvt_matches '^HTTP/1.1 200 OK' || rvt_fail "status: $(head -n 1 "$RVT_TMP/srv.prom.hdr")"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$RVT_TMP/srv.prom.hdr" || rvt_fail "content type"
grep -qi '^Connection: close' "$RVT_TMP/srv.prom.hdr" || rvt_fail "Connection: close"
rvt_run promtool check metrics <"$RVT_TMP/srv.prom" || rvt_fail "promtool rejects the server's exposition"
RX=$(metric "$RVT_TMP/srv.prom" 'ringvpn_session_rx_bytes_total{peer="client1"}')
rvt_log "server: ringvpn_session_rx_bytes_total{peer=\"client1\"} $RX"
[ "$RX" != none ] && [ "$RX" -gt 0 ] || rvt_fail "no received bytes for client1"
[ "$(metric "$RVT_TMP/srv.prom" ringvpn_sessions)" = 1 ] || rvt_fail "ringvpn_sessions"
[ "$(metric "$RVT_TMP/srv.prom" 'ringvpn_handshakes_total{result="ok"}')" -ge 1 ] || rvt_fail "handshakes"
[ "$(metric "$RVT_TMP/srv.prom" 'ringvpn_handshake_duration_seconds_count')" -ge 1 ] ||
	rvt_fail "handshake histogram"
[ "$(metric "$RVT_TMP/srv.prom" 'ringvpn_certificate_time_to_expiry_seconds{certificate="own"}')" -gt 0 ] ||
	rvt_fail "certificate expiry gauge"
grep -q '^ringvpn_crl_time_to_next_update_seconds ' "$RVT_TMP/srv.prom" || rvt_fail "CRL gauge"
grep -q '^ringvpn_worker_drops_total{worker="0",reason="auth"} 0$' "$RVT_TMP/srv.prom" ||
	rvt_fail "per-worker drops by reason"

rvt_step "ringvpn status --prometheus (node_exporter textfile) is accepted too"
rvt_run "$RV_BIN" status --prometheus -s "$SRV_SOCK" >"$RVT_TMP/status.prom" || rvt_fail "status --prometheus"
rvt_run promtool check metrics <"$RVT_TMP/status.prom" || rvt_fail "promtool rejects status --prometheus"
grep -q '^ringvpn_session_rx_bytes_total{peer="client1"} [1-9]' "$RVT_TMP/status.prom" ||
	rvt_fail "status --prometheus lacks the session's byte counter"

rvt_step "a connection between its CONFIG and its first key is no session to export"
# A client (or any holder of its certificate) that has been given its
# address and the server's first KEY but has not answered it has no keys:
# its series read a session of 0 key exchanges (round-fourteen tester 69).
rvt_bg "$C1" unkeyed "$PROBE" session 10.88.1.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client2.crt" "$PKI/client2.key" then=unkeyed hold=15
UNKEYED_PID=$RVT_LAST_PID
rvt_wait_for 10 "client2 between CONFIG and KEY" grep -q '^unkeyed' "$RVT_TMP/unkeyed.log" ||
	rvt_fail "the probe did not reach the first KEY: $(cat "$RVT_TMP/unkeyed.log")"
# rvt_matches, not grep -q: under pipefail the status of a longer --kv
# line (the endpoint's requests by code) went on writing after grep had
# its line and quit, and the pipe failed (SIGPIPE) at random.
ctl_status | rvt_matches '^session name=client2 ' || rvt_fail "status does not list client2: $(ctl_status | grep '^session')"
scrape "$S" "$RVT_TMP/unkeyed.prom" || rvt_fail "GET $URL during client2's setup"
rvt_run promtool check metrics <"$RVT_TMP/unkeyed.prom" || rvt_fail "promtool rejects the exposition"
! grep -q 'peer="client2"' "$RVT_TMP/unkeyed.prom" ||
	rvt_fail "client2 exported before its first key: $(grep 'peer="client2"' "$RVT_TMP/unkeyed.prom")"
grep -q '^ringvpn_session_rx_bytes_total{peer="client1"} [1-9]' "$RVT_TMP/unkeyed.prom" ||
	rvt_fail "client1's session is not exported beside it"
# The handshake's deadline (handshake_timeout, 5 s) ends it.
rvt_wait_for 15 "client2 closed for its missing KEY_ACK" grep -q '^closed' "$RVT_TMP/unkeyed.log" ||
	rvt_fail "an unanswered first KEY was not closed: $(cat "$RVT_TMP/unkeyed.log")"
grep -q 'KEY_ACK for the first key' "$RVT_TMP/unkeyed.log" ||
	rvt_fail "the close does not say why: $(cat "$RVT_TMP/unkeyed.log")"
wait "$UNKEYED_PID" 2>/dev/null
rvt_forget_pid "$UNKEYED_PID"
no_client2() { ! ctl_status | rvt_matches '^session name=client2 '; }
rvt_wait_for 5 "client2 gone" no_client2 || rvt_fail "client2's connection is still listed: $(ctl_status | grep '^session')"

rvt_step "the client's endpoint"
scrape "$C1" "$RVT_TMP/cli.prom" || rvt_fail "GET $URL on the client"
rvt_run promtool check metrics <"$RVT_TMP/cli.prom" || rvt_fail "promtool rejects the client's exposition"
grep -q '^ringvpn_up{role="client"} 1$' "$RVT_TMP/cli.prom" || rvt_fail "client ringvpn_up"
[ "$(metric "$RVT_TMP/cli.prom" 'ringvpn_session_tx_bytes_total{peer="vpn.test"}')" -gt 0 ] ||
	rvt_fail "client: no bytes sent to the server"

rvt_step "HEAD and an unknown path"
ip netns exec "$S" curl -sS --max-time 5 -I "$URL" >"$RVT_TMP/head.hdr" || rvt_fail "HEAD"
grep -q '^HTTP/1.1 200' "$RVT_TMP/head.hdr" && grep -qi '^Content-Length: [1-9]' "$RVT_TMP/head.hdr" ||
	rvt_fail "HEAD: $(cat "$RVT_TMP/head.hdr")"
CODE=$(ip netns exec "$S" curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:9586/)
[ "$CODE" = 404 ] || rvt_fail "GET / answered $CODE, want 404"

rvt_step "20 scrapes in a row within a second: one rendering, shared"
# Every scrape was rendered afresh on the control thread: 16 scrapers in a
# loop at 5,000 sessions held it at 81 % (round-seventy tester 321). A
# rendering now serves the requests of the second after it, the same bytes
# to each. The count of renderings is read before and after (status --kv,
# itself a rendering: the second reading counts the first).
R0=$(ctl_field server renders)
rvt_nsx "$S" python3 "$RV_SRC/test/integ/scrape.py" same 127.0.0.1 9586 20 "$RVT_TMP/tries" ||
	rvt_fail "20 scrapes within a second were not one rendering"
R1=$(ctl_field server renders)
TRIES=$(cat "$RVT_TMP/tries")
rvt_log "renderings: $R0 before, $R1 after (the first reading's own among them), $TRIES round(s) of 20"
# One a round (each after a second's pause), one more at most.
[ -n "$R0" ] && [ $((R1 - R0 - 1)) -ge 1 ] && [ $((R1 - R0 - 1)) -le $((TRIES + 1)) ] ||
	rvt_fail "$TRIES round(s) of 20 scrapes made $((R1 - R0 - 1)) renderings"

rvt_step "malformed requests get their status; the endpoint keeps serving"
cat >"$RVT_TMP/bad.py" <<'EOF'
import socket, sys, time

ADDR = ("127.0.0.1", 9586)

def ask(raw, timeout=5, half_close=False):
    s = socket.create_connection(ADDR, timeout=timeout)
    if raw:
        s.sendall(raw)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        data += b
    s.close()
    return data

def status(data):
    line = data.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[0] == b"HTTP/1.1" else line

# (request, status wanted, close our side after sending)
cases = [
    (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
    (b"GET /" + b"a" * 1000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(80)) + b"\r\n", 431),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nBig: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET /metrics HTTP/1.1\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(64)), 400),
    (b"GET /metrics\r\n\r\n", 400),
]
bad = 0
for c in cases + [(b"GET /metrics HTTP/1.1\r\nHost: x\r\n", 400, True)]:  # no empty line
    raw, want = c[0], c[1]
    got = status(ask(raw, half_close=len(c) > 2))
    print("%-50r -> %s (want %d)" % (raw[:50], got, want))
    bad += got != want
ok = status(ask(b"GET /metrics HTTP/1.0\r\n\r\n"))
print("a good request afterwards -> %s" % ok)
bad += ok != 200

# An idle connection alone gets 408 at its deadline (5 s).
def drain(s):
    data = b""
    while True:
        try:
            b = s.recv(65536)
        except OSError:
            break
        if not b:
            break
        data += b
    s.close()
    return data

GET = b"GET /metrics HTTP/1.0\r\n\r\n"
t = time.time()
lone = status(drain(socket.create_connection(ADDR, timeout=10)))
print("an idle connection alone -> %s after %.1f s (want 408)" % (lone, time.time() - t))
bad += lone != 408

# Hold every slot with idle connections, then send requests: they wait in
# the waiting room (8), one more finds it full of callers with a request and
# gets 503 at once; the idle ones are closed once they have been silent for
# a second, and every waiting request is answered 200.
slots = int(sys.argv[1])
idle = [socket.create_connection(ADDR, timeout=10) for _ in range(slots)]
time.sleep(0.2)
waiters = []
for _ in range(8):
    w = socket.create_connection(ADDR, timeout=10)
    w.sendall(GET)
    waiters.append(w)
time.sleep(0.2)
extra = status(ask(GET, timeout=3))
print("a request while %d are idle and 8 wait -> %s (want 503)" % (slots, extra))
bad += extra != 503
with open(sys.argv[2], "w") as f:
    f.write("held\n")  # the shell checks the loop meanwhile
t = time.time()
got = [status(drain(w)) for w in waiters]
print("the 8 waiting requests -> %s after %.1f s (want 200 each)" % (got, time.time() - t))
bad += sum(g != 200 for g in got)
gone = [drain(s) for s in idle]
# Closed for a waiter, or, on a machine slow enough that its 5 s ran out
# first, at its deadline with 408 (the suite beside four other test runs
# saw 7 of 8 closed and one 408).
closed = [g == b"" or status(g) == 408 for g in gone]
print("idle connections closed for them: %d of %d (%d at their deadline)" %
      (sum(closed), slots, sum(g != b"" for g in gone)))
bad += slots - sum(closed)
ok = status(ask(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
print("a good request afterwards -> %s" % ok)
bad += ok != 200
sys.exit(1 if bad else 0)
EOF
rvt_bg "$S" bad python3 "$RVT_TMP/bad.py" 8 "$RVT_TMP/held"
BAD=$RVT_LAST_PID
rvt_wait_for 15 "idle connections holding every slot" test -s "$RVT_TMP/held" || rvt_fail "bad.py"
# The loop is not held up by the idle connections.
rvt_run timeout 2 "$RV_BIN" status -s "$SRV_SOCK" >/dev/null || rvt_fail "status while the slots are held"
rvt_nsx "$C1" ping -c 2 -i 0.2 -W 2 10.99.0.1 >/dev/null || rvt_fail "ping while the slots are held"
wait "$BAD"
rc=$?
cat "$RVT_TMP/bad.log" >&2
[ "$rc" = 0 ] || rvt_fail "malformed requests: wrong answers (see above)"
fresh_scrape "$S" "$RVT_TMP/after.prom" || rvt_fail "GET after the malformed requests"

for code_min in 400:6 405:1 408:1 414:1 431:2 503:1 505:1; do
	n=$(metric "$RVT_TMP/after.prom" "ringvpn_metrics_requests_total{code=\"${code_min%%:*}\"}")
	[ "$n" != none ] && [ "$n" -ge "${code_min##*:}" ] ||
		rvt_fail "ringvpn_metrics_requests_total{code=\"${code_min%%:*}\"} is $n, want >= ${code_min##*:}"
done
grep -q 'metrics: request from 127.0.0.1:[0-9]* refused: 405 Method Not Allowed' "$RVT_TMP/server.log" ||
	rvt_fail "refused requests are not logged"

rvt_step "a local process holding connections open cannot keep the scrapes out"
# 40 silent connections from 127.0.0.1, each reopened as soon as it is
# closed: they took every slot and filled the backlog, and not one scrape
# got through (each timed out). A caller that finds every slot taken waits
# now, silent slots are closed for it after a second, and a waiting caller
# that has sent its request goes first: a scraper from the same address is
# answered every time, also when the connections send a byte at a time.
cat >"$RVT_TMP/hog.py" <<'EOF'
import select, socket, sys, threading, time

ADDR = ("127.0.0.1", 9586)
MODE = sys.argv[1] if len(sys.argv) > 1 else "silent"
TRICKLE = MODE == "trickle"
# blank: each sends a blank line alone, no request; answered: each sends a
# whole request and never reads nor closes (its slot lingers after the
# answer). Both kept every scrape out with 16 connections (a round-two
# tester).
FIRST = {"blank": b"\r\n\r\n", "answered": b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"}.get(MODE)
SCRAPES = 5 if MODE == "silent" else 10
# 16 answered callers: 8 slots and 8 places; more with whole requests is a
# flood of requests, which can keep a scrape out (README, Limitations).
HOLD = 16 if MODE == "answered" else 40
stop = False

def hold():
    socks = []
    seen = {}
    sent = 0.0
    while not stop:
        if TRICKLE and time.time() - sent >= 0.3:
            # One byte of a request at a time, never a whole one.
            sent = time.time()
            for s in socks:
                try:
                    s.send(b"G")
                except OSError:
                    pass
        while len(socks) < HOLD:
            s = socket.socket()
            if FIRST:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
                s.settimeout(0.5)
                try:
                    s.connect(ADDR)
                    s.send(FIRST)
                except OSError:
                    pass
            s.setblocking(False)
            if not FIRST:
                try:
                    s.connect(ADDR)
                except BlockingIOError:
                    pass
            socks.append(s)
        r, _, _ = select.select(socks, [], [], 0.1)
        if MODE == "answered":
            # Never read: the slot lingers after the answer; reopened a
            # second after the answer came.
            now = time.time()
            for s in r:
                seen.setdefault(s, now)
            r = [s for s, t0 in list(seen.items()) if now - t0 > 1.0]
            for s in r:
                del seen[s]
                socks.remove(s)
                s.close()
            continue
        for s in r:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                socks.remove(s)
                s.close()
    for s in socks:
        s.close()

t = threading.Thread(target=hold)
t.start()
time.sleep(1.5)
ok = 0
for i in range(SCRAPES):
    t0 = time.time()
    try:
        p = socket.create_connection(ADDR, timeout=4)
        p.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        out = b""
        while True:
            b = p.recv(65536)
            if not b:
                break
            out += b
        line = out.split(b"\r\n", 1)[0].decode()
    except OSError as e:
        line = "error: %s" % e
    print("scrape %d: %s in %.2f s" % (i + 1, line, time.time() - t0), flush=True)
    ok += " 200 " in line
    time.sleep(1 if MODE == "silent" else 0.5)
stop = True
t.join()
sys.exit(0 if ok == SCRAPES else 1)
EOF
rvt_nsx "$S" timeout 60 python3 "$RVT_TMP/hog.py" || rvt_fail "scrapes from another address were kept out"
# The same connections each sending one byte every 0.3 s and never a whole
# request: the waiting room took them for callers with requests and turned
# the scraper away instead (10-60 % of scrapes answered 503; a hostile
# tester).
rvt_nsx "$S" timeout 60 python3 "$RVT_TMP/hog.py" trickle || rvt_fail "scrapes kept out by byte-tricklers"
rvt_nsx "$S" timeout 60 python3 "$RVT_TMP/hog.py" blank || rvt_fail "scrapes kept out by blank lines"
rvt_nsx "$S" timeout 60 python3 "$RVT_TMP/hog.py" answered || rvt_fail "scrapes kept out by answered callers that hold"

rvt_step "a real Prometheus server scrapes the endpoint"
mkdir -p "$RVT_TMP/prom-data"
cat >"$RVT_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ringvpn
    static_configs:
      - targets: ["127.0.0.1:9586"]
EOF
rvt_run promtool check config "$RVT_TMP/prometheus.yml" >/dev/null || rvt_fail "promtool check config"
rvt_bg "$S" prometheus prometheus --config.file="$RVT_TMP/prometheus.yml" \
	--storage.tsdb.path="$RVT_TMP/prom-data" --web.listen-address=127.0.0.1:9090
PROM=$RVT_LAST_PID
rvt_wait_for 20 "prometheus ready" ip netns exec "$S" curl -sf http://127.0.0.1:9090/-/ready ||
	rvt_fail "prometheus did not start"
rvt_log "prometheus is ready"
# prom_query EXPR: the value of the first series Prometheus has for EXPR
# (an instant query through its HTTP API), or nothing.
prom_query() {
	ip netns exec "$S" curl -sfG --max-time 2 --data-urlencode "query=$1" \
		http://127.0.0.1:9090/api/v1/query |
		grep -o '"value":\[[0-9.]*,"[^"]*"\]' | head -n 1 | sed 's/.*,"\(.*\)"\]/\1/'
}
# prom_above EXPR N: Prometheus has a value > N for EXPR.
prom_above() { awk -v v="$(prom_query "$1")" -v n="$2" 'BEGIN { exit !(v != "" && v + 0 > n) }'; }
Q='ringvpn_session_rx_bytes_total{job="ringvpn",peer="client1"}'
rvt_wait_for 30 "prometheus answers $Q > 0" prom_above "$Q" 0 ||
	rvt_fail "prometheus has no $Q > 0"
V1=$(prom_query "$Q")
rvt_log "prometheus: $Q = $V1"
# It follows the live tunnel: more traffic, a higher value at a later scrape.
rvt_nsx "$C1" ping -c 3 -i 0.2 -W 2 10.99.0.1 >/dev/null || rvt_fail "ping"
rvt_wait_for 10 "prometheus answers $Q > $V1" prom_above "$Q" "$V1" ||
	rvt_fail "prometheus does not see the counter grow"
rvt_log "prometheus: $Q = $(prom_query "$Q") after more traffic"
UP=$(prom_query 'up{job="ringvpn"}')
[ "$UP" = 1 ] || rvt_fail "prometheus reports up=$UP for the target"
rvt_log "prometheus answered; stopping it"
rvt_stop_pid "$PROM" 10 || rvt_log "prometheus exited with $? (stopped by SIGTERM)"

# flood_data_port: 30000 bulk-size datagrams to the server's data port (from
# client1's namespace), more than its socket buffer holds while nobody reads
# it. Their receiver indices run through 0..255, so that every worker's
# socket fills whatever index a session's lane has.
flood_data_port() {
	ip netns exec "$C1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
for i in range(30000):
    try:
        s.sendto(b"\x05yyy" + bytes([0, 0, 0, i & 255]) + b"y" * 1392, (sys.argv[1], int(sys.argv[2])))
    except BlockingIOError:
        pass' 10.88.1.1 "$DATA_PORT"
}
kv_total() { ctl_field "workers total" "${1:-udp_sock_drops}"; }

rvt_step "a ping does not wait behind a full socket of bulk (server stopped, then flooded)"
# Datagrams of at most 288 bytes (256 inner bytes: pings, ACKs) have a
# socket of their own in each worker. While the server is stopped, bulk
# datagrams fill its socket and the kernel drops the rest; pings sent
# meanwhile must all be answered once it runs again: they waited in the
# small socket, not at the end of the full one (where they were dropped
# before the small sockets, or would wait for all the bulk to be read).
small0=$(kv_total udp_small_recvs)
udp0=$(kv_total)
[ -n "$small0" ] && [ -n "$udp0" ] || rvt_fail "status lacks udp_small_recvs or udp_sock_drops"
kill -STOP "$SRV_PID"
flood_data_port || rvt_fail "UDP to the server's data port"
rvt_bg "$C1" ping-small ping -n -c 5 -i 0.2 -W 10 10.99.0.1
PING_PID=$RVT_LAST_PID
sleep 2 # all five are sent while the server is stopped
kill -CONT "$SRV_PID"
wait "$PING_PID"
rvt_forget_pid "$PING_PID"
small1=$(kv_total udp_small_recvs)
udp1=$(kv_total)
rvt_log "UDP socket drops $udp0 -> $udp1, small-socket receives $small0 -> $small1; $(grep -a received "$RVT_TMP/ping-small.log")"
[ "$udp1" -gt "$udp0" ] || rvt_fail "the flood did not fill the server's socket (no drops)"
grep -aq " 5 received" "$RVT_TMP/ping-small.log" || rvt_fail "pings lost behind the full socket: $(cat "$RVT_TMP/ping-small.log")"
[ $((small1 - small0)) -ge 5 ] || rvt_fail "the pings did not come through the small socket"

rvt_step "the kernel's drops in front of the workers are counted (server stopped, then flooded)"
# While the server is stopped (SIGSTOP), nothing reads its TUN queues or
# UDP sockets: datagrams routed into its TUN overflow the TUN's queue, and
# datagrams sent to its data port overflow its socket buffer (8 MiB). The
# kernel counts both; status must show them, read over rtnetlink and
# SO_MEMINFO by a process that dropped its privileges and runs under seccomp.
tun0=$(ctl_field "server " tun_drops)
udp0=$(kv_total)
[ -n "$tun0" ] && [ -n "$udp0" ] || rvt_fail "status lacks tun_drops or udp_sock_drops: $(ctl_status | head -1)"
V4=$(ctl_field "session name=client1" v4)
kill -STOP "$SRV_PID"
ip netns exec "$S" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3000):
    s.sendto(b"x" * 200, (sys.argv[1], 9))' "$V4" || rvt_fail "UDP into the server's TUN"
flood_data_port || rvt_fail "UDP to the server's data port"
kill -CONT "$SRV_PID"
rvt_wait_for 10 "status after SIGCONT" ctl_sessions_eq 1 || rvt_fail "the session did not survive the stop"
tun1=$(ctl_field "server " tun_drops)
udp1=$(kv_total)
rvt_log "TUN drops $tun0 -> $tun1, UDP socket drops $udp0 -> $udp1"
[ "$tun1" -gt "$tun0" ] || rvt_fail "the TUN queue's drops were not counted"
[ "$udp1" -gt "$udp0" ] || rvt_fail "the UDP socket's drops were not counted"
fresh_scrape "$S" "$RVT_TMP/srv2.prom" || rvt_fail "GET $URL after the flood"
rvt_run promtool check metrics <"$RVT_TMP/srv2.prom" || rvt_fail "promtool rejects the exposition"
[ "$(metric "$RVT_TMP/srv2.prom" ringvpn_tun_drops_total)" -ge "$tun1" ] ||
	rvt_fail "ringvpn_tun_drops_total: $(metric "$RVT_TMP/srv2.prom" ringvpn_tun_drops_total)"
sum=$(awk '/^ringvpn_worker_udp_socket_drops_total\{/ { s += $2 } END { print s + 0 }' "$RVT_TMP/srv2.prom")
[ "$sum" -ge "$udp1" ] || rvt_fail "ringvpn_worker_udp_socket_drops_total sums to $sum"
"$RV_BIN" status -s "$SRV_SOCK" | grep -a "dropped by the kernel" >&2 || rvt_fail "the human status lacks the kernel's drops"
rvt_nsx "$C1" ping -c 3 -i 0.2 -W 2 10.99.0.1 || rvt_fail "ping through the tunnel after the flood"

rvt_step "sessions the clients end are counted by how; the JSON has every counter"
# Neither was counted anywhere, nor were `accepted` and the endpoint's
# requests in the JSON (round-twenty-five tester 113).
left() { "$RV_BIN" status --json -s "$SRV_SOCK" | python3 -c 'import json, sys; e = json.load(sys.stdin)["events"]; print(e["left_goodbye"], e["left_error"], e["left_closed"])'; }
L0=$(left) || rvt_fail "status --json: no left_* counters"
read -r G0 E0 X0 <<<"$L0"
rvt_nsx "$C1" "$PROBE" session 10.88.1.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client2.crt" "$PKI/client2.key" then=goodbye hold=0 >"$RVT_TMP/bye.log" 2>&1 ||
	rvt_fail "a session ended with GOODBYE: $(cat "$RVT_TMP/bye.log")"
rvt_bg "$C1" dropped "$PROBE" session 10.88.1.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client2.crt" "$PKI/client2.key" then=wait hold=30
DROPPED=$RVT_LAST_PID
rvt_wait_for 10 "the second probe running" grep -q '^running' "$RVT_TMP/dropped.log" ||
	rvt_fail "the probe did not run: $(cat "$RVT_TMP/dropped.log")"
kill -KILL "$DROPPED"
wait "$DROPPED" 2>/dev/null
rvt_forget_pid "$DROPPED"
rvt_wait_for 5 "client2's session gone" no_client2 || rvt_fail "client2's session is still listed"
read -r G1 E1 X1 <<<"$(left)"
rvt_log "left: goodbye $G0 -> $G1, error $E0 -> $E1, closed $X0 -> $X1"
[ $((G1 - G0)) = 1 ] && [ $((X1 - X0)) = 1 ] && [ "$E1" = "$E0" ] ||
	rvt_fail "left_goodbye $G0 -> $G1, left_closed $X0 -> $X1, left_error $E0 -> $E1: want +1, +1, +0"
fresh_scrape "$S" "$RVT_TMP/left.prom" || rvt_fail "GET $URL"
[ "$(metric "$RVT_TMP/left.prom" 'ringvpn_sessions_left_total{reason="goodbye"}')" = "$G1" ] ||
	rvt_fail "ringvpn_sessions_left_total{reason=\"goodbye\"} is not $G1"
"$RV_BIN" status --json -s "$SRV_SOCK" | python3 -c '
import json, sys
j = json.load(sys.stdin)
sys.exit(not (j["accepted"] >= 3 and j["metrics_requests"]["200"] >= 1 and "404" in j["metrics_requests"]))' ||
	rvt_fail "status --json: no accepted or metrics_requests"
ctl_status | grep -a "^server " | rvt_matches " left_goodbye=$G1 left_error=$E1 left_closed=$X1" ||
	rvt_fail "status --kv: left_* not as in the JSON"
ctl_status | grep -a "^server " | rvt_matches " handshakes_ok=[1-9]" ||
	rvt_fail "status --kv: no handshakes_ok (the text, the JSON and the metrics had it: tester 118)"

rvt_step "the server and the client stop cleanly (no seccomp kill)"
rvt_stop_pid "$CLI_PID" 10 || rvt_fail "client exit status $?"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit status $?"
if grep -a 'seccomp' "$RVT_TMP/server.log" "$RVT_TMP/client1.log"; then
	rvt_fail "seccomp killed a process"
fi
