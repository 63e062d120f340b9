#!/usr/bin/env bash
# check-sources.sh — every C file of a module, test, fuzzer, stress program
# and benchmark is named in the CMakeLists.txt that builds it. The build lists
# sources explicitly (no glob), so a file left out would silently not be built.
#
#   bash test/check-sources.sh [SRCDIR]
set -euo pipefail
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
fail=0
check() { # dir cmakelists
	local dir=$1 lists=$2 f base
	for f in "$top/$dir"/*.c; do
		[ -e "$f" ] || continue
		base=$(basename "$f" .c)
		# Fuzzers are listed by parser name: fuzz_<parser>.c.
		if ! grep -qw -e "$base" -e "${base#fuzz_}" "$top/$lists"; then
			echo "check-sources: $dir/$base.c is not listed in $lists" >&2
			fail=1
		fi
	done
}
for m in crypto core uring tls pki cli perf doc; do
	check "$m" "$m/CMakeLists.txt"
done
for d in test/unit test/lib test/fuzz test/integ test/stress; do
	check "$d" test/CMakeLists.txt
done
[ "$fail" = 0 ] && echo "check-sources: every source file is listed"
exit "$fail"
