#!/usr/bin/env bash
# make bench: runs every bench/*.sh against a throwaway cluster and prints one
# table of figures, each beside its anchor measured in the same run.
#
# A bench script gets PGHOST, PGPORT, PGUSER, PGDATABASE (wib_bench, with wib
# installed), PG_BINDIR, WIB_ROOT and BENCH_OUT (scratch), and prints rows:
#   ROW|figure|ours|anchor|unit|better|target
# better is "higher" or "lower"; anchor is "-" when the figure has only a target.
# WIB_BENCH picks scripts by a glob of their names without .sh (e.g. WIB_BENCH=ivr);
# a partial run prints its table but leaves docs/benchmarks.md alone.
set -uo pipefail
source "$(dirname "$0")/../tools/common.sh"

start_throwaway_cluster wib_bench "$(cat "$WIB_ROOT"/bench/*.conf 2>/dev/null)" || exit 1
as_runner "$PG_BINDIR/psql" -X -q -c 'CREATE EXTENSION wib' -c 'CREATE EXTENSION pgcrypto' >/dev/null
export BENCH_OUT=$TMP_CHECK/bench
scratch_dir "$BENCH_OUT"

rows=$BENCH_OUT/rows.txt
: >"$rows"
# WIB_BENCH=mobile (a glob of bench/ script names without .sh) runs only those.
for script in "$WIB_ROOT"/bench/${WIB_BENCH:-[a-z]*}.sh; do
	[ "$(basename "$script")" = run.sh ] && continue
	[ -e "$script" ] || continue
	echo "== $(basename "$script")" >&2
	as_runner "$script" | tee -a "$rows" | grep -v '^ROW|' >&2
done

machine="$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(. /etc/os-release && echo "$PRETTY_NAME"), PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}')"
table=$BENCH_OUT/table.md
{
	echo "Measured $(date -u +%Y-%m-%d) on: $machine"
	echo
	echo "| figure | wib | anchor | unit | ratio | target |"
	echo "|---|---:|---:|---|---:|---|"
	grep '^ROW|' "$rows" | awk -F'|' '{
		ratio = "-"
		if ($4 != "-" && $4 + 0 > 0 && $3 + 0 > 0)
			ratio = sprintf("%.2fx", ($6 == "lower") ? $4 / $3 : $3 / $4)
		printf "| %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, ratio, $7
	}'
} >"$table"
cat "$table"

# Keep docs/benchmarks.md's results section in step with this run (a full run only).
doc=$WIB_ROOT/docs/benchmarks.md
if [ -z "${WIB_BENCH:-}" ] && { [ -w "$doc" ] || [ -w "$(dirname "$doc")" ]; }; then
	{
		sed '/^<!-- results -->$/,$d' "$doc" 2>/dev/null
		echo '<!-- results -->'
		cat "$table"
	} >"$doc.new" && mv "$doc.new" "$doc"
fi
