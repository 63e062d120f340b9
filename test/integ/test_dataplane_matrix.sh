#!/usr/bin/env bash
# test_dataplane_matrix.sh — the same traffic (ping IPv4/IPv6 inner, a
# SHA-256-verified TCP transfer, clean SIGTERM exit) through the data plane
# for workers {1, 2} x offloads {off, on}, then zero-copy sends and their
# fallbacks, then an IPv6 underlay, then partial checksums towards a peer
# without offloads and whole ones towards a peer that does not take them
# (whose UDP coalescing is off). Each combination is a full run of
# test_dataplane.sh (its own namespaces, no injection); the first failure
# fails the matrix.
#
# Usage: bash test_dataplane_matrix.sh [--size MB]   (env: RV_BUILD, RV_SRC)
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SIZE=20
[ "${1:-}" = --size ] && SIZE=$2
fail=0
for workers in 1 2; do
	for offload in none tun,gso,gro; do
		printf '\n##### matrix: workers=%s offload=%s\n' "$workers" "$offload" >&2
		if bash "$HERE/test_dataplane.sh" --workers "$workers" --offload "$offload" \
			--size "$SIZE" --no-inject; then
			printf '##### ok: workers=%s offload=%s\n' "$workers" "$offload" >&2
		else
			printf '##### FAILED: workers=%s offload=%s\n' "$workers" "$offload" >&2
			fail=1
			break
		fi
	done
	[ "$fail" = 0 ] || break
done
# Zero-copy sends: on (sent zero-copy, veth makes the kernel copy), auto
# (falls back to plain sends), and on without locked memory (registered
# buffers refused: zero-copy without them).
for zc in "on" "auto" "on --no-memlock"; do
	[ "$fail" = 0 ] || break
	printf '\n##### matrix: zerocopy %s, workers=2 offload=tun,gso,gro\n' "$zc" >&2
	# shellcheck disable=SC2086 # "on --no-memlock" is two arguments
	bash "$HERE/test_dataplane.sh" --workers 2 --offload tun,gso,gro --size "$SIZE" \
		--no-inject --zerocopy $zc || fail=1
done
# The IPv6 underlay once, with offloads on and two workers.
if [ "$fail" = 0 ]; then
	printf '\n##### matrix: IPv6 underlay, workers=2 offload=tun,gso,gro\n' >&2
	bash "$HERE/test_dataplane.sh" --workers 2 --offload tun,gso,gro --size "$SIZE" \
		--no-inject --underlay6 || fail=1
fi
# Partial checksums: B without offloads finishes A's partial checksums
# itself; an A whose peer does not take them sends whole ones (and B, with
# offload_udp_coalesce = no, writes every UDP datagram on its own).
for extra in "--offload-b none" "--csum-whole --no-udp-coalesce"; do
	[ "$fail" = 0 ] || break
	printf '\n##### matrix: %s, workers=2 offload=tun,gso,gro\n' "$extra" >&2
	# shellcheck disable=SC2086 # "--offload-b none" is two arguments
	bash "$HERE/test_dataplane.sh" --workers 2 --offload tun,gso,gro --size "$SIZE" \
		--no-inject $extra || fail=1
done
if [ "$fail" = 0 ]; then
	printf '\n##### matrix passed\n' >&2
else
	printf '\n##### matrix FAILED\n' >&2
fi
exit "$fail"
