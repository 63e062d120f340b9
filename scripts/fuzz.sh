#!/usr/bin/env bash
# fuzz.sh — build every libFuzzer harness with clang and run each for a bounded time.
#
#   scripts/fuzz.sh                       # every test/fuzz/fuzz_*.c, FUZZ_SECONDS (20) each
#   FUZZ_SECONDS=60 scripts/fuzz.sh       # longer runs
#   scripts/fuzz.sh wire ip               # only these harnesses
#   FUZZ_JOBS=2 scripts/fuzz.sh           # libFuzzer -fork=N workers per harness
#   FUZZ_PARALLEL=2 scripts/fuzz.sh       # N harnesses at a time (scripts/test.sh: JOBS)
#   FUZZ_KEEP=1 scripts/fuzz.sh           # merge new coverage back into test/fuzz/corpus/<name>/
#   FUZZ_BUILD_ONLY=1 scripts/fuzz.sh     # build the harnesses, run none
#   FUZZ_TIMEOUT=60 scripts/fuzz.sh       # an input slower than this (s) fails (default 10)
#
# Configures build/fuzz with -DRV_FUZZ=ON -DCMAKE_C_COMPILER=clang -DRV_TESTS=ON,
# builds the fuzz_<name> targets, then runs each one on a scratch copy of its
# seed corpus (test/fuzz/corpus/<name>/; the committed seeds are only changed
# with FUZZ_KEEP=1). Harnesses are found by globbing, so ones added later are
# picked up without editing this script. Exits non-zero if any harness fails to
# build, crashes, leaks, times out or trips a sanitizer; the reproducer is left
# in build/fuzz/artifacts/<name>/ and the command to replay it is printed.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bld=${FUZZ_BUILD:-$src/build/fuzz}
secs=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-0}
par=${FUZZ_PARALLEL:-1}
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null; then
	echo "fuzz.sh: $cc not found (clang provides libFuzzer)" >&2
	exit 2
fi
if ! [[ $par =~ ^[0-9]+$ ]]; then
	echo "fuzz.sh: FUZZ_PARALLEL must be a number, got '$par'" >&2
	exit 2
fi
if ! [[ $secs =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
	echo "fuzz.sh: FUZZ_SECONDS must be a positive integer, got '$secs'" >&2
	exit 2
fi

# Which harnesses: the arguments, or every test/fuzz/fuzz_*.c.
names=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		n=${n#fuzz_}
		if [ ! -f "$src/test/fuzz/fuzz_$n.c" ]; then
			echo "fuzz.sh: no harness test/fuzz/fuzz_$n.c" >&2
			exit 2
		fi
		names+=("$n")
	done
else
	shopt -s nullglob
	for f in "$src"/test/fuzz/fuzz_*.c; do
		n=$(basename "$f" .c)
		names+=("${n#fuzz_}")
	done
	shopt -u nullglob
fi
if [ ${#names[@]} -eq 0 ]; then
	echo "fuzz.sh: no harnesses in test/fuzz/" >&2
	exit 2
fi

# RV_FUZZ adds -fsanitize=fuzzer only to the harness itself; the libraries
# under test must carry coverage instrumentation too, or libFuzzer is blind to
# every branch inside the parsers. fuzzer-no-link instruments without pulling
# in libFuzzer's main(); ASan/UBSan must match across all objects.
inst="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
echo "+ cmake -S $src -B $bld -DRV_FUZZ=ON -DCMAKE_C_COMPILER=$cc -DRV_TESTS=ON -DCMAKE_C_FLAGS='$inst'"
cmake -S "$src" -B "$bld" -DRV_FUZZ=ON -DCMAKE_C_COMPILER="$cc" -DRV_TESTS=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS="$inst" >/dev/null
targets=()
for n in "${names[@]}"; do
	targets+=("fuzz_$n")
done
echo "+ cmake --build $bld --target ${targets[*]}"
cmake --build "$bld" -j"$(nproc)" --target "${targets[@]}"
# FUZZ_BUILD_ONLY=1: build and stop (scripts/test.sh builds ahead of running).
if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then
	exit 0
fi

# fuzz_one NAME: run one harness on a scratch copy of its seeds; prints a
# summary line, or the log's tail and the reproducers when it fails.
fuzz_one() {
	local n=$1 exe seeds work art log execs cov rc a args
	exe=$(find "$bld" -type f -name "fuzz_$n" -perm -u+x | head -n 1)
	if [ -z "$exe" ]; then
		echo "fuzz.sh: fuzz_$n was not built" >&2
		return 1
	fi
	seeds=$src/test/fuzz/corpus/$n
	work=$bld/corpus/$n
	art=$bld/artifacts/$n
	rm -rf "$work" "$art"
	mkdir -p "$work" "$art"
	if [ -d "$seeds" ]; then
		cp -a "$seeds"/. "$work"/
	else
		echo "fuzz.sh: warning: no seed corpus $seeds; starting empty" >&2
	fi

	args=(-max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$art/")
	if [ "$jobs" -gt 0 ]; then
		args+=(-fork="$jobs")
	fi
	echo "+ $exe ${args[*]} $work"
	log=$bld/fuzz_$n.log
	if "$exe" "${args[@]}" "$work" >"$log" 2>&1; then
		execs=$(grep -E '^stat::number_of_executed_units' "$log" | tail -n 1 | awk '{print $2}')
		cov=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+' || true)
		echo "fuzz_$n: ok, ${execs:-?} runs in ${secs}s, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l) files"
		if [ "${FUZZ_KEEP:-0}" = 1 ]; then
			mkdir -p "$seeds"
			"$exe" -merge=1 "$seeds" "$work" >>"$log" 2>&1
			echo "fuzz_$n: merged new coverage into $seeds"
		fi
	else
		rc=$?
		echo "fuzz_$n: FAILED (exit $rc); last lines of $log:" >&2
		tail -n 30 "$log" >&2
		for a in "$art"/*; do
			[ -e "$a" ] && echo "  reproduce: $exe $a" >&2
		done
		return 1
	fi
}

failed=()
if [ "$par" -le 1 ]; then
	for n in "${names[@]}"; do
		fuzz_one "$n" || failed+=("$n")
	done
else
	# Up to $par harnesses at once, each printed whole when it ends.
	declare -A running=() # PID -> harness
	# reap: wait for one harness to end and print what it said.
	reap() {
		local pid rc=0 n
		wait -n -p pid "${!running[@]}" || rc=$?
		n=${running[$pid]}
		unset "running[$pid]"
		if [ "$rc" = 0 ]; then
			cat "$bld/fuzz_$n.out"
		else
			cat "$bld/fuzz_$n.out" >&2
			failed+=("$n")
		fi
	}
	for n in "${names[@]}"; do
		[ "${#running[@]}" -lt "$par" ] || reap
		fuzz_one "$n" >"$bld/fuzz_$n.out" 2>&1 &
		running[$!]=$n
	done
	while [ "${#running[@]}" -gt 0 ]; do
		reap
	done
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz.sh: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz.sh: all ${#names[@]} harnesses ran ${secs}s each without a crash"
