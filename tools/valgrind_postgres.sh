#!/bin/sh
# The postgres server under valgrind's memcheck, for make test-valgrind
# (tools/test_valgrind.sh starts clusters with "pg_ctl -p" pointing here).
#
# Every server process is a fork of the postmaster, so every backend and
# background worker (wib's launcher, scheduler and deliverer included) runs
# under memcheck; --trace-children follows anything they exec.  Each process
# logs to $WIB_VALGRIND/<pid>.log; errors are framed by markers and carry a
# ready-made suppression, so tools/valgrind_report.py can tell wib's from
# PostgreSQL's.  Leaks: only definite ones (a block no pointer reaches any
# more) are reported, at each process's exit; a backend exits with its memory
# contexts still allocated by design, but they stay reachable from
# TopMemoryContext, so they are not reported.
#
# Environment: WIB_VALGRIND (log directory), PG_BINDIR (the real postgres),
# WIB_ROOT (for the suppressions), WIB_VALGRIND_OPTS (more options, e.g.
# --track-origins=yes when studying one report).
exec valgrind --tool=memcheck --trace-children=yes --quiet \
	--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=40 --fullpath-after= \
	--suppressions="$WIB_ROOT/tools/valgrind.supp" --gen-suppressions=all \
	--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
	--log-file="$WIB_VALGRIND/%p.log" \
	${WIB_VALGRIND_OPTS:-} \
	"$PG_BINDIR/postgres" "$@"
