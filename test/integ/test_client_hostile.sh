#!/usr/bin/env bash
# test_client_hostile.sh — a client against a server that authenticates
# (a valid certificate of the deployment's CA) and then assigns what no
# client should take, or stalls the set-up (fake_ctl_server.py; found by a
# hostile tester). The client's host has a LAN (192.168.77.0/24 on a
# veth) and a default route towards the server.
#   1. 100.64.0.2/1 and 2001:db8::2/1 with accept_routes = no: the addresses
#      are set alone (/32, /128): no half of IPv4 or IPv6 goes into the
#      tunnel (the kernel routed an address's whole network through it).
#   2. 10.99.0.2/24 on a host with a 10.0.0.0/8 LAN: taken as it comes (the
#      longer route; an ordinary deployment).
#   3. The server's own address: refused ("not taken", the session ends),
#      never put on the TUN, and the next connection still reaches the
#      server (the address on the TUN kept every later attempt on the host).
#   4. A multicast address: refused.
#   5. A server that says HELLO and then only keepalives: the client gives
#      up after handshake_timeout and is running on the second server of
#      its list (it waited in wait-config for ever).
#
# Usage: bash test_client_hostile.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

ctl_init 1
ctl_client_ns c1 1
C1=$(rvt_ns_name c1)
# (no dummy driver on every kernel: one end of a veth pair)
ip -n "$C1" link add lan0 type veth peer name lan0p && ip -n "$C1" link set lan0p up &&
	ip -n "$C1" addr add 192.168.77.5/24 dev lan0 && ip -n "$C1" link set lan0 up &&
	ip -n "$C1" route add default via 10.88.1.1 ||
	rvt_fail "the client's LAN"
CSOCK=$RVT_TMP/c.sock
FAKE_PID=
FAKE2_PID=

# fake PORT SCENARIO LOG [VAR=VALUE...]: a fake server in the server's namespace.
fake() {
	local port=$1 scen=$2 log=$3
	shift 3
	rvt_bg "$S" "fake-$port" env "$@" python3 -u "$RV_SRC/test/integ/fake_ctl_server.py" "$PKI" \
		10.88.1.1 "$port" "$scen"
	rvt_wait_for 10 "fake server on $port" grep -q listening "$log" || rvt_fail "fake server"
}
# client LOGNAME [KEY=VALUE...]: client1 against the fake on 4433.
client() {
	local name=$1
	shift
	ctl_client_conf "$RVT_TMP/$name.conf" "$PKI/client1" rvc "$CSOCK" handshake_timeout=2 "$@"
	rvt_bg "$C1" "$name" "$RV_BIN" client -c "$RVT_TMP/$name.conf"
	CPID=$RVT_LAST_PID
}
running() { "$RV_BIN" status --kv -s "$CSOCK" 2>/dev/null | rvt_matches 'state=running'; }
stop_all() {
	rvt_stop_pid "$CPID" 10 || rvt_fail "client exit"
	rvt_stop_pid "$FAKE_PID" 5
	[ -z "$FAKE2_PID" ] || rvt_stop_pid "$FAKE2_PID" 5
	FAKE2_PID=
}

rvt_step "1. an address with a /1 network, accept_routes = no"
fake 4433 up "$RVT_TMP/fake-4433.log" FAKE_ADDR4=100.64.0.2 FAKE_P4=1 FAKE_ADDR6=2001:db8::2 FAKE_P6=1
FAKE_PID=$RVT_LAST_PID
client wide accept_routes=no
rvt_wait_for 10 "running" running || rvt_fail "not running: $(tail -3 "$RVT_TMP/wide.log")"
sleep 2 # the TUN watch looks at what the kernel made of it
ip -n "$C1" addr show dev rvc | rvt_matches 'inet 100\.64\.0\.2/32 ' ||
	rvt_fail "100.64.0.2 not alone: $(ip -n "$C1" -br addr show dev rvc)"
ip -n "$C1" addr show dev rvc | rvt_matches 'inet6 2001:db8::2/128 ' ||
	rvt_fail "2001:db8::2 not alone: $(ip -n "$C1" -br addr show dev rvc)"
ip -n "$C1" route get 1.1.1.1 | rvt_matches 'dev rvc' && rvt_fail "half of IPv4 goes into the tunnel"
ip -n "$C1" -6 route show dev rvc | rvt_matches '^::/1' && rvt_fail "::/1 through the tunnel"
grep -q "server assigned 100.64.0.2/1: a network wider than /8 is no pool: the address is set alone" \
	"$RVT_TMP/wide.log" || rvt_fail "not said: $(grep -a warn "$RVT_TMP/wide.log" | tail -3)"
grep -a "put back" "$RVT_TMP/wide.log" && rvt_fail "a repair of nothing said"
stop_all

rvt_step "2. a pool inside a wider network of the host's (a 10.0.0.0/8 LAN) keeps its route"
# An ordinary deployment (a hostile tester, on the first version of these
# checks: it was set alone and nothing of the pool was reachable).
rvt_nsx "$C1" ip addr add 10.1.2.5/8 dev lan0 || rvt_fail "the /8 LAN"
fake 4433 up "$RVT_TMP/fake-4433.log" FAKE_ADDR4=10.99.0.2 FAKE_P4=24 FAKE_ADDR6=
FAKE_PID=$RVT_LAST_PID
client lan
rvt_wait_for 10 "running" running || rvt_fail "not running: $(tail -3 "$RVT_TMP/lan.log")"
ip -n "$C1" addr show dev rvc | rvt_matches 'inet 10\.99\.0\.2/24 ' ||
	rvt_fail "narrowed: $(ip -n "$C1" -br addr show dev rvc)"
ip -n "$C1" route get 10.99.0.1 | rvt_matches 'dev rvc' ||
	rvt_fail "the pool is not through the tunnel: $(ip -n "$C1" route get 10.99.0.1)"
rvt_nsx "$C1" ip addr del 10.1.2.5/8 dev lan0
stop_all

rvt_step "3. the server's own address"
fake 4433 up "$RVT_TMP/fake-4433.log" FAKE_ADDR4=10.88.1.1 FAKE_P4=32 FAKE_ADDR6=
FAKE_PID=$RVT_LAST_PID
client own
rvt_wait_for 10 "two connections" sh -c "[ \$(grep -c 'connection: HELLO' '$RVT_TMP/fake-4433.log') -ge 2 ]" ||
	rvt_fail "locked out after the first: $(grep -a 'warn' "$RVT_TMP/own.log" | tail -3)"
grep -q "server assigned 10.88.1.1/32: the address this client reaches the server at: not taken" \
	"$RVT_TMP/own.log" || rvt_fail "not said: $(grep -a warn "$RVT_TMP/own.log" | tail -3)"
grep -q "CONFIG refused: it assigns an address this host cannot take" "$RVT_TMP/own.log" ||
	rvt_fail "the disconnection does not say why"
ip -n "$C1" addr show dev rvc | rvt_matches '10\.88\.1\.1' && rvt_fail "the server's address on the TUN"
running && rvt_fail "running with that address"
stop_all

rvt_step "4. a multicast address"
fake 4433 up "$RVT_TMP/fake-4433.log" FAKE_ADDR4=224.0.0.5 FAKE_P4=24 FAKE_ADDR6=
FAKE_PID=$RVT_LAST_PID
client mcast
rvt_wait_for 10 "refused" grep -q "server assigned 224.0.0.5/24: a multicast address: not taken" \
	"$RVT_TMP/mcast.log" || rvt_fail "not refused: $(grep -a warn "$RVT_TMP/mcast.log" | tail -3)"
ip -n "$C1" addr show dev rvc | rvt_matches '224\.0\.0\.5' && rvt_fail "a multicast address on the TUN"
stop_all

rvt_step "5. a server that stalls the set-up; the second of the list"
fake 4433 hello_only "$RVT_TMP/fake-4433.log"
FAKE_PID=$RVT_LAST_PID
fake 4533 up "$RVT_TMP/fake-4533.log" FAKE_ADDR4=10.99.0.2 FAKE_P4=24
FAKE2_PID=$RVT_LAST_PID
ctl_client_conf "$RVT_TMP/stall.conf" "$PKI/client1" rvc "$CSOCK" handshake_timeout=2
echo "server = 10.88.1.1:4533" >>"$RVT_TMP/stall.conf"
rvt_bg "$C1" stall2 "$RV_BIN" client -c "$RVT_TMP/stall.conf"
CPID=$RVT_LAST_PID
rvt_wait_for 10 "running on the second server" sh -c "\"$RV_BIN\" status --kv -s '$CSOCK' | grep -q 'server=10.88.1.1 server_addr=10.88.1.1:4533 state=running'" ||
	rvt_fail "still on the first: $("$RV_BIN" status --kv -s "$CSOCK" | head -1)"
grep -q "no CONFIG from the server within 2000 ms" "$RVT_TMP/stall2.log" ||
	rvt_fail "not said: $(grep -a 'disconnected' "$RVT_TMP/stall2.log" | tail -2)"
stop_all

rvt_step "6. routes into spaces no tunnel leads to are not installed; ordinary ones are"
# Loopback, 0/8, link-local (a cloud's metadata at 169.254.169.254),
# multicast (mDNS), reserved, IPv4-mapped: all were installed on the TUN
# and became sources the server may send as (round-twenty-eight tester
# 139). A wide network that holds such a space (192.0.0.0/2) and a LAN
# stay routes.
fake 4433 up "$RVT_TMP/fake-4433.log" FAKE_ADDR4=10.99.0.2 FAKE_P4=24 FAKE_ADDR6=fd99::2 \
	FAKE_ROUTES=127.0.0.0/8,0.0.0.0/8,169.254.0.0/16,224.0.0.0/4,240.0.0.0/4,fe80::/10,::ffff:0.0.0.0/96,ff02::/16,::/96,169.254.0.0/15,10.70.0.0/24,192.0.0.0/2
FAKE_PID=$RVT_LAST_PID
client routes
rvt_wait_for 10 "running" running || rvt_fail "not running: $(tail -3 "$RVT_TMP/routes.log")"
rvt_wait_for 5 "the ordinary routes" sh -c "ip -n '$C1' route show dev rvc | grep -q '^10\.70\.0\.0/24'" ||
	rvt_fail "the ordinary route not installed: $(ip -n "$C1" route show dev rvc)"
ip -n "$C1" route show dev rvc | rvt_matches "^192\.0\.0\.0/2 " || rvt_fail "192.0.0.0/2 (which holds 224.0.0.0/4) not installed: $(grep -a "pushed by" "$RVT_TMP/routes.log")"
# (169.254.0.0/15, narrower than /8 and holding link-local space, too:
# tester 140.)
for r in 127.0.0.0/8 0.0.0.0/8 169.254.0.0/16 224.0.0.0/4 240.0.0.0/4 169.254.0.0/15; do
	ip -n "$C1" route show table all dev rvc | rvt_matches "^(local |broadcast )?${r//./\\.}" &&
		rvt_fail "route $r installed"
	grep -q "route $r pushed by the server: not installed (" "$RVT_TMP/routes.log" ||
		rvt_fail "route $r not said: $(grep -a 'pushed by' "$RVT_TMP/routes.log" | tail -3)"
done
ip -n "$C1" -6 route show dev rvc | rvt_matches '^(fe80::/10|::ffff:0\.0\.0\.0/96|ff02::/16|::/96)' &&
	rvt_fail "an IPv6 special route installed: $(ip -n "$C1" -6 route show dev rvc)"
ip -n "$C1" route get 169.254.169.254 | rvt_matches 'dev rvc' && rvt_fail "the metadata address goes into the tunnel"
stop_all

rvt_step "7. a server that sends CONFIG updates back to back is said within a limit"
# 200 updates 10 ms apart, alternating: each wrote its lines (about three)
# without a limit (round-twenty-eight tester 139): 201 lines of the update,
# 100 of routes not installed, 100 of stale routes removed. The last one
# is applied.
fake 4433 reconfig "$RVT_TMP/fake-4433.log" FAKE_ADDR4=10.99.0.2 FAKE_P4=24 FAKE_ADDR6=
FAKE_PID=$RVT_LAST_PID
client reconfig
rvt_wait_for 20 "the updates sent" grep -q "connection: reconfigured" "$RVT_TMP/fake-4433.log" ||
	rvt_fail "the fake server did not finish: $(tail -3 "$RVT_TMP/fake-4433.log")"
rvt_wait_for 5 "the last update applied" sh -c \
	"ip -n '$C1' link show rvc | grep -q 'mtu 1350' && ip -n '$C1' route show dev rvc | grep -q '^10\.73\.0\.0/24'" ||
	rvt_fail "the last CONFIG not applied: $(ip -n "$C1" link show rvc) $(ip -n "$C1" route show dev rvc)"
ip -n "$C1" route show dev rvc | rvt_matches '^10\.7[12]\.0\.0/24' &&
	rvt_fail "an earlier update's route stayed: $(ip -n "$C1" route show dev rvc)"
running || rvt_fail "the client is not running"
n=$(grep -ac "server updated the configuration" "$RVT_TMP/reconfig.log")
[ "$n" -le 30 ] || rvt_fail "$n lines for 201 updates"
grep -aq "more lines like the next were suppressed\|lines like .* were suppressed" "$RVT_TMP/reconfig.log" ||
	rvt_fail "the updates held back not counted: $(tail -3 "$RVT_TMP/reconfig.log")"
lines=$(wc -l <"$RVT_TMP/reconfig.log")
[ "$lines" -le 120 ] || rvt_fail "$lines log lines for 201 updates: $(sort "$RVT_TMP/reconfig.log" | cut -c1-60 | uniq -c | sort -rn | head -5)"
rvt_log "$n update lines, $lines log lines in all, for 201 updates"
stop_all

rvt_step "8. pushed DNS servers on this host or link are not used"
# 127.0.0.53 (the host's own resolver), fe80::1 and 169.254.169.253 would
# keep the link's queries on this host or its LAN; 10.99.0.1 stays.
fake 4433 up "$RVT_TMP/fake-4433.log" FAKE_ADDR4=10.99.0.2 FAKE_P4=24 FAKE_ADDR6= \
	FAKE_DNS=127.0.0.53,fe80::1,10.99.0.1,169.254.169.253 FAKE_DOMAIN=corp.test FAKE_DNS_REPEAT=200
FAKE_PID=$RVT_LAST_PID
client dns accept_dns=no
rvt_wait_for 10 "the push said" grep -q "server pushed DNS .*: not applied (accept_dns = no)" "$RVT_TMP/dns.log" ||
	rvt_fail "no DNS line: $(grep -ai dns "$RVT_TMP/dns.log" | tail -3)"
grep -aq "server pushed DNS 10\.99\.0\.1, search corp\.test: not applied (accept_dns = no)" "$RVT_TMP/dns.log" ||
	rvt_fail "the DNS taken: $(grep -a 'not applied' "$RVT_TMP/dns.log")"
for a in 127.0.0.53 fe80::1 169.254.169.253; do
	grep -aq "server pushed DNS server $a: not used (it lies in the " "$RVT_TMP/dns.log" ||
		rvt_fail "$a not said: $(grep -ai 'dns' "$RVT_TMP/dns.log" | tail -4)"
done
# 200 more pushes, alternating: said within the log limits (each was a line
# or two: round-twenty-nine).
rvt_wait_for 10 "the pushes sent" grep -q "connection: up" "$RVT_TMP/fake-4433.log" || rvt_fail "the fake's pushes"
sleep 1
lines=$(grep -ac "DNS" "$RVT_TMP/dns.log")
[ "$lines" -le 60 ] || rvt_fail "$lines DNS lines for 201 pushes: $(grep -a DNS "$RVT_TMP/dns.log" | cut -c1-70 | sort | uniq -c | sort -rn | head -4)"
running || rvt_fail "the client is not running"
stop_all
