#!/usr/bin/env bash
# test_client_options.sh — what a client can be told in its config and by its
# server (issue 8 §6):
#   - several servers: the client fails over to the next one when its
#     server dies, and back when that one dies in turn;
#   - accept_routes: of two routes the server pushes, only the one inside the
#     client's list is installed;
#   - pushed DNS: the client receives push_dns/push_domain and hands them
#     to systemd-resolved (absent here: the log says so and names them);
#   - jittered backoff: after the server is killed, the delays the clients
#     choose before reconnecting are spread over the backoff window, not in
#     lockstep.
#
# Two servers run in the server namespace: A on control port 4433 (pool
# 10.99.0.0/24, TUN rvs0) and B on 4533 (pool 10.98.0.0/24, TUN rvs1).
#
#   bash test_client_options.sh      Env: RV_BIN, RV_BUILD, RV_SRC (ctest sets them).
set -u
RV_SRC=${RV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$RV_SRC/test/integ/lib.sh"
. "$RV_SRC/test/integ/control_lib.sh"

ctl_init 6
ctl_client_ns c1 1
C1=$(rvt_ns_name c1)

rvt_step "two servers, A with pushed routes and DNS"
CTL_SERVER_KV=(route=192.168.50.0/24 route=192.168.60.0/24 "push_dns=10.99.0.1 fd99::1"
	push_domain=corp.test)
ctl_start_server
A_PID=$SRV_PID
ctl_server_conf "$RVT_TMP/b.conf" listen=4533 data_port=4534 tun=rvs1 pool4=10.98.0.0/24 \
	pool6=fd98::/64 status_socket="$RVT_TMP/b.sock" lease_file="$RVT_TMP/b.leases"
start_b() {
	rvt_bg "$S" server-b "$RV_BIN" server -c "$RVT_TMP/b.conf"
	B_PID=$RVT_LAST_PID
	rvt_wait_for 10 "server B" "$RV_BIN" status -s "$RVT_TMP/b.sock" || rvt_fail "server B did not start"
}
start_b

# The client lists both (the servers share the certificate for vpn.test).
CTL_IDX=1 ctl_client_conf "$RVT_TMP/c1.conf" "$PKI/client1" rvc "$RVT_TMP/c1.sock" \
	accept_routes=192.168.50.0/23
sed -i '/^server = /d; /^server_name = /d' "$RVT_TMP/c1.conf"
printf 'server = 10.88.1.1:4433\nserver = 10.88.1.1:4533\nserver_name = vpn.test\n' \
	>>"$RVT_TMP/c1.conf"
rvt_bg "$C1" client1 "$RV_BIN" client -c "$RVT_TMP/c1.conf"
rvt_wait_for 15 "client on A" rvt_nsx "$C1" ping -c 1 -W 1 10.99.0.1 || rvt_fail "no tunnel to A"

rvt_step "accept_routes: only the pushed route inside 192.168.50.0/23 is installed"
rvt_wait_for 5 "route 192.168.50.0/24" sh -c "ip -n $C1 route show dev rvc | grep -q '^192.168.50.0/24'" ||
	rvt_fail "accepted route missing: $(ip -n "$C1" route show dev rvc)"
if ip -n "$C1" route show dev rvc | grep -q '^192.168.60.0/24'; then
	rvt_fail "a route outside accept_routes was installed"
fi
grep -q "route 192.168.60.0/24 pushed by the server: not installed (accept_routes)" \
	"$RVT_TMP/client1.log" || rvt_fail "no log line for the refused route"

rvt_step "pushed DNS reaches the client"
rvt_wait_for 5 "DNS push in the client log" grep -q "server pushed DNS 10.99.0.1 fd99::1, search corp.test" \
	"$RVT_TMP/client1.log" || rvt_fail "DNS push not seen: $(grep -i dns "$RVT_TMP/client1.log")"

rvt_step "server A dies: the client fails over to B"
kill -KILL "$A_PID"
rvt_wait_for 30 "client on B" rvt_nsx "$C1" ping -c 1 -W 1 10.98.0.1 || rvt_fail "no failover to B"
grep -q "connected to 10.88.1.1 (10.88.1.1:4533)" "$RVT_TMP/client1.log" || rvt_fail "client log: B"
# B pushes no routes: the client removed A's.
rvt_wait_for 5 "A's route gone" sh -c "! ip -n $C1 route show dev rvc | grep -q '^192.168.50.0/24'" ||
	rvt_fail "stale route of A kept: $(ip -n "$C1" route show dev rvc)"

rvt_step "A is back and B dies: the client fails over back to A"
mv "$RVT_TMP/server.log" "$RVT_TMP/server-a1.log"
rvt_bg "$S" server "$RV_BIN" server -c "$RVT_TMP/server.conf"
A_PID=$RVT_LAST_PID
rvt_wait_for 10 "server A" "$RV_BIN" status -s "$SRV_SOCK" || rvt_fail "server A did not restart"
kill -KILL "$B_PID"
rvt_wait_for 30 "client back on A" rvt_nsx "$C1" ping -c 1 -W 1 10.99.0.1 || rvt_fail "no failover back to A"

rvt_step "jittered backoff: 5 clients choose spread-out delays after their server dies"
for i in 2 3 4 5 6; do
	CTL_IDX=1 ctl_client_conf "$RVT_TMP/j$i.conf" "$PKI/client$i" "rvj$i" "$RVT_TMP/j$i.sock" \
		reconnect_min=2s reconnect_max=8s
	rvt_bg "$C1" "jit$i" "$RV_BIN" client -c "$RVT_TMP/j$i.conf"
done
rvt_wait_for 20 "6 sessions on A" ctl_sessions_eq 6 || rvt_fail "clients did not come up"
kill -KILL "$A_PID"
rvt_wait_for 10 "every client chose a delay" sh -c \
	"[ \$(cat $RVT_TMP/jit*.log | grep -c 'reconnecting in') -ge 5 ]" || rvt_fail "no reconnect delays"
python3 - "$RVT_TMP" <<'EOF' || rvt_fail "reconnect delays are not spread"
import glob, re, sys
d = []
for f in sorted(glob.glob(sys.argv[1] + "/jit*.log")):
    m = re.search(r"reconnecting in (\d+) ms", open(f).read())
    d.append(int(m.group(1)))
# After a lost session the delay is drawn from [backoff/2, 3*backoff/2)
# with backoff = reconnect_min = 2000 ms: five draws land all over it.
print("reconnect delays (ms):", d)
assert all(1000 <= x <= 3000 for x in d), "outside the window"
# Five uniform draws over 2000 ms span less than 200 ms with p < 0.001.
assert max(d) - min(d) >= 200, "clustered (spread %d ms)" % (max(d) - min(d))
EOF
