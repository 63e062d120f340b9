#!/usr/bin/env bash
# check-confdoc.sh — the documents made from the config key table
# (core/config_keys.def) have not drifted from it:
#   - conf/server.conf.example and conf/client.conf.example are exactly what
#     rv_confdoc writes (regenerate with scripts/confdoc.sh --fix);
#   - `ringvpn server|client --help` lists every key of the role as
#     "--flag SYNTAX", and no flag that is not a key of the role;
#   - the built man page ringvpn.conf(5) has an entry "key = SYNTAX" per key;
#   - README.md's exit code table is the one in cli/exit.h (RV_EXIT_CODES),
#     and ringvpn(8) lists every code;
#   - README.md's seccomp row counts cli/sandbox.c's allowed system calls.
#
#   bash test/check-confdoc.sh BUILD_DIR [SRC_DIR]
set -euo pipefail
build=${1:?usage: check-confdoc.sh BUILD_DIR [SRC_DIR]}
src=${2:-$(cd "$(dirname "$0")/.." && pwd)}
confdoc=$build/doc/rv_confdoc
bin=$build/cli/ringvpn
man=$build/doc/ringvpn.conf.5
fail=0
bad() { echo "check-confdoc: $*" >&2; fail=1; }

# Substring tests in bash, not a grep per key: with ~40 keys per role the
# forks alone took seconds (16 s with the ASan build's rv_confdoc run for
# every flag).
mantext=$(<"$man")
for role in server client; do
	if ! diff -u "$src/conf/$role.conf.example" <("$confdoc" example "$role") >&2; then
		bad "conf/$role.conf.example differs from the key table (scripts/confdoc.sh --fix)"
	fi
	help=$("$bin" "$role" --help)
	table=$("$confdoc" keys "$role")
	declare -A is_key=()
	n=0
	while IFS=$'\t' read -r key syntax; do
		n=$((n + 1))
		is_key[$key]=1
		flag=--${key//_/-}
		# A value of several words is shown quoted: one argument.
		want="$flag $syntax"
		[[ $syntax == *" "* ]] && want="$flag \"$syntax\""
		[[ $help == *"  $want"* ]] || bad "$role --help lacks '$want'"
		# roff: \fBkey\fR = \fISYNTAX\fR (scdoc escapes nothing in these).
		[[ $mantext == *"\\fB$key\\fR = \\fI$syntax\\fR"* ]] || bad "ringvpn.conf(5) lacks '$key = $syntax'"
	done <<<"$table"
	[ "$n" -gt 10 ] || bad "rv_confdoc keys $role listed only $n keys"
	# No flag in --help that the table does not have (fixed options aside).
	while read -r flag; do
		key=${flag#--}
		key=${key//-/_}
		case $key in config | check | help | max_attempts) continue ;; esac
		[ -n "${is_key[$key]:-}" ] || bad "$role --help has $flag, not a key"
	done < <(grep -oE '^  --[a-z0-9-]+' <<<"$help" | sed 's/^ *//')
	unset is_key
done
if ! diff -u <(grep -E '^\| [0-9]+ \| `RV_EXIT_' "$src/README.md") <("$confdoc" exits) >&2; then
	bad "README.md's exit code table differs from cli/exit.h"
fi
while IFS='|' read -r _ code _; do
	code=${code// /}
	grep -qx "\\*$code\\*" "$build/doc/ringvpn.8.scd" || bad "ringvpn(8) lacks exit code $code"
done < <("$confdoc" exits)
# The seccomp row's count of system calls is cli/sandbox.c's list (it said
# 132 of 138: round-sixty-nine tester 312).
nsys=$(sed -n '/allowed\[\] = {/,/^};/p' "$src/cli/sandbox.c" | grep -c '^[[:space:]]*"')
grep -q "| $nsys system calls, plus " "$src/README.md" ||
	bad "README.md's seccomp row does not say the $nsys system calls of cli/sandbox.c's list"
[ "$fail" = 0 ] && echo "check-confdoc: example files, --help and ringvpn.conf(5) match the key table; README and ringvpn(8) match the exit codes and the seccomp list's length"
exit "$fail"
