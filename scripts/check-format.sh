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
bad=()
for f in "${files[@]}"; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		bad+=("$f")
	fi
done
if [ "${#bad[@]}" -gt 0 ]; then
	printf 'not formatted (run scripts/check-format.sh --fix): %s\n' "${bad[@]}" >&2
	exit 1
fi
echo "format: ${#files[@]} files match .clang-format"
