#!/usr/bin/env bash
# test_crl_state.sh — the newest CRL survives a restart (crl_state):
#   A. The server writes crl_state at start (root's, 0600, one line for the
#      CA) and again when it takes a revocation.
#   B. kill -9, an older CRL put back (a backup restored), a start at once:
#      `-n` and the start both refuse it (exit 4, naming crl_state and the
#      numbers), no TUN left behind; with the newest CRL back it starts and
#      the revoked client stays out while the other reconnects.
#   C. A file the start must not use: a symbolic link, mode 0666, a second
#      name, the server's key named by a slip: `-n` and the start exit 3,
#      each file byte for byte as it was.
#   D. A line damaged (a write cut by a crash): said, passed over, and
#      written whole again at the start; an empty file and one cut inside
#      its header are taken.
#   E. Without crl_state, `-n` says a restart would take an older CRL.
#   F. A server started without a CRL refuses, at a reload that adds one,
#      a CRL older than crl_state remembers.
#   G. Back from a newer CRL without a number to the numbered one before
#      it (the numbers equal): refused by the watch, -n and the start.
#   H. Another CRL under the number remembered (what `pki crl` twice over
#      a restored CA directory makes): refused, and the advice no longer
#      says to run `pki crl`.
#   I. A line of another CA key (another server on the same file) is kept,
#      in its place, when this server writes its own.
#   J. A file of another user is said by -n; a new file is said at the
#      start; -n says a directory that does not exist; crl_state naming
#      the lease file is refused, exit 3.
#   K. A client's crl_state: its own CRL (of the server's CA) put back
#      older after kill -9 is refused by -n and the start, exit 4.
#   L. A CA's CRL left out of the CRL file while the CA stays in the CA
#      file: refused at a start (exit 4) as at a reload (round-twelve
#      tester 53: a root's CRL left out let a revoked intermediate's
#      clients back in); with the CA gone too, taken.
#   M. crl_state removed while the server runs: made anew at the next CRL
#      taken (every save went into the deleted file).
#   M2. A higher number dated earlier than the CRL before it (another
#      signing host, a clock set back): taken, reloads and a restart go on
#      (the running CRL was refused as older than itself: tester 55); the
#      reload's refusal of an older copy does not advise `pki crl`.
#   O. pki's CRL (dated 5 minutes back) after one without a number dated
#      now: taken (refused by dates alone); a file of a CRL without a
#      number and a numbered one: the numbered one alone after it refused
#      whatever the file's order; a CA taken out and put back without its
#      CRL: refused at the reload, as at a start (round-twelve tester 57).
#   N. An ACL that lets another user write the file is said; a file full
#      of 64 other CA keys is said at the start.
# On the binary before crl_state (171db9f) B fails: the start took the
# older CRL, and client2, revoked in the newer one, got back in.
#
#   ns rvt-$$-c1 .. c2 (client1, client2)  --veth--  ns rvt-$$-s (server)
#
# Usage: bash test_crl_state.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

ctl_init 2
ctl_client_ns c1 1
ctl_client_ns c2 2
STATE="$RVT_TMP/server.crl-state"
CTL_SERVER_KV=("crl_state=$STATE")
ctl_start_server
SLOG="$RVT_TMP/server.log"
ctl_client 1
CLIENT1_PID=$RVT_LAST_PID
ctl_client 2
CLIENT2_PID=$RVT_LAST_PID
rvt_wait_for 15 "two sessions" ctl_sessions_eq 2 || { ctl_status; rvt_fail "clients did not come up"; }

# lines FILE: the signer lines of a CRL state file.
lines() { grep -vc '^#' "$1" || true; }
# number FILE: the cRLNumber the first signer line carries, in decimal.
number() { printf '%d\n' "0x$(grep -v '^#' "$1" | head -1 | cut -d' ' -f2 | sed 's/^0*//;s/^$/0/')"; }
# number_line SRC DST N [keep]: DST is SRC with its first signer line's
# number set to N (no digest, its check made again), the line before SRC's
# first with `keep`.
number_line() {
	python3 - "$@" <<'PY'
import sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
keep = len(sys.argv) > 4
lines = open(src).read().split("\n")
f = lines[1].split(" ")
f[1], f[4] = "%048x" % n, "-" * 64
body = " ".join(f[:5])
h = 2166136261
for c in body.encode():
    h = ((h ^ c) * 16777619) & 0xffffffff
open(dst, "w").write(lines[0] + "\n" + body + " %08x\n" % h + (lines[1] + "\n" if keep else ""))
PY
}
# start_fails CODE WHAT PATTERN: the server's start exits CODE, saying PATTERN.
start_fails() {
	local out rc
	out=$(ip netns exec "$S" timeout 20 "$RV_BIN" server -c "$RVT_TMP/server.conf" 2>&1)
	rc=$?
	[ "$rc" = "$1" ] || rvt_fail "$2: the start exited $rc, want $1: $(tail -3 <<<"$out")"
	grep -q -- "$3" <<<"$out" || rvt_fail "$2: the start did not say /$3/: $(tail -3 <<<"$out")"
	rvt_log "$2: the start exits $rc: $(grep -a -- "$3" <<<"$out" | head -1 | cut -c1-220)"
}
# check_fails CODE WHAT PATTERN: the same of -n.
check_fails() {
	local out rc
	out=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" 2>&1)
	rc=$?
	[ "$rc" = "$1" ] || rvt_fail "$2: -n exited $rc, want $1: $out"
	grep -q -- "$3" <<<"$out" || rvt_fail "$2: -n did not say /$3/: $out"
}
# stop_bg: the server stopped (SIGTERM) and forgotten; its exit status.
stop_bg() {
	local rc=0
	rvt_stop_pid "$SRV_PID" >/dev/null || rc=$?
	rvt_forget_pid "$SRV_PID"
	return "$rc"
}
# reload_ok WHAT / reload_refused WHAT PATTERN: `ringvpn reload` of the
# running server succeeds / is refused saying PATTERN; its output in OUT.
reload_ok() { OUT=$("$RV_BIN" reload -s "$SRV_SOCK" 2>&1) || rvt_fail "$1: $OUT"; }
reload_refused() {
	OUT=$("$RV_BIN" reload -s "$SRV_SOCK" 2>&1) && rvt_fail "$1: $OUT"
	grep -q -- "$2" <<<"$OUT" || rvt_fail "reload: $OUT"
}
# kill9_server: the server killed (SIGKILL), and its TUN gone: the kernel
# tears a dead process's rings down after the process, and their TUN
# queues with them, so the device may outlive the process by some 50 ms.
kill9_server() {
	kill -KILL "$SRV_PID"
	wait "$SRV_PID" 2>/dev/null
	rvt_forget_pid "$SRV_PID"
	rvt_wait_for 5 "the killed server's TUN gone" bash -c "! ip -n '$S' link show rvs0 >/dev/null 2>&1" ||
		rvt_fail "the killed server's TUN stayed"
}

rvt_step "A. crl_state written at start, and again at a revocation"
[ -f "$STATE" ] || rvt_fail "no $STATE after the start"
[ "$(stat -c '%a %u' "$STATE")" = "600 0" ] || rvt_fail "crl_state is $(stat -c '%a %u' "$STATE"), want 600 0"
[ "$(lines "$STATE")" = 1 ] || rvt_fail "crl_state holds $(lines "$STATE") lines: $(cat "$STATE")"
N0=$(number "$STATE")
rvt_log "crl_state remembers number $N0"
cp "$PKI/ca/ca.crl" "$RVT_TMP/crl.old"
rvt_run "$RV_BIN" pki revoke --ca "$PKI/ca" --cert "$PKI/client2.crt" >/dev/null || rvt_fail "pki revoke"
rvt_wait_for 10 "client2's session ended" bash -c "! '$RV_BIN' status --kv -s '$SRV_SOCK' | grep -q '^session name=client2 '" ||
	rvt_fail "client2 was not ended by its revocation"
for _ in $(seq 50); do [ "$(number "$STATE")" -gt "$N0" ] && break; sleep 0.1; done
N1=$(number "$STATE")
[ "$N1" -gt "$N0" ] || rvt_fail "crl_state still remembers $N1 after the revocation (was $N0)"
rvt_log "crl_state remembers number $N1 after the revocation"
cp "$PKI/ca/ca.crl" "$RVT_TMP/crl.new"

rvt_step "B. kill -9, the older CRL put back, a start at once: refused, exit 4"
kill9_server
cp "$RVT_TMP/crl.old" "$PKI/ca/ca.crl.tmp" && mv "$PKI/ca/ca.crl.tmp" "$PKI/ca/ca.crl"
check_fails 4 "-n over the older CRL" "its number $N0 is below the newest taken before this start, $N1 (remembered in crl_state $STATE)"
start_fails 4 "the older CRL" "its number $N0 is below the newest taken before this start, $N1"
ip -n "$S" link show rvs0 >/dev/null 2>&1 && rvt_fail "the refused start left its TUN behind"
[ "$(number "$STATE")" = "$N1" ] || rvt_fail "the refused start changed crl_state: $(cat "$STATE")"
# A second line of the CA key with the older CRL's number, first in the
# file (an edit): the higher of the two still decides (the first line alone
# did, and the start took the older CRL: round-twenty-three tester 102).
number_line "$STATE" "$STATE" "$N0" keep
[ "$(lines "$STATE")" = 2 ] && [ "$(number "$STATE")" = "$N0" ] || rvt_fail "the edit: $(cat "$STATE")"
check_fails 4 "-n over the older CRL, its number on a line before the right one" \
	"its number $N0 is below the newest taken before this start, $N1"
cp "$RVT_TMP/crl.new" "$PKI/ca/ca.crl.tmp" && mv "$PKI/ca/ca.crl.tmp" "$PKI/ca/ca.crl"
mv "$SLOG" "$RVT_TMP/server-1.log"
ctl_start_server
rvt_wait_for 15 "client1 back" bash -c "'$RV_BIN' status --kv -s '$SRV_SOCK' | grep -q '^session name=client1 .*state=running'" ||
	{ ctl_status; rvt_fail "client1 did not reconnect"; }
sleep 2 # client2 retries meanwhile
ctl_status | rvt_matches '^session name=client2 ' && rvt_fail "revoked client2 got back in"
grep -a "damaged\|is below\|remembers no CRL" "$SLOG" && rvt_fail "the start over the newest CRL said that"
[ "$(lines "$STATE")" = 1 ] && [ "$(number "$STATE")" = "$N1" ] ||
	rvt_fail "the start did not write the CA key's two lines as one: $(cat "$STATE")"
rvt_nsx "$(rvt_ns_name c1)" ping -c 2 -i 0.2 -W 2 10.99.0.1 >/dev/null || rvt_fail "client1 cannot ping after the restart"
# A reload to another crl_state that remembers a newer CRL than the file's
# `crl`: the start would refuse it, exit 4, and the reload says so (it
# judged the file's kind alone: "needs a restart", exit 0; a limit the
# last session left).
number_line "$STATE" "$RVT_TMP/newer.state" "$((N1 + 5))"
# The service user's (the reload runs as it: root's 0600 file it may not
# read, and says so).
chmod 600 "$RVT_TMP/newer.state" && chown nobody "$RVT_TMP/newer.state"
cp "$RVT_TMP/server.conf" "$RVT_TMP/server.conf.kept"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/newer.state"
reload_refused "a reload to a crl_state newer than the CRL" \
	"failed: a start with this file would exit 4: .*its number $N1 is below the newest taken before this start, $((N1 + 5))"
grep -q "^needs a restart (running value kept): crl_state$" <<<"$OUT" || rvt_fail "crl_state not said to need a restart: $OUT"
check_fails 4 "-n over a crl_state newer than the CRL" "its number $N1 is below the newest taken before this start, $((N1 + 5))"
# The same with a key the service user may not read (root's 0600, which
# the reload's own context replaces with the running key): it passed
# unjudged, exit 0 (round-sixty-two tester 255).
KEYMODE=$(stat -c '%u:%g %a' "$PKI/server.key")
chown root:root "$PKI/server.key" && chmod 600 "$PKI/server.key"
reload_refused "a reload to a crl_state newer than the CRL, the key root's" \
	"failed: a start with this file would exit 4: .*its number $N1 is below the newest taken before this start, $((N1 + 5))"
chown "${KEYMODE% *}" "$PKI/server.key" && chmod "${KEYMODE#* }" "$PKI/server.key"
cp "$RVT_TMP/server.conf.kept" "$RVT_TMP/server.conf"
reload_ok "a reload back to the running crl_state"
grep -q "would exit" <<<"$OUT" && rvt_fail "the reload back said a start would fail: $OUT"

rvt_step "C. a crl_state the start must not use: exit 3, left as it is"
stop_bg || rvt_fail "the server did not stop"
cp -p "$STATE" "$RVT_TMP/state.good"
refused() { # WHAT PATTERN FILE-TO-COMPARE
	local sum
	sum=$(md5sum <"$3")
	check_fails 3 "$1" "$2"
	start_fails 3 "$1" "$2"
	[ "$(md5sum <"$3")" = "$sum" ] || rvt_fail "$1: the file changed"
}
ln -s "$RVT_TMP/state.good" "$RVT_TMP/state.link"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/state.link"
refused "a symbolic link" "is a symbolic link or its path goes through one" "$RVT_TMP/state.good"
cp -p "$RVT_TMP/state.good" "$RVT_TMP/state.open" && chmod 0666 "$RVT_TMP/state.open"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/state.open"
refused "mode 0666" "is writable by every user (mode 0666)" "$RVT_TMP/state.open"
ln "$RVT_TMP/state.good" "$RVT_TMP/state.second"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/state.second"
refused "a second name" "has 2 names (hard links)" "$RVT_TMP/state.good"
rm -f "$RVT_TMP/state.second"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$PKI/server.key"
refused "the key by a slip" "holds something else (not a ringvpn CRL state)" "$PKI/server.key"

rvt_step "D. a damaged line: said, passed over, written whole again"
cp -p "$RVT_TMP/state.good" "$STATE"
# One digit of the number changed: its check no longer matches.
sed -i '2s/^\(.\{100\}\)./\1x/' "$STATE"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$STATE"
check_fails 0 "-n over a damaged line" "1 damaged line(s), the first line 2"
mv "$SLOG" "$RVT_TMP/server-2.log"
rvt_bg "$S" server "$RV_BIN" server -c "$RVT_TMP/server.conf"
SRV_PID=$RVT_LAST_PID
rvt_wait_for 10 "server status socket" "$RV_BIN" status -s "$SRV_SOCK" || rvt_fail "the start over a damaged line failed: $(tail -3 "$SLOG")"
[ "$(grep -ac "crl_state .*1 damaged line(s), the first line 2 (a write cut short?" "$SLOG")" = 1 ] ||
	rvt_fail "the damaged line was not said once: $(grep -a crl_state "$SLOG")"
cmp -s "$STATE" "$RVT_TMP/state.good" || rvt_fail "crl_state not written whole again: $(cat "$STATE")"
stop_bg || rvt_fail "the server did not stop"
for cut in 0 10; do
	head -c "$cut" "$RVT_TMP/state.good" >"$STATE"
	mv "$SLOG" "$RVT_TMP/server-cut$cut.log"
	rvt_bg "$S" server "$RV_BIN" server -c "$RVT_TMP/server.conf"
	SRV_PID=$RVT_LAST_PID
	rvt_wait_for 10 "server status socket" "$RV_BIN" status -s "$SRV_SOCK" ||
		rvt_fail "the start over a file of $cut bytes failed: $(tail -3 "$SLOG")"
	cmp -s "$STATE" "$RVT_TMP/state.good" || rvt_fail "a file of $cut bytes not written whole: $(cat "$STATE")"
	stop_bg || rvt_fail "the server did not stop"
done

rvt_step "E. without crl_state, -n says what a restart would do"
sed -i '/^crl_state = /d' "$RVT_TMP/server.conf"
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" 2>&1) || rvt_fail "-n failed: $OUT"
grep -q "crl_state is not set: a restart would take an older CRL" <<<"$OUT" || rvt_fail "-n said nothing: $OUT"

rvt_step "F. started without a CRL: a reload that adds the older one is refused"
# What the file remembers is the running set's from the start: the CRL of
# a CA the start did not have comes back no older.
cp -p "$RVT_TMP/state.good" "$STATE"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$STATE"
sed -i '/^crl = /d' "$RVT_TMP/server.conf"
mv "$SLOG" "$RVT_TMP/server-3.log"
rvt_bg "$S" server "$RV_BIN" server -c "$RVT_TMP/server.conf"
SRV_PID=$RVT_LAST_PID
rvt_wait_for 10 "server status socket" "$RV_BIN" status -s "$SRV_SOCK" || rvt_fail "the start without a CRL failed: $(tail -3 "$SLOG")"
cp "$RVT_TMP/crl.old" "$RVT_TMP/crl.restored"
ctl_conf_set "$RVT_TMP/server.conf" "crl=$RVT_TMP/crl.restored"
reload_refused "a reload took the older CRL" "its number $N0 is below the running CRL's $N1"
ctl_conf_set "$RVT_TMP/server.conf" "crl=$RVT_TMP/crl.new"
reload_ok "a reload refused the newest CRL"
stop_bg || rvt_fail "the server did not stop"

# mkcrl OUT NUMBER|-: a CRL of the CA listing client2, with that number or
# none, dated a minute back (after pki's CRLs, which are dated 5 minutes
# back). Made with python3-cryptography, as test_crl_lookup.sh does.
cat >"$RVT_TMP/mkcrl.py" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, ed448
ca_crt, ca_key, revoked, out, number = sys.argv[1:6]
back = int(sys.argv[6]) if len(sys.argv) > 6 else 1
crt = x509.load_pem_x509_certificate(open(ca_crt, "rb").read())
key = serialization.load_pem_private_key(open(ca_key, "rb").read(), None)
rev = x509.load_pem_x509_certificate(open(revoked, "rb").read())
now = datetime.datetime.utcnow()
b = (x509.CertificateRevocationListBuilder().issuer_name(crt.subject)
     .last_update(now - datetime.timedelta(minutes=back)).next_update(now + datetime.timedelta(days=30))
     .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(crt.public_key()), critical=False)
     .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(rev.serial_number)
                              .revocation_date(now - datetime.timedelta(minutes=1)).build()))
if number != "-":
    b = b.add_extension(x509.CRLNumber(int(number)), critical=False)
algo = None if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)) else hashes.SHA256()
open(out, "wb").write(b.sign(key, algo).public_bytes(serialization.Encoding.PEM))
PY
mkcrl() { python3 "$RVT_TMP/mkcrl.py" "$PKI/ca/ca.crt" "$PKI/ca/ca.key" "$PKI/client2.crt" "$@" || rvt_fail "mkcrl $*"; }
# put_crl FILE: FILE in place of the server's CRL, by rename.
put_crl() { cp "$1" "$PKI/ca/ca.crl.tmp" && mv "$PKI/ca/ca.crl.tmp" "$PKI/ca/ca.crl"; }
# wait_log FILE PATTERN SECS: FILE has a line matching PATTERN within SECS.
wait_log() { rvt_wait_for "$3" "$2" grep -q "$2" "$1"; }
# start_bg: the server in the background, up (its log moved aside first).
start_bg() {
	[ -f "$SLOG" ] && mv "$SLOG" "$RVT_TMP/server-$RANDOM.log"
	rvt_bg "$S" server "$RV_BIN" server -c "$RVT_TMP/server.conf"
	SRV_PID=$RVT_LAST_PID
	rvt_wait_for 10 "server status socket" "$RV_BIN" status -s "$SRV_SOCK" || rvt_fail "the start failed: $(tail -3 "$SLOG")"
}

rvt_step "G. back from a newer CRL without a number to the numbered one before it: refused, then at a restart"
# The numbers are equal, and the later thisUpdate remembered was not looked
# at: the numbered one was taken back, at the watch and at a restart
# (round-twelve tester 52).
ctl_conf_set "$RVT_TMP/server.conf" "crl=$PKI/ca/ca.crl" "crl_state=$RVT_TMP/g.crl-state"
put_crl "$RVT_TMP/crl.new"
start_bg
mkcrl "$RVT_TMP/crl.nonum" -
put_crl "$RVT_TMP/crl.nonum"
wait_log "$SLOG" "every live session re-verified" 5 || rvt_fail "the CRL without a number was not taken: $(tail -3 "$SLOG")"
put_crl "$RVT_TMP/crl.new"
wait_log "$SLOG" "issued at .*, before a CRL without a number that was taken since" 5 ||
	rvt_fail "the numbered CRL before it was taken back: $(tail -3 "$SLOG")"
kill9_server
check_fails 4 "-n back to the numbered CRL" "before a CRL without a number that was taken before this start"
start_fails 4 "back to the numbered CRL" "before a CRL without a number that was taken before this start"

rvt_step "H. another CRL under the number remembered: refused (made again from an older index)"
put_crl "$RVT_TMP/crl.nonum"
start_bg
stop_bg
rm -f "$RVT_TMP/g.crl-state"
put_crl "$RVT_TMP/crl.new"
start_bg
kill9_server
mkcrl "$RVT_TMP/crl.same" "$N1"
put_crl "$RVT_TMP/crl.same"
check_fails 4 "another CRL numbered $N1" "it is another CRL under the number $N1 of the newest taken before this start"
start_fails 4 "another CRL numbered $N1" "it is another CRL under the number $N1"
grep -q "pki crl" <<<"$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" 2>&1)" &&
	rvt_fail "the refusal still advises pki crl (from a restored index it lacks the revocations)"

rvt_step "H1. a CRL file with two CRLs of the CA under one number: refused"
# The first one's digest was kept, and the other then refused at every
# later load and restart as made again from an older index (round-twenty-
# four tester 107).
cat "$RVT_TMP/crl.new" "$RVT_TMP/crl.same" >"$RVT_TMP/crl.both"
put_crl "$RVT_TMP/crl.both"
check_fails 4 "two CRLs under the number $N1 in one file" "two different CRLs of CA .* under its highest number"
# Beside a newer one they do not matter, in any order (the refusal went by
# the order: round-twenty-four tester 108).
mkcrl "$RVT_TMP/crl.hi" "$((N1 + 1))"
for order in "new same hi" "new hi same" "hi same new"; do
	set -- $order
	cat "$RVT_TMP/crl.$1" "$RVT_TMP/crl.$2" "$RVT_TMP/crl.$3" >"$RVT_TMP/crl.three"
	put_crl "$RVT_TMP/crl.three"
	check_fails 0 "two CRLs under $N1 beside $((N1 + 1)) ($order)" "configuration OK"
done
put_crl "$RVT_TMP/crl.new"

rvt_step "H2. two lines of the CA key under the number, one for each of the two CRLs: the file refused, exit 3"
# Which CRL is the right one cannot be told: the first line decided, and
# the start then locked the other out for good (round-twenty-three tester
# 103); checking neither took the one made again from an older index, and
# then locked the right one out (round-twenty-four tester 105). In either
# order, with either CRL in place, the operator is asked.
two_lines() { # FIRST_CRL SECOND_CRL: the file's line of the CA key, once per CRL's digest
	python3 - "$RVT_TMP/g.crl-state" "$1" "$2" <<'PY'
import base64, hashlib, sys
path, crls = sys.argv[1], sys.argv[2:]
lines = open(path).read().split("\n")
head, ours = lines[0], [l for l in lines[1:] if l][0]
out = head + "\n"
for crl in crls:
    pem = open(crl).read()
    der = base64.b64decode("".join(pem.split("-----")[2].split()))
    f = ours.split(" ")
    f[4] = hashlib.sha256(der).hexdigest()
    body = " ".join(f[:5])
    h = 2166136261
    for c in body.encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    out += body + " %08x\n" % h
open(path, "w").write(out)
PY
}
cp "$RVT_TMP/g.crl-state" "$RVT_TMP/g.crl-state.one"
for order in "same new" "new same"; do
	set -- $order
	cp "$RVT_TMP/g.crl-state.one" "$RVT_TMP/g.crl-state"
	two_lines "$RVT_TMP/crl.$1" "$RVT_TMP/crl.$2"
	for crl in same new; do
		put_crl "$RVT_TMP/crl.$crl"
		check_fails 3 "lines ($order), crl.$crl in place" \
			"gives two CRLs under the highest number of one CA key (line 3, and one before it"
	done
	start_fails 3 "lines ($order)" "which is the newest cannot be told; refused, left as it is"
	rvt_log "lines of crl.$1 and crl.$2: -n and the start refuse the file, with either CRL in place"
done

rvt_step "I. two servers on one file: a line of another CA is kept, in its place"
# Each wrote what it had read at its start, and the other's line was lost
# (round-twelve tester 52). A line of another CA key, as another server
# writes it, first in the file:
put_crl "$RVT_TMP/crl.new"
python3 - "$RVT_TMP/g.crl-state" <<'PY'
import sys
path = sys.argv[1]
lines = open(path).read().split("\n")
head, ours = lines[0] + "\n", lines[1] + "\n"
body = "ab" * 32 + " " + "00" * 23 + "07 " + "+00000001700000000" + "00 " + "-9223372036854775808 " + "-" * 64 + " "
h = 2166136261
for c in body[:-1].encode():
    h = ((h ^ c) * 16777619) & 0xffffffff
open(path, "w").write(head + body + "%08x\n" % h + ours)
PY
FOREIGN=$(sed -n 2p "$RVT_TMP/g.crl-state")
start_bg
grep -a "damaged" "$SLOG" && rvt_fail "the other CA's line was taken for damaged"
rvt_run "$RV_BIN" pki revoke --ca "$PKI/ca" --cert "$PKI/client1.crt" >/dev/null || rvt_fail "pki revoke"
wait_log "$SLOG" "every live session re-verified" 5 || rvt_fail "the revocation was not taken: $(tail -3 "$SLOG")"
[ "$(sed -n 2p "$RVT_TMP/g.crl-state")" = "$FOREIGN" ] ||
	rvt_fail "the other CA's line was not kept in its place: $(cat "$RVT_TMP/g.crl-state")"
[ "$(grep -vc '^#' "$RVT_TMP/g.crl-state")" = 2 ] || rvt_fail "crl_state: $(cat "$RVT_TMP/g.crl-state")"
N2=$(printf '%d\n' "0x$(sed -n 3p "$RVT_TMP/g.crl-state" | cut -d' ' -f2 | sed 's/^0*//;s/^$/0/')")
[ "$N2" -gt "$N1" ] || rvt_fail "our line was not written after the revocation: $(cat "$RVT_TMP/g.crl-state")"
stop_bg

rvt_step "J. who else may change it is said; a new file is said; -n says what the start will"
# Another user's: said. The service user's (nobody here) is the units' way:
# "chown root it" was said of it, and the unit then could not open it
# (tester 55).
chown 4242 "$RVT_TMP/g.crl-state"
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" 2>&1)
grep -q "crl_state .* belongs to uid 4242: that user can empty it" <<<"$OUT" || rvt_fail "-n said nothing of uid 4242's file: $OUT"
chown nobody "$RVT_TMP/g.crl-state"
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" 2>&1)
grep -q "belongs to uid" <<<"$OUT" && rvt_fail "-n warned of the service user's own file: $OUT"
# ... nor of its directory, the units' StateDirectory (-n run as root said
# "who may write there can swap it": round-twenty-six tester 121); another
# user's directory is said.
mkdir -p "$RVT_TMP/sd" && cp -p "$RVT_TMP/g.crl-state" "$RVT_TMP/sd/" && chown nobody "$RVT_TMP/sd" ||
	rvt_fail "state directory"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/sd/g.crl-state"
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" 2>&1)
grep -q "belongs to uid" <<<"$OUT" && rvt_fail "-n warned of the service user's own state directory: $OUT"
chown 4242 "$RVT_TMP/sd"
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" 2>&1)
grep -q "the directory $RVT_TMP/sd belongs to uid 4242" <<<"$OUT" || rvt_fail "-n said nothing of uid 4242's directory: $OUT"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/g.crl-state"
chown root "$RVT_TMP/g.crl-state"
rm -f "$RVT_TMP/new.crl-state"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/new.crl-state"
start_bg
grep -q "crl_state .*new.crl-state remembers no CRL of 1 of the CA keys here yet: the ones in place are taken as the newest" "$SLOG" ||
	rvt_fail "a new crl_state was not said: $(grep -a crl_state "$SLOG")"
stop_bg
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/nodir/x.crl-state"
check_fails 0 "a directory that does not exist" "crl_state .*nodir/x.crl-state: its directory does not exist"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/server.leases"
check_fails 3 "crl_state = lease_file" "crl_state and lease_file name the same file"
start_fails 3 "crl_state = lease_file" "crl_state and lease_file name the same file"
# Two spellings of a path not made yet (tester 55: exit 15, then 3).
ctl_conf_set "$RVT_TMP/server.conf" "lease_file=$RVT_TMP/fresh.leases" "crl_state=$RVT_TMP//fresh.leases"
check_fails 3 "crl_state = lease_file, spelt otherwise" "crl_state and lease_file name the same file"
[ -e "$RVT_TMP/fresh.leases" ] && rvt_fail "-n made the file"
ctl_conf_set "$RVT_TMP/server.conf" "lease_file=$RVT_TMP/server.leases"
# The status socket named as either: refused before the state file is
# written there (the start wrote it, then refused the regular file it found
# as the socket, exit 15, and the file blocked every later start; -n said
# OK: round-thirty-six tester 182).
SOCK_KEEP=$(sed -n 's/^status_socket = //p' "$RVT_TMP/server.conf")
CRL_KEEP=$(sed -n 's/^crl_state = //p' "$RVT_TMP/server.conf")
[ -n "$SOCK_KEEP" ] && [ -n "$CRL_KEEP" ] || rvt_fail "no status_socket or crl_state line"
ctl_conf_set "$RVT_TMP/server.conf" "status_socket=$RVT_TMP/same.state" "lease_file=$RVT_TMP/same.state"
check_fails 3 "status_socket = lease_file" "status_socket and lease_file name the same file"
start_fails 3 "status_socket = lease_file" "status_socket and lease_file name the same file"
[ -e "$RVT_TMP/same.state" ] && rvt_fail "the start wrote the lease file at the status socket's path"
ctl_conf_set "$RVT_TMP/server.conf" "lease_file=$RVT_TMP/server.leases" "crl_state=$RVT_TMP/same.state"
start_fails 3 "status_socket = crl_state" "status_socket and crl_state name the same file"
[ -e "$RVT_TMP/same.state" ] && rvt_fail "the start wrote crl_state at the status socket's path"
ctl_conf_set "$RVT_TMP/server.conf" "status_socket=$SOCK_KEEP" "crl_state=$CRL_KEEP"
# The same made by flags alone: said of the flags, exit 2, the file being
# fine (it was blamed, exit 3: round-thirty-six tester 184).
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" --status-socket "$RVT_TMP/flag.state" \
	--lease-file "$RVT_TMP/flag.state" 2>&1)
rc=$?
[ "$rc" = 2 ] && grep -q "the command line's flags with $RVT_TMP/server.conf: status_socket and lease_file name the same file" <<<"$OUT" ||
	rvt_fail "status_socket = lease_file by flags: exit $rc: $OUT"
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/server.conf" --crl-state "$RVT_TMP/flag.state" \
	--lease-file "$RVT_TMP/flag.state" 2>&1)
rc=$?
[ "$rc" = 2 ] && grep -q "the command line's flags with $RVT_TMP/server.conf: crl_state and lease_file name the same file" <<<"$OUT" ||
	rvt_fail "crl_state = lease_file by flags: exit $rc: $OUT"
[ -e "$RVT_TMP/flag.state" ] && rvt_fail "-n wrote the state file"

rvt_step "K. a client's crl_state: its CRL of the server's CA rolled back is refused, exit 4"
# The client checks the server's certificate against its own CRL: an older
# copy put back would let a revoked server key in again. The server here
# checks no CRL (every client of the test is revoked by now).
for pid in "$CLIENT1_PID" "$CLIENT2_PID"; do
	rvt_stop_pid "$pid" >/dev/null
	rvt_forget_pid "$pid"
done
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/k.crl-state"
sed -i '/^crl = /d' "$RVT_TMP/server.conf"
start_bg
cp "$RVT_TMP/crl.new" "$RVT_TMP/client.crl"
CTL_IDX=1 ctl_client_conf "$RVT_TMP/k1.conf" "$PKI/client1" rvk "$RVT_TMP/k1.sock" \
	"crl=$RVT_TMP/client.crl" "crl_state=$RVT_TMP/client.crl-state"
C1=$(rvt_ns_name c1)
rvt_bg "$C1" clientk "$RV_BIN" client -c "$RVT_TMP/k1.conf"
CK=$RVT_LAST_PID
rvt_wait_for 15 "client1 up" ctl_sessions_eq 1 || rvt_fail "client1 with crl_state did not connect: $(tail -3 "$RVT_TMP/clientk.log")"
[ "$(number "$RVT_TMP/client.crl-state")" = "$N1" ] || rvt_fail "the client's crl_state: $(cat "$RVT_TMP/client.crl-state")"
kill -KILL "$CK"
wait "$CK" 2>/dev/null
rvt_forget_pid "$CK"
cp "$RVT_TMP/crl.old" "$RVT_TMP/client.crl"
rc=0
OUT=$(ip netns exec "$C1" "$RV_BIN" client -n -c "$RVT_TMP/k1.conf" 2>&1) || rc=$?
[ "$rc" = 4 ] && grep -q "its number $N0 is below the newest taken before this start, $N1" <<<"$OUT" ||
	rvt_fail "client -n over the older CRL: exit $rc: $OUT"
rc=0
OUT=$(ip netns exec "$C1" timeout 20 "$RV_BIN" client -c "$RVT_TMP/k1.conf" 2>&1) || rc=$?
[ "$rc" = 4 ] && grep -q "its number $N0 is below the newest taken before this start, $N1" <<<"$OUT" ||
	rvt_fail "the client's start over the older CRL: exit $rc: $(tail -3 <<<"$OUT")"
rvt_log "the client refuses its older CRL: exit $rc"
cp "$RVT_TMP/crl.new" "$RVT_TMP/client.crl"
rvt_bg "$C1" clientk2 "$RV_BIN" client -c "$RVT_TMP/k1.conf"
rvt_wait_for 15 "client1 back" ctl_sessions_eq 1 || rvt_fail "client1 did not come back with the newest CRL"
rvt_stop_pid "$RVT_LAST_PID" >/dev/null
rvt_forget_pid "$RVT_LAST_PID"
stop_bg

rvt_step "L. a CA's CRL left out while the CA stays: refused at a start, as at a reload"
# Left out of the CRL file at a restart, a root's CRL that revoked an
# intermediate CA let that CA's clients back in (round-twelve tester 53).
OCA=$PKI/other-ca
rvt_run "$RV_BIN" pki crl --ca "$OCA" --days 30 >/dev/null || rvt_fail "pki crl"
cat "$PKI/ca/ca.crt" "$OCA/ca.crt" >"$RVT_TMP/cas.crt"
cat "$RVT_TMP/crl.new" "$OCA/ca.crl" >"$RVT_TMP/both.crl"
ctl_conf_set "$RVT_TMP/server.conf" "ca=$RVT_TMP/cas.crt" "crl=$RVT_TMP/both.crl" "crl_state=$RVT_TMP/l.crl-state"
start_bg
kill9_server
[ "$(lines "$RVT_TMP/l.crl-state")" = 2 ] || rvt_fail "crl_state: $(cat "$RVT_TMP/l.crl-state")"
ctl_conf_set "$RVT_TMP/server.conf" "crl=$RVT_TMP/crl.new"
check_fails 4 "other-ca's CRL left out" "it has no CRL of /CN=other test CA, which crl_state .* remembers one of"
start_fails 4 "other-ca's CRL left out" "it has no CRL of /CN=other test CA, which crl_state .* remembers one of"
# Without that CA in the CA file, nothing of its is left to guard.
ctl_conf_set "$RVT_TMP/server.conf" "ca=$PKI/ca/ca.crt"
check_fails 0 "other-ca gone with its CRL" "configuration OK"

rvt_step "M. crl_state removed while the server runs: written anew at the next CRL"
# Every later save went into the deleted file, and the next start found
# none (round-twelve tester 53).
ctl_conf_set "$RVT_TMP/server.conf" "crl=$PKI/ca/ca.crl" "crl_state=$RVT_TMP/m.crl-state"
start_bg
rm -f "$RVT_TMP/m.crl-state"
# Unsaved from then on in status, though written only at the next CRL (it
# said saved with no file at the path: round-thirty-two tester 172).
"$RV_BIN" status -s "$SRV_SOCK" | rvt_matches "WARNING: crl_state not saved for [0-9]+s: removed or replaced while the process ran: written anew at the next CRL taken or reload" ||
	rvt_fail "status with crl_state removed: $("$RV_BIN" status -s "$SRV_SOCK" | grep -a WARNING)"
rvt_run "$RV_BIN" pki client --ca "$PKI/ca" --name throwaway --out "$RVT_TMP" --days 30 >/dev/null || rvt_fail "pki client"
rvt_run "$RV_BIN" pki revoke --ca "$PKI/ca" --cert "$RVT_TMP/throwaway.crt" >/dev/null || rvt_fail "pki revoke"
wait_log "$SLOG" "crl_state .*m.crl-state was removed or replaced while the process ran: written anew" 5 ||
	rvt_fail "the removed crl_state was not made anew: $(grep -a crl_state "$SLOG")"
NM=$(openssl crl -in "$PKI/ca/ca.crl" -noout -crlnumber | sed 's/.*=//;s/^0x//')
[ "$(number "$RVT_TMP/m.crl-state")" = "$((16#$NM))" ] || rvt_fail "crl_state made anew: $(cat "$RVT_TMP/m.crl-state"), the CRL's number 0x$NM"
[ "$(stat -c %u "$RVT_TMP/m.crl-state")" = "$(id -u nobody)" ] || rvt_fail "made anew, not by the service user?"
# A directory in its place: said as such, in the log and in status (the
# cause was stack bytes: round-thirty-two tester 168), and saved again once
# the file can be made.
mv "$RVT_TMP/m.crl-state" "$RVT_TMP/m.crl-state.old"
mkdir "$RVT_TMP/m.crl-state"
reload_ok "a reload with a directory at crl_state's path"
wait_log "$SLOG" "crl_state .*m.crl-state was removed or replaced while the process ran, and cannot be opened again (not a regular file)" 5 ||
	rvt_fail "the directory not said: $(grep -a crl_state "$SLOG" | tail -2 | cat -v)"
"$RV_BIN" status -s "$SRV_SOCK" | rvt_matches "WARNING: crl_state not saved for [0-9]+s: removed or replaced while the process ran, and cannot be opened again: not a regular file$" ||
	rvt_fail "status: $("$RV_BIN" status -s "$SRV_SOCK" | grep -a WARNING | cat -v)"
# The file written on moved back: saved, without waiting for the next CRL
# (it stayed unsaved: round-thirty-three tester 175).
rmdir "$RVT_TMP/m.crl-state"
mv "$RVT_TMP/m.crl-state.old" "$RVT_TMP/m.crl-state"
"$RV_BIN" status -s "$SRV_SOCK" --kv | rvt_matches '^server .* crl_state_saved=1' ||
	rvt_fail "status --kv with crl_state moved back: $("$RV_BIN" status -s "$SRV_SOCK" --kv | head -1)"
stop_bg

rvt_step "M2. a higher number dated earlier (another signing host, a clock set back): no refusal"
# The latest thisUpdate of all was kept beside the highest number, and
# the running CRL was then "older" than itself: every reload refused, and
# a restart exited 4 (round-twelve tester 55).
mkcrl "$RVT_TMP/crl.100" 100 1
mkcrl "$RVT_TMP/crl.101" 101 10
ctl_conf_set "$RVT_TMP/server.conf" "crl=$RVT_TMP/run.crl" "crl_state=$RVT_TMP/m2.crl-state"
cp "$RVT_TMP/crl.100" "$RVT_TMP/run.crl"
start_bg
cp "$RVT_TMP/crl.101" "$RVT_TMP/run.crl.tmp" && mv "$RVT_TMP/run.crl.tmp" "$RVT_TMP/run.crl"
wait_log "$SLOG" "every live session re-verified" 5 || rvt_fail "CRL 101 was not taken: $(tail -3 "$SLOG")"
reload_ok "a reload over CRL 101 refused"
kill9_server
check_fails 0 "CRL 101 after CRL 100 dated later" "configuration OK"
# The refusal of an older copy at a reload no longer sends the operator
# to `pki crl` (over a restored index it lacks the revocations made since).
start_bg
cp "$RVT_TMP/crl.100" "$RVT_TMP/run.crl.tmp" && mv "$RVT_TMP/run.crl.tmp" "$RVT_TMP/run.crl"
reload_refused "a reload took CRL 100 back" "its number 100 is below the running CRL's 101"
grep -q "pki crl" <<<"$OUT" && rvt_fail "the reload's refusal advises pki crl: $OUT"
stop_bg

rvt_step "O. round-twelve tester 57: pki after a CRL without a number, a file's order, a CA back without its CRL"
# pki dates its CRLs 5 minutes back: its first after one without a number
# dated now was refused by dates alone, and the revocation not applied.
ctl_conf_set "$RVT_TMP/server.conf" "ca=$PKI/ca/ca.crt" "crl=$PKI/ca/ca.crl" "crl_state=$RVT_TMP/o1.crl-state"
mkcrl "$RVT_TMP/crl.now" - 0
put_crl "$RVT_TMP/crl.now"
start_bg
rvt_run "$RV_BIN" pki client --ca "$PKI/ca" --name throwaway2 --out "$RVT_TMP" --days 30 >/dev/null || rvt_fail "pki client"
rvt_run "$RV_BIN" pki revoke --ca "$PKI/ca" --cert "$RVT_TMP/throwaway2.crt" >/dev/null || rvt_fail "pki revoke"
wait_log "$SLOG" "every live session re-verified" 5 ||
	rvt_fail "pki's CRL after one without a number was not taken: $(grep -a 'cannot replace' "$SLOG" | tail -1)"
stop_bg
# Two CRLs in one file, the one without a number the newer by its date:
# taken after the numbered one whichever comes first in the file (in one
# order, the numbered one alone was taken back after it).
mkcrl "$RVT_TMP/crl.7000" 7000 3
mkcrl "$RVT_TMP/crl.unum" - 0
cat "$RVT_TMP/crl.unum" "$RVT_TMP/crl.7000" >"$RVT_TMP/crl.both"
ctl_conf_set "$RVT_TMP/server.conf" "crl=$RVT_TMP/run.crl" "crl_state=$RVT_TMP/o2.crl-state"
cp "$RVT_TMP/crl.7000" "$RVT_TMP/run.crl"
start_bg
cp "$RVT_TMP/crl.both" "$RVT_TMP/run.crl"
reload_ok "the file of both refused"
cp "$RVT_TMP/crl.7000" "$RVT_TMP/run.crl"
reload_refused "the numbered CRL alone taken back" "before a CRL without a number that was taken since"
stop_bg
# A CA taken out and put back without its CRL: the reload took it, and the
# next start refused it.
ctl_conf_set "$RVT_TMP/server.conf" "ca=$RVT_TMP/cas.crt" "crl=$RVT_TMP/run.crl" "crl_state=$RVT_TMP/o3.crl-state"
cp "$RVT_TMP/both.crl" "$RVT_TMP/run.crl"
start_bg
ctl_conf_set "$RVT_TMP/server.conf" "ca=$PKI/ca/ca.crt"
cp "$RVT_TMP/crl.new" "$RVT_TMP/run.crl"
reload_ok "the CA and its CRL taken out together refused"
ctl_conf_set "$RVT_TMP/server.conf" "ca=$RVT_TMP/cas.crt"
reload_refused "other-ca back without its CRL taken" "it has no CRL of /CN=other test CA, whose CRL this process took before"
stop_bg
ctl_conf_set "$RVT_TMP/server.conf" "ca=$PKI/ca/ca.crt" "crl=$PKI/ca/ca.crl"

rvt_step "N. an ACL that lets another user write it, a table of 64 other CA keys: said"
# (m.crl-state, made anew after the drop, is nobody's: that is said too.)
cp "$RVT_TMP/m.crl-state" "$RVT_TMP/n.crl-state" && chmod 600 "$RVT_TMP/n.crl-state"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/n.crl-state"
if python3 "$RV_SRC/test/integ/set_acl.py" "$RVT_TMP/n.crl-state" 4242 6 6; then
	check_fails 0 "an ACL for user 4242" "crl_state .*n.crl-state: its ACL lets user 4242 write it"
else
	rvt_log "this file system keeps no ACLs: not checked"
fi
python3 - "$RVT_TMP/o.crl-state" "$(head -1 "$RVT_TMP/m.crl-state")" <<'PY'
import sys
out = [sys.argv[2] + "\n"]
for k in range(64):
    body = "%064x" % (k + 1) + " " + "00" * 23 + "01 " + "+00000001700000000" + "00 " + "-9223372036854775808 " + "-" * 64 + " "
    h = 2166136261
    for c in body[:-1].encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    out.append(body + "%08x\n" % h)
open(sys.argv[1], "w").write("".join(out))
PY
chmod 600 "$RVT_TMP/o.crl-state"
ctl_conf_set "$RVT_TMP/server.conf" "crl_state=$RVT_TMP/o.crl-state"
# -n says what the start will (it said OK: round-twenty-three tester 103).
check_fails 0 "a full crl_state" "crl_state .*o.crl-state holds 64 CA keys, and this process's CA has no line"
start_bg
grep -q "crl_state .*o.crl-state holds 64 CA keys, and this process's CA has no line" "$SLOG" ||
	rvt_fail "a full crl_state was not said: $(grep -a crl_state "$SLOG")"
stop_bg
rvt_log "passed"
