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
#     is reported as failed and `ringvpn reload` exits 1;
#   - without the grant, each push is refused and said so; the bus
#     restarted: the client connects again;
#   - a client with accept_dns = no makes no call.
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
# start_fake [ALLOW_USER]
start_fake() {
	rvt_bg "$C1" resolved "$FAKE" "$BUS" "$CALLS" "$@"
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
has_since() { calls_since "$1" | grep -qE -- "$2"; }

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
grep -q "^applied: accept_dns (DNS of rvc reverted)$" <<<"$OUT" || rvt_fail "not applied: $OUT"
has_since "$N" "^RevertLink link=rvc\($IDX\) uid=$NB$" || rvt_fail "resolved saw: $(calls_since "$N")"
[ "$(last_state rvc)" = "state link=rvc($IDX) dns= domains=" ] || rvt_fail "rvc has: $(last_state rvc)"
# To yes: the last push is set again, without waiting for the server.
N=$(calls_at)
ctl_conf_set "$RVT_TMP/c1.conf" accept_dns=yes
OUT=$(rvt_run "$RV_BIN" reload -s "$RVT_TMP/c1.sock") || rvt_fail "client reload: $OUT"
echo "$OUT"
grep -q "^applied: accept_dns (DNS 10.99.0.1 fd99::1, search corp.test set on rvc)$" <<<"$OUT" ||
	rvt_fail "not applied: $OUT"
[ "$(last_state rvc)" = "state link=rvc($IDX) dns=10.99.0.1,fd99::1 domains=corp.test" ] ||
	rvt_fail "rvc has: $(last_state rvc)"
# A revert resolved cannot take (it is gone): "failed", and exit 1.
rvt_stop_pid "$FAKE_PID" 5
rvt_forget_pid "$FAKE_PID"
ctl_conf_set "$RVT_TMP/c1.conf" accept_dns=no
rc=0
OUT=$(rvt_run "$RV_BIN" reload -s "$RVT_TMP/c1.sock" 2>&1) || rc=$?
echo "$OUT"
[ "$rc" = 1 ] || rvt_fail "reload exit $rc, not 1: $OUT"
grep -q "^failed: accept_dns (systemd-resolved RevertLink: .*)$" <<<"$OUT" || rvt_fail "not said: $OUT"
# resolved back: accept_dns = yes sets the push again.
start_fake nobody
ctl_conf_set "$RVT_TMP/c1.conf" accept_dns=yes
OUT=$(rvt_run "$RV_BIN" reload -s "$RVT_TMP/c1.sock") || rvt_fail "client reload: $OUT"
grep -q "^applied: accept_dns (DNS 10.99.0.1 fd99::1, search corp.test set on rvc)$" <<<"$OUT" ||
	rvt_fail "not applied: $OUT"
[ "$(last_state rvc)" = "state link=rvc($IDX) dns=10.99.0.1,fd99::1 domains=corp.test" ] ||
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
rvt_stop_pid "$FAKE_PID" 5
rvt_forget_pid "$FAKE_PID"
start_fake nobody
N=$(calls_at)
ctl_server_conf "$RVT_TMP/server.conf" "${CTL_SERVER_KV[@]}"
rvt_run "$RV_BIN" reload -s "$SRV_SOCK" >/dev/null || rvt_fail "server reload"
rvt_wait_for 5 "the push as nobody" has_since "$N" "^SetLinkDomains link=rvc\($IDX\) uid=$(id -u nobody) domains=corp.test$" ||
	rvt_fail "resolved saw: $(calls_since "$N")"

rvt_step "client2 (accept_dns = no) made no call in all that"
grep -q "link=rvd(" "$CALLS" && rvt_fail "client2 called resolved: $(grep "link=rvd(" "$CALLS")"
[ "$(grep -c "not applied (accept_dns = no)" "$RVT_TMP/client2.log")" -ge 3 ] ||
	rvt_fail "client2 did not see every push: $(grep -i dns "$RVT_TMP/client2.log")"
rvt_stop_pid "$P2" 10 || rvt_fail "client2 exit"
