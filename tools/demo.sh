#!/usr/bin/env bash
# make demo: a throwaway cluster with wib preloaded, then every demo/NN_*.sh in
# order against database wib_demo.  Each script shows one feature at work.
#
# A demo script gets PGHOST, PGPORT, PGUSER, PGDATABASE, PG_BINDIR, WIB_ROOT and
# DEMO_OUT (scratch); demo/*.conf lines are added to postgresql.conf first.
set -euo pipefail
source "$(dirname "$0")/common.sh"

start_throwaway_cluster wib_demo "$(cat "$WIB_ROOT"/demo/*.conf 2>/dev/null)"
export DEMO_OUT=$TMP_CHECK/demo
scratch_dir "$DEMO_OUT"

for script in "$WIB_ROOT"/demo/[0-9][0-9]_*.sh; do
	echo
	echo "######## $(basename "$script" .sh)"
	as_runner "$script"
done
echo
echo "wib demo finished: the cluster is stopped (its files under tmp_check/ go with make clean)"
