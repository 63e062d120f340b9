#!/usr/bin/env bash
# install-deps.sh — installs everything ringvpn needs to build, test and benchmark
# on a fresh Debian 12 machine. Run as root. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
	build-essential cmake ninja-build pkg-config clang libclang-rt-dev
	liburing-dev android-libboringssl-dev libcriterion-dev
	iproute2 iputils-ping iperf3 nftables ethtool procps psmisc
	valgrind linux-perf gnuplot-nox
	wireguard-go wireguard-tools openvpn nebula python3 python3-cryptography openssl
	scdoc libsystemd-dev libseccomp-dev systemd util-linux dbus-daemon
	prometheus curl strace
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's prometheus package enables a system-wide server on :9090; the
# tests start their own inside a namespace (test/integ/test_metrics.sh), so
# the one just installed is switched off again.
if [ -d /run/systemd/system ] && printf '%s\n' "${missing[@]}" | grep -qx prometheus; then
	systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
