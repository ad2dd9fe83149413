#!/usr/bin/env bash
# make bench-citus: bench/cluster/bench.pl on a single node and on a Citus
# cluster of a coordinator and two workers on loopback, from the private
# install tree with Citus built in (tools/citus_build.sh, cached).  Prints the
# table (also in tmp_check/bench_citus/table.md).  Not part of make bench.
set -uo pipefail
source "$(dirname "$0")/citus_common.sh"

install_private_citus || exit 1
out=$TMP_CHECK/bench_citus
rm -rf "$out" && scratch_dir "$TMP_CHECK" && scratch_dir "$out"
log=$out/bench.log
(cd "$out" && as_runner env TESTDIR="$out" PG_TEST_PORT_DIR=/tmp PG_REGRESS="$PG_REGRESS" BENCH_OUT="$out" \
	PERL5LIB="$PG_PERL_LIB:$WIB_ROOT/test/t:$WIB_ROOT/test/citus" WIB_ROOT="$WIB_ROOT" \
	prove -v "$WIB_ROOT/bench/cluster/bench.pl") >"$log" 2>&1
status=$?
grep -E '^[[:space:]]*not ok|^(Result|Failed)' "$log"
cat "$out/table.md" 2>/dev/null || { tail -30 "$log"; status=1; }
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
