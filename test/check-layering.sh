#!/usr/bin/env bash
# check-layering.sh — enforce the include/layering rules of STYLE.md ("A layout in
# this spirit", rules a–e, and rule 11) by grepping every .c/.h file.
#
#   test/check-layering.sh [SRC_DIR]     # default: the tree this script lives in
#   test/check-layering.sh --self-test   # prove each rule fires on a planted violation
#
# Rules (dirs are top-level directories of the tree):
#   11  only crypto/, tls/, pki/ include <openssl/...>. Exceptions: perf/bench_aead.c
#       (baseline against raw BoringSSL) and those modules' own unit tests,
#       test/unit/test_{crypto,tls,pki}_*.c, which inspect what the module built.
#   a   core/ and crypto/ include nothing from uring/, tls/, pki/, cli/, no TUN or
#       io_uring headers, and call no socket/TUN/io_uring syscalls
#   a'  crypto/ includes nothing from core/              (crypto is the bottom layer)
#   b   uring/ includes nothing from tls/, pki/, cli/
#   c   only cli/ defines main()                          (test/ and perf/ excepted)
#   d   pki/ is used only by cli/ and tests: tls/ (and every lower layer) never
#       includes pki/, and pki/ never includes tls/, uring/ or cli/
#   e   no directory includes another directory's internal.h
#   L   <liburing.h> only in uring/ (and test/)
#   cli/ headers are included only from cli/ and test/.
#   T   time is a parameter: no function in core/ or tls/ctl* reads a clock
#       (rv_now_ns, rv_coarse_now_ns, clock_gettime, gettimeofday, time()).
#       Exempt: core/clock.h (defines the readers) and core/log.c (the log
#       sink's rate limiter, which decides only whether a line is printed).
# Prints one "file:line: [rule] what" per violation; exits 1 if there is any.
set -euo pipefail

self_test() {
	local t rc out
	t=$(mktemp -d)
	trap 'rm -rf "$t"' RETURN
	mkdir -p "$t"/{core,crypto,uring,tls,pki,cli,test/unit,test/lib,perf}
	# A clean tree that uses every allowed edge.
	: >"$t/crypto/internal.h"
	: >"$t/uring/internal.h"
	printf '#include "core/wire.h"\n#include "crypto/aead.h"\n' >"$t/core/ok.c"
	printf '#include <openssl/aead.h>\n#include "internal.h"\n' >"$t/crypto/ok.c"
	printf '#include <liburing.h>\n#include "core/x.h"\n#include "uring/internal.h"\n' >"$t/uring/ok.c"
	printf '#include <openssl/ssl.h>\n#include "uring/ring.h"\n' >"$t/tls/ok.c"
	printf '#include <openssl/x509.h>\n#include "crypto/mem.h"\n' >"$t/pki/ok.c"
	printf '#include "pki/ca.h"\n#include "tls/conn.h"\n#include "cli/exit.h"\nint main(void)\n{\n}\n' >"$t/cli/main.c"
	printf '#include <liburing.h>\n#include "cli/exit.h"\nint main(int argc, char **argv)\n' >"$t/test/unit/t.c"
	printf '#include <openssl/evp.h>\nint main(void)\n' >"$t/perf/bench_aead.c"
	printf '#include <openssl/x509.h>\n' >"$t/test/unit/test_pki_x.c"
	printf '/* socket(2) is not called here */\nint rv_x_connect(void);\n' >"$t/core/words.c"
	printf 'uint64_t rv_x_uptime(uint64_t now_ns);\n/* rv_now_ns() is the loop'"'"'s job */\n' >"$t/tls/ctl_ok.c"
	printf 'static uint64_t t(void) { return rv_now_ns(); }\n' >"$t/tls/loop.c"
	if ! out=$("$0" "$t" 2>&1); then
		echo "self-test: the clean tree was rejected:" >&2
		echo "$out" >&2
		return 1
	fi
	# One planted violation per rule; each must be reported with its tag.
	local -a cases=(
		"core/v.c|#include <openssl/evp.h>|[11]"
		"perf/bench_x.c|#include <openssl/evp.h>|[11]"
		"test/unit/test_core_v.c|#include <openssl/evp.h>|[11]"
		"test/lib/v.c|#include <openssl/evp.h>|[11]"
		"core/v.c|#include \"uring/ring.h\"|[a]"
		"core/v.c|#include \"../tls/conn.h\"|[a]"
		"core/v.c|#include <linux/if_tun.h>|[a]"
		"core/v.c|	int fd = socket(AF_INET, SOCK_DGRAM, 0);|[a]"
		"crypto/v.c|	io_uring_submit(&ring);|[a]"
		"crypto/v.c|#include \"pki/ca.h\"|[a]"
		"crypto/v.c|#include \"core/wire.h\"|[a']"
		"uring/v.c|#include \"tls/conn.h\"|[b]"
		"uring/v.c|#include \"cli/exit.h\"|[b]"
		"core/v.c|int main(void)|[c]"
		"tls/v.c|int main(int argc, char **argv)|[c]"
		"tls/v.c|#include \"pki/issue.h\"|[d]"
		"pki/v.c|#include \"tls/ctx.h\"|[d]"
		"pki/v.c|#include \"uring/sock.h\"|[d]"
		"cli/v.c|#include \"uring/internal.h\"|[e]"
		"test/unit/v.c|#include \"core/internal.h\"|[e]"
		"tls/v.c|#include \"../uring/internal.h\"|[e]"
		"core/v.c|#include <liburing.h>|[L]"
		"tls/v.c|#include <liburing.h>|[L]"
		"perf/bench_y.c|#include <liburing.h>|[L]"
		"tls/v.c|#include \"cli/exit.h\"|[cli]"
		"core/v.c|	s->born = rv_coarse_now_ns();|[T]"
		"core/v.c|	clock_gettime(CLOCK_MONOTONIC, &ts);|[T]"
		"tls/ctl_v.c|	uint64_t now = rv_now_ns();|[T]"
		"tls/ctlkey_v.c|	t = time(NULL);|[T]"
	)
	local c file line tag n=0 bad=0
	for c in "${cases[@]}"; do
		IFS='|' read -r file line tag <<<"$c"
		printf '%s\n' "$line" >"$t/$file"
		if out=$("$0" "$t" 2>&1) || ! grep -qF "$tag" <<<"$out"; then
			echo "self-test: '$line' in $file was not reported as $tag" >&2
			echo "$out" >&2
			bad=1
		fi
		rm -f "$t/$file"
		n=$((n + 1))
	done
	[ "$bad" = 0 ] || return 1
	echo "check-layering self-test: clean tree passes, all $n planted violations caught"
}

if [ "${1:-}" = "--self-test" ]; then
	self_test
	exit $?
fi

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
root=$(cd "$root" && pwd)
cd "$root"

# normalize sets $norm to the relative path $1 with "." and ".." folded (no
# subshell: this runs once per include line).
normalize() {
	local IFS=/ part
	local -a out=()
	for part in $1; do
		case $part in
		"" | .) ;;
		..) [ ${#out[@]} -gt 0 ] && unset 'out[${#out[@]}-1]' ;;
		*) out+=("$part") ;;
		esac
	done
	norm="${out[*]}"
}

violations=0
report() { # file line rule message text
	printf '%s:%s: [%s] %s: %s\n' "$1" "$2" "$3" "$4" "$5"
	violations=$((violations + 1))
}

# Every C source and header under the module, test and perf directories.
mapfile -t files < <(find core crypto uring tls pki cli test perf \
	\( -name build -prune \) -o -type f \( -name '*.c' -o -name '*.h' \) -print 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then
	echo "check-layering: no sources under $root" >&2
	exit 2
fi

# One awk pass over every file emits tab-separated records:
#   I file line delim path text   an #include
#   M file line - - text          a main() definition
#   S file line - - text          a socket/TUN/io_uring call (comment lines skipped;
#                                 identifiers such as rv_x_connect do not match)
scan() {
	awk '
	function emit(kind, d, p,    line) {
		line = $0
		gsub(/\t/, " ", line)
		printf "%s\t%s\t%d\t%s\t%s\t%s\n", kind, FILENAME, FNR, d, p, line
	}
	match($0, /^[ \t]*#[ \t]*include[ \t]*[<"][^>"]+[>"]/) {
		s = substr($0, RSTART, RLENGTH)
		sub(/^[ \t]*#[ \t]*include[ \t]*/, "", s)
		emit("I", substr(s, 1, 1), substr(s, 2, length(s) - 2))
		next
	}
	/^[ \t]*(static[ \t]+)?int[ \t]+main[ \t]*\(/ { emit("M", "-", "-") }
	/^[ \t]*(\/\*|\*|\/\/)/ { next }
	/(^|[^A-Za-z0-9_.>])(socket|bind|connect|listen|accept4?|sendmsg|recvmsg|sendmmsg|recvmmsg|sendto|recvfrom|ioctl|io_uring_[a-z_]+)[ \t]*\(/ {
		emit("S", "-", "-")
	}
	/(^|[^A-Za-z0-9_.>])(rv_now_ns|rv_coarse_now_ns|clock_gettime|gettimeofday|time)[ \t]*\(/ {
		emit("T", "-", "-")
	}
	' "${files[@]}"
}

while IFS=$'\t' read -r kind f ln delim path text; do
	dir=${f%%/*}
	fdir=${f%/*}
	case $kind in
	M)
		case $dir in
		cli | test | perf) ;;
		*) report "$f" "$ln" c "main() outside cli/" "$text" ;;
		esac
		continue
		;;
	S)
		case $dir in
		core | crypto) report "$f" "$ln" a "$dir/ makes a socket/TUN/io_uring call" "$text" ;;
		esac
		continue
		;;
	T)
		case $f in
		core/clock.h | core/log.c) ;;
		tls/ctlloop.c) ;; # the control event loop: the one place that reads the clock
		core/* | tls/ctl*) report "$f" "$ln" T "reads a clock (time must be a parameter)" "$text" ;;
		esac
		continue
		;;
	esac

	# Where a quoted include lands: "./x" and "../x" are relative to the
	# file; otherwise next to the file if it exists there, else relative to
	# the top (our -I is the source root).
	target=$path
	if [ "$delim" = '"' ]; then
		if [[ $path == ./* || $path == ../* || -e $fdir/$path ]]; then
			normalize "$fdir/$path"
		else
			normalize "$path"
		fi
		target=$norm
	fi
	tdir=${target%%/*}
	[ "$tdir" = "$target" ] && tdir=""

	if [[ $path == openssl/* ]]; then
		case $f in
		crypto/* | tls/* | pki/*) ;;
		perf/bench_aead.c) ;;
		test/unit/test_crypto_* | test/unit/test_tls_* | test/unit/test_pki_*) ;;
		*) report "$f" "$ln" 11 "<openssl/...> outside crypto/, tls/, pki/" "$text" ;;
		esac
	fi
	if [[ $path == liburing.h || $path == liburing/* ]]; then
		case $dir in
		uring | test) ;;
		*) report "$f" "$ln" L "liburing outside uring/ (and test/)" "$text" ;;
		esac
	fi
	case $dir in
	core | crypto)
		if [[ $path =~ ^(linux/if_tun\.h|linux/io_uring\.h|liburing\.h)$ ]]; then
			report "$f" "$ln" a "$dir/ includes a TUN/io_uring header" "$text"
		fi
		;;
	esac
	if [ "$delim" = '"' ]; then
		case $dir:$tdir in
		core:uring | core:tls | core:pki | core:cli | crypto:uring | crypto:tls | \
			crypto:pki | crypto:cli)
			report "$f" "$ln" a "$dir/ includes $tdir/" "$text" ;;
		crypto:core)
			report "$f" "$ln" "a'" "crypto/ includes core/" "$text" ;;
		uring:tls | uring:pki | uring:cli)
			report "$f" "$ln" b "uring/ includes $tdir/" "$text" ;;
		tls:pki | pki:tls | pki:uring | pki:cli)
			report "$f" "$ln" d "$dir/ includes $tdir/" "$text" ;;
		tls:cli)
			report "$f" "$ln" cli "$dir/ includes cli/" "$text" ;;
		esac
		if [[ $target == internal.h || $target == */internal.h ]] &&
			[ "${target%/internal.h}" != "$fdir" ]; then
			report "$f" "$ln" e "includes another directory's internal.h" "$text"
		fi
	fi
done < <(scan)

if [ "$violations" -gt 0 ]; then
	echo "check-layering: $violations violation(s) in ${#files[@]} files" >&2
	exit 1
fi
echo "check-layering: ${#files[@]} files, no violations"
