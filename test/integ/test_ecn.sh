#!/usr/bin/env bash
# test_ecn.sh — ECN through the tunnel (RFC 6040, normal mode), over an IPv4
# underlay (client1) and an IPv6 one (client2, whose server's sockets send
# IPV6_TCLASS where client1's get IP_TOS on a dual-stack socket):
#   1. Encapsulation: an inner packet's ECN field is copied to the outer
#      header, both ways: the client's pings with ECT(0) (IPv4) and ECT(1)
#      (IPv6) leave its veth as ECT(0) and ECT(1) datagrams, and so do the
#      server's pings to the client.
#   2. Decapsulation: a queue on the way that marks the outer header CE
#      (nftables in the server's namespace, on ECT(0) datagrams only) has
#      the inner packet arrive on the server's TUN with CE, every ping
#      answered, and counted (ecn_ce).
#      An inner packet sent with CE already is no mark on the way: not
#      counted.
#   3. A CE mark on a datagram whose inner packet is Not-ECT drops it
#      (drop_ecn, and a log line): its transport could not be told of the
#      congestion.
#   4. ecn = no (client3): its datagrams carry 0 outside, and a CE mark on
#      what it receives is ignored, not a drop.
#   5. The server's own CoDel (aqm_target_us = 1: it acts whenever a bulk
#      datagram waited at all; aqm_interval_us = 100000, so the wait stays
#      under the interval, where marks still work) marks the datagrams of an
#      ECN-capable TCP transfer CE rather than dropping them (aqm_ce), and
#      the sender hears of it (TcpExtTCPDeliveredCE).
#   6. ... and drops nothing of datagrams that arrive one at a time, each
#      late (above that target) with no queue behind it.
#   7. ... nor of short bursts after idle gaps: the queue emptied between
#      them, so each burst starts the wait above target afresh.
#   8. ... nor a lone bulk datagram that a small one (of the small socket)
#      kept company in the turn (the server stopped 2 ms, 60 times).
#   9. A TCP stream of 600-byte segments, under half the MTU: CoDel drops
#      its datagrams (they were never picked), charges them to its session,
#      and small pings beside it lose nothing; so it does of a stream of
#      segments of the small class (MSS 200), which arrive in GRO trains.
#
#   ns rvt-$$-c1 (client1) --veth (10.88.1.0/24)-- ns rvt-$$-s (server, TUN rvs0)
#   ns rvt-$$-c2 (client2) --veth (fd88:2::/64)--/
#   ns rvt-$$-c3 (client3, ecn = no) --veth--/
#
# Usage: bash test_ecn.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

ctl_init 3
for i in 1 2 3; do
	ctl_client_ns "c$i" "$i"
done
C1=$(rvt_ns_name c1)
C2=$(rvt_ns_name c2)
C3=$(rvt_ns_name c3)

CTL_SERVER_KV=(aqm_target_us=1 aqm_interval_us=100000)
ctl_start_server
ctl_client 1
ctl_client 2 "server=[fd88:2::1]:$SRV_PORT"
CLIENT_PIDS=("$RVT_LAST_PID")
ctl_client 3 ecn=no
CLIENT_PIDS+=("$RVT_LAST_PID")
for i in 1 2 3; do
	ns=$(rvt_ns_name "c$i")
	rvt_wait_for 15 "client$i up" rvt_nsx "$ns" ping -c 1 -W 1 10.99.0.1 || rvt_fail "client$i: no tunnel"
	rvt_wait_for 10 "client$i IPv6" rvt_nsx "$ns" ping -6 -c 1 -W 1 fd99::1 || rvt_fail "client$i: no IPv6"
done
A1=$(ctl_field "session name=client1" v4)
B2=$(ctl_field "session name=client2" v6)
A3=$(ctl_field "session name=client3" v4)
rvt_log "client1 $A1 (IPv4 underlay), client2 $B2 (IPv6 underlay)"

# count NS NAME: packets counted by named counter NAME of table inet rvtecn.
count() {
	ip netns exec "$1" nft list counter inet rvtecn "$2" | awk '$1 == "packets" { print $2 }'
}

# Counters of the outer header's ECN field, both directions, in each
# client's namespace (on the veth: the datagrams as the underlay sees them).
for ns in "$C1" "$C2" "$C3"; do
	ip netns exec "$ns" nft -f - <<EON || rvt_fail "nft in $ns"
table inet rvtecn {
	counter out_ect0 {}
	counter out_ect1 {}
	counter in_ect0 {}
	chain out {
		type filter hook postrouting priority 0;
		udp dport $DATA_PORT ip ecn ect0 counter name out_ect0
		udp dport $DATA_PORT ip6 ecn ect0 counter name out_ect0
		udp dport $DATA_PORT ip ecn ect1 counter name out_ect1
		udp dport $DATA_PORT ip6 ecn ect1 counter name out_ect1
	}
	chain in {
		type filter hook prerouting priority 0;
		udp sport $DATA_PORT ip ecn ect0 counter name in_ect0
		udp sport $DATA_PORT ip6 ecn ect0 counter name in_ect0
	}
}
EON
done

rvt_step "1. the inner ECN field is copied to the outer header, both ways"
for i in 1 2; do
	ns=$(rvt_ns_name "c$i")
	rvt_nsx "$ns" ping -Q 2 -c 4 -i 0.05 -W 1 10.99.0.1 >/dev/null || rvt_fail "client$i: ECT(0) ping"
	rvt_nsx "$ns" ping -6 -Q 1 -c 4 -i 0.05 -W 1 fd99::1 >/dev/null || rvt_fail "client$i: ECT(1) ping"
	e0=$(count "$ns" out_ect0) e1=$(count "$ns" out_ect1)
	rvt_log "client$i sent $e0 ECT(0) and $e1 ECT(1) datagrams"
	[ "$e0" -ge 4 ] || rvt_fail "client$i: $e0 ECT(0) datagrams out, want 4 (inner ECT(0) pings)"
	[ "$e1" -ge 4 ] || rvt_fail "client$i: $e1 ECT(1) datagrams out, want 4 (inner ECT(1) pings)"
done
rvt_nsx "$S" ping -Q 2 -c 4 -i 0.05 -W 1 "$A1" >/dev/null || rvt_fail "server: ECT(0) ping to client1"
rvt_nsx "$S" ping -6 -Q 2 -c 4 -i 0.05 -W 1 "$B2" >/dev/null || rvt_fail "server: ECT(0) ping to client2"
for i in 1 2; do
	n=$(count "$(rvt_ns_name "c$i")" in_ect0)
	rvt_log "client$i received $n ECT(0) datagrams"
	[ "$n" -ge 4 ] || rvt_fail "client$i: $n ECT(0) datagrams in from the server, want 4"
done
[ "$(ctl_sum "^workers total" "^drop_ecn$")" = 0 ] || rvt_fail "drops without any CE mark"
c0=$(ctl_sum "^workers total" "^ecn_ce$")
rvt_nsx "$C1" ping -Q 3 -c 4 -i 0.05 -W 1 10.99.0.1 >/dev/null || rvt_fail "client1: CE ping"
c1=$(ctl_sum "^workers total" "^ecn_ce$")
[ "$c1" = "$c0" ] || rvt_fail "ecn_ce +$((c1 - c0)) for packets sent with CE: no mark on the way"

# The underlay's queue: in the server's namespace, before anything else.
ip netns exec "$S" nft -f - <<EON || rvt_fail "nft in the server's namespace"
table inet rvtecn {
	counter tun_ce4 {}
	counter tun_ce6 {}
	chain pre {
		type filter hook prerouting priority -300;
		udp dport $DATA_PORT ip ecn ect0 ip ecn set ce
		udp dport $DATA_PORT ip6 ecn ect0 ip6 ecn set ce
		iifname "rvs0" ip ecn ce counter name tun_ce4
		iifname "rvs0" ip6 ecn ce counter name tun_ce6
	}
}
EON

rvt_step "2. a CE mark on the way reaches the inner packet"
c0=$(ctl_sum "^workers total" "^ecn_ce$")
for i in 1 2; do
	ns=$(rvt_ns_name "c$i")
	rvt_nsx "$ns" ping -Q 2 -c 4 -i 0.05 -W 1 10.99.0.1 >/dev/null || rvt_fail "client$i: CE-marked ping lost"
	rvt_nsx "$ns" ping -6 -Q 2 -c 4 -i 0.05 -W 1 fd99::1 >/dev/null || rvt_fail "client$i: CE-marked IPv6 ping lost"
done
ce4=$(count "$S" tun_ce4) ce6=$(count "$S" tun_ce6) c1=$(ctl_sum "^workers total" "^ecn_ce$")
rvt_log "CE on the server's TUN: $ce4 IPv4, $ce6 IPv6; ecn_ce +$((c1 - c0))"
[ "$ce4" -ge 8 ] && [ "$ce6" -ge 8 ] || rvt_fail "inner packets with CE: $ce4 IPv4 and $ce6 IPv6, want 8 each"
[ $((c1 - c0)) -ge 16 ] || rvt_fail "ecn_ce +$((c1 - c0)), want 16"

rvt_step "3. a CE mark on a packet that is not ECN-capable drops it"
ip netns exec "$S" nft insert rule inet rvtecn pre udp dport "$DATA_PORT" ip ecn not-ect ip ecn set ce ||
	rvt_fail "nft"
ip netns exec "$S" nft insert rule inet rvtecn pre udp dport "$DATA_PORT" ip6 ecn not-ect ip6 ecn set ce ||
	rvt_fail "nft"
d0=$(ctl_sum "^workers total" "^drop_ecn$") c0=$(ctl_sum "^workers total" "^ecn_ce$")
# client1 floods (100 drops a second, ten times the log's rate limit)
# while client2 pings: the line for client2's first drop must be written
# all the same.
rvt_bg "$C1" flood ping -f -w 2 -W 1 10.99.0.1
FLOOD=$RVT_LAST_PID
sleep 0.5
for i in 2 1; do
	! rvt_nsx "$(rvt_ns_name "c$i")" ping -c 3 -i 0.05 -W 1 10.99.0.1 >/dev/null ||
		rvt_fail "client$i: a Not-ECT packet marked CE was delivered"
done
rvt_exit_within 5 "$FLOOD" || rvt_fail "the flood did not end"
d1=$(ctl_sum "^workers total" "^drop_ecn$") c1=$(ctl_sum "^workers total" "^ecn_ce$")
rvt_log "drop_ecn +$((d1 - d0)), ecn_ce +$((c1 - c0))"
[ $((d1 - d0)) -ge 6 ] || rvt_fail "drop_ecn +$((d1 - d0)), want 6"
[ $((c1 - c0)) = $((d1 - d0)) ] || rvt_fail "ecn_ce +$((c1 - c0)): every mark counts, dropped or not"
for i in 1 2; do
	idx=$(ctl_field "session name=client$i" index)
	grep -q "dropped a packet of client client$i (session $idx): congestion experienced (CE) on the outer header, but the inner packet is not ECN-capable" \
		"$RVT_TMP/server.log" || rvt_fail "client$i's drops (session $idx) were not logged"
done
ip netns exec "$S" nft delete table inet rvtecn || rvt_fail "nft delete"
for i in 1 2; do
	rvt_nsx "$(rvt_ns_name "c$i")" ping -c 1 -W 1 10.99.0.1 >/dev/null || rvt_fail "client$i: no tunnel after"
done

rvt_step "4. ecn = no: 0 outside, and marks on what arrives are ignored"
rvt_nsx "$C3" ping -Q 2 -c 4 -i 0.05 -W 1 10.99.0.1 >/dev/null || rvt_fail "client3: ECT(0) ping"
e0=$(count "$C3" out_ect0)
[ "$e0" = 0 ] || rvt_fail "client3 (ecn = no) sent $e0 ECT(0) datagrams"
ip netns exec "$C3" nft -f - <<EON || rvt_fail "nft in client3's namespace"
table inet rvtecn {
	chain marker {
		type filter hook prerouting priority -300;
		udp sport $DATA_PORT ip ecn set ce
	}
}
EON
rvt_nsx "$S" ping -c 3 -i 0.05 -W 1 "$A3" >/dev/null || rvt_fail "client3 (ecn = no) dropped CE-marked packets"
[ "$(ctl_sum "^workers total" "^drop_ecn$" "$RVT_TMP/c3.sock")" = 0 ] || rvt_fail "client3 counted ecn drops"

rvt_step "5. the server's CoDel marks an ECN-capable transfer instead of dropping it"
ip netns exec "$C1" sysctl -qw net.ipv4.tcp_ecn=1 || rvt_fail "tcp_ecn"
a0=$(ctl_sum "^workers total" "^aqm_ce$") q0=$(ctl_sum "^workers total" "^drop_aqm$")
# Up to three transfers of 2 s until one is marked: whether the queue stands
# for an interval depends on how the CPUs are shared (since turns stop at
# their budget, round fourteen, the first transfer was marked 0-11 times in
# 4 runs, 1-12 before). Four streams: with one, three transfers went
# unmarked in 2 of 6 runs on a quiet machine (2026-12-05); with four the
# first was marked 6-14 times in 6 of 6.
for try in 1 2 3; do
	rvt_bg "$S" iperf-s iperf3 -s -1 -B 10.99.0.1 -p 5201
	rvt_wait_for 5 "iperf3 server" sh -c "ip netns exec $S ss -ltn | grep -q ':5201 '" ||
		rvt_fail "no iperf3 server"
	rvt_nsx "$C1" iperf3 -c 10.99.0.1 -p 5201 -t 2 -P 4 >"$RVT_TMP/iperf.log" 2>&1 ||
		rvt_fail "iperf3: $(tail -3 "$RVT_TMP/iperf.log")"
	a1=$(ctl_sum "^workers total" "^aqm_ce$") q1=$(ctl_sum "^workers total" "^drop_aqm$")
	[ $((a1 - a0)) -ge 1 ] && break
	rvt_log "transfer $try: no mark yet"
done
dce=$(ip netns exec "$C1" nstat -az TcpExtTCPDeliveredCE | awk '$1 == "TcpExtTCPDeliveredCE" { print $2 }')
rvt_log "CoDel at the server: aqm_ce +$((a1 - a0)), drop_aqm +$((q1 - q0)); the sender's TCPDeliveredCE $dce"
[ $((a1 - a0)) -ge 1 ] || rvt_fail "CoDel marked nothing (aqm_ce +$((a1 - a0)), drop_aqm +$((q1 - q0)))"
# Only a retransmitted segment (sent without ECN) may be dropped.
[ $((a1 - a0)) -gt $((q1 - q0)) ] || rvt_fail "CoDel dropped an ECN-capable transfer: aqm_ce +$((a1 - a0)), drop_aqm +$((q1 - q0))"
[ "${dce:-0}" -ge 1 ] || rvt_fail "the sender heard of no CE mark"

rvt_step "6. a lone datagram that waited is no standing queue"
# Pings of 1028 bytes (bulk-sized for the AQM) 150 ms apart, each alone in
# the server's socket: each waited more than the 1 us target, none stands in
# a queue. The check for a queue behind one counted the ring's completions,
# among them the datagram's own: it never found one alone, and dropped
# about every other ping (round-ten tester 48).
q0=$(ctl_sum "^workers total" "^drop_aqm$")
OUT=$(rvt_nsx "$C1" ping -c 20 -i 0.15 -s 1000 -W 1 10.99.0.1) ||
	rvt_fail "lone pings lost: $(tail -2 <<<"$OUT")"
q1=$(ctl_sum "^workers total" "^drop_aqm$")
[ "$q1" = "$q0" ] || rvt_fail "CoDel dropped $((q1 - q0)) lone datagrams: $(tail -2 <<<"$OUT")"

rvt_step "7. a burst after an idle gap starts the wait afresh"
# Five bursts of 20 datagrams of 1100 bytes (bulk-sized; what they hold
# does not matter: CoDel judges before decryption) sent as one UDP_SEGMENT
# superframe each, so they wait together in the server's socket, 150 ms
# apart: each burst is over at once, and the queue empties between them.
# The wait above target that one burst started survived the gap, and the
# next burst's first datagram was dropped on arrival without any interval
# of standing queue (README Limitations had it).
# The other clients' keepalives, two in one turn, are a queue to a 1 us
# target: they are not needed any more.
for pid in "${CLIENT_PIDS[@]}"; do
	rvt_stop_pid "$pid" >/dev/null
	rvt_forget_pid "$pid"
done
q0=$(ctl_sum "^workers total" "^drop_aqm$")
rvt_nsx "$C1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, 1100)  # UDP_SEGMENT
for _ in range(5):
    s.sendto(bytes(1100) * 20, (sys.argv[1], int(sys.argv[2]))); time.sleep(0.15)
' 10.88.1.1 "$DATA_PORT" || rvt_fail "the burst sender failed"
q1=$(ctl_sum "^workers total" "^drop_aqm$")
rvt_log "5 bursts of 20 after idle gaps: drop_aqm +$((q1 - q0))"
[ "$q1" = "$q0" ] || rvt_fail "CoDel dropped $((q1 - q0)) datagrams of bursts after an idle gap"

rvt_step "8. a lone bulk datagram beside a small one of the small socket is no queue"
# The server stopped for 2 ms (a worker off its CPU) while client1 sends a
# 20-byte and a 1000-byte datagram through the tunnel: they wait in the
# server's small and bulk sockets, one each. The small socket's receive
# counted toward the turn's, and the lone bulk datagram was taken for a
# queue: 146 of 200 dropped (round-twelve tester 54).
q0=$(ctl_sum "^workers total" "^drop_aqm$")
rvt_nsx "$C1" python3 -c '
import os, signal, socket, sys, time
pid = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(60):
    os.kill(pid, signal.SIGSTOP)
    s.sendto(bytes(20), ("10.99.0.1", 9)); s.sendto(bytes(1000), ("10.99.0.1", 9))
    time.sleep(0.002)
    os.kill(pid, signal.SIGCONT)
    time.sleep(0.02)
' "$SRV_PID" || { kill -CONT "$SRV_PID"; rvt_fail "the pair sender failed"; }
q1=$(ctl_sum "^workers total" "^drop_aqm$")
rvt_log "60 pairs, the server stopped 2 ms each: drop_aqm +$((q1 - q0))"
[ "$q1" = "$q0" ] || rvt_fail "CoDel dropped $((q1 - q0)) lone bulk datagrams that had a small one beside them"

rvt_step "9. a stream of 600-byte segments makes the queue: CoDel acts on it, charged to its session"
# Segments under half the MTU were never picked, and every drop landed on
# the other sessions' full-size datagrams (round-twelve tester 54). Not
# ECN-capable here, so the picks are drops, which the session shows.
ip netns exec "$C1" sysctl -qw net.ipv4.tcp_ecn=0 || rvt_fail "tcp_ecn"
q0=$(ctl_sum "^workers total" "^drop_aqm$") a0=$(ctl_sum "^workers total" "^aqm_ce$")
s0=$(ctl_field "session name=client1" drop_aqm)
rvt_bg "$S" iperf-s2 iperf3 -s -1 -B 10.99.0.1 -p 5202
rvt_wait_for 5 "iperf3 server" sh -c "ip netns exec $S ss -ltn | grep -q ':5202 '" || rvt_fail "no iperf3 server"
rvt_bg "$C1" ping9 ping -c 20 -i 0.1 -W 2 10.99.0.1
PING9=$RVT_LAST_PID
rvt_nsx "$C1" iperf3 -c 10.99.0.1 -p 5202 -t 2 -M 600 >"$RVT_TMP/iperf9.log" 2>&1 || rvt_fail "iperf3: $(tail -3 "$RVT_TMP/iperf9.log")"
wait "$PING9"
rvt_forget_pid "$PING9"
q1=$(ctl_sum "^workers total" "^drop_aqm$") a1=$(ctl_sum "^workers total" "^aqm_ce$")
s1=$(ctl_field "session name=client1" drop_aqm)
rvt_log "MSS 600: drop_aqm +$((q1 - q0)) (client1's session +$((s1 - s0))), aqm_ce +$((a1 - a0)); pings: $(grep -a 'packet loss' "$RVT_TMP/ping9.log")"
[ $((q1 - q0)) -ge 1 ] || rvt_fail "CoDel dropped nothing of a stream of 600-byte segments"
[ $((s1 - s0)) = $((q1 - q0)) ] || rvt_fail "the drops were not charged to client1's session: +$((s1 - s0)) of +$((q1 - q0))"
# At most one of 20: the suite beside a hostile tester lost one once (19 of
# 20; 3 of 3 runs alone lost none); CoDel picking the small ones lost many.
grep -Eq " (0|5)% packet loss" "$RVT_TMP/ping9.log" || rvt_fail "small pings beside it were lost: $(grep -a 'packet loss' "$RVT_TMP/ping9.log")"
# Segments of the small class itself (MSS 200: inner packets of 240
# bytes), in GRO trains the kernel steers to the bulk socket by their
# merged length: never picked either, and every drop fell on other
# sessions (round-twelve tester 58).
q0=$(ctl_sum "^workers total" "^drop_aqm$")
s0=$(ctl_field "session name=client1" drop_aqm)
rvt_bg "$S" iperf-s5 iperf3 -s -1 -B 10.99.0.1 -p 5205
rvt_wait_for 5 "iperf3 server" sh -c "ip netns exec $S ss -ltn | grep -q ':5205 '" || rvt_fail "no iperf3 server"
rvt_nsx "$C1" iperf3 -c 10.99.0.1 -p 5205 -t 2 -P 2 -M 200 >"$RVT_TMP/iperf9b.log" 2>&1 || rvt_fail "iperf3: $(tail -3 "$RVT_TMP/iperf9b.log")"
q1=$(ctl_sum "^workers total" "^drop_aqm$")
s1=$(ctl_field "session name=client1" drop_aqm)
rvt_log "MSS 200: drop_aqm +$((q1 - q0)) (client1's session +$((s1 - s0)))"
[ $((s1 - s0)) -ge 1 ] || rvt_fail "CoDel dropped nothing of a stream of 240-byte packets"

rvt_log "ECN test passed"
