# Sourced by a bench script that may also run alone (as root, outside make
# bench): bench_run_alone "$0" "$@" returns at once under bench/run.sh (which
# gives PGHOST and the rest); alone, it starts a throwaway cluster with wib,
# runs the script again as the runner against it, and exits with its status.
bench_run_alone()
{
	[ -n "${PGHOST:-}" ] && return 0
	source "$(dirname "$1")/../tools/common.sh"
	start_throwaway_cluster wib_bench || exit 1
	as_runner "$PG_BINDIR/psql" -X -q -c 'CREATE EXTENSION wib' >/dev/null
	export BENCH_OUT=$TMP_CHECK/bench
	scratch_dir "$BENCH_OUT"
	as_runner "$@"
	exit $?
}
