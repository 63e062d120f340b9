#!/usr/bin/env bash
# test_ipv6_link.sh — a client that reaches its server at a link-local IPv6
# address, and a client that cannot use IPv6 (round-sixteen tester 76):
#   1. `server = [fe80::X%veth0]:port` without server_name, the server's
#      certificate issued for fe80::X (an IP SAN): the client checks the
#      address without its %veth0 (it checked the scoped string as a host
#      name and was refused for ever);
#   2. a pushed full tunnel (::/1 + 8000::/1, 0.0.0.0/1 + 128.0.0.0/1):
#      both IPv6 halves installed, since a route cannot capture a scoped
#      link-local destination (8000::/1 was left out as "covering" it);
#   3. `client -n` with a server address on an interface this host lacks
#      (fe80::1%rvnosuch): exit 15, said (it said OK and the client tried
#      for ever, "cannot resolve");
#   4. a server with an IPv6 pool alone (pool4 = none) and a client whose
#      host has IPv6 disabled: the client says that nothing passes until
#      IPv6 is on (it said only "tunnel up", with no address on its TUN),
#      and once IPv6 is on, its address comes and IPv6 passes.
#
#   ns rvt-$$-c1 (client, TUN rvc)  --veth--  ns rvt-$$-s (server, TUN rvs0)
#
# Usage: bash test_ipv6_link.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

ctl_init 1
ctl_client_ns c1 1
C1=$(rvt_ns_name c1)

rvt_step "1. a server reached at its link-local address, checked by that address"
ll_of() { ip -n "$1" -6 addr show dev "$2" scope link | awk '/inet6/ && !/tentative/ { sub("/.*", "", $2); print $2; exit }'; }
rvt_wait_for 10 "the server's link-local address" sh -c "[ -n \"\$(ip -n $S -6 addr show dev c1 scope link | awk '/inet6/ && !/tentative/')\" ]" ||
	rvt_fail "no link-local address on the server's c1"
rvt_wait_for 10 "the client's link-local address" sh -c "[ -n \"\$(ip -n $C1 -6 addr show dev veth0 scope link | awk '/inet6/ && !/tentative/')\" ]" ||
	rvt_fail "no link-local address on the client's veth0"
LL=$(ll_of "$S" c1)
rvt_log "server's link-local address: $LL"
"$RV_BIN" pki server --ca "$PKI/ca" --name "$LL" --file ll --out "$RVT_TMP" >/dev/null ||
	rvt_fail "pki server --name $LL"
chgrp "$RV_GROUP" "$RVT_TMP/ll.key" && chmod g+r "$RVT_TMP/ll.key"
CTL_SERVER_KV=(cert="$RVT_TMP/ll.crt" key="$RVT_TMP/ll.key" route=::/1 route=8000::/1
	route=0.0.0.0/1 route=128.0.0.0/1)
ctl_start_server
# A server of the list before it that does not answer: each is checked
# against its own name, the first one's kept by the TLS context (below).
cp "$PKI/ca/ca.crt" "$RVT_TMP/cca.crt" && chgrp "$RV_GROUP" "$RVT_TMP/cca.crt" || rvt_fail "the client's CA file"
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c1.conf" "$PKI/client1" rvc "$RVT_TMP/c1.sock" \
	server="10.88.1.1:4998" ca="$RVT_TMP/cca.crt"
sed -i '/^server_name = /d' "$RVT_TMP/c1.conf"
echo "server = [$LL%veth0]:$SRV_PORT" >>"$RVT_TMP/c1.conf"
rvt_nsx "$C1" "$RV_BIN" client -c "$RVT_TMP/c1.conf" -n || rvt_fail "client -n"
rvt_bg "$C1" client1 "$RV_BIN" client -c "$RVT_TMP/c1.conf"
P1=$RVT_LAST_PID
rvt_wait_for 15 "client1's session" ctl_sessions_eq 1 ||
	rvt_fail "no session: $(grep -iE 'verif|mismatch|refused' "$RVT_TMP/client1.log" | tail -3)"
rvt_nsx "$C1" ping -6 -c 3 -i 0.2 -W 2 fd99::1 || rvt_fail "ping6 through the tunnel"
# No address goes out as SNI (RFC 6066), least of all with its scope: a
# listener of our own reads the ClientHello a client sends to the same
# scoped address.
rvt_bg "$S" hello python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$LL', 4999, 0, socket.if_nametoindex('c1')))
s.listen(1)
s.settimeout(10)
c, _ = s.accept()
c.settimeout(5)
hello = b''
while len(hello) < 5 or len(hello) < 5 + int.from_bytes(hello[3:5], 'big'):
    d = c.recv(4096)
    if not d:
        break
    hello += d
print('hello', len(hello), 'with the address' if b'fe80' in hello else 'without the address')
"
H_PID=$RVT_LAST_PID
sleep 0.5
CTL_IDX=1 ctl_client_conf "$RVT_TMP/sni.conf" "$PKI/client1" rvs "$RVT_TMP/sni.sock" \
	server="[$LL%veth0]:4999"
sed -i '/^server_name = /d' "$RVT_TMP/sni.conf"
rvt_bg "$C1" sni "$RV_BIN" client -c "$RVT_TMP/sni.conf"
S_PID=$RVT_LAST_PID
rvt_exit_within 10 "$H_PID" || rvt_fail "no ClientHello came"
rvt_stop_pid "$S_PID" 10 || rvt_fail "the SNI client's exit"
grep -q "^hello [0-9]* without the address$" "$RVT_TMP/hello.log" ||
	rvt_fail "the ClientHello: $(cat "$RVT_TMP/hello.log")"

rvt_step "2. both halves of a pushed IPv6 full tunnel installed beside a link-local server"
for r in ::/1 8000::/1; do
	rvt_wait_for 5 "route $r" sh -c "ip -n $C1 -6 route show $r | grep -q 'dev rvc'" ||
		rvt_fail "$r not installed: $(grep -i "route" "$RVT_TMP/client1.log" | tail -4)"
done
grep -q "covers the server's own address" "$RVT_TMP/client1.log" &&
	rvt_fail "a route said to cover the link-local server: $(grep covers "$RVT_TMP/client1.log")"
# The control and data channels still go out by veth0.
ip netns exec "$C1" ip -6 route get "$LL" oif veth0 | rvt_matches "dev veth0" ||
	rvt_fail "the server's address no longer by veth0"
sleep 2 # past a keepalive or two: a session whose packets looped would be dead
rvt_nsx "$C1" ping -6 -c 2 -i 0.2 -W 2 fd99::1 || rvt_fail "the session died with the full tunnel"
# A CA added to the client's CA file: the live session is checked again
# against the name of its own server, not the list's first (it was ended
# as "IP address mismatch", untrusted: round-sixty-five tester 274).
"$RV_BIN" pki ca --out "$RVT_TMP/oca" --name "other CA" >/dev/null || rvt_fail "pki ca (other)"
cat "$PKI/ca/ca.crt" "$RVT_TMP/oca/ca.crt" >"$RVT_TMP/cca.new" && chgrp "$RV_GROUP" "$RVT_TMP/cca.new" &&
	mv "$RVT_TMP/cca.new" "$RVT_TMP/cca.crt" || rvt_fail "the CA added"
rvt_wait_for 5 "the client's CA change taken" grep -q "certificate files changed: applied: .*CA" "$RVT_TMP/client1.log" ||
	rvt_fail "the CA change not taken: $(grep -a "certificate files" "$RVT_TMP/client1.log")"
grep -q "mismatch\|ending the session" "$RVT_TMP/client1.log" &&
	rvt_fail "the session ended at the CA change: $(grep -a "mismatch\|ending" "$RVT_TMP/client1.log")"
[ "$(grep -c "tunnel up" "$RVT_TMP/client1.log")" = 1 ] || rvt_fail "client1 reconnected"
# The client's link-local address on veth0 replaced while the same
# address sits on another link: that copy does not carry the connection,
# which is made again at once (it was taken for one that stays, and the
# connection waited out its timeout: round-forty-two tester 205).
CLL=$(ll_of "$C1" veth0)
ip -n "$C1" link add rvll0 type veth peer name rvll1 && ip -n "$C1" link set rvll0 up &&
	ip -n "$C1" link set rvll1 up && ip -n "$C1" addr add "$CLL/64" dev rvll0 nodad ||
	rvt_fail "a second link with $CLL"
ip -n "$C1" addr add fe80::abcd/64 dev veth0 nodad && ip -n "$C1" addr del "$CLL/64" dev veth0 ||
	rvt_fail "the new link-local address"
rvt_wait_for 3 "the link-local address gone said" grep -q "this host's address $CLL, which the control connection to server .* was made from, is gone" "$RVT_TMP/client1.log" ||
	rvt_fail "the gone link-local address not said: $(tail -3 "$RVT_TMP/client1.log")"
rvt_wait_for 10 "the tunnel back" rvt_nsx "$C1" ping -6 -c 1 -W 1 fd99::1 ||
	rvt_fail "the tunnel not back after the link-local address changed"
ip -n "$C1" link del rvll0
rvt_stop_pid "$P1" 10 || rvt_fail "client exit"

rvt_step "3. -n: a server address on an interface this host lacks"
# By name, and by an index no interface has (99; 0 is none: round-seventeen
# tester 79; 2^32 + 1 is no index, though it wrapped to lo's: tester 81).
for zone in rvnosuch 99 0 4294967297; do
	# One server line (c1.conf has two: the same one twice is refused).
	grep -v '^server = ' "$RVT_TMP/c1.conf" >"$RVT_TMP/nosuch.conf"
	printf 'server = [fe80::1%%%s]:%s\n' "$zone" "$SRV_PORT" >>"$RVT_TMP/nosuch.conf"
	rc=0
	ip netns exec "$C1" "$RV_BIN" client -c "$RVT_TMP/nosuch.conf" -n >"$RVT_TMP/nosuch.out" 2>&1 || rc=$?
	[ "$rc" = 15 ] || rvt_fail "%$zone: -n exit $rc, want 15: $(cat "$RVT_TMP/nosuch.out")"
	grep -q "this host has no interface '$zone'" "$RVT_TMP/nosuch.out" ||
		rvt_fail "%$zone not said: $(cat "$RVT_TMP/nosuch.out")"
done
# The client's own interface by its index passes.
sed -i "s/^server = .*/server = [fe80::1%$(ip netns exec "$C1" cat /sys/class/net/veth0/ifindex)]:$SRV_PORT/" "$RVT_TMP/nosuch.conf"
rvt_nsx "$C1" "$RV_BIN" client -c "$RVT_TMP/nosuch.conf" -n || rvt_fail "-n refused veth0's index"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"

rvt_step "4. an IPv6 pool alone, a client without IPv6: said, and working once IPv6 is on"
CTL_SERVER_KV=(pool4=none)
ctl_start_server
rvt_nsx "$C1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c1v4.conf" "$PKI/client1" rvc "$RVT_TMP/c1.sock"
rvt_bg "$C1" client1v4 "$RV_BIN" client -c "$RVT_TMP/c1v4.conf"
P1=$RVT_LAST_PID
rvt_wait_for 10 "the client's word" grep -q "nothing passes through the tunnel until IPv6 is on here: the server gives this client an IPv6 address alone" "$RVT_TMP/client1v4.log" ||
	rvt_fail "not said: $(tail -3 "$RVT_TMP/client1v4.log")"
rvt_nsx "$C1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.rvc.disable_ipv6=0
rvt_wait_for 10 "IPv6 through the tunnel once on" rvt_nsx "$C1" ping -6 -c 1 -W 1 fd99::1 ||
	rvt_fail "no IPv6 once on: $(ip -n "$C1" -br addr show dev rvc)"
# The text status says there is no IPv4 pool ("v4 0/0" read as a pool of
# nothing: round-thirty-nine tester 192).
"$RV_BIN" status -s "$SRV_SOCK" | rvt_matches "^  pool v4 none, v6 1/[0-9]+ in use$" ||
	rvt_fail "the pool line: $("$RV_BIN" status -s "$SRV_SOCK" | grep pool)"
# An IPv6-only server says nothing of ip_forward, and its client nothing
# of client_to_client, the server's setting (round-thirty tester 153).
grep -aq "net/ipv4/ip_forward is 0" "$RVT_TMP/server.log" &&
	rvt_fail "ip_forward said: $(grep -a ip_forward "$RVT_TMP/server.log")"
grep -aq "client_to_client" "$RVT_TMP/client1v4.log" &&
	rvt_fail "the client said client_to_client: $(grep -a client_to_client "$RVT_TMP/client1v4.log")"
# IPv4 routes with pool4 = none: said, as no client has an IPv4 address in
# the tunnel to send from (taken without a word: tester 153).
OUT=$(ip netns exec "$S" "$RV_BIN" server -c "$RVT_TMP/server.conf" -n --route 192.168.10.0/24 2>&1) ||
	rvt_fail "-n: $OUT"
grep -q "warning: pool4 is none, yet 1 IPv4 route(s), 0 subnet(s) and 0 DNS server(s) are set" <<<"$OUT" ||
	rvt_fail "IPv4 routes without pool4 not said: $OUT"
# A client whose mtu is below IPv6's least: said as the mtu, which a
# restart with a larger one mends, not "until IPv6 is on here" (tester 153).
"$RV_BIN" pki client --ca "$PKI/ca" --name client2 --out "$PKI" >/dev/null || rvt_fail "pki client2"
chgrp "$RV_GROUP" "$PKI/client2.key" && chmod g+r "$PKI/client2.key"
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c2m.conf" "$PKI/client2" rvm "$RVT_TMP/c2m.sock" mtu=1200
rvt_bg "$C1" client2m "$RV_BIN" client -c "$RVT_TMP/c2m.conf"
P2=$RVT_LAST_PID
rvt_wait_for 10 "the mtu said" grep -q "nothing passes through the tunnel: .* the tunnel's mtu 1200 is below 1280 (raise this client's mtu" \
	"$RVT_TMP/client2m.log" || rvt_fail "the mtu not said: $(grep -i 'mtu\|nothing' "$RVT_TMP/client2m.log")"
grep -q "until IPv6 is on here" "$RVT_TMP/client2m.log" && rvt_fail "said as IPv6 off"
rvt_stop_pid "$P2" 10 || rvt_fail "client2 exit"
rvt_stop_pid "$P1" 10 || rvt_fail "client exit"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
rvt_log "PASS"
