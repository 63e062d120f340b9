#!/usr/bin/env bash
# test_control_addresses.sh — who gets which virtual address (issue 7 B):
#   1. `fixed = alice 10.99.0.5` is reserved: "mallory", a valid client that
#      reconnects again and again (rvt_ctl_probe cycles), walks the pool
#      cursor over every other address but never gets alice's; alice then
#      connects and gets hers (and passes traffic with it).
#   2. A client asking in HELLO for an address it never held does not get
#      it: mallory asks for alice's fixed address and for bob's former one
#      and gets others; bob, returning, gets his own back.
#      Mallory reconnecting 24 times meanwhile walks the three other
#      addresses and never gets bob's, which is kept for him (the pool's
#      allocator passes over addresses leased to another name within
#      lease_time; before, the walk gave it to mallory and bob was told
#      "assigning another").
#      The server logs the first few of mallory's connections, says it
#      connects and leaves often, and logs no line for the rest (before:
#      four lines per connection).
#      A client that asks for nothing (its process restarted) gets its
#      name's last address back (before: the pool's next one).
#   3. With every other address held, mallory is refused ("address pool
#      exhausted") rather than given alice's, and alice still gets in.
#   4. A server restarted with a lease file that holds a lease older than
#      lease_time serves a name's connections again and again (the second
#      hung it, once leases were found by name).
# On the old code (0d09d52) step 1 fails: the cursor hands 10.99.0.5 to
# mallory within a few cycles and alice is then refused ("fixed address in
# use"); the previous address in HELLO was granted to anyone.
#
#   ns rvt-$$-c1 (alice, ringvpn client)   --veth--  ns rvt-$$-s (server,
#   ns rvt-$$-m  (rvt_ctl_probe as mallory, bob, client1..3) --/   pool 10.99.0.0/29)
#
# Usage: bash test_control_addresses.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

ctl_init 3
for n in alice mallory bob; do
	"$RV_BIN" pki client --ca "$PKI/ca" --name "$n" --out "$PKI" --days 30 >/dev/null ||
		rvt_fail "pki client $n"
done
chgrp "$RV_GROUP" "$PKI"/*.key && chmod g+r "$PKI"/*.key
ctl_client_ns c1 1
ctl_client_ns m 2
C1=$(rvt_ns_name c1)
M=$(rvt_ns_name m)
ALICE=10.99.0.5
# A /29: clients get .2 .. .6, and .5 is alice's; four addresses for the rest.
CTL_SERVER_KV=(pool4=10.99.0.0/29 "fixed=alice $ALICE")
ctl_start_server
SLOG="$RVT_TMP/server.log"

# probe NAME ARGS...: rvt_ctl_probe session as NAME from namespace m.
probe() { ctl_probe "$M" 2 "$@"; }

# v4_of OUTPUT: the IPv4 address of an "assigned v4=... v6=..." line.
v4_of() { sed -n 's/^assigned v4=\([^ ]*\) .*/\1/p' <<<"$1"; }

rvt_step "1. pool walk: mallory reconnects 24 times, asking for alice's address each time"
# Asking for an address not its own, it is refused and given the pool's
# next (a client that asks for nothing gets its own last one back).
OUT=$(rvt_nsx "$M" "$PROBE" cycles 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/mallory.crt" "$PKI/mallory.key" 24 print prev4="$ALICE") || { echo "$OUT"; rvt_fail "mallory cycles"; }
echo "$OUT" | tail -6
if grep -q "v4=$ALICE " <<<"$OUT"; then
	rvt_fail "mallory was given alice's fixed address $ALICE"
fi
SEEN=$(sed -n 's/^cycle [0-9]*: v4=\([^ ]*\) .*/\1/p' <<<"$OUT" | sort -u | tr '\n' ' ')
rvt_log "addresses mallory got: $SEEN"
# The cursor must really have gone round (past .5) for this to prove anything.
[ "$(wc -w <<<"$SEEN")" -eq 4 ] || rvt_fail "mallory did not walk the whole pool: $SEEN"
# 24 connections in a few seconds: the server logs the first few and says
# it stops logging each (before: four lines for every one of them).
N=$(grep -c "client mallory authenticated from" "$RVT_TMP/server.log")
rvt_log "mallory's connections logged: $N of 24"
[ "$N" -le 7 ] || rvt_fail "each of mallory's 24 connections logged ($N lines)"
grep -q "client mallory connects and leaves often" "$RVT_TMP/server.log" ||
	rvt_fail "the server did not say it stopped logging mallory's connections"

rvt_step "1. alice connects afterwards and gets her fixed address"
ctl_client_conf "$RVT_TMP/alice.conf" "$PKI/alice" rva "$RVT_TMP/alice.sock"
rvt_bg "$C1" alice "$RV_BIN" client -c "$RVT_TMP/alice.conf"
ALICE_PID=$RVT_LAST_PID
rvt_wait_for 10 "alice's session" ctl_sessions_eq 1 || rvt_fail "alice did not come up"
[ "$(ctl_field "session name=alice" v4)" = "$ALICE" ] ||
	{ ctl_status; rvt_fail "alice did not get $ALICE"; }
rvt_wait_for 5 "alice's TUN address" sh -c "ip -n $C1 addr show rva | grep -q 'inet $ALICE/29'" ||
	rvt_fail "alice's TUN lacks $ALICE"
rvt_nsx "$C1" ping -c 2 -i 0.2 -W 2 10.99.0.1 || rvt_fail "alice cannot reach the server"
rvt_stop_pid "$ALICE_PID" 10 || rvt_fail "alice exit"
rvt_wait_for 5 "alice gone" ctl_sessions_eq 0 || rvt_fail "alice's session stays"

rvt_step "2. mallory asks for alice's address back: refused"
OUT=$(probe mallory prev4=$ALICE) || { echo "$OUT"; rvt_fail "mallory session"; }
echo "$OUT"
GOT=$(v4_of "$OUT")
[ -n "$GOT" ] && [ "$GOT" != "$ALICE" ] || rvt_fail "mallory got $GOT asking for $ALICE"
grep -q "client mallory: asked for $ALICE back, which the server did not last lease to it" "$SLOG" ||
	rvt_fail "no log line for the refused claim"

rvt_step "2. bob's former address: not for mallory, but for bob"
OUT=$(probe bob) || { echo "$OUT"; rvt_fail "bob session"; }
BOB=$(v4_of "$OUT")
rvt_log "bob had $BOB"
[ -n "$BOB" ] || rvt_fail "bob got no address"
OUT=$(probe mallory prev4="$BOB") || { echo "$OUT"; rvt_fail "mallory session"; }
echo "$OUT"
GOT=$(v4_of "$OUT")
[ -n "$GOT" ] && [ "$GOT" != "$BOB" ] || rvt_fail "mallory got bob's former address $BOB"
OUT=$(probe bob prev4="$BOB") || { echo "$OUT"; rvt_fail "bob session"; }
echo "$OUT"
[ "$(v4_of "$OUT")" = "$BOB" ] || rvt_fail "returning bob did not get $BOB back"

rvt_step "2. mallory reconnecting in a loop passes over bob's kept address"
OUT=$(rvt_nsx "$M" "$PROBE" cycles 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/mallory.crt" "$PKI/mallory.key" 24 print prev4="$BOB") || { echo "$OUT"; rvt_fail "mallory cycles"; }
SEEN=$(sed -n 's/^cycle [0-9]*: v4=\([^ ]*\) .*/\1/p' <<<"$OUT" | sort -u | tr '\n' ' ')
rvt_log "addresses mallory got: $SEEN"
if grep -q "v4=$BOB " <<<"$OUT"; then
	rvt_fail "mallory walked onto bob's address $BOB, kept for bob"
fi
[ "$(wc -w <<<"$SEEN")" -eq 3 ] || rvt_fail "mallory did not walk the rest of the pool: $SEEN"
OUT=$(probe bob prev4="$BOB") || { echo "$OUT"; rvt_fail "bob session"; }
[ "$(v4_of "$OUT")" = "$BOB" ] || rvt_fail "bob did not get $BOB back after mallory's walk"
# A client process that restarted remembers nothing and asks for nothing:
# it gets its name's last address all the same (it got the pool's next,
# a new one at every restart).
OUT=$(probe bob) || { echo "$OUT"; rvt_fail "bob session"; }
[ "$(v4_of "$OUT")" = "$BOB" ] || rvt_fail "bob, asking for nothing, did not get his last address $BOB"
M1=$(v4_of "$(probe mallory)")
M2=$(v4_of "$(probe mallory)")
[ -n "$M1" ] && [ "$M1" = "$M2" ] || rvt_fail "mallory, asking for nothing, got $M1 then $M2"

rvt_step "3. every other address held: client3 is refused, alice still gets hers"
# mallory holds one: the address it left last, a moment ago, is kept for it
# alone (a full pool gave it to the next name, and a client reconnecting
# after a reset found itself shut out: round-thirteen tester 60).
for n in bob client1 client2 mallory; do
	rvt_bg "$M" "hold-$n" "$PROBE" session 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
		"$PKI/$n.crt" "$PKI/$n.key" then=wait hold=60
done
rvt_wait_for 15 "four held sessions" ctl_sessions_eq 4 || { ctl_status; rvt_fail "holders"; }
grep -h assigned "$RVT_TMP"/hold-*.log
if grep -q "v4=$ALICE " "$RVT_TMP"/hold-*.log; then
	rvt_fail "a holder was given $ALICE"
fi
OUT=$(probe client3 prev4=$ALICE)
echo "$OUT"
[[ "$OUT" == *"closed: error 3 (address pool exhausted)"* ]] ||
	rvt_fail "client3 was not refused with the pool exhausted"
# A real client turned away so gives up with its own exit code (17: it
# exited 6, "TLS failure", after a handshake that had succeeded).
CTL_IDX=2 ctl_client_conf "$RVT_TMP/mallory.conf" "$PKI/client3" rvm "$RVT_TMP/mallory.sock"
rc=0
rvt_nsx "$M" timeout 30 "$RV_BIN" client -c "$RVT_TMP/mallory.conf" --max-attempts 1 >"$RVT_TMP/mallory-client.log" 2>&1 || rc=$?
[ "$rc" = 17 ] || rvt_fail "client3's client exited $rc, want 17 (refused): $(tail -3 "$RVT_TMP/mallory-client.log")"
# Each refusal is counted, in every form, and said as a refusal at warn
# level (it was counted nowhere, logged at info as a disconnection that
# "released" an address never held, and past six in a row not at all).
[ "$(ctl_field server refused_no_address)" = 2 ] ||
	rvt_fail "refusals counted: $(ctl_field server refused_no_address), want 2"
"$RV_BIN" status -s "$SRV_SOCK" --prometheus | rvt_matches '^ringvpn_clients_refused_total\{reason="no_address"\} 2$' ||
	rvt_fail "no refusal metric"
[ "$(grep -c "warn: client client3 (.*) refused: no address for client3 in pool4: pool exhausted" "$RVT_TMP/server.log")" = 2 ] ||
	rvt_fail "the refusals were not each said: $(grep client3 "$RVT_TMP/server.log" | tail -3)"
# The exit code is the last failure's: turned away, then a name that does
# not resolve (the namespace's nameserver is loopback's nobody) is 15, not
# 17 (the refusal stuck).
mkdir -p "/etc/netns/$M"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$M/resolv.conf"
printf 'server = nosuch.invalid:4433\n' >>"$RVT_TMP/mallory.conf"
rc=0
rvt_nsx "$M" timeout 30 "$RV_BIN" client -c "$RVT_TMP/mallory.conf" --max-attempts 2 >"$RVT_TMP/mallory-client2.log" 2>&1 || rc=$?
rm -rf "/etc/netns/$M"
[ "$rc" = 15 ] || rvt_fail "turned away, then no such name: exit $rc, want 15: $(tail -3 "$RVT_TMP/mallory-client2.log")"
rvt_bg "$C1" alice2 "$RV_BIN" client -c "$RVT_TMP/alice.conf"
ALICE_PID=$RVT_LAST_PID
rvt_wait_for 10 "alice's session" ctl_sessions_eq 5 || { ctl_status; rvt_fail "alice kept out"; }
[ "$(ctl_field "session name=alice" v4)" = "$ALICE" ] || rvt_fail "alice did not get $ALICE"
rvt_nsx "$C1" ping -c 2 -i 0.2 -W 2 10.99.0.1 || rvt_fail "alice cannot reach the server"
ctl_status | head -1
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"

rvt_step "4. a restart whose lease file holds a lease older than lease_time: names come back and go on"
# The stale lease is forgotten at load; its record was left in the name
# index, and the second connection of a name hung the server at 100 % CPU.
printf 'R 10.99.0.3 %s client1\n' "$(($(date +%s) - 7200))" >>"$RVT_TMP/server.leases"
ctl_start_server
for i in 1 2 3; do
	OUT=$(probe client1) || { echo "$OUT"; rvt_fail "client1 connection $i after the restart"; }
	timeout 5 "$RV_BIN" status -s "$SRV_SOCK" >/dev/null || rvt_fail "the server stopped answering after connection $i"
done
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"

rvt_step "5. a full server: each refusal counted and said once, at warn level"
# The refusal was said at warn, then again at info as "connection closed".
rvt_stop_pid "$ALICE_PID" 10 || rvt_fail "alice's client exit"
CTL_SERVER_KV=(pool4=10.99.0.0/29 max_clients=1)
# A new lease file: max_clients = 1 leaves one address of each pool, which
# the last client to leave it a moment ago would keep for itself.
rm -f "$RVT_TMP/server.leases"
ctl_start_server
rvt_bg "$M" hold-full "$PROBE" session 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client1.crt" "$PKI/client1.key" then=wait hold=30
rvt_wait_for 15 "one held session" ctl_sessions_eq 1 || { ctl_status; rvt_fail "holder"; }
# A pool hands out twice max_clients: room for those who left a moment ago
# beside a full house (it handed out max_clients, and churn by many names
# refused newcomers with half the places free: round-twenty-seven tester
# 126).
"$RV_BIN" status -s "$SRV_SOCK" | rvt_matches "pool v4 1/2, v6 1/2 in use" ||
	rvt_fail "the pools' size: $("$RV_BIN" status -s "$SRV_SOCK" | grep pool)"
for _ in 1 2; do
	OUT=$(probe client2) && rvt_fail "client2 was let in past max_clients: $OUT"
done
[ "$(ctl_field server refused_full)" = 2 ] || rvt_fail "refused_full=$(ctl_field server refused_full), want 2"
# What holds the places is said (it said "1 sessions" as well when they were
# connections that never said HELLO: round-seven tester 36).
[ "$(grep -c "warn: client client2 (.*) refused: server full (max_clients 1: 1 sessions, 0 authenticated connections awaiting their HELLO)" "$SLOG")" = 2 ] ||
	rvt_fail "each refusal not said at warn: $(grep client2 "$SLOG" | tail -3)"
if grep -q "client client2 .*connection closed: server full" "$SLOG"; then
	rvt_fail "a refusal said twice"
fi
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"

rvt_step "5b. a full server: a name's connection awaiting its HELLO takes no second place"
# client2 holds a session and a connection awaiting its HELLO: that one was
# counted as a place of its own, and client1's reconnection to its own
# session was refused "server full", after its session had been ended for
# it: both lost (round-twenty-nine tester 142).
CTL_SERVER_KV=(pool4=10.99.0.0/29 max_clients=2)
rm -f "$RVT_TMP/server.leases"
mv "$SLOG" "$RVT_TMP/server-5.log"
ctl_start_server
for n in 1 2; do
	rvt_bg "$M" "hold$n" "$PROBE" session 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
		"$PKI/client$n.crt" "$PKI/client$n.key" then=wait hold=40
	rvt_wait_for 15 "client$n's session" ctl_sessions_eq "$n" || { ctl_status; rvt_fail "holder $n"; }
done
rvt_bg "$M" wait2 "$PROBE" hello 10.88.2.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client2.crt" "$PKI/client2.key" 20
W2=$RVT_LAST_PID
awaiting() { [ "$(ctl_field server awaiting_hello)" = 1 ]; }
rvt_wait_for 10 "client2's second connection awaiting its HELLO" awaiting ||
	{ ctl_status; rvt_fail "no connection awaiting its HELLO"; }
# A third name is refused: the places are client1's and client2's.
OUT=$(probe client3) && rvt_fail "client3 let in past max_clients 2: $OUT"
grep -q "warn: client client3 (.*) refused: server full (max_clients 2: 2 sessions, 0 authenticated connections awaiting their HELLO)" "$SLOG" ||
	rvt_fail "client3's refusal: $(grep -a 'server full' "$SLOG" | tail -2)"
OUT=$(probe client1) || rvt_fail "client1 reconnecting to its own session at a full server was refused: $OUT $(grep -a 'server full' "$SLOG" | tail -2)"
grep "server full" "$SLOG" | grep -v client3 && rvt_fail "a refusal of another than client3"
rvt_stop_pid "$W2" 5
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"

rvt_step "6. the host in the way of the pools: no IPv6, a pool on a link of its own, an MTU below 1280"
# (a hostile tester) A server on a host without IPv6 and the default pool6
# exited 9, "insufficient privilege", as root: 14, naming the cause.
CTL_SERVER_KV=()
ctl_server_conf "$RVT_TMP/server.conf"
ip netns exec "$S" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
OUT=$(rvt_nsx "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" 2>&1) || rvt_fail "-n: $OUT"
rvt_matches "warning: IPv6 is disabled on every new device of this host \(net.ipv6.conf.default.disable_ipv6 = 1\): a new TUN gets no IPv6" <<<"$OUT" ||
	rvt_fail "-n did not say it: $OUT"
rc=0
rvt_nsx "$S" timeout 20 "$RV_BIN" server -c "$RVT_TMP/server.conf" >"$RVT_TMP/server-no6.log" 2>&1 || rc=$?
ip netns exec "$S" sysctl -qw net.ipv6.conf.default.disable_ipv6=0
[ "$rc" = 14 ] || rvt_fail "no IPv6: exit $rc, want 14: $(tail -3 "$RVT_TMP/server-no6.log")"
grep -q "IPv6 is disabled on every new device of this host (net.ipv6.conf.default.disable_ipv6 = 1): cannot serve pool6 (set pool6 = none" \
	"$RVT_TMP/server-no6.log" || rvt_fail "not said: $(grep -a warn "$RVT_TMP/server-no6.log" | tail -3)"
# A pool6 smaller than pool4 caps the clients: -n says so (the refusals
# said "pool exhausted" while pool4 had room).
ctl_server_conf "$RVT_TMP/small6.conf" pool6=fd99::/126
OUT=$("$RV_BIN" server -n -c "$RVT_TMP/small6.conf" 2>&1) || rvt_fail "-n: $OUT"
rvt_matches 'pool6 holds 2 client address\(es\), pool4 253: at most 2 clients at once' <<<"$OUT" ||
	rvt_fail "a pool6 of 2 beside a pool4 of 253 not said: $OUT"
# A pool whose network is a link of the server's (mallory's, 10.88.2.0/24):
# its clients and that link's hosts were taken for one another, silently.
CTL_SERVER_KV=(pool4=10.88.2.0/24 pool6=fd88:2::/64)
# -n says it too (it said nothing: round-thirty-six tester 182), and of a
# link inside a wider pool, and not of a pool no link is on.
ctl_server_conf "$RVT_TMP/onlink.conf" "${CTL_SERVER_KV[@]}"
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/onlink.conf" 2>&1) || rvt_fail "-n: $OUT"
for w in "pool4 10.88.2.0/24: the host's link c2 is on 10.88.2.0/24" "pool6 fd88:2::/64: the host's link c2 is on fd88:2::/64"; do
	grep -q "^ringvpn: warning: $w: what is sent to those addresses does not enter the tunnel" <<<"$OUT" ||
		rvt_fail "-n did not say: $w: $OUT"
done
ctl_server_conf "$RVT_TMP/onlink.conf" pool4=10.88.0.0/16
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/onlink.conf" 2>&1) || rvt_fail "-n: $OUT"
grep -q "^ringvpn: warning: pool4 10.88.0.0/16: the host's link c[0-9] is on 10.88.[0-9].0/24" <<<"$OUT" ||
	rvt_fail "-n did not say a link inside the pool: $OUT"
ctl_server_conf "$RVT_TMP/onlink.conf"
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/onlink.conf" 2>&1) || rvt_fail "-n: $OUT"
grep -q "the host's link" <<<"$OUT" && rvt_fail "-n said a link of a pool no link is on: $OUT"
ctl_start_server
for a in 10.88.2.1/24 fd88:2::1/64; do
	rvt_wait_for 5 "said of $a" grep -q "rvs0: the network of its address $a is this host's through c2: what is sent to it does not enter the tunnel" "$SLOG" ||
		rvt_fail "the pool on a link of the host's not said ($a): $(grep -a warn "$SLOG" | tail -3)"
done
# Said once, not also as a route to remove (the server's own LAN route).
if grep -q "not used: the host routes that network" "$SLOG"; then
	rvt_fail "advice to remove the LAN's route: $(grep -a 'not used' "$SLOG" | head -2)"
fi
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
# A link of the host's inside a wider pool (a round-two tester: one lookup
# of the network's first address went through the TUN and said nothing).
CTL_SERVER_KV=(pool4=10.88.0.0/16)
ctl_start_server
rvt_wait_for 5 "said of 10.88.1.0/24" grep -q "rvs0: 10.88.1.0/24, inside the network of its address 10.88.0.1/16, is this host's through c1" "$SLOG" ||
	rvt_fail "a link inside the pool not said: $(grep -a warn "$SLOG" | tail -3)"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
# An MTU below 1280 set by hand takes the TUN's IPv6: each end says so
# (the client blamed disable_ipv6, the server failed "Invalid argument"),
# and both put their IPv6 back once it is raised.
CTL_SERVER_KV=()
ctl_start_server
rvt_bg "$C1" alice3 "$RV_BIN" client -c "$RVT_TMP/alice.conf"
ALICE_PID=$RVT_LAST_PID
rvt_wait_for 10 "alice's session" ctl_sessions_eq 1 || { ctl_status; rvt_fail "alice kept out"; }
ip -n "$S" link set rvs0 mtu 1200 && ip -n "$C1" link set rva mtu 1200 || rvt_fail "mtu 1200"
rvt_wait_for 10 "the server says it" grep -q "TUN rvs0: the MTU of rvs0 is 1200, below 1280, the least IPv6 runs on (someone set it so): its IPv6 address and routes (1) are put back" "$SLOG" ||
	rvt_fail "the server: $(grep -a 'warn' "$SLOG" | tail -3)"
rvt_wait_for 10 "the client says it" grep -q "the MTU of rva is 1200, below 1280" "$RVT_TMP/alice3.log" ||
	rvt_fail "the client: $(grep -a 'warn' "$RVT_TMP/alice3.log" | tail -3)"
# A reload meanwhile (a network behind alice with an IPv6 part): its IPv6
# route waits for IPv6, and the reload succeeds (it failed, exit 1, on
# "Permission denied" or "No such device").
ctl_conf_set "$RVT_TMP/server.conf" "subnet=alice 10.30.0.0/24 fd30::/64"
OUT=$("$RV_BIN" reload -s "$SRV_SOCK" 2>&1) || rvt_fail "reload with IPv6 off the TUN: $OUT"
grep -q "route to fd30::/64 (behind alice) via rvs0 deferred: the MTU of rvs0 is 1200" "$SLOG" ||
	rvt_fail "the deferred route not said: $(grep -a 'fd30' "$SLOG" | tail -2)"
sleep 6 # a check of the TUN or two
grep -a "cannot put back\|disable_ipv6\|Permission denied\|No such device" "$SLOG" "$RVT_TMP/alice3.log" && rvt_fail "misleading"
ip -n "$S" link set rvs0 mtu 1420 && ip -n "$C1" link set rva mtu 1400 || rvt_fail "mtu back"
rvt_wait_for 10 "fd99::1 back on the server" sh -c "ip -n '$S' addr show dev rvs0 | grep -q 'fd99::1/64'" ||
	rvt_fail "fd99::1 not back: $(ip -n "$S" -br addr show dev rvs0)"
rvt_wait_for 10 "IPv6 back on the client" sh -c "ip -n '$C1' -6 addr show dev rva | grep -q 'fd99::'" ||
	rvt_fail "no IPv6 back on the client: $(ip -n "$C1" -br addr show dev rva)"
rvt_wait_for 10 "IPv6 through the tunnel" rvt_nsx "$C1" ping -6 -c 1 -W 1 fd99::1 ||
	rvt_fail "no IPv6 through the tunnel"
rvt_wait_for 10 "the deferred route" sh -c "ip -n '$S' -6 route show dev rvs0 | grep -q '^fd30::/64'" ||
	rvt_fail "fd30::/64 never routed: $(ip -n "$S" -6 route show dev rvs0)"
rvt_stop_pid "$ALICE_PID" 10 || rvt_fail "alice's client exit"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
