#!/usr/bin/env bash
# mkpki.sh — builds a complete throw-away test PKI with the `ringvpn pki` CLI.
#
#   RV_BIN=build/cli/ringvpn test/integ/mkpki.sh DIR [NUM_CLIENTS]
#
# DIR must not exist or be empty. NUM_CLIENTS defaults to 3. Output layout
# (the same as test/lib/t_pki.c builds for C tests):
#   DIR/ca/{ca.crt,ca.key,ca.crl,revoked.txt}  test CA, CN "ringvpn test CA"
#   DIR/server.{crt,key}      server cert, SAN DNS:$RV_SERVER_NAME (default vpn.test)
#   DIR/client1..N.{crt,key}  valid client certs, CN client1 .. clientN
#   DIR/expired.{crt,key}     client cert, CN "expired", valid from -2d to -1d
#   DIR/other-ca/{ca.crt,ca.key,ca.crl,revoked.txt}  an unrelated second CA
#   DIR/rogue.{crt,key}       client cert, CN "rogue", signed by other-ca
#   DIR/revoked.{crt,key}     client cert, CN "revoked", listed in ca/ca.crl
# Keys are mode 0600. Nothing here is a real secret; never commit the output.
# Environment: RV_BIN (required) path to the ringvpn binary; RV_SERVER_NAME.
# Exits non-zero (after printing the failing command) if any step fails.
set -euo pipefail

usage() { echo "usage: RV_BIN=path/to/ringvpn $0 DIR [NUM_CLIENTS]" >&2; exit 2; }

[ $# -ge 1 ] && [ $# -le 2 ] || usage
dir=$1
num=${2:-3}
bin=${RV_BIN:-}
server_name=${RV_SERVER_NAME:-vpn.test}
[ -n "$bin" ] && [ -x "$bin" ] || { echo "mkpki.sh: RV_BIN ('$bin') is not an executable" >&2; exit 2; }
[[ "$num" =~ ^[0-9]+$ ]] && [ "$num" -ge 1 ] || { echo "mkpki.sh: NUM_CLIENTS must be >= 1" >&2; exit 2; }
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
	echo "mkpki.sh: $dir exists and is not empty" >&2
	exit 2
fi
mkdir -p "$dir"

pki() { printf '+ ringvpn pki %s\n' "$*" >&2; "$bin" pki "$@" >/dev/null; }

pki ca --out "$dir/ca" --name "ringvpn test CA" --days 30
pki server --ca "$dir/ca" --name "$server_name" --out "$dir" --file server --days 30
for i in $(seq 1 "$num"); do
	pki client --ca "$dir/ca" --name "client$i" --out "$dir" --days 30
done
pki client --ca "$dir/ca" --name expired --out "$dir" --valid-from -2d --valid-to -1d
pki ca --out "$dir/other-ca" --name "other test CA" --days 30
pki client --ca "$dir/other-ca" --name rogue --out "$dir" --days 30
pki client --ca "$dir/ca" --name revoked --out "$dir" --days 30
pki revoke --ca "$dir/ca" --cert "$dir/revoked.crt"
echo "mkpki.sh: test PKI in $dir (server $server_name, $num clients)" >&2
