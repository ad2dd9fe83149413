#!/usr/bin/env bash
# Analytics: z-score anomalies over 200 orgs x 365 days (wib.zscore_series
# against the same SQL window query on the same data, same run); the nightly
# job on 1,000,000 calls and 240,000 sentiment rows across 200 orgs, after a
# day of 3,000 new calls (with their summaries and outcomes, written one
# statement at a time as applications write them), against the same night
# with the totals recomputed in full (what the materialized views' refresh
# did), and the totals checked equal to a full recomputation; the p99
# latency of each dashboard function at that size (timed in the server); and
# single-row call inserts/s from 8 pgbench clients with the totals' change
# triggers against the same with them disabled.
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# ---------------------------------------------------------------- data
q <<'SQL'
DROP TABLE IF EXISTS bench_series, bench_orgs;
SELECT setseed(0.17);
CREATE TABLE bench_series AS
SELECT org, day, 100 + 10 * sin(day / 7.0) + (random() - 0.5) * 20
              + CASE WHEN random() < 0.01 THEN -60 ELSE 0 END AS v
  FROM generate_series(1, 200) org, generate_series(1, 365) day;
ALTER TABLE bench_series ADD PRIMARY KEY (org, day);
CREATE TABLE bench_orgs AS SELECT DISTINCT org FROM bench_series;
VACUUM ANALYZE bench_series, bench_orgs;

-- Median wall time (ms) of runs executions of stmt.
CREATE OR REPLACE FUNCTION bench_median_ms(stmt text, runs integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    times float8[] := '{}';
BEGIN
    FOR i IN 1..runs LOOP
        t0 := clock_timestamp();
        EXECUTE stmt;
        times := times || extract(epoch FROM clock_timestamp() - t0) * 1000;
    END LOOP;
    RETURN (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY t)::numeric, 1) FROM unnest(times) t);
END
$$;
SQL

# Ours reads the whole table once in (org, day) order (the primary key), folds
# each org's values into an array in that order and scores every point; the
# anomaly counts below must equal the window query's.
ours_sql="SELECT count(*) FILTER (WHERE z.is_anomaly)
            FROM (SELECT org, array_agg(v) AS vals
                    FROM (SELECT org, v FROM bench_series ORDER BY org, day) b
                   GROUP BY org) s,
                 wib.zscore_series(s.vals, 30, 3.0) z"
anchor_sql="SELECT count(*) FILTER (WHERE abs(z) >= 3)
              FROM (SELECT (v - avg(v) OVER w) / nullif(stddev_samp(v) OVER w, 0) AS z FROM bench_series
                    WINDOW w AS (PARTITION BY org ORDER BY day ROWS BETWEEN 30 PRECEDING AND 1 PRECEDING)) s"
n_ours=$(q -c "$ours_sql")
n_anchor=$(q -c "$anchor_sql")
echo "z-score anomalies found: wib.zscore_series $n_ours, SQL window $n_anchor (must be equal)"
ours=$(q -c "SELECT bench_median_ms(\$q\$$ours_sql\$q\$, 7)")
anchor=$(q -c "SELECT bench_median_ms(\$q\$$anchor_sql\$q\$, 5)")
echo "ROW|z-score anomalies, 200 orgs x 365 days (73,000 points), median|$ours|$anchor|ms|lower|>= 10x faster than SQL window"

# ---------------------------------------------------------------- 1M calls
start=$(date +%s)
q <<'SQL'
SELECT setseed(0.23);
CREATE TEMP TABLE orgs AS
SELECT n, wib.organization_create('Bench Org ' || n, 'business') AS id FROM generate_series(1, 200) n;
INSERT INTO wib.users (organization_id, id, name, role)
SELECT o.id, 'agent-' || a, 'Agent ' || a, 'agent' FROM orgs o, generate_series(1, 10) a;
-- 1,000,000 calls over the 365 days before today, 5,000 per org.
INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
SELECT o.id, 'agent-' || (1 + i % 10), CASE WHEN i % 10 = 0 THEN 'no_answer' ELSE 'completed' END,
       (now() AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC'
           - ((i * 7919) % 365 + 1) * interval '1 day' + (i % 86400) * interval '1 second',
       30 + (i * 31) % 600
  FROM orgs o, generate_series(1, 5000) i;
-- 240,000 AI summaries (the trigger writes sentiment_scores) and 100,000 outcomes.
INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score)
SELECT organization_id, id, round((random() * 2 - 1)::numeric, 3)
  FROM (SELECT organization_id, id, row_number() OVER (PARTITION BY organization_id ORDER BY id) AS rn FROM wib.calls) c
 WHERE rn <= 1200;
INSERT INTO wib.call_outcomes (organization_id, call_id, outcome)
SELECT organization_id, id, (ARRAY['sale', 'callback', 'not_interested', 'voicemail'])[1 + rn % 4]
  FROM (SELECT organization_id, id, row_number() OVER (PARTITION BY organization_id ORDER BY id) AS rn FROM wib.calls) c
 WHERE rn <= 500;
VACUUM ANALYZE wib.calls, wib.sentiment_scores, wib.call_outcomes;
-- Back-fill the year once, so snapshots and predictions exist as in production.
SELECT count(*) FROM wib.run_nightly_range((now() AT TIME ZONE 'UTC')::date - 365, (now() AT TIME ZONE 'UTC')::date - 2);
SQL
echo "loaded $(q -c 'SELECT count(*) FROM wib.calls') calls, $(q -c 'SELECT count(*) FROM wib.sentiment_scores') sentiment rows, back-filled a year of nights in $(( $(date +%s) - start )) s"

# A day of 3,000 new calls: one INSERT per call, a summary for 24% of them and an
# outcome for 10%, each its own statement (so the change triggers fire per call).
q <<'SQL'
CREATE TABLE IF NOT EXISTS bench_orgs_n AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM wib.organizations WHERE name LIKE 'Bench Org %';
CREATE OR REPLACE FUNCTION bench_day_of_calls(calls integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    yesterday timestamptz := ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC';
    org uuid;
    call uuid;
BEGIN
    FOR i IN 1..calls LOOP
        SELECT id INTO org FROM bench_orgs_n WHERE n = 1 + i % 200;
        INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
        VALUES (org, 'agent-' || (1 + i % 10), CASE WHEN i % 10 = 0 THEN 'no_answer' ELSE 'completed' END,
                yesterday + (i * 28.8) * interval '1 second', 30 + (i * 31) % 600)
        RETURNING id INTO call;
        IF i % 25 < 6 THEN
            INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score)
            VALUES (org, call, round((random() * 2 - 1)::numeric, 3));
        END IF;
        IF i % 10 = 3 THEN
            INSERT INTO wib.call_outcomes (organization_id, call_id, outcome)
            VALUES (org, call, (ARRAY['sale', 'callback', 'not_interested', 'voicemail'])[1 + i % 4]);
        END IF;
    END LOOP;
END
$$;
-- The same night with the totals recomputed in full, as the materialized views' refresh did.
CREATE OR REPLACE FUNCTION bench_full_nightly() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wib.analytics_totals_refresh(true);
    PERFORM wib.run_nightly();
END
$$;
SQL
# nightly_after_day KIND: a fresh day of 3,000 calls, then the night timed (ms);
# KIND "incremental" runs wib.run_nightly(), "full" recomputes the totals first.
nightly_after_day() {
	q -c "SELECT bench_day_of_calls(3000)" >/dev/null
	if [ "$1" = full ]; then
		q -c "SELECT bench_median_ms('SELECT bench_full_nightly()', 1)"
	else
		q -c "SELECT bench_median_ms('SELECT wib.run_nightly()', 1)"
	fi
}
incremental=()
full=()
for _ in 1 2 3; do
	incremental+=("$(nightly_after_day incremental)")
	full+=("$(nightly_after_day full)")
done
# The median of an odd number of figures.
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
echo "wib.run_nightly after a day of 3,000 new calls: ${incremental[*]} ms; the same night recomputing the totals in full: ${full[*]} ms"
idle=$(q -c "SELECT bench_median_ms('SELECT wib.run_nightly()', 3)")
same=$(q -c "SELECT (SELECT count(*) FROM ((SELECT * FROM wib.analytics_daily_totals EXCEPT ALL SELECT * FROM wib.analytics_daily_recompute())
                                    UNION ALL (SELECT * FROM wib.analytics_daily_recompute() EXCEPT ALL SELECT * FROM wib.analytics_daily_totals)) d)
                   + (SELECT count(*) FROM ((SELECT * FROM wib.analytics_agent_weekly_totals EXCEPT ALL SELECT * FROM wib.analytics_weekly_recompute())
                                    UNION ALL (SELECT * FROM wib.analytics_weekly_recompute() EXCEPT ALL SELECT * FROM wib.analytics_agent_weekly_totals)) w)")
[ "$same" = 0 ] || { echo "the analytics totals differ from a full recomputation in $same rows" >&2; exit 1; }
echo "analytics totals after the runs: identical to a full recomputation ($(q -c 'SELECT count(*) FROM wib.analytics_daily_totals') daily rows, $(q -c 'SELECT count(*) FROM wib.analytics_agent_weekly_totals') weekly rows)"
echo "ROW|wib.run_nightly after a day of 3,000 new calls on 1M calls, 200 orgs, median of 3 (anchor: the same night recomputing the totals in full)|$(median "${incremental[@]}")|$(median "${full[@]}")|ms|lower|< 1000 ms"
echo "ROW|wib.run_nightly with nothing changed, 1M calls, median of 3|$idle|-|ms|lower|-"

# ---------------------------------------------------------------- dashboards
# p99 of 300 calls per function, each for a random organization.
q <<'SQL'
CREATE OR REPLACE FUNCTION bench_p99_ms(stmt text, calls integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    orgs uuid[] := ARRAY(SELECT id FROM wib.organizations WHERE name LIKE 'Bench Org %');
    t0 timestamptz;
    times float8[] := '{}';
BEGIN
    FOR i IN 1..calls LOOP
        PERFORM set_config('wib.org_id', orgs[1 + (i * 37) % array_length(orgs, 1)]::text, false);
        t0 := clock_timestamp();
        EXECUTE stmt;
        times := times || extract(epoch FROM clock_timestamp() - t0) * 1000;
    END LOOP;
    PERFORM set_config('wib.org_id', '', false);
    RETURN (SELECT round(percentile_disc(0.99) WITHIN GROUP (ORDER BY t)::numeric, 2) FROM unnest(times) t);
END
$$;
SQL
today="(now() AT TIME ZONE 'UTC')::date"
for f in \
	"sentiment_trends, 30 days by day|SELECT count(*) FROM wib.sentiment_trends($today - 30, $today - 1)" \
	"sentiment_trends, 365 days by month|SELECT count(*) FROM wib.sentiment_trends($today - 365, $today - 1, 'month')" \
	"agent_leaderboard, 90 days|SELECT count(*) FROM wib.agent_leaderboard($today - 90, $today - 1)" \
	"analytics_snapshots_range, 30 days|SELECT count(*) FROM wib.analytics_snapshots_range($today - 30, $today - 1)" \
	"anomalies, 90 days|SELECT count(*) FROM wib.anomalies($today - 90, $today - 1)" \
	"data_as_of|SELECT wib.data_as_of()"; do
	name=${f%%|*}
	stmt=${f#*|}
	p99=$(q -c "SELECT bench_p99_ms(\$q\$$stmt\$q\$, 300)")
	echo "ROW|$name, p99 (200 orgs, 1M calls)|$p99|-|ms|lower|< 5 ms"
done

# ---------------------------------------------------------------- call inserts
# 8 pgbench clients, one call per INSERT (autocommit), with the totals' change
# triggers and with them disabled, alternating runs; medians of 5 each (single
# runs on a 2-core machine vary by +-10%, as much as the trigger costs).
cat >"$BENCH_OUT/analytics_insert.sql" <<'SQL'
\set n random(1, 200)
\set a random(1, 10)
INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
SELECT id, 'agent-' || :a, 'completed', now(), 60 FROM bench_orgs_n WHERE n = :n;
SQL
insert_tps() {
	"$PG_BINDIR/pgbench" -n -c 8 -j 2 -T "${ANALYTICS_INSERT_SECONDS:-8}" -f "$BENCH_OUT/analytics_insert.sql" 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1 | xargs printf '%.0f'
}
triggers() { q -c "ALTER TABLE wib.calls $1 TRIGGER calls_analytics_insert" >/dev/null; }
with=()
without=()
for _ in 1 2 3 4 5; do
	triggers ENABLE
	with+=("$(insert_tps)")
	triggers DISABLE
	without+=("$(insert_tps)")
done
triggers ENABLE
echo "call inserts/s, 8 clients: with the change triggers ${with[*]}; without ${without[*]}"
echo "ROW|call inserts/s, pgbench 8 clients, one call per INSERT, with the totals' change trigger (anchor: the trigger disabled), median of 5|$(median "${with[@]}")|$(median "${without[@]}")|inserts/s|higher|>= 0.9x"
