#!/usr/bin/env bash
# test_crl_lookup.sh — a new CRL under the same CA is checked against the
# live sessions by looking each peer's serial up (not by verifying every
# chain again), and must give the handshake's verdict:
#   1. CA file with two CAs (the test CA and other-ca), CRL file with a CRL
#      of each; a client of each CA connects. The CRL file is replaced by
#      the test CA's new CRL alone: it would have every client of other-ca
#      refused ("unable to get certificate CRL"), so it is refused and the
#      running CRLs kept, other-ca's client with its session (a CRL file
#      written anew one CRL at a time, seen between two, ended that CA's
#      sessions: a round-two tester); with other-ca taken out of the CA
#      file too, the pair is taken and its client's session ends (before,
#      the live lookup found no CRL for its issuer and let it run).
#   2. The CRL file holds two CRLs of the same CA: an older one that lists
#      client2 and the newest, which no longer does (`pki crl --unrevoke`).
#      The newest decides, as in the handshake: client2 keeps its session,
#      in either order of the two (it was ended as revoked, and came back at
#      once through a handshake that let it in).
#   3. CRLs the handshake and the live check would judge by differently are
#      refused (exit 4 at -n): a delta CRL, a partial one (an issuing
#      distribution point), one without an authority key identifier when
#      two CAs of the CA file share its issuer's name.
#   4. A rotation to a CA of the same name whose CRLs carry no key
#      identifier: the new CA's first CRL (number 1, the old one's 100) is
#      not taken for an older copy; the reload is applied.
#
# Usage: bash test_crl_lookup.sh     Env: RV_BIN, RV_BUILD, RV_SRC.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/control_lib.sh"

ctl_init 2
ctl_client_ns c1 1
ctl_client_ns c2 2
SLOG=$RVT_TMP/server.log
OCA=$PKI/other-ca

state() { ctl_field "session name=$1 " state; }
# publish SRC DST: SRC becomes DST in one rename, readable by the service.
publish() {
	cp "$1" "$2.new" && chgrp "$RV_GROUP" "$2.new" && chmod g+r "$2.new" && mv "$2.new" "$2" ||
		rvt_fail "publish $2"
}
# watched N: the certificate watch applied its Nth change.
watched() { [ "$(grep -c "certificate files changed" "$SLOG")" -ge "$1" ]; }

rvt_step "1. two CAs; the CRL file loses other-ca's CRL"
rvt_run "$RV_BIN" pki client --ca "$OCA" --name bclient1 --out "$PKI" --days 30 >/dev/null ||
	rvt_fail "pki client"
rvt_run "$RV_BIN" pki crl --ca "$OCA" --days 30 >/dev/null || rvt_fail "pki crl"
cat "$PKI/ca/ca.crt" "$OCA/ca.crt" >"$RVT_TMP/cas.crt"
cat "$PKI/ca/ca.crl" "$OCA/ca.crl" >"$RVT_TMP/both.crl"
publish "$RVT_TMP/both.crl" "$RVT_TMP/run.crl"
chgrp "$RV_GROUP" "$RVT_TMP/cas.crt" "$PKI"/bclient1.* && chmod g+r "$RVT_TMP/cas.crt" "$PKI"/bclient1.* ||
	rvt_fail "chgrp"
CTL_SERVER_KV=(ca="$RVT_TMP/cas.crt" crl="$RVT_TMP/run.crl")
ctl_start_server
ctl_client 1
CTL_IDX=2 ctl_client_conf "$RVT_TMP/c2.conf" "$PKI/bclient1" rvc "$RVT_TMP/c2.sock"
rvt_bg "$(rvt_ns_name c2)" bclient1 "$RV_BIN" client -c "$RVT_TMP/c2.conf"
BPID=$RVT_LAST_PID
rvt_wait_for 15 "two sessions" ctl_sessions_eq 2 || { ctl_status; rvt_fail "clients did not come up"; }
rvt_run "$RV_BIN" pki crl --ca "$PKI/ca" --days 30 >/dev/null || rvt_fail "pki crl"
publish "$PKI/ca/ca.crl" "$RVT_TMP/run.crl"
rvt_wait_for 5 "the refusal" grep -q "it has no CRL of /CN=other test CA, which the running one has and whose CA stays" "$SLOG" ||
	rvt_fail "a CRL file without other-ca's CRL was not refused: $(grep -a 'certificate files changed' "$SLOG" | tail -1)"
sleep 0.5
[ "$(state bclient1)" = running ] || rvt_fail "bclient1's session ended on a refused CRL file"
# other-ca out of the CA file as well: taken, its client ended.
cp "$PKI/ca/ca.crt" "$RVT_TMP/cas.crt.new" && chgrp "$RV_GROUP" "$RVT_TMP/cas.crt.new" &&
	chmod g+r "$RVT_TMP/cas.crt.new" && mv "$RVT_TMP/cas.crt.new" "$RVT_TMP/cas.crt" || rvt_fail "publish the CA"
rvt_wait_for 5 "the watch" watched 2 || rvt_fail "the watch did not apply the CA and CRL"
rvt_wait_for 5 "bclient1 ended" sh -c "! \"$RV_BIN\" status --kv -s '$SRV_SOCK' | grep -q 'name=bclient1 state=running'" ||
	rvt_fail "bclient1 kept its session with its CA gone: $(grep -a 'certificate files changed' "$SLOG" | tail -1)"
[ "$(state client1)" = running ] || rvt_fail "client1's session ended"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
rvt_stop_pid "$BPID" 10 || rvt_fail "bclient1 exit"

rvt_step "2. an old CRL that lists client2 beside the newest that does not"
SER=$(openssl x509 -in "$PKI/client2.crt" -noout -serial | sed 's/^serial=//' | tr A-F a-f)
rvt_run "$RV_BIN" pki revoke --ca "$PKI/ca" --cert "$PKI/client2.crt" >/dev/null || rvt_fail "pki revoke"
cp "$PKI/ca/ca.crl" "$RVT_TMP/old.crl"
sleep 1.1 # the next CRL's lastUpdate a second later
sed -i "/$SER/Id" "$PKI/ca/revoked.txt"
rvt_run "$RV_BIN" pki crl --ca "$PKI/ca" --unrevoke "$SER" >/dev/null || rvt_fail "pki crl --unrevoke"
cp "$PKI/ca/ca.crl" "$RVT_TMP/new.crl"
publish "$RVT_TMP/new.crl" "$RVT_TMP/run.crl"
CTL_SERVER_KV=(crl="$RVT_TMP/run.crl")
ctl_start_server
ctl_client 2
rvt_wait_for 15 "client2's session" ctl_sessions_eq 2 || { ctl_status; rvt_fail "clients did not come up"; }
n=0
for order in "old new" "new old"; do
	set -- $order
	cat "$RVT_TMP/$1.crl" "$RVT_TMP/$2.crl" >"$RVT_TMP/pair.crl"
	publish "$RVT_TMP/pair.crl" "$RVT_TMP/run.crl"
	n=$((n + 1))
	rvt_wait_for 5 "the watch" watched "$n" || rvt_fail "the watch did not apply the CRLs ($order)"
	sleep 0.5
	if grep -a "client client2 .*revoked.*ending its session" "$SLOG"; then
		rvt_fail "client2 ended by an older CRL ($order) that the newest overrides"
	fi
	[ "$(state client2)" = running ] || rvt_fail "client2's session ended ($order)"
done
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"

rvt_step "3. CRLs the handshake and the live check would judge by differently: refused"
# (A round-three tester.) A delta CRL (the handshake takes it for a
# complete one: the base's revocations let in again), a partial one (an
# issuing distribution point: the handshake leaves it out, the live check
# took it as the newest and kept a revoked session), and one without an
# authority key identifier where two CAs share its issuer's name (the
# handshake refused every client of the other CA). Made with
# python3-cryptography (Debian 12's 38 has what this needs).
cat >"$RVT_TMP/mkcrl.py" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, ed448
ca_crt, ca_key, out, number, kind = sys.argv[1:6]
crt = x509.load_pem_x509_certificate(open(ca_crt, "rb").read())
key = serialization.load_pem_private_key(open(ca_key, "rb").read(), None)
now = datetime.datetime.utcnow()
b = (x509.CertificateRevocationListBuilder().issuer_name(crt.subject)
     .last_update(now - datetime.timedelta(minutes=1)).next_update(now + datetime.timedelta(days=30))
     .add_extension(x509.CRLNumber(int(number)), critical=False))
if kind != "noakid":
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(crt.public_key()), critical=False)
if kind == "delta":
    b = b.add_extension(x509.DeltaCRLIndicator(1), critical=True)
if kind == "idp":
    b = b.add_extension(x509.IssuingDistributionPoint(None, None, False, True, None, False, False), critical=True)
algo = None if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)) else hashes.SHA256()
open(out, "wb").write(b.sign(key, algo).public_bytes(serialization.Encoding.PEM))
PY
mkcrl() { python3 "$RVT_TMP/mkcrl.py" "$@" || rvt_fail "mkcrl $*"; }
for kind in delta idp; do
	mkcrl "$PKI/ca/ca.crt" "$PKI/ca/ca.key" "$RVT_TMP/$kind.crl" 9000 "$kind"
	cat "$PKI/ca/ca.crl" "$RVT_TMP/$kind.crl" >"$RVT_TMP/with-$kind.crl"
	ctl_server_conf "$RVT_TMP/k.conf" crl="$RVT_TMP/with-$kind.crl"
	rc=0
	OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/k.conf" 2>&1) || rc=$?
	want="is a delta CRL"
	[ "$kind" = idp ] && want="has an issuing distribution point"
	[ "$rc" = 4 ] && grep -q "CRL 2 $want" <<<"$OUT" || rvt_fail "a $kind CRL: exit $rc: $OUT"
done
# Two CAs of pki's default name, each with a CRL; the second's without an
# authority key identifier: refused; alone with its CA, taken.
for t in twin1 twin2; do
	"$RV_BIN" pki ca --out "$RVT_TMP/$t" >/dev/null || rvt_fail "pki ca $t"
done
cat "$PKI/ca/ca.crt" "$RVT_TMP/twin1/ca.crt" "$RVT_TMP/twin2/ca.crt" >"$RVT_TMP/twins.crt"
mkcrl "$RVT_TMP/twin1/ca.crt" "$RVT_TMP/twin1/ca.key" "$RVT_TMP/twin1.crl" 100 full
mkcrl "$RVT_TMP/twin2/ca.crt" "$RVT_TMP/twin2/ca.key" "$RVT_TMP/twin2-noakid.crl" 1 noakid
cat "$PKI/ca/ca.crl" "$RVT_TMP/twin1.crl" "$RVT_TMP/twin2-noakid.crl" >"$RVT_TMP/twins.crl"
ctl_server_conf "$RVT_TMP/k.conf" ca="$RVT_TMP/twins.crt" crl="$RVT_TMP/twins.crl"
rc=0
OUT=$(ip netns exec "$S" "$RV_BIN" server -n -c "$RVT_TMP/k.conf" 2>&1) || rc=$?
[ "$rc" = 4 ] && grep -q "CRL 3 has no authority key identifier, and 2 CAs of the CA file are named" <<<"$OUT" ||
	rvt_fail "a CRL without AKID beside a twin CA: exit $rc: $OUT"

rvt_step "4. a rotation to a CA of the same name whose CRLs carry no key identifier"
# The old CA's CRL is number 100, the new one's first is 1. Without an
# authority key identifier the number was kept by the issuer's name, so
# the new CA's first CRL was "older" and every reload refused (a
# round-three tester); it is kept by the signer's key now.
mkcrl "$RVT_TMP/twin1/ca.crt" "$RVT_TMP/twin1/ca.key" "$RVT_TMP/twin1-noakid.crl" 100 noakid
cat "$PKI/ca/ca.crt" "$RVT_TMP/twin1/ca.crt" >"$RVT_TMP/rot.crt.src"
cat "$PKI/ca/ca.crl" "$RVT_TMP/twin1-noakid.crl" >"$RVT_TMP/rot.crl.src"
publish "$RVT_TMP/rot.crt.src" "$RVT_TMP/rot.crt"
publish "$RVT_TMP/rot.crl.src" "$RVT_TMP/rot.crl"
CTL_SERVER_KV=(ca="$RVT_TMP/rot.crt" crl="$RVT_TMP/rot.crl")
ctl_start_server
cat "$PKI/ca/ca.crt" "$RVT_TMP/twin2/ca.crt" >"$RVT_TMP/rot.crt.src"
cat "$PKI/ca/ca.crl" "$RVT_TMP/twin2-noakid.crl" >"$RVT_TMP/rot.crl.src"
publish "$RVT_TMP/rot.crt.src" "$RVT_TMP/rot.crt"
publish "$RVT_TMP/rot.crl.src" "$RVT_TMP/rot.crl"
OUT=$("$RV_BIN" reload -s "$SRV_SOCK" 2>&1) || rvt_fail "the rotation's reload refused: $OUT"
grep -q "below the running CRL's" "$SLOG" && rvt_fail "the new CA's first CRL taken for an older one: $(grep -a "below" "$SLOG")"
rvt_stop_pid "$SRV_PID" 10 || rvt_fail "server exit"
