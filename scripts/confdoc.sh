#!/usr/bin/env bash
# confdoc.sh — regenerate conf/server.conf.example and conf/client.conf.example
# from the config key table (core/config_keys.def) after changing it.
#
#   scripts/confdoc.sh --fix [BUILD_DIR]   (default build/ci; builds rv_confdoc)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = --fix ] || { echo "usage: scripts/confdoc.sh --fix [BUILD_DIR]" >&2; exit 2; }
build=${2:-build/ci}
cmake --build "$build" --target rv_confdoc >/dev/null
for role in server client; do
	"$build/doc/rv_confdoc" example "$role" >"conf/$role.conf.example"
	echo "wrote conf/$role.conf.example"
done
