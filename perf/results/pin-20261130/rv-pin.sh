#!/bin/bash
args=()
while [ $# -gt 0 ]; do
	if [ "$1" = -c ]; then
		sed "s/^pin_workers = .*/pin_workers = yes/" "$2" > "$2.pin"; args+=(-c "$2.pin"); shift 2
	else args+=("$1"); shift; fi
done
exec /work/main/build/perf-release/cli/ringvpn "${args[@]}"
