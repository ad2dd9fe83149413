#!/usr/bin/env bash
# Advanced analytics: a phone outage at Acme Corp four days ago, the nightly
# job back-filled over the last weeks, then what Acme's manager sees: a trend
# table, the leaderboard and the detected anomaly; Globex (starter) is refused.
set -euo pipefail
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

acme=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Acme Corp'")
globex=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Globex'")

echo "A phone outage at Acme Corp four days ago: after 06:00 UTC no call got through."
q -c "DELETE FROM wib.calls WHERE organization_id = '$acme'
        AND (started_at AT TIME ZONE 'UTC')::date = (now() AT TIME ZONE 'UTC')::date - 4
        AND extract(hour FROM started_at AT TIME ZONE 'UTC') >= 6"

echo "Agents record what their calls achieved; a quarter of the answered calls get an outcome:"
q -c "INSERT INTO wib.call_outcomes (organization_id, call_id, outcome)
      SELECT c.organization_id, c.id,
             (ARRAY['sale', 'appointment_set', 'callback', 'not_interested'])[1 + abs(hashtext(c.id::text || 'outcome')) % 4]
        FROM wib.calls c
       WHERE c.organization_id = '$acme' AND c.status = 'completed' AND abs(hashtext(c.id::text)) % 4 = 0"

echo "The nightly job (normally run by the scheduler at wib.nightly_at = $(q -At -c 'SHOW wib.nightly_at') UTC),"
echo "back-filled by the operator over the last 25 days:"
q -c "SELECT count(*) AS days, sum((r ->> 'snapshots_written')::int) AS snapshots_written,
             sum((r ->> 'new_anomalies')::int) AS anomalies_found
        FROM wib.run_nightly_range((now() AT TIME ZONE 'UTC')::date - 25, (now() AT TIME ZONE 'UTC')::date - 1) r"

echo "Acme's manager dashboard (application login demo_app, acting for Acme):"
PGOPTIONS="-c wib.org_id=$acme -c wib.user_id=acme-admin" q -U demo_app <<'SQL'
SELECT to_char(wib.data_as_of() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') AS "data as of";
\echo 'Sentiment trend, last 10 days:'
SELECT period, total_calls, calls_with_sentiment, avg_sentiment, positive_calls, negative_calls,
       neutral_calls, round(median_sentiment::numeric, 3) AS median
  FROM wib.sentiment_trends((now() AT TIME ZONE 'UTC')::date - 10, (now() AT TIME ZONE 'UTC')::date - 1);
\echo 'Agent leaderboard, last two weeks, by average sentiment:'
SELECT rank, agent_id, name, calls, avg_sentiment, positive_calls, success_rate
  FROM wib.agent_leaderboard((now() AT TIME ZONE 'UTC')::date - 14, (now() AT TIME ZONE 'UTC')::date - 1, 'sentiment', 5);
\echo 'Anomalies, last 25 days:'
SELECT day, metric, direction, round(z::numeric, 1) AS z, confidence, explanation
  FROM wib.anomalies((now() AT TIME ZONE 'UTC')::date - 25, (now() AT TIME ZONE 'UTC')::date - 1);
\echo 'The application cannot read the shared views directly:'
\set ON_ERROR_STOP 0
\set SHOW_CONTEXT never
SELECT count(*) FROM wib.mv_call_sentiment_daily;
\set ON_ERROR_STOP 1
SQL

echo "Globex is on the starter plan:"
PGOPTIONS="-c wib.org_id=$globex -c wib.user_id=globex-admin" q -U demo_app <<'SQL' 2>&1 || true
\set ON_ERROR_STOP 0
\set SHOW_CONTEXT never
SELECT * FROM wib.sentiment_trends(current_date - 7, current_date - 1);
SQL

echo "The z-score kernel on its own (window 4, threshold 3): only the spike stands out."
q -c "SELECT idx, value, round(mean::numeric, 2) AS mean, round(stddev::numeric, 3) AS stddev,
             round(z::numeric, 2) AS z, is_anomaly
        FROM wib.zscore_series(ARRAY[10, 11, 10, 11, 10, 11, 30, 10]::float8[], 4, 3.0)"
