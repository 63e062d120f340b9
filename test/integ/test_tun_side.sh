#!/usr/bin/env bash
# test_tun_side.sh — superframes the hosts' own applications hand the TUN
# get what single packets get (found by a hostile tester):
#   1. UDP_SEGMENT (USO) sends from client1 to 255.255.255.255, to
#      239.1.2.3 and from its IPv6 link-local address stay on the link:
#      counted as link_scope at the client, nothing sent, the server blames
#      no one for a spoofed source (each superframe was carried: the
#      broadcast reached a service on the server, the link-local one was
#      logged there as client1 spoofing).
#   2. USO sends from the server to a pool address nobody holds get ICMP
#      unreachable (the sender sees EHOSTUNREACH; before: nothing).
#   3. IPv6 TCP with a 1024-byte destination options header on every
#      packet: the kernel's superframes (128 segments of 324 bytes behind
#      1096 bytes of headers) are cut over several send chunks, none
#      dropped (each was, as malformed: 20-50 times slower).
#
# Usage: bash test_tun_side.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

ctl_init 1
ctl_client_ns c1 1
C1=$(rvt_ns_name c1)
PY=$RV_SRC/test/integ/tun_side.py
ctl_start_server
ctl_client 1
rvt_wait_for 10 "client1's session" ctl_sessions_eq 1 || rvt_fail "no session"
rvt_wait_for 10 "the tunnel" rvt_nsx "$C1" ping -c 1 -W 1 fd99::1 >/dev/null || rvt_fail "no IPv6 ping"
A1=$(ctl_field "session name=client1" v4)
# counter SOCK NAME: a total of the workers' counters.
counter() {
	"$RV_BIN" status --kv -s "$1" | grep '^workers total' | tr ' ' '\n' |
		awk -F= -v k="$2" '$1 == k { print $2 }'
}
CSOCK=$RVT_TMP/c1.sock

rvt_step "0. an idle server counts no drops of its own making"
# Its TUN check (every 5 s) asked the kernel to add the addresses it had:
# the kernel announced the device's multicast memberships anew, an MLD
# report into the TUN each time, counted as link_scope drops for ever (24 a
# minute: round-sixty-four tester 266).
# idle_for WHAT: no link_scope drop on the server or client1 in 11 s.
# client1's kernel sent IPv6 Router Solicitations into its TUN for ever,
# each one such a drop (round-sixty-four tester 268).
idle_for() {
	local s0 c0 grown
	sleep 2
	s0=$(counter "$SRV_SOCK" drop_link_scope)
	c0=$(counter "$CSOCK" drop_link_scope)
	sleep 11
	grown=$(($(counter "$SRV_SOCK" drop_link_scope) - s0)),$(($(counter "$CSOCK" drop_link_scope) - c0))
	[ "$grown" = 0,0 ] || rvt_fail "$1: link_scope drops in 11 s (server, client1): $grown"
}
idle_for "an idle server"
# ... nor with its IPv6 address held at another length (an administrator's
# change): the add failed as well, each time (tester 267).
ip -n "$S" -6 addr del fd99::1/64 dev rvs0 && ip -n "$S" -6 addr add fd99::1/48 dev rvs0 nodad ||
	rvt_fail "fd99::1/48"
idle_for "an idle server whose IPv6 address is a /48"
ip -n "$S" -6 addr del fd99::1/48 dev rvs0 || rvt_fail "fd99::1/48 away"
rvt_wait_for 10 "fd99::1/64 put back" sh -c "ip -n $S -6 addr show dev rvs0 | grep -q 'fd99::1/64'" ||
	rvt_fail "fd99::1/64 not put back: $(ip -n "$S" -6 addr show dev rvs0)"

rvt_step "1. USO to broadcast, multicast and from a link-local source stays on the link"
ls0=$(counter "$CSOCK" drop_link_scope)
tx0=$(counter "$CSOCK" tx_packets)
sp0=$(counter "$SRV_SOCK" drop_spoof)
rvt_nsx "$C1" python3 "$PY" uso-link bcast rvc >/dev/null || rvt_fail "broadcast send"
rvt_nsx "$C1" python3 "$PY" uso-link mcast rvc "$A1" >/dev/null || rvt_fail "multicast send"
rvt_nsx "$C1" python3 "$PY" uso-link ll6 rvc >/dev/null || rvt_fail "link-local send"
sleep 0.5
ls1=$(counter "$CSOCK" drop_link_scope)
tx1=$(counter "$CSOCK" tx_packets)
sp1=$(counter "$SRV_SOCK" drop_spoof)
rvt_log "client1: link_scope +$((ls1 - ls0)), tx_packets +$((tx1 - tx0)); server: spoof +$((sp1 - sp0))"
# 3 x 5 superframes of 4 (the kernel may add an IGMP or MLD report or two).
[ $((ls1 - ls0)) -ge 60 ] || rvt_fail "only $((ls1 - ls0)) of 60 segments kept on the link"
[ $((tx1 - tx0)) -lt 20 ] || rvt_fail "$((tx1 - tx0)) packets sent"
[ "$sp1" = "$sp0" ] || rvt_fail "the server saw $((sp1 - sp0)) spoofed packets from client1"

rvt_step "2. USO from the server to an offline client address is answered"
for dst in 10.99.0.50 fd99::50; do
	out=$(rvt_nsx "$S" python3 "$PY" uso-unreach "$dst") || rvt_fail "uso-unreach $dst"
	rvt_log "$dst: $out"
	rvt_matches EHOSTUNREACH <<<"$out" || rvt_fail "no unreachable for USO to $dst: $out"
done

rvt_step "3. IPv6 TCP with 1024 bytes of extension headers on every packet"
bv0=$(counter "$CSOCK" drop_bad_vnet)
rvt_bg "$S" sink python3 "$PY" tcp sink fd99::1 7601 8000000 1024
SINK=$RVT_LAST_PID
sleep 0.3
sent=$(rvt_nsx "$C1" timeout 60 python3 "$PY" tcp send fd99::1 7601 8000000 1024) || rvt_fail "send"
wait "$SINK" || rvt_fail "sink"
rvt_forget_pid "$SINK"
got=$(cat "$RVT_TMP/sink.log")
rvt_log "sent: $sent; received: $got"
[ "$got" = "$sent" ] || rvt_fail "not what was sent"
bv1=$(counter "$CSOCK" drop_bad_vnet)
[ "$bv1" = "$bv0" ] || rvt_fail "$((bv1 - bv0)) superframes dropped as malformed: $(grep -a superframe "$RVT_TMP/client1.log" | tail -1)"
