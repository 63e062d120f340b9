#!/usr/bin/env bash
# repeat-under-load.sh — run one ctest test N times in a row while every core
# is kept busy by a CPU hog (one busy loop per core, or stress-ng when it is
# installed): a test that fails only on a busy machine shows here.
#
#   scripts/repeat-under-load.sh 'integ/test_control_scale$' 10
#
# Needs a built build/ci. Exits 0 only when every run passed; each run's
# output is kept in build/ci/repeat-<i>.log. Stops only the hog it started.
set -u
cd "$(dirname "$0")/.."
pattern=${1:?usage: $0 CTEST_REGEX [RUNS]}
runs=${2:-10}
cores=$(nproc)
hogs=()
if command -v stress-ng >/dev/null; then
	stress-ng --cpu "$cores" --timeout 3600 >/dev/null 2>&1 &
	hogs+=($!)
else
	for ((c = 0; c < cores; c++)); do
		(while :; do :; done) &
		hogs+=($!)
	done
fi
trap 'kill "${hogs[@]}" 2>/dev/null' EXIT
pass=0
for ((i = 1; i <= runs; i++)); do
	log=build/ci/repeat-$i.log
	if ctest --test-dir build/ci -R "$pattern" --output-on-failure >"$log" 2>&1 &&
		grep -q "100% tests passed" "$log"; then
		pass=$((pass + 1))
		echo "run $i: passed ($(grep -o 'Passed *[0-9.]* sec' "$log" | head -1))"
	else
		echo "run $i: FAILED (see $log)"
	fi
done
echo "$pass of $runs passed beside a CPU hog on $cores core(s)"
[ "$pass" = "$runs" ]
