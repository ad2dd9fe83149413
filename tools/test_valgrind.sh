#!/usr/bin/env bash
# make test-valgrind: the pg_regress and pgTAP suites against a cluster whose
# every process runs under valgrind's memcheck (tools/valgrind_postgres.sh),
# then tools/valgrind_report.py over the logs: fails when any error memcheck
# reports has a function of wib on its stack, or when a suite fails.
set -uo pipefail
source "$(dirname "$0")/common.sh"

command -v valgrind >/dev/null || { echo "wib: valgrind is not installed (make test-valgrind installs it)" >&2; exit 1; }
export WIB_VALGRIND=$TMP_CHECK/valgrind
rm -rf "$WIB_VALGRIND"
mkdir -p "$TMP_CHECK"
scratch_dir "$TMP_CHECK"
scratch_dir "$WIB_VALGRIND"

start=$(date +%s)
WIB_SUITES=${WIB_SUITES:-regress pgtap} "$WIB_ROOT/tools/test.sh"
suites=$?
echo "suites under valgrind: $(( $(date +%s) - start )) s"

python3 "$WIB_ROOT/tools/valgrind_report.py" "$WIB_VALGRIND" "$TMP_INSTALL$PG_SYS_LIBDIR/wib.so" \
	"$WIB_ROOT/tools/valgrind.supp" "$WIB_ROOT/src"
report=$?
[ "$suites" -eq 0 ] && [ "$report" -eq 0 ]
