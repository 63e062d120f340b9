#!/usr/bin/env bash
# perf/callgrind.sh — instructions per packet on the seal path and the open
# path, counted by callgrind: a number that does not move with machine noise,
# for comparing commits.
#
#   perf/callgrind.sh                  1420- and 64-byte payloads, batch 32
#   SIZES="1420" BATCH=1 perf/callgrind.sh
#
# For each path (seal, open) and payload size, perf/bench_path runs under
#   valgrind --tool=callgrind --toggle-collect="run_seal*" (or "run_open*")
# with N1 and N2 packets (default 1000 and 3000); only the measured function
# is counted, and  Ir/packet = (Ir(N2) - Ir(N1)) / (N2 - N1)  removes the fixed
# part (first-call set-up). The fixed part is printed too.
#
# Environment: RV_BUILD (default build/perf-release of this checkout; bench_path is
# built there if missing or older than any .c/.h or CMakeLists.txt under
# core/ crypto/ uring/ perf/, unless NO_BUILD=1), SIZES, BATCH, N1, N2, OUT
# (default perf/results/callgrind). Appends one row per measurement to
# $OUT/history.tsv, its "commit" the source of the binary (below: commit,
# +dirty.<hash of the diff>, or unknown(why)), and writes
# $OUT/latest.tsv and the callgrind.out files of the N2 runs for
# callgrind_annotate.
#
# Note: valgrind presents a CPU without AVX-512/VAES, so BoringSSL takes its
# AES-NI/AVX2 GCM code here; natively it may use a faster one. The count is
# for comparing commits, not for predicting wall time.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
RV_BUILD=${RV_BUILD:-$SRC/build/perf-release}
SIZES=${SIZES:-"1420 64"}
BATCH=${BATCH:-32}
N1=${N1:-1000}
N2=${N2:-3000}
OUT=${OUT:-$HERE/results/callgrind}
BENCH=$RV_BUILD/perf/bench_path

die() { echo "callgrind.sh: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind not installed"
[ "$N2" -gt "$N1" ] || die "N2 ($N2) must be larger than N1 ($N1)"

# What the binary is built from: the sources bench_path links (headers
# too), and the build files. A row is labelled with the source of the
# binary, not of the checkout: the commit and +dirty (tracked changes under
# these paths) recorded when this script built it (BENCH.source), or, for a
# binary built otherwise, the checkout's when no source is newer than the
# binary and the build dir was configured from this checkout; else
# "unknown" and why (rows of an old build were filed under the new commit,
# and +dirty missed uring/ and headers: tester 290).
SRC_PATHS=(core crypto uring perf CMakeLists.txt)
stale() { [ -n "$(find "${SRC_PATHS[@]/#/$SRC/}" \( -name '*.[ch]' -o -name CMakeLists.txt \) -newer "$BENCH" 2>/dev/null | head -1)" ]; }
src_state() {
	local c d
	c=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null) || { echo unknown-no-git; return; }
	d=$(git -C "$SRC" diff HEAD -- "${SRC_PATHS[@]}" 2>/dev/null | sha1sum | cut -c1-8)
	if git -C "$SRC" status --porcelain --untracked-files=no -- "${SRC_PATHS[@]}" 2>/dev/null | grep -q .; then
		echo "$c+dirty.$d"
	else
		echo "$c"
	fi
}
if [ "${NO_BUILD:-0}" != 1 ] && { [ ! -x "$BENCH" ] || stale; }; then
	echo "building bench_path in $RV_BUILD (Release)" >&2
	{ [ -f "$RV_BUILD/CMakeCache.txt" ] || cmake -S "$SRC" -B "$RV_BUILD" -DCMAKE_BUILD_TYPE=Release; } \
		>/dev/null || die "cmake configure failed"
	state=$(src_state)
	cmake --build "$RV_BUILD" -j"$(nproc)" --target bench_path >"$RV_BUILD/bench_path.build.log" 2>&1 ||
		{ tail -20 "$RV_BUILD/bench_path.build.log" >&2; die "build failed"; }
	echo "$state" >"$BENCH.source"
fi
[ -x "$BENCH" ] || die "no $BENCH"
home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$RV_BUILD/CMakeCache.txt" 2>/dev/null)
if [ -f "$BENCH.source" ] && ! [ "$BENCH" -nt "$BENCH.source" ]; then
	label=$(cat "$BENCH.source")
elif [ "$home" != "$SRC" ]; then
	label="unknown(built from ${home:-another tree})"
elif stale; then
	label="unknown(build older than the sources)"
else
	label=$(src_state)
fi

mkdir -p "$OUT" || exit 1
WORK=$(mktemp -d /tmp/rvp-callgrind.XXXXXX) || exit 1
trap 'rm -rf "$WORK"' EXIT

stamp=$(date -u +%FT%TZ)
[ -f "$OUT/history.tsv" ] ||
	printf 'date\tcommit\tpath\tpayload\tbatch\tir_per_packet\tir_fixed\tn1\tn2\n' >"$OUT/history.tsv"
printf 'path\tpayload\tbatch\tir_per_packet\tir_per_byte\tir_fixed\n' >"$OUT/latest.tsv"

# total_ir PATH SIZE N: collected instructions of one run.
total_ir() {
	local path=$1 size=$2 n=$3 out=$WORK/cg.$1.$2.$3
	valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="run_$path*" \
		"$BENCH" -m "$path" -n "$n" -l "$size" -b "$BATCH" >"$out.log" 2>&1 ||
		{ tail -5 "$out.log" >&2; return 1; }
	awk '/^totals:/ { print $2; found = 1 } END { if (!found) exit 1 }' "$out" ||
		{ echo "no totals in $out" >&2; return 1; }
}

printf '%-5s %7s %6s %14s %10s %12s\n' path payload batch "Ir/packet" "Ir/byte" "fixed Ir"
rc=0
for size in $SIZES; do
	for path in seal open; do
		t1=$(total_ir $path "$size" "$N1") || { rc=1; continue; }
		t2=$(total_ir $path "$size" "$N2") || { rc=1; continue; }
		per=$(awk -v a="$t1" -v b="$t2" -v n1="$N1" -v n2="$N2" 'BEGIN { printf "%.1f", (b - a) / (n2 - n1) }')
		fixed=$(awk -v a="$t1" -v p="$per" -v n1="$N1" 'BEGIN { printf "%.0f", a - p * n1 }')
		perb=$(awk -v p="$per" -v s="$size" 'BEGIN { printf "%.2f", p / s }')
		printf '%-5s %7s %6s %14s %10s %12s\n' $path "$size" "$BATCH" "$per" "$perb" "$fixed"
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' $path "$size" "$BATCH" "$per" "$perb" "$fixed" >>"$OUT/latest.tsv"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stamp" "$label" $path "$size" "$BATCH" \
			"$per" "$fixed" "$N1" "$N2" >>"$OUT/history.tsv"
		cp "$WORK/cg.$path.$size.$N2" "$OUT/callgrind.out.$path.$size"
	done
done
echo "binary built from $label; rows appended to $OUT/history.tsv; per-function detail:"
echo "  callgrind_annotate --inclusive=yes $OUT/callgrind.out.seal.${SIZES%% *}"
exit $rc
