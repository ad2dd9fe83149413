#!/usr/bin/env bash
# Rate limiter: checks per second on one backend, wib.rate_limit (shared
# memory) against the same fixed-window rule in plain SQL (an upsert per check).
set -euo pipefail

psql -X -q -At -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE IF NOT EXISTS bench_rate_counts (key text, win bigint, hits int, PRIMARY KEY (key, win));
CREATE OR REPLACE FUNCTION bench_sql_rate_limit(k text, max_hits int, per interval) RETURNS boolean
LANGUAGE sql AS $$
    INSERT INTO bench_rate_counts AS c VALUES (k, floor(extract(epoch FROM clock_timestamp()) / extract(epoch FROM per))::bigint, 1)
    ON CONFLICT (key, win) DO UPDATE SET hits = c.hits + 1 WHERE c.hits < max_hits
    RETURNING true
$$;
SQL

org=$(psql -X -q -At -v ON_ERROR_STOP=1 -c "SELECT wib.organization_create('Rate limited', 'pro')")

# checks/s = n / seconds, timed inside one statement so connection set-up is not counted.
rate() {
	PGOPTIONS="-c wib.org_id=$org" psql -X -q -At -v ON_ERROR_STOP=1 -c "
		WITH t0 AS MATERIALIZED (SELECT clock_timestamp() AS t),
		     run AS MATERIALIZED (SELECT count(*) FILTER (WHERE $1) AS admitted
		                            FROM t0, generate_series(1, $2) i)
		SELECT round($2 / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0)))
		  FROM run"
}

ours=$(rate "wib.rate_limit('bench:' || (i % 1000), 1000000, '1 hour')" 1000000)
anchor=$(rate "coalesce(bench_sql_rate_limit('bench:' || (i % 1000), 1000000, '1 hour'), false)" 100000)
echo "ROW|rate limiter checks/s, one backend (1,000 keys)|$ours|$anchor|checks/s|higher|>= 100000/s"
