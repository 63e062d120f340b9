#!/usr/bin/env bash
# test_dns.sh — pushed DNS reaching systemd-resolved, for real: a private
# D-Bus system bus (dbus-daemon with a config made here, its socket under
# $RVT_TMP) and rvt_fake_resolved on it, which serves resolved's
# SetLinkDNS, SetLinkDomains and RevertLink, authorizes callers as resolved
# does and logs every call and what the link then has. The clients find the
# bus through DBUS_SYSTEM_BUS_ADDRESS; they run as nobody under the seccomp
# filter, as every test client does.
#   - a push (push_dns, push_domain) reaches resolved as SetLinkDNS and
#     SetLinkDomains on the TUN's link, from nobody (the user the client
#     dropped to, which the fake grants as a polkit rule would), never from
#     root: a bus connection made before the drop and kept would give the
#     dropped client root's say over the bus;
#   - a server reload that takes push_domain out clears the link's search
#     domain (the servers stay);
#   - a server reload that takes push_dns and push_domain out: RevertLink;
#   - accept_dns changed by a client reload applies at once: to no, the
#     DNS this client set is reverted; to yes, the last push is set again
#     (it waited for the server's next push); a revert resolved cannot take
#     is said in the log;
#   - the calls are made on a thread of their own: with the bus daemon
#     stopped (SIGSTOP: it accepts and never answers), pushes one after the
#     other leave the client's status and tunnel answering at once, and
#     each push fails within seconds, said in the log (the control thread
#     used to wait 90 s for the bus's handshake, the session lost);
#   - the TUN renamed and another link given its name: DNS still goes to
#     the TUN (its index), and the client says the name moved instead of
#     putting the TUN's addresses on the other link;
#   - without the grant, each push is refused and said so; the bus
#     restarted: the client connects again;
#   - a client with accept_dns = no makes no call;
#   - a client on a persistent TUN reverts its DNS at a clean stop, and
#     after kill -9 the next client there (pushed none, or with
#     accept_dns = no) leaves that DNS alone: nothing tells it from DNS an
#     administrator set there (round-eighteen testers 84 and 85, round-nineteen tester 87).
#   - a DNS thread the task limit refuses (a process limit on the client's
#     user) is tried again, 5 s and then doubling, and the push arrives
#     once the limit is lifted, in the same session.
#
#   bash test_dns.sh      Env: RV_BIN, RV_BUILD, RV_SRC (ctest sets them).
set -u
RV_SRC=${RV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$RV_SRC/test/integ/lib.sh"
. "$RV_SRC/test/integ/control_lib.sh"

ctl_init 2
command -v dbus-daemon >/dev/null || rvt_fail "no dbus-daemon (scripts/install-deps.sh)"
FAKE="$RV_BUILD/test/rvt_fake_resolved"
[ -x "$FAKE" ] || rvt_fail "$FAKE not built"
ctl_client_ns c1 1
C1=$(rvt_ns_name c1)

rvt_step "a private system bus with a fake systemd-resolved on it"
# Reached by path, so the client's namespace does not matter to the bus;
# the fake runs in the client's namespace to name its links.
mkdir -m 0755 "$RVT_TMP/dbus"
BUS="unix:path=$RVT_TMP/dbus/system_bus_socket"
CALLS="$RVT_TMP/resolved-calls.log"
cat >"$RVT_TMP/dbus/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$BUS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.resolve1"
           send_interface="org.freedesktop.resolve1.Manager"/>
  </policy>
  <policy user="root">
    <allow own="org.freedesktop.resolve1"/>
  </policy>
</busconfig>
EOF
start_bus() {
	rm -f "$RVT_TMP/dbus/system_bus_socket"
	rvt_bg "$C1" dbus-daemon dbus-daemon --config-file="$RVT_TMP/dbus/bus.conf" --print-address --nofork --nopidfile
	BUS_PID=$RVT_LAST_PID
	rvt_wait_for 5 "the bus socket" test -S "$RVT_TMP/dbus/system_bus_socket" || rvt_fail "dbus-daemon did not start"
}
# start_fake [ALLOW_USER]: in namespace FAKE_NS (default: client1's)
start_fake() {
	rvt_bg "${FAKE_NS:-$C1}" resolved "$FAKE" "$BUS" "$CALLS" "$@"
	FAKE_PID=$RVT_LAST_PID
	rvt_wait_for 5 "the fake resolved" grep -q '^ready$' "$RVT_TMP/resolved.log" ||
		rvt_fail "the fake resolved did not start"
}
NB=$(id -u nobody)
start_bus
start_fake nobody

# calls_since N: the fake's log from line N+1 on. last_state LINK: what the
# fake says LINK has after its last call on it.
calls_at() { wc -l <"$CALLS"; }
calls_since() { tail -n "+$(($1 + 1))" "$CALLS"; }
last_state() { grep "^state link=$1(" "$CALLS" | tail -n 1; }
# has_since N REGEX: a line from N+1 on matches (grep -E).
has_since() { calls_since "$1" | rvt_matches "$2"; }

rvt_step "a push reaches resolved: SetLinkDNS and SetLinkDomains on the TUN's link"
CTL_SERVER_KV=("push_dns=10.99.0.1 fd99::1" push_domain=corp.test)
ctl_start_server
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c1.conf" "$PKI/client1" rvc "$RVT_TMP/c1.sock"
rvt_bg "$C1" client1 env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$RV_BIN" client -c "$RVT_TMP/c1.conf"
rvt_wait_for 10 "DNS on rvc" grep -q "DNS via rvc: 10.99.0.1 fd99::1, search corp.test" \
	"$RVT_TMP/client1.log" || rvt_fail "not applied: $(grep -i dns "$RVT_TMP/client1.log"; cat "$CALLS")"
IDX=$(ip netns exec "$C1" cat /sys/class/net/rvc/ifindex)
rvt_log "rvc is link $IDX; resolved saw:"
cat "$CALLS" >&2
grep -qx "SetLinkDNS link=rvc($IDX) uid=$NB servers=10.99.0.1,fd99::1" "$CALLS" || rvt_fail "no SetLinkDNS"
grep -qx "SetLinkDomains link=rvc($IDX) uid=$NB domains=corp.test" "$CALLS" || rvt_fail "no SetLinkDomains"
[ "$(last_state rvc)" = "state link=rvc($IDX) dns=10.99.0.1,fd99::1 domains=corp.test" ] ||
	rvt_fail "rvc has: $(last_state rvc)"
grep -q denied "$CALLS" && rvt_fail "a call was refused"

rvt_step "a client with accept_dns = no makes no call"
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c2.conf" "$PKI/client2" rvd "$RVT_TMP/c2.sock" accept_dns=no
rvt_bg "$C1" client2 env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$RV_BIN" client -c "$RVT_TMP/c2.conf"
P2=$RVT_LAST_PID
rvt_wait_for 10 "the push to client2" grep -q "server pushed DNS 10.99.0.1 fd99::1, search corp.test: not applied (accept_dns = no)" \
	"$RVT_TMP/client2.log" || rvt_fail "client2: $(grep -i dns "$RVT_TMP/client2.log")"

rvt_step "a server reload that takes push_domain out clears the link's search domain"
N=$(calls_at)
ctl_server_conf "$RVT_TMP/server.conf" "push_dns=10.99.0.1 fd99::1"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvt_wait_for 5 "the domain cleared" has_since "$N" "^SetLinkDomains link=rvc\($IDX\) uid=$NB domains=$" ||
	rvt_fail "resolved saw: $(calls_since "$N")"
[ "$(last_state rvc)" = "state link=rvc($IDX) dns=10.99.0.1,fd99::1 domains=" ] ||
	rvt_fail "rvc has: $(last_state rvc)"

rvt_step "a server reload that takes push_dns and push_domain out: RevertLink"
N=$(calls_at)
ctl_server_conf "$RVT_TMP/server.conf"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvt_wait_for 5 "RevertLink" has_since "$N" "^RevertLink link=rvc\($IDX\) uid=$NB$" ||
	rvt_fail "resolved saw: $(calls_since "$N")"
[ "$(last_state rvc)" = "state link=rvc($IDX) dns= domains=" ] || rvt_fail "rvc has: $(last_state rvc)"
grep -q "DNS via rvc: (none: withdrawn)" "$RVT_TMP/client1.log" || rvt_fail "the withdrawal not logged"

rvt_step "accept_dns changed by a client reload applies at once"
# Back to a push, then accept_dns = no: what the client set goes.
ctl_server_conf "$RVT_TMP/server.conf" "${CTL_SERVER_KV[@]}"
N=$(calls_at)
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvt_wait_for 5 "the push again" has_since "$N" "^SetLinkDomains link=rvc\($IDX\) uid=$NB domains=corp.test$" ||
	rvt_fail "resolved saw: $(calls_since "$N")"
N=$(calls_at)
ctl_conf_set "$RVT_TMP/c1.conf" accept_dns=no
OUT=$(rvt_run "$RV_BIN" reload -s "$RVT_TMP/c1.sock") || rvt_fail "client reload: $OUT"
echo "$OUT"
grep -q "^changed: accept_dns$" <<<"$OUT" || rvt_fail "the change is not reported: $OUT"
grep -q "^applied: accept_dns (the DNS of rvc is being reverted; the log says when)$" <<<"$OUT" ||
	rvt_fail "not applied: $OUT"
rvt_wait_for 5 "RevertLink" has_since "$N" "^RevertLink link=rvc\($IDX\) uid=$NB$" ||
	rvt_fail "resolved saw: $(calls_since "$N")"
[ "$(last_state rvc)" = "state link=rvc($IDX) dns= domains=" ] || rvt_fail "rvc has: $(last_state rvc)"
# To yes: the last push is set again, without waiting for the server.
N=$(calls_at)
ctl_conf_set "$RVT_TMP/c1.conf" accept_dns=yes
OUT=$(rvt_run "$RV_BIN" reload -s "$RVT_TMP/c1.sock") || rvt_fail "client reload: $OUT"
echo "$OUT"
grep -q "^applied: accept_dns (DNS 10.99.0.1 fd99::1, search corp.test being set on rvc; the log says when)$" <<<"$OUT" ||
	rvt_fail "not applied: $OUT"
rvt_wait_for 5 "the push set again" sh -c "grep '^state link=rvc(' '$CALLS' | tail -n 1 | grep -qx 'state link=rvc($IDX) dns=10.99.0.1,fd99::1 domains=corp.test'" ||
	rvt_fail "rvc has: $(last_state rvc)"
# A revert resolved cannot take (it is gone): said in the log, as this
# end's taking back (it was said as a push of the server's: tester 267).
rvt_stop_pid "$FAKE_PID" 5
rvt_forget_pid "$FAKE_PID"
ctl_conf_set "$RVT_TMP/c1.conf" accept_dns=no
OUT=$(rvt_run "$RV_BIN" reload -s "$RVT_TMP/c1.sock" 2>&1) || rvt_fail "client reload: $OUT"
rvt_wait_for 5 "the failed revert in the log" grep -q "DNS via rvc: (none: withdrawn): what was set cannot be taken back: systemd-resolved RevertLink: " \
	"$RVT_TMP/client1.log" || rvt_fail "not said: $(grep -i dns "$RVT_TMP/client1.log" | tail -3)"
# resolved back: accept_dns = yes sets the push again.
start_fake nobody
ctl_conf_set "$RVT_TMP/c1.conf" accept_dns=yes
N=$(calls_at)
OUT=$(rvt_run "$RV_BIN" reload -s "$RVT_TMP/c1.sock") || rvt_fail "client reload: $OUT"
grep -q "^applied: accept_dns (DNS 10.99.0.1 fd99::1, search corp.test being set on rvc; the log says when)$" <<<"$OUT" ||
	rvt_fail "not applied: $OUT"
rvt_wait_for 5 "the push set again" has_since "$N" "^SetLinkDomains link=rvc\($IDX\) uid=$NB domains=corp.test$" ||
	rvt_fail "resolved saw: $(calls_since "$N")"
[ "$(last_state rvc)" = "state link=rvc($IDX) dns=10.99.0.1,fd99::1 domains=corp.test" ] ||
	rvt_fail "rvc has: $(last_state rvc)"

rvt_step "a stopped bus daemon holds up neither the status nor the tunnel"
kill -STOP "$BUS_PID"
for k in 1 2 3; do
	if [ $((k % 2)) = 1 ]; then
		ctl_server_conf "$RVT_TMP/server.conf" "push_dns=10.99.0.$((k + 1))"
	else
		ctl_server_conf "$RVT_TMP/server.conf" "${CTL_SERVER_KV[@]}"
	fi
	rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
	sleep 0.3
	t0=$(date +%s%N)
	timeout 5 "$RV_BIN" status -s "$RVT_TMP/c1.sock" >/dev/null || rvt_fail "the client's status did not answer"
	ms=$((($(date +%s%N) - t0) / 1000000))
	rvt_log "push $k: the client's status answered in $ms ms"
	[ "$ms" -lt 1500 ] || rvt_fail "the client's status took $ms ms while the bus hangs"
	rvt_nsx "$C1" ping -c 1 -W 1 10.99.0.1 >/dev/null || rvt_fail "no tunnel while the bus hangs"
done
rvt_wait_for 8 "the hung bus said" grep -q "server pushed DNS .*: not applied: no system D-Bus: " "$RVT_TMP/client1.log" ||
	rvt_fail "not said: $(grep -i dns "$RVT_TMP/client1.log" | tail -3)"
grep -q "silent for\|disconnected" "$RVT_TMP/client1.log" && rvt_fail "the session suffered: $(tail -5 "$RVT_TMP/client1.log")"
kill -CONT "$BUS_PID"
# The last push (10.99.0.4, no domain) is made once the bus answers again.
rvt_wait_for 8 "the last push after the bus came back" sh -c "grep '^state link=rvc(' '$CALLS' | tail -n 1 | grep -qx 'state link=rvc($IDX) dns=10.99.0.4 domains='" ||
	rvt_fail "rvc has: $(last_state rvc)"

rvt_step "without a grant for its user, pushes are refused; the bus restarted: the client connects again"
# resolved refuses nobody unless a polkit rule grants it (the fake's
# ALLOW_USER stands for one).
rvt_stop_pid "$BUS_PID" 5
rvt_forget_pid "$BUS_PID"
rvt_exit_within 5 "$FAKE_PID" || rvt_fail "the fake outlived its bus"
start_bus
start_fake
N=$(calls_at)
ctl_server_conf "$RVT_TMP/server.conf" "push_dns=10.99.0.1 fd99::1"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvt_wait_for 5 "the refusal" grep -q "server pushed DNS 10.99.0.1 fd99::1: not applied: systemd-resolved SetLinkDNS: Access denied" \
	"$RVT_TMP/client1.log" || rvt_fail "client1: $(grep -i dns "$RVT_TMP/client1.log" | tail -2)"
has_since "$N" "^SetLinkDNS link=rvc\($IDX\) uid=$(id -u nobody) denied$" || rvt_fail "resolved saw: $(calls_since "$N")"
# fake_again WHAT: the fake restarted in client1's namespace granting
# nobody; the server's push again reaches rvc.
fake_again() {
	rvt_stop_pid "$FAKE_PID" 5
	rvt_forget_pid "$FAKE_PID"
	start_fake nobody
	N=$(calls_at)
	ctl_server_conf "$RVT_TMP/server.conf" "${CTL_SERVER_KV[@]}"
	rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
	rvt_wait_for 5 "$1" has_since "$N" "^SetLinkDomains link=rvc\($IDX\) uid=$(id -u nobody) domains=corp.test$" ||
		rvt_fail "resolved saw: $(calls_since "$N")"
}
fake_again "the push as nobody"

rvt_step "resolved in another network namespace: no call, said"
# The index of the TUN names another link there: the TUN's DNS went to it,
# and the revert at a stop wiped that link's (round-sixty-four tester 262;
# the host's resolved, the bus shared with a client under ip netns exec).
rvt_stop_pid "$FAKE_PID" 5
rvt_forget_pid "$FAKE_PID"
FAKE_NS=$S start_fake nobody
N=$(calls_at)
ctl_server_conf "$RVT_TMP/server.conf" "push_dns=10.99.0.1 fd99::1" push_domain=elsewhere.test
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvt_wait_for 5 "the other namespace said" grep -q \
	"server pushed DNS 10.99.0.1 fd99::1, search elsewhere.test: not applied: systemd-resolved (pid $FAKE_PID) runs in another network namespace than this client, where link $IDX is not rvc" \
	"$RVT_TMP/client1.log" || rvt_fail "client1: $(grep -i dns "$RVT_TMP/client1.log" | tail -2)"
has_since "$N" "^SetLink" && rvt_fail "resolved in another namespace was called: $(calls_since "$N")"
fake_again "the push in client1's namespace again"

rvt_step "the TUN renamed, another link given its name: DNS still goes to the TUN"
ip -n "$C1" link set rvc down && ip -n "$C1" link set rvc name rvq && ip -n "$C1" link set rvq up &&
	ip -n "$C1" tuntap add dev rvc mode tun && ip -n "$C1" link set rvc up || rvt_fail "rename"
rvt_wait_for 10 "the rename said" grep -q "TUN rvc was renamed (it is rvq now)" "$RVT_TMP/client1.log" ||
	rvt_fail "not said: $(tail -3 "$RVT_TMP/client1.log")"
N=$(calls_at)
ctl_server_conf "$RVT_TMP/server.conf" "push_dns=10.99.0.7"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvt_wait_for 5 "the push on the TUN" has_since "$N" "^SetLinkDNS link=rvq\($IDX\) uid=$NB servers=10.99.0.7$" ||
	rvt_fail "resolved saw: $(calls_since "$N")"
has_since "$N" "link=rvc\(" && rvt_fail "DNS went to the other link: $(calls_since "$N")"
ip -n "$C1" addr show dev rvc | rvt_matches "10\.99\." && rvt_fail "the TUN's address was put on the other link"
# A new session meanwhile (the server restarted) sets nothing on it either.
H0=$(grep -c "configuration from the server not applied while TUN rvc is renamed" "$RVT_TMP/client1.log")
rvt_stop_pid "$SRV_PID" 5
rvt_forget_pid "$SRV_PID"
mv "$RVT_TMP/server.log" "$RVT_TMP/server-1.log"
ctl_start_server
rvt_wait_for 15 "the new session held back" sh -c "[ \$(grep -c 'configuration from the server not applied while TUN rvc is renamed' '$RVT_TMP/client1.log') -gt $H0 ]" ||
	rvt_fail "not said: $(tail -3 "$RVT_TMP/client1.log")"
ip -n "$C1" addr show dev rvc | rvt_matches "10\.99\.|fd99:" && rvt_fail "the new session's address was put on the other link"
ip -n "$C1" route show | rvt_matches "dev rvc" && rvt_fail "a route was put on the other link: $(ip -n "$C1" route show)"
ip -n "$C1" link del rvc && ip -n "$C1" link set rvq down && ip -n "$C1" link set rvq name rvc &&
	ip -n "$C1" link set rvc up || rvt_fail "rename back"
rvt_wait_for 10 "the name back said" grep -q "TUN rvc has its name back" "$RVT_TMP/client1.log" ||
	rvt_fail "not said: $(tail -3 "$RVT_TMP/client1.log")"
rvt_wait_for 10 "the tunnel back" rvt_nsx "$C1" ping -c 1 -W 1 10.99.0.1 || rvt_fail "no tunnel after the rename back"

rvt_step "client2 (accept_dns = no) made no call in all that"
grep -q "link=rvd(" "$CALLS" && rvt_fail "client2 called resolved: $(grep "link=rvd(" "$CALLS")"
[ "$(grep -c "not applied (accept_dns = no)" "$RVT_TMP/client2.log")" -ge 3 ] ||
	rvt_fail "client2 did not see every push: $(grep -i dns "$RVT_TMP/client2.log")"

rvt_step "a DNS thread the task limit refuses is tried again"
# client2 (nobody, its DNS thread never started) under a process limit of
# 1 for its user: accept_dns = yes by reload cannot start the thread; once
# the limit is lifted, the push arrives without a new connection (a
# hostile tester: it waited for the next session).
# As nobody: a limit on another user's process needs CAP_SYS_RESOURCE,
# which a container's root may lack; the process's own user may lower its
# soft limit and raise it back to the hard one.
NBX=(setpriv --reuid="$NB" --regid="$(id -g nobody)" --clear-groups)
# Its TUN without IPv6 meanwhile: the later try hands over what this
# client can use, as the first would (it handed the push whole, fd99::1
# with it: tester 269).
rvt_nsx "$C1" sysctl -qw net.ipv6.conf.rvd.disable_ipv6=1 || rvt_fail "IPv6 off on rvd"
rvt_wait_for 10 "IPv6 off on rvd said" grep -q "IPv6 on rvd off: applying the configuration again" \
	"$RVT_TMP/client2.log" || rvt_fail "client2: $(tail -3 "$RVT_TMP/client2.log")"
HARD=$("${NBX[@]}" prlimit --pid "$P2" --nproc --raw --noheadings -o HARD)
"${NBX[@]}" prlimit --pid "$P2" --nproc=1: || rvt_fail "prlimit"
ctl_conf_set "$RVT_TMP/c2.conf" accept_dns=yes
OUT=$(rvt_run "$RV_BIN" reload -s "$RVT_TMP/c2.sock" 2>&1)
rvt_matches "^failed: accept_dns \(cannot start the DNS thread: Resource temporarily unavailable \(the task limit.*; trying again in 5 s\)$" <<<"$OUT" ||
	rvt_fail "the refusal: $OUT"
sleep 6
rvt_wait_for 10 "the second try said" grep -q "still not applied: cannot start the DNS thread: .*; trying again in 10 s" \
	"$RVT_TMP/client2.log" || rvt_fail "client2: $(grep -i dns "$RVT_TMP/client2.log" | tail -3)"
grep -q "link=rvd(" "$CALLS" && rvt_fail "client2 called resolved under the limit"
"${NBX[@]}" prlimit --pid "$P2" --nproc="$HARD": || rvt_fail "prlimit back to $HARD"
IDX2=$(ip netns exec "$C1" cat /sys/class/net/rvd/ifindex)
# rvd_has STATE: resolved's last state of rvd is STATE.
rvd_has() { [ "$(last_state rvd)" = "state link=rvd($IDX2) $1" ]; }
rvt_wait_for 15 "the push on rvd" rvd_has "dns=10.99.0.1 domains=corp.test" ||
	rvt_fail "resolved saw: $(grep 'link=rvd(' "$CALLS"); client2: $(grep -i dns "$RVT_TMP/client2.log" | tail -3)"
grep -q "the DNS thread started on a later try" "$RVT_TMP/client2.log" || rvt_fail "the later try not said"
rvt_nsx "$C1" sysctl -qw net.ipv6.conf.rvd.disable_ipv6=0 || rvt_fail "IPv6 on on rvd"
rvt_wait_for 15 "fd99::1 on rvd" rvd_has "dns=10.99.0.1,fd99::1 domains=corp.test" ||
	rvt_fail "resolved saw: $(grep 'link=rvd(' "$CALLS" | tail -3)"
rvt_stop_pid "$P2" 10 || rvt_fail "client2 exit"

rvt_step "a client on a persistent TUN takes its DNS back at a clean stop"
# Addresses and routes were taken off such a device at the stop, its DNS
# stayed with resolved for good (round-eighteen tester 84). A device the
# client made takes its DNS along when it goes.
ip -n "$C1" tuntap add dev rvp mode tun multi_queue || rvt_fail "persistent rvp"
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c3.conf" "$PKI/client2" rvp "$RVT_TMP/c3.sock"
rvt_bg "$C1" client3 env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$RV_BIN" client -c "$RVT_TMP/c3.conf"
P3=$RVT_LAST_PID
rvt_wait_for 10 "DNS on rvp" grep -q "DNS via rvp: 10.99.0.1 fd99::1, search corp.test" \
	"$RVT_TMP/client3.log" || rvt_fail "not applied: $(grep -i dns "$RVT_TMP/client3.log")"
IDX3=$(ip netns exec "$C1" cat /sys/class/net/rvp/ifindex)
[ "$(last_state rvp)" = "state link=rvp($IDX3) dns=10.99.0.1,fd99::1 domains=corp.test" ] ||
	rvt_fail "rvp has: $(last_state rvp)"
N=$(calls_at)
rvt_stop_pid "$P3" 10 || rvt_fail "client3 exit"
ip -n "$C1" link show rvp >/dev/null 2>&1 || rvt_fail "the persistent rvp went"
has_since "$N" "^RevertLink link=rvp\($IDX3\) uid=$NB$" ||
	rvt_fail "no RevertLink at the stop: $(calls_since "$N"); $(grep -i dns "$RVT_TMP/client3.log")"
[ "$(last_state rvp)" = "state link=rvp($IDX3) dns= domains=" ] || rvt_fail "rvp has: $(last_state rvp)"
grep -q "DNS via rvp: (none: withdrawn)" "$RVT_TMP/client3.log" || rvt_fail "the revert not logged"
# Killed with -9 it cannot, and the next client leaves that DNS alone:
# nothing tells it from DNS an administrator set on the device, which a
# revert at the next start took too (round-nineteen tester 87).
# rvp_killed NAME SAID STATE: a client of c3.conf on rvp, once its log
# says "DNS via rvp: SAID", killed with -9; rvp keeps STATE.
rvp_killed() {
	rvt_bg "$C1" "$1" env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$RV_BIN" client -c "$RVT_TMP/c3.conf"
	P3=$RVT_LAST_PID
	rvt_wait_for 10 "DNS on rvp" grep -q "DNS via rvp: $2" "$RVT_TMP/$1.log" ||
		rvt_fail "not applied: $(grep -i dns "$RVT_TMP/$1.log")"
	kill -9 "$P3"
	rvt_wait_for 5 "$1 gone" sh -c "! kill -0 $P3 2>/dev/null"
	[ "$(last_state rvp)" = "state link=rvp($IDX3) $3" ] || rvt_fail "rvp has: $(last_state rvp)"
}
# rvp_leaves NAME STATE: the next client of c3.conf on rvp comes up and
# stops cleanly without a call on rvp, which keeps STATE.
rvp_leaves() {
	N=$(calls_at)
	rvt_bg "$C1" "$1" env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$RV_BIN" client -c "$RVT_TMP/c3.conf"
	P3=$RVT_LAST_PID
	rvt_wait_for 10 "$1 up" grep -q "tunnel up" "$RVT_TMP/$1.log" || rvt_fail "$1: $(tail -3 "$RVT_TMP/$1.log")"
	sleep 0.5
	rvt_stop_pid "$P3" 10 || rvt_fail "$1 exit"
	calls_since "$N" | rvt_matches "link=rvp\(" && rvt_fail "$1 called resolved on rvp: $(calls_since "$N")"
	[ "$(last_state rvp)" = "state link=rvp($IDX3) $2" ] || rvt_fail "rvp has: $(last_state rvp)"
}
rvp_killed client3b "10.99.0.1 fd99::1, search corp.test" "dns=10.99.0.1,fd99::1 domains=corp.test"
ctl_server_conf "$RVT_TMP/server.conf"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvp_leaves client3c "dns=10.99.0.1,fd99::1 domains=corp.test"

rvt_step "an older client that cannot be told of a DNS withdrawal is said, not counted as told"
# rvt_ctl_probe with old-dns announces DNS pushes without their
# withdrawal, as a client before it did: the reload said "DNS pushed" to
# it, and it kept the servers (round-eighteen tester 86).
ctl_server_conf "$RVT_TMP/server.conf" "push_dns=10.99.0.1"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvt_bg "$C1" olddns "$PROBE" session 10.88.1.1 "$SRV_PORT" "$PKI/ca/ca.crt" vpn.test \
	"$PKI/client2.crt" "$PKI/client2.key" old-dns hold=40 then=wait
POLD=$RVT_LAST_PID
rvt_wait_for 10 "the older client running" grep -q '^running' "$RVT_TMP/olddns.log" ||
	rvt_fail "probe: $(cat "$RVT_TMP/olddns.log")"
ctl_server_conf "$RVT_TMP/server.conf"
OUT=$(rvt_run "$RV_BIN" reload -s "$SRV_SOCK" 2>&1) || rvt_fail "server reload: $OUT"
rvt_log "$OUT"
# client1 runs on: the one told.
rvt_matches "^applied: routes, timers and DNS pushed to 1 running client\(s\)$" <<<"$OUT" ||
	rvt_fail "the older client counted as told: $OUT"
rvt_matches "^applied: routes and timers pushed to 1 more running client\\(s\\), an older ringvpn each: DNS without servers cannot reach them" <<<"$OUT" ||
	rvt_fail "the older client not said: $OUT"
rvt_wait_for 5 "the log names it" grep -q "client client2: an older ringvpn: DNS without servers cannot reach it" \
	"$RVT_TMP/server.log" || rvt_fail "not in the server's log"
# status shows what each peer announced: the older one lacks the withdrawal.
KV=$("$RV_BIN" status --kv -s "$SRV_SOCK")
rvt_matches "^session name=client2 .* peer_caps=ipv6,client-rekey,config-update,dns( |$)" <<<"$KV" ||
	rvt_fail "the older client's caps: $(grep "name=client2" <<<"$KV")"
rvt_matches "^session name=client1 .* peer_caps=[a-z0-9,-]*dns-withdraw" <<<"$KV" ||
	rvt_fail "client1's caps: $(grep "name=client1" <<<"$KV")"
"$RV_BIN" status --json -s "$SRV_SOCK" | python3 -c '
import json, sys
p = {x["name"]: x for x in json.load(sys.stdin)["peers"]}
sys.exit(p["client2"]["peer_caps"] != "ipv6,client-rekey,config-update,dns")' ||
	rvt_fail "status --json: peer_caps"
# A domain alone (no servers) cannot reach it either (round-nineteen
# tester 87: counted as told).
ctl_server_conf "$RVT_TMP/server.conf" push_domain=corp.test
OUT=$(rvt_run "$RV_BIN" reload -s "$SRV_SOCK" 2>&1) || rvt_fail "server reload: $OUT"
rvt_matches "^applied: routes and timers pushed to 1 more running client\(s\), an older ringvpn each" <<<"$OUT" ||
	rvt_fail "a domain alone: the older client not said: $OUT"
rvt_stop_pid "$POLD" 10 || true

rvt_step "a client with accept_dns = no on a persistent TUN leaves its DNS alone"
# Whoever set it (round-nineteen tester 87: the start reverted DNS an
# administrator set there).
ctl_server_conf "$RVT_TMP/server.conf" "push_dns=10.99.0.7"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
ctl_conf_set "$RVT_TMP/c3.conf" accept_dns=no
rvp_leaves client3e "dns=10.99.0.1,fd99::1 domains=corp.test"
grep -q "server pushed DNS 10.99.0.7: not applied (accept_dns = no)" "$RVT_TMP/client3e.log" ||
	rvt_fail "the push not said: $(grep -i dns "$RVT_TMP/client3e.log")"

rvt_step "DNS set on a persistent TUN after the client took its own back is left alone"
# The client reverted what it was pushed (the server took push_dns out);
# an administrator then set DNS there: the client's stop took that too
# (round-nineteen tester 88).
ctl_server_conf "$RVT_TMP/server.conf" "push_dns=10.99.0.1"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
ctl_conf_set "$RVT_TMP/c3.conf" accept_dns=yes
rvt_bg "$C1" client3f env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$RV_BIN" client -c "$RVT_TMP/c3.conf"
P3=$RVT_LAST_PID
rvt_wait_for 10 "DNS on rvp" grep -q "DNS via rvp: 10.99.0.1$" "$RVT_TMP/client3f.log" ||
	rvt_fail "not applied: $(grep -i dns "$RVT_TMP/client3f.log")"
N=$(calls_at)
ctl_server_conf "$RVT_TMP/server.conf"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvt_wait_for 5 "its own taken back" has_since "$N" "^RevertLink link=rvp\($IDX3\) uid=$NB$" ||
	rvt_fail "resolved saw: $(calls_since "$N")"
busctl --address="$BUS" call org.freedesktop.resolve1 /org/freedesktop/resolve1 \
	org.freedesktop.resolve1.Manager SetLinkDNS 'ia(iay)' "$IDX3" 1 2 4 10 5 5 5 >/dev/null ||
	rvt_fail "the administrator's SetLinkDNS"
[ "$(last_state rvp)" = "state link=rvp($IDX3) dns=10.5.5.5 domains=" ] || rvt_fail "rvp has: $(last_state rvp)"
N=$(calls_at)
rvt_stop_pid "$P3" 10 || rvt_fail "client3 exit"
calls_since "$N" | rvt_matches "link=rvp\(" && rvt_fail "the stop called resolved on rvp: $(calls_since "$N")"
[ "$(last_state rvp)" = "state link=rvp($IDX3) dns=10.5.5.5 domains=" ] || rvt_fail "rvp has: $(last_state rvp)"


rvt_step "a client whose tunnel carries no IPv6 hands resolved no IPv6 server, until it does"
# Nothing reaches fd99::1 through a tunnel without IPv6 (it was handed to
# resolved all the same: round-sixty-four tester 265); once IPv6 is on,
# it is (it stayed out until the next push: tester 267).
ctl_server_conf "$RVT_TMP/server.conf" "push_dns=10.99.0.1 fd99::1"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c4.conf" "$PKI/client2" rvq "$RVT_TMP/c4.sock"
rvt_nsx "$C1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || rvt_fail "IPv6 off for new links"
rvt_bg "$C1" client4 env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$RV_BIN" client -c "$RVT_TMP/c4.conf"
P4=$RVT_LAST_PID
rvt_wait_for 10 "DNS on rvq" grep -q "DNS via rvq: 10.99.0.1$" "$RVT_TMP/client4.log" ||
	rvt_fail "not applied: $(grep -i dns "$RVT_TMP/client4.log")"
rvt_nsx "$C1" sysctl -qw net.ipv6.conf.default.disable_ipv6=0 || rvt_fail "IPv6 back for new links"
grep -q "server pushed DNS server fd99::1: not used while the tunnel carries no IPv6" "$RVT_TMP/client4.log" ||
	rvt_fail "the IPv6 server left out unsaid: $(grep -i dns "$RVT_TMP/client4.log")"
IDX4=$(ip netns exec "$C1" cat /sys/class/net/rvq/ifindex)
grep -qx "SetLinkDNS link=rvq($IDX4) uid=$NB servers=10.99.0.1" "$CALLS" ||
	rvt_fail "resolved saw: $(grep "link=rvq(" "$CALLS")"
N=$(calls_at)
rvt_nsx "$C1" sysctl -qw net.ipv6.conf.rvq.disable_ipv6=0 || rvt_fail "IPv6 on rvq"
rvt_wait_for 10 "fd99::1 handed over" has_since "$N" "^SetLinkDNS link=rvq\($IDX4\) uid=$NB servers=10.99.0.1,fd99::1$" ||
	rvt_fail "resolved saw: $(calls_since "$N"); client4: $(grep -i "dns\|ipv6" "$RVT_TMP/client4.log" | tail -3)"
rvt_stop_pid "$P4" 10 || rvt_fail "client4 exit"
