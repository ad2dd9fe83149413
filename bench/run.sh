#!/usr/bin/env bash
# make bench: runs every bench/*.sh against a throwaway cluster and prints one
# table of figures, each beside its anchor measured in the same run.
#
#   bench/run.sh          results in tmp_check/bench/ (rows.txt, table.md, each
#                         script's scratch files); the tracked tree is not touched
#   bench/run.sh --save   the same, then docs/benchmarks.md's results section is
#                         replaced by the table (make bench-save)
#   WIB_BENCH="webhooks analytics" bench/run.sh
#                         only those scripts (names without .sh, or globs);
#                         --save then leaves the docs alone
#
# A bench script gets PGHOST, PGPORT, PGUSER, PGDATABASE (wib_bench, with wib
# installed), PG_BINDIR, WIB_ROOT, BENCH_OUT (scratch) and WIB_BENCH_PG_NET (1
# when pg_net is preloaded and installable), and prints rows:
#   ROW|figure|ours|anchor|unit|better|target
# better is "higher" or "lower"; anchor is "-" when the figure has only a target.
set -uo pipefail
source "$(dirname "$0")/../tools/common.sh"
source "$WIB_ROOT/bench/lib/pg_net_build.sh"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
save=0
case "${1:-}" in
--save) save=1 ;;
"") ;;
*) echo "usage: $0 [--save]" >&2; exit 2 ;;
esac

# pg_net is built (once) before the cluster starts, installed into the private
# installation with wib, and preloaded only when that worked.
conf=$(for f in "$WIB_ROOT"/bench/*.conf; do [ "$(basename "$f")" = pg_net.conf ] || cat "$f"; done 2>/dev/null)
mkdir -p "$TMP_CHECK"
export WIB_BENCH_PG_NET=0
if pg_net_build; then
	conf+=$'\n'$(cat "$WIB_ROOT/bench/pg_net.conf")
	private_install_extras() { pg_net_install; }
	WIB_BENCH_PG_NET=1
else
	echo "pg_net is not available: the webhook figures are measured without it" >&2
fi

start_throwaway_cluster wib_bench "$conf" || exit 1
as_runner "$PG_BINDIR/psql" -X -q -c 'CREATE EXTENSION wib' -c 'CREATE EXTENSION pgcrypto' >/dev/null
export BENCH_OUT=$TMP_CHECK/bench
scratch_dir "$BENCH_OUT"

rows=$BENCH_OUT/rows.txt
: >"$rows"
# WIB_BENCH="webhooks analytics" (names of bench/ scripts without .sh, or
# globs of them: WIB_BENCH=mobile, WIB_BENCH='w*') runs only those.
for script in "$WIB_ROOT"/bench/[a-z]*.sh; do
	name=$(basename "$script" .sh)
	[ "$name" = run ] && continue
	if [ -n "${WIB_BENCH:-}" ]; then
		wanted=0
		read -ra patterns <<<"$WIB_BENCH"
		for pattern in "${patterns[@]}"; do
			# shellcheck disable=SC2053
			[[ $name == $pattern ]] && wanted=1
		done
		[ "$wanted" -eq 1 ] || continue
	fi
	echo "== $name.sh" >&2
	as_runner "$script" | tee -a "$rows" | grep -v '^ROW|' >&2
done

machine="$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(. /etc/os-release && echo "$PRETTY_NAME"), PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}')"
table=$BENCH_OUT/table.md
{
	echo "Measured $(date -u +%Y-%m-%d) on: $machine; load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
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
echo "(results in $BENCH_OUT)" >&2

# make bench-save: docs/benchmarks.md's results section becomes this table
# (a full run only: a run of some scripts would drop the others' rows).
if [ "$save" -eq 1 ] && [ -n "${WIB_BENCH:-}" ]; then
	echo "not written into docs/benchmarks.md: WIB_BENCH ran only some scripts (the table is in $table)" >&2
elif [ "$save" -eq 1 ]; then
	doc=$WIB_ROOT/docs/benchmarks.md
	{
		sed '/^<!-- results -->$/,$d' "$doc"
		echo '<!-- results -->'
		cat "$table"
	} >"$doc.new" && mv "$doc.new" "$doc" && echo "wrote the table into $doc" >&2
fi
