#!/bin/bash
# lpm_ab.sh — the longest-prefix trie of git revision REV (old) against the
# working tree's core/lpm.c (new), in one process (perf/lpm_pair.c): on this
# VM the same bench_lpm binary varies up to 3x between processes, which
# hides any change smaller than that; in one process both versions see the
# same machine. Compiles both with the same flags (gcc -O2, against the
# working tree's headers, so REV's lpm.c must still build with them), links
# BUILD's core library for the slab and QSBR (default build/perf-release),
# runs the pair RUNS times per prefix set and prints each run and the
# median ratios.
#
#   perf/lpm_ab.sh REV [RUNS]              e.g. perf/lpm_ab.sh HEAD~1 6
#   SETS="6:100000:48 4:100000:24" BUILD=build/ci perf/lpm_ab.sh REV
# SETS: FAMILY:N:MINLEN triples (default: bench_lpm's private sets at
# 100,000 prefixes, IPv6 and IPv4).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
[ $# -ge 1 ] || { sed -n 2,15p "$0" >&2; exit 2; }
rev=$1
runs=${2:-6}
build=${BUILD:-$SRC/build/perf-release}
sets=${SETS:-"6:100000:48 4:100000:24"}
lib=$build/core/librv_core.a
[ -f "$lib" ] || { echo "lpm_ab: no $lib (build first: cmake --build $build)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$SRC" show "$rev:core/lpm.c" >"$work/old.c"
syms="new free family set remove get lookup count set_memory_limit get_stats"
cflags=(-O2 -std=gnu17 -I"$SRC" -DNDEBUG)
ren() { for s in $syms; do printf -- '-Drv_lpm_%s=%s_lpm_%s ' "$s" "$1" "$s"; done; }
# shellcheck disable=SC2046
gcc "${cflags[@]}" $(ren a) -c "$work/old.c" -o "$work/a.o"
# shellcheck disable=SC2046
gcc "${cflags[@]}" $(ren b) -c "$SRC/core/lpm.c" -o "$work/b.o"
gcc "${cflags[@]}" -o "$work/pair" "$HERE/lpm_pair.c" "$work/a.o" "$work/b.o" "$lib"
for set in $sets; do
	IFS=: read -r fam n minlen <<<"$set"
	for _ in $(seq "$runs"); do
		"$work/pair" "$fam" "$n" "$minlen"
	done | tee "$work/out"
	awk '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ k++; h[k] = $(NF - 2); m[k] = $NF
	  o[k] = $5; nn[k] = $10 }
	END { printf "  median of %d runs: new/old hit %.2fx, miss %.2fx; hit ns old %.1f new %.1f\n", k, median(h, k), median(m, k), median(o, k), median(nn, k) }' "$work/out"
done
