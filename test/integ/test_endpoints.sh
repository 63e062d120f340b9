#!/usr/bin/env bash
# test_endpoints.sh — where the data channel's datagrams go, and what may
# move them:
#   1. A server with two addresses on a link answers each client from the
#      address the client sends to, IPv4 and IPv6 (the routes prefer the
#      other one): clients whose host firewall lets in only replies to what
#      they sent (conntrack "established", as any NAT or stateful firewall
#      on the way does) have a working tunnel. Before, the replies left from
#      the route's source and every one was dropped.
#   2. A client's datagram held back on the way (captured and dropped at the
#      server) and delivered later from another address is opened but does
#      not move the session's endpoint: only a peer's newest datagram does.
#      Before, one such datagram pointed the session's downstream at any
#      address an on-path attacker chose.
#   3. Towards a client: a server datagram held back and delivered from
#      elsewhere before any newer one does not move the client's endpoint
#      either (its server's, from the control connection, fixed). Before,
#      the client followed it and its upstream went to the attacker until
#      the server sent something.
#   4. A client's datagrams rewritten on the way to a multicast destination
#      (ff02::1) still open and move nothing: the server never answers from
#      a multicast or broadcast address (it took ff02::1 as the address to
#      answer from, and every reply failed).
#   5. The address a client talks to leaves the server (a VIP moved away)
#      and comes back: the sends from it that the kernel refuses go out once
#      more from the route's source, said in the log, and the worker keeps
#      GSO and zero copy for everyone (a refusal of the source was taken for
#      the kernel's of both, which went off for every client until a restart);
#      the client's tunnel is back with the address.
#   6. A client's own address replaced by another (a DHCP renewal): its
#      control connection, made from the address gone, is made again at once.
#   7. A client's network gone until its backoff is long, then back: it
#      tries again within a second, not at the backoff's end.
#   8. A client's sends refused for 2 s (an unreachable route, then a
#      prohibit one): each spell said in one line at its start and one at
#      its end, with the count.
#   `endpoint_moves` counts the server learning each client, nothing else.
#
# Usage: bash test_endpoints.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

INJ="$RV_SRC/test/integ/inject.py"
ctl_init 2
ctl_client_ns c1 1
ctl_client_ns c2 2
C1=$(rvt_ns_name c1)
C2=$(rvt_ns_name c2)
SLOG=$RVT_TMP/server.log

rvt_step "1. a second address on each of the server's links; clients connect to it"
ip -n "$S" addr add 10.88.1.3/24 dev c1 || rvt_fail "address"
ip -n "$S" addr add fd88:2::3/64 dev c2 nodad || rvt_fail "address"
# The address the server's routes would answer from, and the other one.
src4=$(ip -n "$S" -4 route get 10.88.1.2 | sed -n 's/.* src \([^ ]*\).*/\1/p')
src6=$(ip -n "$S" -6 route get fd88:2::2 | sed -n 's/.* src \([^ ]*\).*/\1/p')
V4=10.88.1.3
[ "$src4" = 10.88.1.3 ] && V4=10.88.1.1
V6=fd88:2::3
[ "$src6" = fd88:2::3 ] && V6=fd88:2::1
rvt_log "routes answer from $src4 and $src6; client1 connects to $V4, client2 to [$V6]"
for ns in "$C1" "$C2"; do
	ip netns exec "$ns" nft -f - <<EON || rvt_fail "nft"
table inet rvtfw {
	chain in {
		type filter hook input priority 0; policy accept;
		ct state established,related accept
		udp sport $DATA_PORT counter drop
	}
}
EON
done
# Zero copy on (the veth copies, auto would turn it off): its refusals and
# their notifications are judged through every step.
CTL_SERVER_KV=(zerocopy=on)
ctl_start_server
ctl_client 1 "server=$V4:$SRV_PORT"
ctl_client 2 "server=[$V6]:$SRV_PORT"
rvt_wait_for 15 "two sessions" ctl_sessions_eq 2 || rvt_fail "the clients did not connect"
A1=$(ctl_field "session name=client1" v4)
for n in 1 2; do
	rvt_nsx "$(rvt_ns_name c$n)" ping -c 3 -i 0.2 -W 2 10.99.0.1 >/dev/null ||
		rvt_fail "client$n: no tunnel through its stateful firewall ($(ip netns exec "$(rvt_ns_name c$n)" nft list chain inet rvtfw in | grep -o 'packets [0-9]*' | tail -1) of the server's datagrams dropped: they did not come from the address it connects to)"
done
rvt_log "both tunnels work through the clients' firewalls"

rvt_step "2. a datagram of client1 held back, then sent to the server from client2's namespace"
EP1=$(ctl_field "session name=client1" endpoint)
MOVES=$(ctl_sum '^workers total' '^endpoint_moves$')
[ "$MOVES" = 2 ] || rvt_fail "endpoint_moves $MOVES after two clients connected (want 2)"
ip netns exec "$S" nft -f - <<EON || rvt_fail "nft"
table inet rvthold {
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		iifname "c1" udp dport $DATA_PORT drop
	}
}
EON
rvt_bg "$S" hold python3 "$INJ" hold --iface c1 --dst "$V4" --port "$DATA_PORT" \
	--out "$RVT_TMP/held-up" --timeout 10
HOLD=$RVT_LAST_PID
sleep 0.3
rvt_nsx "$C1" ping -c 2 -i 0.2 -W 1 10.99.0.1 >/dev/null
rvt_wait_for 10 "the held datagram" test -s "$RVT_TMP/held-up" || rvt_fail "nothing held"
wait "$HOLD" 2>/dev/null
ip netns exec "$S" nft delete table inet rvthold || rvt_fail "nft delete"
# Newer datagrams pass meanwhile: the held one is late.
rvt_nsx "$C1" ping -c 3 -i 0.2 -W 2 10.99.0.1 >/dev/null || rvt_fail "no tunnel after the hold"
[ "$(ctl_field "session name=client1" endpoint)" = "$EP1" ] || rvt_fail "client1's endpoint moved by the hold"
rvt_nsx "$C2" python3 "$INJ" send-hex --file "$RVT_TMP/held-up" --to "10.88.2.1:$DATA_PORT" >&2 ||
	rvt_fail "send"
sleep 0.3
EP=$(ctl_field "session name=client1" endpoint)
[ "$EP" = "$EP1" ] || rvt_fail "a late datagram from elsewhere moved client1's endpoint: $EP1 -> $EP"
[ "$(ctl_sum '^workers total' '^endpoint_moves$')" = 2 ] || rvt_fail "endpoint_moves counted the late datagram"
rvt_nsx "$S" ping -c 3 -i 0.2 -W 2 "$A1" >/dev/null || rvt_fail "the server cannot reach client1"
rvt_log "client1's endpoint stayed $EP1"

rvt_step "3. a datagram of the server held back, then sent to client1 from client2's namespace"
CEP1=$(ctl_field "session " endpoint "$RVT_TMP/c1.sock")
CPORT=${EP1##*:}
ip netns exec "$C1" nft -f - <<EON || rvt_fail "nft"
table inet rvthold {
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		udp sport $DATA_PORT drop
	}
}
EON
rvt_bg "$C1" hold python3 "$INJ" hold --iface veth0 --dst 10.88.1.2 --port "$CPORT" \
	--out "$RVT_TMP/held-down" --timeout 10
HOLD=$RVT_LAST_PID
sleep 0.3
rvt_nsx "$S" ping -c 2 -i 0.2 -W 1 "$A1" >/dev/null
rvt_wait_for 10 "the held datagram" test -s "$RVT_TMP/held-down" || rvt_fail "nothing held"
wait "$HOLD" 2>/dev/null
# Delivered while the server's own are still held: the newest the client
# has seen, so only the fixed endpoint keeps it where it was.
ip -n "$C2" route add 10.88.1.0/24 via 10.88.2.1 || rvt_fail "route"
rvt_nsx "$C2" python3 "$INJ" send-hex --file "$RVT_TMP/held-down" --to "10.88.1.2:$CPORT" >&2 ||
	rvt_fail "send"
sleep 0.3
EP=$(ctl_field "session " endpoint "$RVT_TMP/c1.sock")
[ "$EP" = "$CEP1" ] || rvt_fail "a server datagram from elsewhere moved client1's endpoint: $CEP1 -> $EP"
ip netns exec "$C1" nft delete table inet rvthold || rvt_fail "nft delete"
rvt_nsx "$S" ping -c 3 -i 0.2 -W 2 "$A1" >/dev/null || rvt_fail "no tunnel after the hold"
rvt_nsx "$C1" ping -c 3 -i 0.2 -W 2 10.99.0.1 >/dev/null || rvt_fail "client1 cannot reach the server"
[ "$(ctl_sum '^workers total' '^endpoint_moves$' "$RVT_TMP/c1.sock")" = 0 ] ||
	rvt_fail "the client's endpoint moved"
rvt_log "client1's endpoint stayed $CEP1"

rvt_step "4. client2's datagrams rewritten on the way to a multicast destination (ff02::1)"
A2=$(ctl_field "session name=client2" v4)
ip netns exec "$C2" nft -f - <<EON || rvt_fail "nft"
table ip6 rvtmc {
	chain out {
		type route hook output priority -300; policy accept;
		ip6 daddr $V6 udp dport $DATA_PORT ip6 daddr set ff02::1 notrack
	}
}
EON
rvt_nsx "$C2" ping -c 3 -i 0.2 -W 2 10.99.0.1 >/dev/null ||
	rvt_fail "client2 lost its tunnel to a rewritten destination (the server answers from it?)"
[ "$(ctl_sum '^workers total' '^endpoint_moves$')" = 2 ] ||
	rvt_fail "a multicast destination moved client2's endpoint: $(grep -a 'now come from' "$SLOG" | tail -1)"
ip netns exec "$C2" nft delete table ip6 rvtmc || rvt_fail "nft delete"

rvt_step "5. the address client2 talks to leaves the server a while (a VIP moved away), then comes back"
ip -n "$S" addr del "$V6/64" dev c2 || rvt_fail "addr del"
# A burst (GSO sends) and single packets.
rvt_nsx "$S" ping -q -f -l 20 -s 1000 -c 100 -W 1 "$A2" >/dev/null
rvt_nsx "$S" ping -q -c 5 -i 0.05 -W 1 "$A2" >/dev/null
rvt_wait_for 5 "the refusal said" grep -q "a UDP send from $V6 refused" "$SLOG" ||
	rvt_fail "no line for the refused source: $(grep -a 'worker 0' "$SLOG" | tail -3)"
ip -n "$S" addr add "$V6/64" dev c2 nodad || rvt_fail "addr add"
rvt_wait_for 10 "client2's tunnel back" ip netns exec "$C2" ping -c 1 -W 1 10.99.0.1 ||
	rvt_fail "client2's tunnel did not come back with the address"
# The refusal was this session's source, not the kernel's of GSO or zero
# copy: the worker sends for everyone as before (it turned both off).
if grep -a -E "disabling UDP GSO|SENDMSG_ZC.*refused" "$SLOG"; then
	rvt_fail "a refused source turned the worker's GSO or zero copy off"
fi
rvt_nsx "$S" ping -q -c 3 -i 0.2 -W 2 "$A1" >/dev/null || rvt_fail "client1 lost"
# Room for every control message a receive brings: an IPv4 datagram on the
# dual-stack socket brings both pktinfos, and a cut-off list lost the ECN
# field after them (test_ecn). A burst from the IPv4 client: its GSO sends
# arrive as GRO receives, with a UDP_GRO control message as well.
rvt_nsx "$C1" ping -q -f -l 20 -s 1000 -c 100 -W 1 10.99.0.1 >/dev/null
if grep -a "control data truncated" "$SLOG"; then rvt_fail "receives lost control data"; fi

rvt_step "6. a client's own address changes (a DHCP lease renewed to another), IPv4 and IPv6"
# Its control connection, made from the address gone, is made again at
# once from the new one: it stayed dead until twice dead_peer_timeout, said
# as a blocked TCP path, no key exchange possible meanwhile (round-forty
# tester 198). Over IPv6 the address was never compared, the socket's
# length taken for too long (tester 202).
# renewed N OLD NEW/LEN EP_RE: client N's address OLD on veth0 replaced by
# NEW; its session comes back from an endpoint matching EP_RE.
renewed() {
	local n=$1 old=$2 new=$3 re=$4 ns t0=$EPOCHREALTIME plen=${3#*/}
	ns=$(rvt_ns_name "c$n")
	ip -n "$ns" addr del "$old/$plen" dev veth0 && ip -n "$ns" addr add "$new" dev veth0 nodad ||
		rvt_fail "client$n's new address"
	rvt_wait_for 3 "the address gone said" grep -q "this host's address $old, which the control connection to server .* was made from, is gone: connecting again" "$RVT_TMP/client$n.log" ||
		rvt_fail "the gone address not said: $(tail -3 "$RVT_TMP/client$n.log")"
	back() { ctl_field "session name=client$n" endpoint | rvt_matches "$re"; }
	rvt_wait_for 5 "client$n's session from $new" back ||
		rvt_fail "client$n not back from its new address: $(ctl_status | grep "client$n")"
	rvt_wait_for 5 "client$n's tunnel" rvt_nsx "$ns" ping -c 1 -W 1 10.99.0.1 >/dev/null ||
		rvt_fail "client$n's tunnel not back"
	rvt_log "client$n back from its new address in $(((${EPOCHREALTIME/./} - ${t0/./}) / 1000)) ms"
	! grep -q "TCP path may be blocked" "$RVT_TMP/client$n.log" || rvt_fail "blamed on the TCP path"
}
renewed 1 10.88.1.2 10.88.1.20/24 '^10\.88\.1\.20:'
# Twice more within 10 s: a session this host's address ended is no failed
# attempt, however short (two quick roams ended a client with
# --max-attempts 2: round-sixty-four tester 265).
F0=$(grep -c "counted as a failed attempt" "$RVT_TMP/client1.log")
renewed 1 10.88.1.20 10.88.1.21/24 '^10\.88\.1\.21:'
renewed 1 10.88.1.21 10.88.1.20/24 '^10\.88\.1\.20:'
[ "$(grep -c "counted as a failed attempt" "$RVT_TMP/client1.log")" = "$F0" ] ||
	rvt_fail "a roam counted as a failed attempt: $(grep "failed attempt" "$RVT_TMP/client1.log" | tail -2)"
renewed 2 fd88:2::2 fd88:2::20/64 '^\[fd88:2::20\]:'
# IPv6 renumbering as SLAAC does it: a default route stays, the new
# address goes through duplicate address detection, and meanwhile a
# packet to the server would leave from the tunnel's own address. The
# reconnect went out from it, held the client the whole handshake_timeout
# (5 s) after the new address was usable, and used an attempt (round-
# sixty-six tester 285). Now it waits for an address of the host's.
C2NS=$(rvt_ns_name c2)
ip -n "$C2NS" -6 route add default via fd88:2::1 dev veth0 || rvt_fail "client2's default route"
F2=$(grep -c "counted as a failed attempt\|no TCP connection within" "$RVT_TMP/client2.log")
t0=$EPOCHREALTIME
ip -n "$C2NS" addr del fd88:2::20/64 dev veth0 && ip -n "$C2NS" addr add fd88:2::21/64 dev veth0 ||
	rvt_fail "client2's renumbering"
back6() { ctl_field "session name=client2" endpoint | rvt_matches '^\[fd88:2::21\]:'; }
rvt_wait_for 10 "client2's session from fd88:2::21" back6 ||
	rvt_fail "client2 not back from fd88:2::21: $(tail -4 "$RVT_TMP/client2.log")"
ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
rvt_log "client2 back from its renumbered address (with DAD) in $ms ms: $(grep -a "no address of this host's" "$RVT_TMP/client2.log" | tail -1)"
[ "$(grep -c "counted as a failed attempt\|no TCP connection within" "$RVT_TMP/client2.log")" = "$F2" ] ||
	rvt_fail "an attempt from the tunnel's address: $(grep "failed attempt\|no TCP connection" "$RVT_TMP/client2.log" | tail -2)"
[ "$ms" -lt 4500 ] || rvt_fail "client2 back only after $ms ms (the duplicate address detection takes about 1 s)"
# Back to fd88:2::20 the same way, which the later steps use.
ip -n "$C2NS" addr del fd88:2::21/64 dev veth0 && ip -n "$C2NS" addr add fd88:2::20/64 dev veth0 ||
	rvt_fail "client2's renumbering back"
back6() { ctl_field "session name=client2" endpoint | rvt_matches '^\[fd88:2::20\]:'; }
rvt_wait_for 10 "client2's session from fd88:2::20" back6 ||
	rvt_fail "client2 not back from fd88:2::20: $(tail -4 "$RVT_TMP/client2.log")"
ip -n "$C2NS" -6 route del default via fd88:2::1 dev veth0

rvt_step "7. client1's network gone long enough for a long backoff, then back"
# It waited its backoff out, up to 1.5 reconnect_max after the network came
# back (45 s at the defaults: round-fifty-four tester 230); a route, an
# address or a link with its carrier gained on the host brings the retry
# forward to half a second, once per wait.
ctl_conf_set "$RVT_TMP/c1.conf" reconnect_max=30s
rvt_run "$RV_BIN" reload -s "$RVT_TMP/c1.sock" >/dev/null || rvt_fail "client1 reload"
ip -n "$C1" addr del 10.88.1.20/24 dev veth0 || rvt_fail "client1's address away"
long_wait() { grep -aEq "reconnecting in ([5-9][0-9]{3}|[0-9]{5,}) ms" "$RVT_TMP/client1.log"; }
rvt_wait_for 40 "a backoff of 5 s or more" long_wait || rvt_fail "no long backoff: $(tail -3 "$RVT_TMP/client1.log")"
# Its link's carrier first, the address 1.5 s later (as Wi-Fi, then
# DHCP): the carrier alone, with no way to the server yet, hastens nothing
# (it did, and the attempt that failed used the credit the address's return
# then lacked: round-fifty-six tester 234).
ip -n "$C1" link set veth0 down && ip -n "$C1" link set veth0 up || rvt_fail "client1's link"
sleep 1.5
grep -aq "this host's network changed" "$RVT_TMP/client1.log" && rvt_fail "hastened with no way to the server"
t0=$EPOCHREALTIME
ip -n "$C1" addr add 10.88.1.20/24 dev veth0 || rvt_fail "client1's address back"
rvt_wait_for 3 "the network change said" grep -aq "this host's network changed: reconnecting in 500 ms, not " "$RVT_TMP/client1.log" ||
	rvt_fail "the network's return not taken: $(tail -3 "$RVT_TMP/client1.log")"
rvt_wait_for 4 "client1's tunnel" rvt_nsx "$C1" ping -c 1 -W 1 10.99.0.1 >/dev/null ||
	rvt_fail "client1's tunnel not back within 4 s of its network"
el=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
rvt_log "client1 back $el ms after its network"
[ "$el" -le 4000 ] || rvt_fail "client1 back $el ms after its network, over 4 s"

# The same over IPv6 for client2, its address back without nodad: while
# duplicate address detection runs the route is there but its source is
# the tunnel's own address, and an attempt brought forward then waited out
# its TCP timeout and used the credit up (round-fifty-six tester 236).
ctl_conf_set "$RVT_TMP/c2.conf" reconnect_max=30s
rvt_run "$RV_BIN" reload -s "$RVT_TMP/c2.sock" >/dev/null || rvt_fail "client2 reload"
ip -n "$C2" addr del fd88:2::20/64 dev veth0 || rvt_fail "client2's address away"
long_wait2() { grep -aEq "reconnecting in ([5-9][0-9]{3}|[0-9]{5,}) ms" "$RVT_TMP/client2.log"; }
rvt_wait_for 40 "client2's backoff of 5 s or more" long_wait2 || rvt_fail "client2: no long backoff"
t0=$EPOCHREALTIME
ip -n "$C2" addr add fd88:2::20/64 dev veth0 || rvt_fail "client2's address back"
rvt_wait_for 8 "client2's tunnel" rvt_nsx "$C2" ping -c 1 -W 1 10.99.0.1 >/dev/null ||
	rvt_fail "client2's tunnel not back within 8 s of its address (duplicate address detection takes about 1 s): $(tail -4 "$RVT_TMP/client2.log")"
el=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
rvt_log "client2 back $el ms after its address (with DAD)"
[ "$el" -le 6000 ] || rvt_fail "client2 back $el ms after its address, over 6 s"

rvt_step "8. client1's route to its server refused for 2 s while it sends through the tunnel"
# Each refused send was said, ten and then one a second, until the session
# ended (round-fifty-four tester 230): one line at the start, one at the
# end with the count.
# Half-way the reason changes (a prohibit route: EACCES): the first
# spell's count is said as it ends, not lost.
ip -n "$C1" route add unreachable "$V4/32" || rvt_fail "the unreachable route"
rvt_bg "$C1" ping8 ping -q -i 0.01 -w 2 10.99.0.1
PING8=$RVT_LAST_PID
sleep 1
ip -n "$C1" route replace prohibit "$V4/32" || rvt_fail "the prohibit route"
rvt_exit_within 5 "$PING8" >/dev/null
ip -n "$C1" route del prohibit "$V4/32" || rvt_fail "the prohibit route away"
rvt_wait_for 5 "client1's tunnel after the refusals" rvt_nsx "$C1" ping -c 1 -W 1 10.99.0.1 >/dev/null ||
	rvt_fail "client1's tunnel not back"
grep -a "refused" "$RVT_TMP/client1.log" | tail -4 >&2
n=$(grep -ac "datagram(s) to server (session [0-9a-f]*) refused: No route to host" "$RVT_TMP/client1.log")
p=$(grep -ac "datagram(s) to server (session [0-9a-f]*) refused: Permission denied" "$RVT_TMP/client1.log")
rvt_log "refused sends said in $n and $p line(s): $(grep -a "pass again" "$RVT_TMP/client1.log" | tail -1)"
[ "$n" = 1 ] && [ "$p" = 1 ] || rvt_fail "the refused sends said in $n and $p lines"
grep -aEq "UDP sends to session [0-9a-f]+ are refused for another reason now; [0-9]{2,} more datagram\(s\) were refused \(No route to host\) over [0-9.]+ s" "$RVT_TMP/client1.log" ||
	rvt_fail "the first spell's end not said"
grep -aEq "UDP sends to session [0-9a-f]+ pass again; [0-9]{2,} more datagram\(s\) were refused \(Permission denied\) over [0-9.]+ s" "$RVT_TMP/client1.log" ||
	rvt_fail "the end of the refusals not said"
rvt_step "9. a blackhole route on the server to client2 while it sends bursts (GSO) and single packets"
# A blackhole answers any send EINVAL: taken for a device that refuses GSO,
# it turned GSO off for every session until a restart, the burst's
# datagrams said in no line, and each datagram's retry from the route's
# source said a line of its own (round-fifty-eight tester 244).
EP2=$(ctl_field "session name=client2" endpoint)
H2=${EP2%:*}
H2=${H2#[}
H2=${H2%]}
case $H2 in *:*) BH="$H2/128" ;; *) BH="$H2/32" ;; esac
d0=$(ctl_field "workers total" drop_udp_send)
f0=$(grep -ac "a UDP send from" "$SLOG")
l0=$(wc -l <"$SLOG")
# Under 2 s in all: client2 hears nothing from the server meanwhile, and
# its dead-peer timeout here is 4 s.
ip -n "$S" route add blackhole "$BH" || rvt_fail "the blackhole route"
rvt_nsx "$S" timeout 1.2 ping -q -f -l 20 -s 1000 -c 60 "$A2" >/dev/null
rvt_nsx "$S" timeout 0.5 ping -q -c 5 -i 0.05 "$A2" >/dev/null
ip -n "$S" route del blackhole "$BH" || rvt_fail "the blackhole route away"
rvt_wait_for 10 "client2's tunnel after the blackhole" rvt_nsx "$S" ping -c 1 -W 1 "$A2" >/dev/null ||
	rvt_fail "client2's tunnel not back"
rvt_wait_for 10 "the end of the refusals said" grep -aq "pass again; .*(Invalid argument)" "$SLOG" ||
	rvt_fail "the end of the blackhole's refusals not said: $(grep -a 'worker' "$SLOG" | tail -3)"
d1=$(ctl_field "workers total" drop_udp_send)
said=$(grep -a "Invalid argument" "$SLOG" | awk '
	/datagram\(s\) to client client2 .*refused: Invalid argument/ { for (i = 1; i <= NF; i++) if ($i == "datagram(s)") s += $(i - 1) }
	/pass again; / { for (i = 1; i <= NF; i++) if ($i == "more") s += $(i - 1) }
	END { print s + 0 }')
rvt_log "blackhole: drop_udp_send +$((d1 - d0)), said $said; lines: $(grep -ac 'Invalid argument' "$SLOG")"
[ $((d1 - d0)) -ge 40 ] || rvt_fail "the blackhole refused $((d1 - d0)) datagrams (ping sent up to 65)"
grep -aq "client client2 .*disconnected" <(sed -n "$((l0 + 1)),\$p" "$SLOG") &&
	rvt_fail "client2's session ended across the blackhole"
[ "$said" = $((d1 - d0)) ] || rvt_fail "refused $((d1 - d0)) datagrams, said $said"
[ "$(grep -ac "a UDP send from" "$SLOG")" = "$f0" ] ||
	rvt_fail "the retries from the route's source said per datagram: $(grep -a "a UDP send from" "$SLOG" | tail -2)"
if grep -a -E "disabling UDP GSO|SENDMSG_ZC.*refused" "$SLOG"; then
	rvt_fail "one client's blackhole turned the worker's GSO or zero copy off"
fi
# And an unreachable route, whose refusals go no resend's way, for under a
# second.
ip -n "$S" route add unreachable "$BH" || rvt_fail "the unreachable route"
rvt_nsx "$S" timeout 0.6 ping -q -f -l 20 -s 1000 -c 60 "$A2" >/dev/null
ip -n "$S" route del unreachable "$BH" || rvt_fail "the unreachable route away"
rvt_wait_for 10 "client2's tunnel after the unreachable route" rvt_nsx "$S" ping -c 1 -W 1 "$A2" >/dev/null ||
	rvt_fail "client2's tunnel not back"
# A refused zero-copy send's notification says "copied": it was counted, so
# zc_copied exceeded zc_sends (round-fifty-nine tester 245; for the
# refusals no resend follows, round-sixty tester 247).
zs=$(ctl_field "workers total" zc_sends) zcp=$(ctl_field "workers total" zc_copied)
rvt_log "zero copy: zc_sends $zs, zc_copied $zcp, zc_resent $(ctl_field "workers total" zc_resent)"
[ "$zs" -gt 0 ] || rvt_fail "no zero-copy send with zerocopy = on"
[ "$zcp" -le "$zs" ] || rvt_fail "zc_copied $zcp above zc_sends $zs"
rvt_nsx "$S" ping -q -c 3 -i 0.2 -W 2 "$A1" >/dev/null || rvt_fail "client1 lost"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server did not exit 0"

rvt_step "10. a name of both families, its IPv6 address covered by a pushed route: back over IPv4 after an IPv4 outage"
# The session runs over IPv4 (IPv6 dropped at first), and the pushed route
# into the tunnel covers the name's IPv6 address, which the resolver gives
# first. After the IPv4 path failed the client tried that address alone,
# its way into the tunnel, for ever: not back over IPv4 either once it
# returned (round-sixty-seven tester 294). Now the name's next address.
ctl_server_conf "$RVT_TMP/dual.conf" listen=4533 data_port=4534 tun=rvs1 \
	status_socket="$RVT_TMP/dual.sock" lease_file="$RVT_TMP/dual.leases" \
	dead_peer_timeout=3 route=fd88:1::1/128
rvt_bg "$S" dual "$RV_BIN" server -c "$RVT_TMP/dual.conf"
DUAL=$RVT_LAST_PID
rvt_wait_for 10 "the second server" "$RV_BIN" status -s "$RVT_TMP/dual.sock" || rvt_fail "the second server did not start"
mkdir -p "/etc/netns/$C1"
printf '127.0.0.1 localhost\nfd88:1::1 dual.test\n10.88.1.1 dual.test\n' >"/etc/netns/$C1/hosts"
# The resolver's order: ULA before IPv4, as a host with global IPv6 has it.
printf 'precedence ::1/128 50\nprecedence fc00::/7 45\nprecedence ::/0 40\nprecedence ::ffff:0:0/96 10\n' \
	>"/etc/netns/$C1/gai.conf"
ip netns exec "$S" nft -f - <<EON || rvt_fail "nft"
table inet rvtdual {
	chain in {
		type filter hook input priority 0;
		meta nfproto ipv6 tcp dport 4533 drop
	}
}
EON
CTL_IDX=1 ctl_client_conf "$RVT_TMP/dualc.conf" "$PKI/client1" rvd "$RVT_TMP/dualc.sock" \
	server=dual.test:4533 server_name=vpn.test handshake_timeout=1500ms \
	reconnect_min=200ms reconnect_max=1s
rvt_bg "$C1" dualc "$RV_BIN" client -c "$RVT_TMP/dualc.conf"
DUALC=$RVT_LAST_PID
# dual_in LOG: the client of LOG in over IPv4, the pushed route over the
# server's IPv6 address in place.
dual_in() {
	rvt_wait_for 20 "the client in over IPv4" grep -q "connected to dual.test (10.88.1.1:4533)" "$1" ||
		rvt_fail "not in over IPv4: $(tail -4 "$1")"
	rvt_wait_for 10 "the route over the IPv6 address" sh -c "ip -n '$C1' -6 route show fd88:1::1 | grep -q rvd" ||
		rvt_fail "the pushed route is not in place: $(ip -n "$C1" -6 route)"
}
dual_in "$RVT_TMP/dualc.log"
# IPv6 back, IPv4 gone.
ip netns exec "$S" nft flush chain inet rvtdual in
ip netns exec "$S" nft add rule inet rvtdual in meta nfproto ipv4 tcp dport 4533 drop
ip netns exec "$S" nft add rule inet rvtdual in meta nfproto ipv4 udp dport 4534 drop
rvt_wait_for 15 "the session lost" grep -q "disconnected from server dual.test" "$RVT_TMP/dualc.log" ||
	rvt_fail "the session did not end with IPv4 dropped"
sleep 3
ip netns exec "$S" nft flush chain inet rvtdual in
T0=$(date +%s)
rvt_wait_for 15 "back over IPv4" sh -c "[ \$(grep -c 'connected to dual.test (10.88.1.1:4533)' '$RVT_TMP/dualc.log') -ge 2 ]" ||
	rvt_fail "not back after IPv4 returned: $(tail -5 "$RVT_TMP/dualc.log")"
rvt_log "back $(($(date +%s) - T0)) s after IPv4 returned"
grep -q "trying its next address" "$RVT_TMP/dualc.log" ||
	rvt_fail "the IPv6 address's way into the tunnel not said: $(tail -5 "$RVT_TMP/dualc.log")"
# The IPv4 address first and refusing: the IPv6 one after it goes into the
# tunnel, and no address before it is tried again in the attempt (it went
# back to the refusing one at once, some 50,000 lines a second without a
# backoff or a count: tester 295).
rvt_stop_pid "$DUALC" 10 || rvt_fail "the client did not exit 0"
printf 'precedence ::1/128 50\nprecedence ::ffff:0:0/96 45\nprecedence ::/0 40\nprecedence fc00::/7 10\n' \
	>"/etc/netns/$C1/gai.conf"
rvt_bg "$C1" dualc2 "$RV_BIN" client -c "$RVT_TMP/dualc.conf"
DUALC=$RVT_LAST_PID
dual_in "$RVT_TMP/dualc2.log"
ip netns exec "$S" nft add rule inet rvtdual in meta nfproto ipv4 tcp dport 4533 reject with tcp reset
ip netns exec "$S" nft add rule inet rvtdual in meta nfproto ipv4 udp dport 4534 drop
rvt_wait_for 15 "the session lost again" grep -q "disconnected from server dual.test" "$RVT_TMP/dualc2.log" ||
	rvt_fail "the session did not end with IPv4 refused"
sleep 4
N=$(grep -c "Connection refused" "$RVT_TMP/dualc2.log")
rvt_log "connections refused in 4 s: $N"
[ "$N" -le 12 ] || rvt_fail "the client loops on the refusing address: $N refusals, $(tail -3 "$RVT_TMP/dualc2.log")"
# And each attempt counted, with its backoff (it waited on the address into
# the tunnel and went back to the refusing one twice a second, one failed
# attempt in all: tester 297).
F=$("$RV_BIN" status -s "$RVT_TMP/dualc.sock" | sed -n 's/.*attempts failed in a row \([0-9]*\).*/\1/p')
rvt_log "attempts failed in a row: $F"
[ "${F:-0}" -ge 2 ] || rvt_fail "the failed attempts not counted: $("$RV_BIN" status -s "$RVT_TMP/dualc.sock" | head -3)"
ip netns exec "$S" nft flush chain inet rvtdual in
ip netns exec "$S" nft delete table inet rvtdual
rm -f "/etc/netns/$C1/hosts" "/etc/netns/$C1/gai.conf"
rvt_stop_pid "$DUALC" 10 || rvt_fail "the client did not exit 0"
rvt_stop_pid "$DUAL" 10 || rvt_fail "the second server did not exit 0"

rvt_step "11. a name of two addresses, the one tried last unreachable: the network gone for a long backoff, then back"
# Each attempt ended on the name's last address, which has no way here, and
# the network's return was judged by that address alone: back, the client
# waited its whole backoff out (a dual-stack name whose IPv4 address had no
# way, its IPv6 network back: 11 s of 20, round-seventy tester 320). Now by
# any address of the name. Two IPv6 addresses, so that the resolver's order
# is the file's (both as near the host's address; the unreachable one is
# farther).
ctl_server_conf "$RVT_TMP/dual6.conf" listen=4543 data_port=4544 tun=rvs2 \
	status_socket="$RVT_TMP/dual6.sock" lease_file="$RVT_TMP/dual6.leases" dead_peer_timeout=3
rvt_bg "$S" dual6 "$RV_BIN" server -c "$RVT_TMP/dual6.conf"
DUAL6=$RVT_LAST_PID
rvt_wait_for 10 "the third server" "$RV_BIN" status -s "$RVT_TMP/dual6.sock" || rvt_fail "the third server did not start"
# Client1's IPv6 address went with its link's down in step 7.
ip -n "$C1" addr replace fd88:1::2/64 dev veth0 nodad || rvt_fail "client1's IPv6 address"
mkdir -p "/etc/netns/$C1"
printf '127.0.0.1 localhost\nfd88:1::1 dual.test\nfd77::1 dual.test\n' >"/etc/netns/$C1/hosts"
ip -n "$C1" -6 route add unreachable fd77::/16 || rvt_fail "the unreachable route"
CTL_IDX=1 ctl_client_conf "$RVT_TMP/dual6c.conf" "$PKI/client1" rve "$RVT_TMP/dual6c.sock" \
	server=dual.test:4543 server_name=vpn.test reconnect_min=200ms reconnect_max=30s
rvt_bg "$C1" dual6c "$RV_BIN" client -c "$RVT_TMP/dual6c.conf"
DUAL6C=$RVT_LAST_PID
in6() { [ "$(grep -c "connected to dual.test (\[fd88:1::1\]:4543)" "$RVT_TMP/dual6c.log")" -ge "$1" ]; }
rvt_wait_for 20 "the client in" in6 1 || rvt_fail "not in over fd88:1::1: $(tail -4 "$RVT_TMP/dual6c.log")"
ip -n "$C1" addr del fd88:1::2/64 dev veth0 || rvt_fail "client1's IPv6 address away"
long6() { grep -aEq "reconnecting in ([5-9][0-9]{3}|[0-9]{5,}) ms" "$RVT_TMP/dual6c.log"; }
rvt_wait_for 40 "a backoff of 5 s or more" long6 || rvt_fail "no long backoff: $(tail -3 "$RVT_TMP/dual6c.log")"
grep -aq "(\[fd77::1\]:4543)" "$RVT_TMP/dual6c.log" || rvt_fail "the name's second address not tried"
t0=$EPOCHREALTIME
ip -n "$C1" addr add fd88:1::2/64 dev veth0 nodad || rvt_fail "client1's IPv6 address back"
rvt_wait_for 4 "back" in6 2 || rvt_fail "not back within 4 s of its address: $(tail -4 "$RVT_TMP/dual6c.log")"
el=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
rvt_log "back $el ms after the address: $(grep -a "network changed" "$RVT_TMP/dual6c.log" | tail -1)"
grep -aq "this host's network changed: reconnecting in 500 ms" "$RVT_TMP/dual6c.log" ||
	rvt_fail "the network's return not said"
[ "$el" -le 3500 ] || rvt_fail "back only $el ms after its address"
ip -n "$C1" -6 route del unreachable fd77::/16
rm -f "/etc/netns/$C1/hosts"
rvt_stop_pid "$DUAL6C" 10 || rvt_fail "the client did not exit 0"

# list_back NAME FIRST UNREACHABLE...: client1 with a list of servers
# (FIRST, the third server, then each UNREACHABLE one, under an unreachable
# route), in; its address away until a backoff of 5 s or more, then back:
# the retry brought forward, in within 3.5 s.
list_back() {
	local name=$1 first=$2 u el t0
	shift 2
	CTL_IDX=1 ctl_client_conf "$RVT_TMP/$name.conf" "$PKI/client1" rvl "$RVT_TMP/$name.sock" \
		"server=$first:4543" server_name=vpn.test reconnect_min=200ms reconnect_max=30s
	for u in "$@"; do echo "server = $u:4543" >>"$RVT_TMP/$name.conf"; done
	rvt_bg "$C1" "$name" "$RV_BIN" client -c "$RVT_TMP/$name.conf"
	LISTC=$RVT_LAST_PID
	inl() { [ "$(grep -c "connected to $first (10.88.1.1:4543)" "$RVT_TMP/$name.log")" -ge "$1" ]; }
	rvt_wait_for 20 "the client in" inl 1 || rvt_fail "$name: not in: $(tail -4 "$RVT_TMP/$name.log")"
	ip -n "$C1" addr del 10.88.1.20/24 dev veth0 || rvt_fail "client1's address away"
	longl() { grep -aEq "reconnecting in ([5-9][0-9]{3}|[0-9]{5,}) ms" "$RVT_TMP/$name.log"; }
	rvt_wait_for 40 "a backoff of 5 s or more" longl || rvt_fail "$name: no long backoff: $(tail -3 "$RVT_TMP/$name.log")"
	grep -aq "cannot connect to server ${!#}" "$RVT_TMP/$name.log" || rvt_fail "$name: the last server not tried"
	t0=$EPOCHREALTIME
	ip -n "$C1" addr add 10.88.1.20/24 dev veth0 || rvt_fail "client1's address back"
	rvt_wait_for 6 "back" inl 2 || rvt_fail "$name: not back within 6 s of its address: $(tail -4 "$RVT_TMP/$name.log")"
	el=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	rvt_log "$name: back $el ms after the address: $(grep -a "network changed" "$RVT_TMP/$name.log" | tail -1)"
	grep -aq "this host's network changed: reconnecting in 500 ms" "$RVT_TMP/$name.log" ||
		rvt_fail "$name: the network's return not said"
	[ "$el" -le 3500 ] || rvt_fail "$name: back only $el ms after its address"
	rvt_stop_pid "$LISTC" 10 || rvt_fail "$name: the client did not exit 0"
}

rvt_step "12. a list of two servers, the second unreachable: the network gone for a long backoff, then back"
# The attempts fail over from the first server to the second, which has no
# way, and the network's return was judged by the second's addresses alone:
# the client waited its whole backoff out (5-12 s: round-seventy tester
# 323). Now by every listed server's.
ip -n "$C1" route add unreachable 10.250.0.0/16 || rvt_fail "the unreachable route"
list_back listc 10.88.1.1 10.250.0.1

rvt_step "13. a list of five names, four unreachable: the same"
# The answers of four names were kept, and by the fifth the first's was
# gone: the return was not judged by it (5.6-13.7 s: round-seventy tester
# 326).
mkdir -p "/etc/netns/$C1"
printf '127.0.0.1 localhost\n10.88.1.1 ok.test\n' >"/etc/netns/$C1/hosts"
for k in 2 3 4 5; do printf '10.250.0.%s u%s.test\n' "$k" "$k" >>"/etc/netns/$C1/hosts"; done
list_back namesc ok.test u2.test u3.test u4.test u5.test
rm -f "/etc/netns/$C1/hosts"
ip -n "$C1" route del unreachable 10.250.0.0/16
rvt_stop_pid "$DUAL6" 10 || rvt_fail "the third server did not exit 0"
