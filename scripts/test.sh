#!/usr/bin/env bash
# test.sh — installs dependencies, builds with -Werror and runs every test.
#
#   ./scripts/test.sh            (as root on Debian 12; this is what .ci/run calls)
#
# Stages (each prints a banner with the seconds so far; the first failure
# stops the run):
#   1. install Debian packages (scripts/install-deps.sh)
#   2. format check (clang-format); strict gcc build; layering and source-list
#      checks (ctest label lint); ldd check (no OpenSSL in ringvpn)
#   3. ctest: unit (Criterion), fuzz-replay, stress (JOBS at a time), then
#      integ (namespaces; four at a time, those that measure alone)
#   4. ASan+UBSan build: unit, fuzz-replay, stress, and the I/O integration
#      tests (ASAN_INTEG below) with the sanitized binaries
#   5. TSan build (only what it runs): stress, the two-worker data-plane test
#      and the control plane over two clients (TSAN_INTEG), run beside stage 6
#   6. time namespaces (scripts/timens.sh): unit, fuzz-replay, stress and
#      TIMENS_INTEG with the monotonic and boot-time clocks starting at 30 s
#      (a freshly booted machine) and at 10^7 s (~116 days: 32-bit
#      millisecond counts overflow there)
#   7. clang libFuzzer build: every fuzzer for FUZZ_SECONDS (default 10) each,
#      JOBS of them at a time
# Environment: JOBS (default nproc), FUZZ_SECONDS, SKIP_INTEG=1 to skip the
# integration tests of stages 3-6, CMAKE_GENERATOR (default Ninja when
# installed; for new build directories only).
#
# An integration test that cannot run here (not root, no TUN) exits 77 and
# ctest reports it as skipped; every process's log is scanned for sanitizer
# reports (test/integ/lib.sh). The whole suite under a young or an old clock:
#   scripts/timens.sh 30 ./scripts/test.sh
#   scripts/timens.sh 10000000 ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${JOBS:-$(nproc)}
export FUZZ_SECONDS=${FUZZ_SECONDS:-10}

# Each banner says how long the run has taken so far (where the time goes).
banner() { printf '\n===== %s ===== (%d s)\n' "$*" "$SECONDS"; }
declare -a stage_ok=()

# rv_ctest ARGS...: ctest --output-on-failure ARGS, and when a test fails,
# the lines that say why (FAIL:, a sanitizer's report; else the last lines
# of its output) again at the very end, under the test's name. CI shows the
# head and the tail of a long output: a failed test's reason, in the middle,
# was cut (stop 54: test_privdrop failed, and the log did not say where).
rv_ctest() {
	local log rc=0
	log=$(mktemp)
	# RV_CTEST_PRE: a command to run ctest under (scripts/timens.sh SECS).
	# shellcheck disable=SC2086
	${RV_CTEST_PRE:-} ctest --output-on-failure "$@" 2>&1 | tee "$log" || rc=$?
	if [ "$rc" != 0 ]; then
		echo "--- why (ctest $*, exit $rc)"
		awk '
		/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: / {
			name = ($0 ~ /\*\*\*/) ? $4 : ""
			if (name != "") { order[++n] = name; said[name] = $0 }
			next
		}
		/^ +Start +[0-9]+: |^[0-9]+% tests passed/ { name = ""; next }
		name != "" && NF > 0 {
			last[name, ++lines[name]] = $0
			if ($0 ~ /FAIL|ERROR: [A-Za-z]*Sanitizer|runtime error:|WARNING: ThreadSanitizer/)
				why[name] = why[name] "    " $0 "\n"
		}
		END {
			for (i = 1; i <= n; i++) {
				t = order[i]
				print said[t]
				if (why[t] != "") { printf "%s", why[t]; continue }
				for (j = (lines[t] > 8 ? lines[t] - 7 : 1); j <= lines[t]; j++)
					print "    " last[t, j]
			}
		}' "$log"
	fi
	rm -f "$log"
	return "$rc"
}

banner "1/7 dependencies"
bash scripts/install-deps.sh

# Ninja for the build directories this run creates (an existing one keeps its
# generator): CMake's Makefiles start cmake several times per target even
# when nothing changed, which cost a quarter of each of the four builds here
# and 7 s of test_systemd's cpack (its "preinstall" walks the whole tree).
if [ -z "${CMAKE_GENERATOR:-}" ] && command -v ninja >/dev/null; then
	export CMAKE_GENERATOR=Ninja
fi

banner "2/7 format check, strict build (gcc, -Werror)"
bash scripts/check-format.sh
cmake -S . -B build/ci -DRV_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/ci -j"$jobs"
# The checks that read sources only (layering and its self-test, source lists).
ctest --test-dir build/ci --output-on-failure -L lint -j"$jobs"
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

# The builds of stages 4, 5 and 7 (about a quarter of the whole run when each
# stage made its own) are made during stage 3, whose integration tests
# mostly wait on timers and processes, at the lowest CPU and I/O priority:
# a runnable test preempts them at once, as it would a CPU hog (the tests
# pass ten in a row beside a hog at normal priority on every core,
# scripts/repeat-under-load.sh). Each stage still runs its own build, which
# finds nothing left to do, or shows the error when this one failed.
# In the same background and at the same priority, the two parts of later
# stages that use CPU but no namespace or shared build directory: stage 4's
# sanitized unit tests, corpus replays and stress tests (as soon as their
# build is done: 250 CPU-seconds, the longest wait of stage 4 when they ran
# after every build), and stage 7's fuzzers (bounded by time, so a starved
# one makes fewer runs, not a longer stage; a slow input is a timeout only
# after 60 s instead of 10). Each leaves its log and exit status in
# build/bg-*; its stage prints the log, runs a failed unit test again in the
# foreground (a test that only a starved background fails is said, not
# hidden) and does the part itself when the background did not get to it.
# Each build leaves build/bg-NAME.built: its stage waits for that, not for
# the whole background (two builds in one directory at once would corrupt it).
# background_part NAME CMD...: runs CMD with its output in build/bg-NAME.log
# and its exit status in build/bg-NAME.rc, and the seconds it ended at.
background_part() {
	local name=$1 rc=0
	shift
	"$@" >"build/bg-$name.log" 2>&1 || rc=$?
	echo "$rc" >"build/bg-$name.rc"
	echo "bg-$name: exit $rc at $SECONDS s"
}
# built NAME: the mark that NAME's build is done.
built() { touch "build/bg-$1.built"; echo "bg-$1 built at $SECONDS s"; }
background() {
	cmake -S . -B build/asan -DRV_WERROR=ON -DRV_SANITIZE=address,undefined -DRV_PERF=OFF >/dev/null &&
		cmake --build build/asan -j"$jobs" && built asan || return 1
	# Stage 4 waits for this part (its integration tests run beside it),
	# stage 7 only at the end for the fuzzers (which then run beside stages
	# 4 to 6 if stage 3 ends first).
	background_part asan env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir build/asan --output-on-failure -L 'unit|fuzz-replay|stress' -j"$jobs"
	cmake -S . -B build/tsan -DRV_WERROR=ON -DRV_SANITIZE=thread -DRV_PERF=OFF >/dev/null &&
		cmake --build build/tsan -j"$jobs" --target rv_stress rv_integ_deps && built tsan || return 1
	FUZZ_BUILD_ONLY=1 bash scripts/fuzz.sh || return 1
	echo "builds done at $SECONDS s"
	background_part fuzz env FUZZ_PARALLEL="$jobs" FUZZ_TIMEOUT=60 bash scripts/fuzz.sh
}
mkdir -p build
rm -f build/bg-*.log build/bg-*.rc build/bg-*.built
# In a process group of its own (job control), so that a failure of this
# script before stage 4 stops the whole build with it.
set -m
(
	renice -n 19 -p "$BASHPID" >/dev/null
	ionice -c 3 -p "$BASHPID" 2>/dev/null || true
	background
) >build/prebuild.log 2>&1 &
prebuild_pid=$!
set +m
trap '[ -z "${prebuild_pid:-}" ] || kill -- "-$prebuild_pid" 2>/dev/null || true' EXIT
# prebuild_wait: the background done (a failed build is shown by the stage's
# own build).
prebuild_wait() {
	[ -n "${prebuild_pid:-}" ] || return 0
	if wait "$prebuild_pid"; then
		echo "(built during stage 3 at the lowest priority: build/prebuild.log)"
	else
		echo "(the build during stage 3 failed: build/prebuild.log; building again)"
	fi
	grep -E '^(builds done|bg-)' build/prebuild.log || true
	prebuild_pid=
}
# bg_rc NAME: the exit status of a background part, or "none" when it did
# not run.
bg_rc() { if [ -f "build/bg-$1.rc" ]; then cat "build/bg-$1.rc"; else echo none; fi; }
# bg_wait NAME.rc: until that part has ended; NAME.built: until that build
# is done. Or until the background has ended (a failed build ends it).
bg_wait() {
	while [ ! -f "build/bg-$1" ] && [ -n "${prebuild_pid:-}" ] && kill -0 "$prebuild_pid" 2>/dev/null; do
		sleep 1
	done
	grep -E '^(builds done|bg-)' build/prebuild.log || true
}

banner "3/7 ctest: unit, fuzz-replay, stress, integ"
rv_ctest --test-dir build/ci -L 'unit|fuzz-replay|stress' -j"$jobs"
# The integration tests four at a time on two CPUs: most wait on timers
# and processes (their CPUs are a third to a half idle at -j4; the 29 that
# do not run alone took 388 s at -j4 beside four hostile testers' runs,
# about 450 at -j3 in the suite); those that measure throughput or latency
# or load the machine themselves are RUN_SERIAL (test/CMakeLists.txt) and
# run alone.
[ "${SKIP_INTEG:-0}" = 1 ] ||
	rv_ctest --test-dir build/ci -L integ -j4
stage_ok+=("ctest")

# The integration tests each sanitizer stage runs (ctest -R patterns).
ASAN_INTEG='^integ/(test_dataplane|test_control_basic|test_control_churn|test_tun_owner)$'
# test_dataplane runs two workers (its default); test_control_basic adds the
# control thread publishing, rekeying and retiring sessions under them.
TSAN_INTEG='^integ/(test_dataplane|test_control_basic)$'
TIMENS_INTEG='^integ/(test_dataplane|test_control_basic|test_control_restart)$'

banner "4/7 ASan+UBSan build: unit, fuzz-replay, stress, I/O integration tests"
bg_wait asan.built
# No benchmarks (RV_PERF=OFF): this stage runs none.
cmake -S . -B build/asan -DRV_WERROR=ON -DRV_SANITIZE=address,undefined -DRV_PERF=OFF >/dev/null
cmake --build build/asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
# The integration tests first, beside the background's unit tests when
# those are still running: these wait on timers and processes, those use
# the CPU (one after the other, stage 4 took 230 s, the unit tests 130).
[ "${SKIP_INTEG:-0}" = 1 ] ||
	RVT_QUICK=1 rv_ctest --test-dir build/asan -R "$ASAN_INTEG" -j2
bg_wait asan.rc
case $(bg_rc asan) in
none) rv_ctest --test-dir build/asan -L 'unit|fuzz-replay|stress' -j"$jobs" ;;
0)
	echo "--- unit, fuzz-replay, stress: run during stage 3 (build/bg-asan.log)"
	cat build/bg-asan.log
	;;
*)
	cat build/bg-asan.log
	echo "--- the tests above that failed in the background, again in the foreground"
	# Every test again when ctest itself failed before listing any.
	rerun=(--rerun-failed)
	[ -s build/asan/Testing/Temporary/LastTestsFailed.log ] || rerun=(-L 'unit|fuzz-replay|stress')
	rv_ctest --test-dir build/asan "${rerun[@]}" -j"$jobs"
	echo "(they passed in the foreground: failed only in the starved background run)"
	;;
esac
unset ASAN_OPTIONS UBSAN_OPTIONS
stage_ok+=("asan+ubsan")

banner "5/7 TSan build: stress, two-worker data plane, control plane"
# Only what this stage runs: the stress programs and the integration tests'
# binaries (Criterion cannot start under TSan, so no unit test is built).
bg_wait tsan.built
cmake -S . -B build/tsan -DRV_WERROR=ON -DRV_SANITIZE=thread -DRV_PERF=OFF >/dev/null
cmake --build build/tsan -j"$jobs" --target rv_stress rv_integ_deps
# No suppressions: every ring has one thread (SINGLE_ISSUER), so the kernel's
# writes into a worker's buffers are seen only by that worker, and every
# hand-off between threads is a C11 atomic or a lock, which TSan models.
# Its tests run beside stage 6 (its own build directory; stage 6's tests
# mostly wait on timers and processes), their output printed after it.
stage5() {
	export TSAN_OPTIONS=halt_on_error=1
	rv_ctest --test-dir build/tsan -L 'stress' -j1 || return 1
	[ "${SKIP_INTEG:-0}" = 1 ] ||
		RVT_QUICK=1 rv_ctest --test-dir build/tsan -R "$TSAN_INTEG" -j2
}
set -m
stage5 >build/stage5.log 2>&1 &
stage5_pid=$!
set +m
trap '[ -z "${prebuild_pid:-}" ] || kill -- "-$prebuild_pid" 2>/dev/null || true
	[ -z "${stage5_pid:-}" ] || kill -- "-$stage5_pid" 2>/dev/null || true' EXIT
echo "(its tests run beside stage 6: build/stage5.log, printed when they end)"

banner "6/7 time namespaces: clocks at 30 s and at 10^7 s"
# timens_part SECS unit|integ: those tests with the monotonic and boot-time
# clocks starting at SECS.
timens_part() {
	case $2 in
	unit)
		RV_CTEST_PRE="bash scripts/timens.sh $1" rv_ctest --test-dir build/ci \
			-L 'unit|fuzz-replay|stress' -j"$jobs"
		;;
	integ)
		[ "${SKIP_INTEG:-0}" = 1 ] ||
			RV_CTEST_PRE="bash scripts/timens.sh $1" rv_ctest --test-dir build/ci \
				-R "$TIMENS_INTEG" -j2
		;;
	esac
}
# timens_pair A B: the unit tests at clock A (they use the CPU) beside the
# integration tests at clock B (they wait on timers and processes); one
# after the other, the four parts took 200 s. B's output follows A's.
timens_pair() {
	local rc=0 pid
	echo "--- clocks at $1 s: unit, fuzz-replay, stress (beside them, clocks at $2 s: integration)"
	timens_part "$2" integ >"build/timens-$2.log" 2>&1 &
	pid=$!
	timens_part "$1" unit || rc=1
	wait "$pid" || rc=1
	echo "--- clocks at $2 s: integration"
	cat "build/timens-$2.log"
	return "$rc"
}
rc=0
bash scripts/timens.sh 30 true || rc=$?
if [ "$rc" = 77 ]; then
	echo "time namespaces not available here: stage skipped"
else
	[ "$rc" = 0 ] || exit "$rc"
	timens_pair 30 10000000 || exit 1
	timens_pair 10000000 30 || exit 1
	stage_ok+=("timens")
fi

banner "5/7 (its tests, run beside stage 6: build/stage5.log)"
rc=0
wait "$stage5_pid" || rc=$?
stage5_pid=
cat build/stage5.log
[ "$rc" = 0 ] || exit 1
stage_ok+=("tsan")

banner "7/7 libFuzzer: corpus + ${FUZZ_SECONDS}s per fuzzer"
# $jobs fuzzers at a time, each a single process on its own core; run in
# the background from stage 3 on when its builds were done in time.
prebuild_wait
case $(bg_rc fuzz) in
none) FUZZ_PARALLEL=$jobs bash scripts/fuzz.sh ;;
*)
	echo "--- run during stage 3 at the lowest priority (build/bg-fuzz.log)"
	cat build/bg-fuzz.log
	[ "$(bg_rc fuzz)" = 0 ] || exit 1
	;;
esac
stage_ok+=("fuzz")

banner "summary"
printf 'stages passed: %s\n' "${stage_ok[*]}"
printf '%d passed, 0 failed\n' "${#stage_ok[@]}"
