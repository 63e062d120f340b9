#!/usr/bin/env bash
# test.sh — installs dependencies, builds with -Werror and runs every test.
#
#   ./scripts/test.sh            (as root on Debian 12; this is what .ci/run calls)
#
# Stages (each prints a banner; the first failure stops the run):
#   1. install Debian packages (scripts/install-deps.sh)
#   2. format check (clang-format); strict gcc build; layering and source-list
#      checks; ldd check (no OpenSSL in ringvpn)
#   3. ctest: unit (Criterion), fuzz-replay, stress, integ (namespaces)
#   4. ASan+UBSan build: unit, fuzz-replay, stress
#   5. TSan build: stress (lock-free tables under a churning writer)
#   6. clang libFuzzer build: every fuzzer for FUZZ_SECONDS (default 15) each
# Environment: JOBS (default nproc), FUZZ_SECONDS, SKIP_INTEG=1 to skip stage 3's integ label.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${JOBS:-$(nproc)}
export FUZZ_SECONDS=${FUZZ_SECONDS:-15}

banner() { printf '\n===== %s =====\n' "$*"; }
declare -a stage_ok=()

banner "1/6 dependencies"
bash scripts/install-deps.sh

banner "2/6 format check, strict build (gcc, -Werror)"
bash scripts/check-format.sh
cmake -S . -B build/ci -DRV_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/ci -j"$jobs"
bash test/check-layering.sh
bash test/check-sources.sh
# ldd's output is kept whole: `ldd | grep -q` under pipefail fails when grep
# exits early and ldd dies of SIGPIPE.
libs=$(ldd build/ci/cli/ringvpn)
if grep -E 'libcrypto\.so\.3|libssl\.so\.3' <<<"$libs"; then
	echo "FAIL: ringvpn loads OpenSSL 3" >&2
	exit 1
fi
grep -q 'android/libcrypto' <<<"$libs" || { echo "FAIL: ringvpn does not load BoringSSL" >&2; exit 1; }
echo "ldd: ringvpn links BoringSSL only"
stage_ok+=("build+layering+ldd")

banner "3/6 ctest: unit, fuzz-replay, stress, integ"
labels='unit|fuzz-replay|stress'
[ "${SKIP_INTEG:-0}" = 1 ] || labels="$labels|integ"
ctest --test-dir build/ci --output-on-failure -L "$labels" -j1
stage_ok+=("ctest")

banner "4/6 ASan+UBSan build: unit, fuzz-replay, stress"
cmake -S . -B build/asan -DRV_WERROR=ON -DRV_SANITIZE=address,undefined >/dev/null
cmake --build build/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build/asan --output-on-failure -L 'unit|fuzz-replay|stress' -j"$jobs"
stage_ok+=("asan+ubsan")

banner "5/6 TSan build: stress"
cmake -S . -B build/tsan -DRV_WERROR=ON -DRV_SANITIZE=thread >/dev/null
cmake --build build/tsan -j"$jobs"
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan --output-on-failure -L 'stress' -j1
stage_ok+=("tsan")

banner "6/6 libFuzzer: corpus + ${FUZZ_SECONDS}s per fuzzer"
bash scripts/fuzz.sh
stage_ok+=("fuzz")

banner "summary"
printf 'stages passed: %s\n' "${stage_ok[*]}"
printf '%d passed, 0 failed\n' "${#stage_ok[@]}"
