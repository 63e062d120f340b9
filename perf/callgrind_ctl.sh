#!/usr/bin/env bash
# perf/callgrind_ctl.sh — instructions per call of the control plane's table
# operations (timer wheel, name table, admission) with 1,000 and 100,000
# entries, counted by callgrind: unlike bench_ctl's nanoseconds, the count
# does not move with machine load or cache size, so equal columns show the
# operations are O(1) in N.
#
#   perf/callgrind_ctl.sh                       # build/ci, 20000 ops per run
#   RV_BUILD=build/asan OPS=5000 perf/callgrind_ctl.sh
#
# Runs build/<dir>/perf/bench_ctl -s N under valgrind --tool=callgrind and
# divides each function's inclusive instruction count (summed over its call
# sites) by its number of calls. Writes nothing outside a temporary directory.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RV_BUILD=${RV_BUILD:-$HERE/../build/ci}
OPS=${OPS:-20000}
SIZES=${SIZES:-"1000 100000"}
FUNCS=(rv_wheel_arm rv_wheel_cancel rv_wheel_expire rv_nametab_find rv_admit_add
	rv_admit_promote rv_admit_remove)
BENCH=$RV_BUILD/perf/bench_ctl

command -v valgrind >/dev/null || { echo "callgrind_ctl.sh: valgrind not installed" >&2; exit 1; }
[ -x "$BENCH" ] || { echo "callgrind_ctl.sh: build $BENCH first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ir_per_call FILE FUNC...: callgrind names a function "(id) name" the first
# time and "(id)" after; a "calls=N" line is followed by the call's line
# with its inclusive cost.
ir_per_call() {
	awk -v want="$(IFS=,; echo "${*:2}")" '
	function nm(tok,    id, rest) {
		id = tok; sub(/ .*/, "", id)
		rest = tok; if (sub(/^\([0-9]+\) /, "", rest)) { names[id] = rest }
		return (id in names) ? names[id] : tok
	}
	BEGIN { n = split(want, w, ","); for (i = 1; i <= n; i++) { wanted[w[i]] = 1 } }
	/^fn=/ { nm(substr($0, 4)); next }
	/^cfn=/ { cfn = nm(substr($0, 5)); next }
	/^calls=/ { split(substr($0, 7), c, " "); pending = c[1]; next }
	pending != "" && /^[0-9+*-]/ { calls[cfn] += pending; cost[cfn] += $2; pending = ""; next }
	END {
		for (i = 1; i <= n; i++) {
			f = w[i]
			printf "%s\t%s\n", f, calls[f] ? sprintf("%.1f", cost[f] / calls[f]) : "-"
		}
	}' "$1"
}

for n in $SIZES; do
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$n" "$BENCH" -s "$n" -n "$OPS" \
		>/dev/null 2>"$tmp/log.$n" || { cat "$tmp/log.$n" >&2; exit 1; }
	ir_per_call "$tmp/cg.$n" "${FUNCS[@]}" >"$tmp/ir.$n"
done
printf '%-18s' "Ir per call"
for n in $SIZES; do printf ' %10s' "N=$n"; done
printf '\n'
for f in "${FUNCS[@]}"; do
	printf '%-18s' "$f"
	for n in $SIZES; do printf ' %10s' "$(awk -v f="$f" '$1 == f { print $2 }' "$tmp/ir.$n")"; done
	printf '\n'
done
