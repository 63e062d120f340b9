# shellcheck shell=bash
# ctlload_lib.sh — drive the load generator (perf/ctlload) from bash. Sourced
# by perf/ctlload.sh (the benchmark) and test/integ/test_control_load.sh.
#
#   ldl_start NS LOG BIN ARGS...  start `BIN run ARGS...` in namespace NS as a
#                                 coprocess (stderr to LOG) and wait for its
#                                 "ready" line. Sets LDL_GEN_PID (the
#                                 generator's own PID; the caller records it
#                                 for cleanup).
#   ldl SECS CMD...               send one command line, read the answer into
#                                 LDL_REPLY; returns 1 if none came within SECS
#                                 or it starts with "err". Every exchange is
#                                 appended to LOG.cmds.
#   ldl_kv KEY                    KEY's value in LDL_REPLY (key=value words)
#   ldl_quit [SECS]               "quit", then wait for the process to exit
#
# The commands are listed at the top of perf/ctlload.c. A generator whose
# stdin closes (this shell exits) quits by itself.

LDL_GEN_PID=
LDL_REPLY=
LDL_LOG=

ldl_start() {
	local ns=$1 log=$2 bin=$3
	shift 3
	LDL_LOG=$log
	: >"$log.cmds"
	coproc LDL { exec ip netns exec "$ns" "$bin" run "$@" 2>"$log"; }
	# bash unsets LDL_PID when the coprocess exits; keep a copy.
	LDL_GEN_PID=$LDL_PID
	IFS= read -r -t 600 LDL_REPLY <&"${LDL[0]}" || return 1
	printf '%s\n' "< $LDL_REPLY" >>"$log.cmds"
	[[ $LDL_REPLY == ready* ]]
}

ldl() {
	local secs=$1
	shift
	printf '%s\n' "$*" >&"${LDL[1]}" || return 1
	if ! IFS= read -r -t "$secs" LDL_REPLY <&"${LDL[0]}"; then
		LDL_REPLY="err no answer within $secs s"
		printf '%s\n' "> $* -> $LDL_REPLY" >>"$LDL_LOG.cmds"
		return 1
	fi
	printf '%s\n' "> $* -> $LDL_REPLY" >>"$LDL_LOG.cmds"
	[[ $LDL_REPLY != err* ]]
}

ldl_kv() { tr ' ' '\n' <<<"$LDL_REPLY" | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }

ldl_quit() {
	ldl "${1:-30}" quit
	wait "$LDL_GEN_PID" 2>/dev/null
}
