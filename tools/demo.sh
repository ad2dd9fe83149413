#!/usr/bin/env bash
# make demo: a throwaway cluster with wib preloaded, then every demo/NN_*.sh in
# order against database wib_demo.  Each script shows one feature at work.
#
# A demo script gets PGHOST, PGPORT, PGUSER, PGDATABASE, PG_BINDIR, WIB_ROOT and
# DEMO_OUT (scratch); demo/*.conf lines are added to postgresql.conf first.
set -euo pipefail
source "$(dirname "$0")/common.sh"

install_private
export PATH=$PG_BINDIR:$PATH PG_BINDIR WIB_ROOT
export DEMO_OUT=$TMP_CHECK/demo
mkdir -p "$DEMO_OUT" && chown "$WIB_RUN_USER" "$DEMO_OUT" 2>/dev/null

port=$(free_port)
datadir=$TMP_CHECK/demo_data
trap 'cluster_stop "$datadir"' EXIT
cluster_start "$datadir" "$port" "wib.database_name = 'wib_demo'
$(cat "$WIB_ROOT"/demo/*.conf 2>/dev/null)"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=wib_demo
as_runner "$PG_BINDIR/psql" -X -q -d postgres -c 'CREATE DATABASE wib_demo' >/dev/null

for script in "$WIB_ROOT"/demo/[0-9][0-9]_*.sh; do
	echo
	echo "######## $(basename "$script" .sh)"
	as_runner "$script"
done
echo
echo "wib demo finished; the cluster is stopped and removed with: make clean"
