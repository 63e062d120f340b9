#!/usr/bin/env bash
# check-pipes.sh — no integration test pipes a producer into `grep -q` in
# its own shell. The tests run under pipefail (test/integ/lib.sh), and grep -q
# exits at its first match: a producer that writes again after it dies of
# SIGPIPE, the pipeline fails, and the check fails at random (CI, stop 58:
# `status --prometheus | grep -q` in test_control_abuse). rvt_matches reads
# all of stdin first. A `sh -c "... | grep -q ..."` runs without pipefail and
# is left alone: a pipe after an odd number of double quotes on its line, or
# on a line closing a string begun above (an odd number in all), is taken as
# inside such a string.
#
#   bash test/check-pipes.sh [SRCDIR]
#   bash test/check-pipes.sh --self-test
set -euo pipefail

# scan FILE...: print each offending line as FILE:N: LINE.
scan() {
	awk '
		/^[[:space:]]*#/ { next }
		match($0, /\|[[:space:]]*grep[[:space:]]+-[a-zA-Z]*q/) {
			before = substr($0, 1, RSTART - 1)
			line = $0
			if (gsub(/"/, "", before) % 2 == 1) next
			if (gsub(/"/, "", line) % 2 == 1) next
			printf "%s:%d: %s\n", FILENAME, FNR, $0
			bad = 1
		}
		END { exit bad }
	' "$@"
}

if [ "${1:-}" = --self-test ]; then
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
	cat >"$t/bad.sh" <<'EOT'
"$RV_BIN" status --prometheus | grep -q "^x 1$" || rvt_fail "no x"
EOT
	cat >"$t/good.sh" <<'EOT'
# a comment: producer | grep -q x
"$RV_BIN" status --prometheus | rvt_matches "^x 1$" || rvt_fail "no x"
rvt_wait_for 5 "x" sh -c "ip route | grep -q x" || rvt_fail "x"
rvt_wait_for 5 "x" sh -c "ip link | grep -q y &&
	ip route | grep -q x" || rvt_fail "x"
EOT
	if scan "$t/bad.sh" >/dev/null; then
		echo "check-pipes: self-test: a pipe into grep -q was not found" >&2
		exit 1
	fi
	if ! out=$(scan "$t/good.sh"); then
		echo "check-pipes: self-test: flagged a good line: $out" >&2
		exit 1
	fi
	echo "check-pipes: self-test passed"
	exit 0
fi

top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
files=()
for f in "$top"/test/integ/*.sh "$top"/test/*.sh; do
	[ "$(basename "$f")" = check-pipes.sh ] || files+=("$f")
done
if ! out=$(scan "${files[@]}"); then
	echo "$out" >&2
	echo "check-pipes: pipe into grep -q under pipefail (use rvt_matches, or grep a variable)" >&2
	exit 1
fi
echo "check-pipes: no pipe into grep -q under pipefail"
