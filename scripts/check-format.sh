#!/usr/bin/env bash
# check-format.sh — fails if any tracked C file differs from what clang-format
# (the repository's .clang-format) would make of it. A stage of scripts/test.sh.
#
#   scripts/check-format.sh          check every tracked *.c / *.h
#   scripts/check-format.sh --fix    reformat them in place
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
if [ "${1:-}" = --fix ]; then
	clang-format -i "${files[@]}"
	exit 0
fi
# One clang-format for all files (it goes on past a file that differs): a
# process per file spent half a minute starting clang-format 200 times.
rc=0
out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1) || rc=$?
if [ "$rc" -ne 0 ]; then
	mapfile -t bad < <(sed -nE 's/^(.*):[0-9]+:[0-9]+: error: code should be clang-formatted.*/\1/p' <<<"$out" | sort -u)
	if [ "${#bad[@]}" -eq 0 ]; then
		# Not a formatting difference (no config, unreadable file, ...).
		printf '%s\n' "$out" >&2
		echo "check-format: clang-format failed (exit $rc)" >&2
		exit 1
	fi
	printf 'not formatted (run scripts/check-format.sh --fix): %s\n' "${bad[@]}" >&2
	exit 1
fi
echo "format: ${#files[@]} files match .clang-format"
