-- Analytics: sentiment trigger and backfill, private totals and their views,
-- plan gating, tenant isolation of every API result, the nightly job
-- (planted anomaly, gap filling, idempotence) and its schedule.
BEGIN;
SELECT plan(77);

-- ------------------------------------------------------------ fixtures
CREATE ROLE analytics_app LOGIN;
GRANT wib_app TO analytics_app;

SELECT wib.organization_create('Analytics A', 'business') AS org_a \gset
SELECT wib.organization_create('Analytics B', 'business') AS org_b \gset
SELECT wib.organization_create('Analytics Pro', 'pro') AS org_pro \gset
SELECT wib.organization_create('Analytics Starter', 'starter') AS org_starter \gset

INSERT INTO wib.users (organization_id, id, name, role) VALUES
    (:'org_a', 'ann', 'Ann A', 'agent'), (:'org_a', 'bob', 'Bob A', 'agent'),
    (:'org_b', 'cat', 'Cat B', 'agent');

-- Org A: October 2026, 100-104 calls a day, except 40 on Mon 2026-10-26;
-- durations and sentiment follow the same pattern every day (quiet metrics).
-- No calls at all on 2026-10-10 and 2026-10-11 would be a volume anomaly, so
-- the gap-filled days are tested in November instead (see below).
INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
SELECT :'org_a', CASE WHEN i % 2 = 0 THEN 'ann' ELSE 'bob' END, 'completed',
       timestamptz '2026-10-01 08:00+00' + d * interval '1 day' + i * interval '1 minute', 60 + i % 7
  FROM generate_series(0, 30) d,
       generate_series(1, CASE WHEN d = 25 THEN 40 ELSE 100 + (d * 7) % 5 END) i;
-- Org B: about 50 calls a day, 300 on Thu 2026-10-15.
INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
SELECT :'org_b', 'cat', 'completed',
       timestamptz '2026-10-01 09:00+00' + d * interval '1 day' + i * interval '1 minute', 120
  FROM generate_series(0, 30) d,
       generate_series(1, CASE WHEN d = 14 THEN 300 ELSE 50 + d % 2 END) i;
-- Org A again on 2026-11-03 (after two quiet days, 11-01 and 11-02, with no calls).
INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
SELECT :'org_a', 'ann', 'completed', timestamptz '2026-11-03 10:00+00' + i * interval '1 minute', 60
  FROM generate_series(1, 5) i;

-- ------------------------------------------------------------ sentiment trigger
INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score, overall_sentiment)
SELECT c.organization_id, c.id, ((extract(minute FROM c.started_at)::int % 5) - 2) / 4.0, NULL
  FROM wib.calls c WHERE c.organization_id IN (:'org_a', :'org_b');

SELECT is((SELECT count(*) FROM wib.sentiment_scores WHERE organization_id IN (:'org_a', :'org_b')),
          (SELECT count(*) FROM wib.ai_summaries WHERE organization_id IN (:'org_a', :'org_b')),
          'sentiment_trigger_writes_one_row_per_summary');
SELECT is((SELECT sentiment_label FROM wib.sentiment_scores s JOIN wib.ai_summaries a USING (organization_id, call_id)
            WHERE a.sentiment_score = 0.5 LIMIT 1), 'positive', 'sentiment_label_derived_from_score_when_summary_has_none');

SELECT a.call_id AS some_call FROM wib.ai_summaries a WHERE a.organization_id = :'org_a' LIMIT 1 \gset
UPDATE wib.ai_summaries SET sentiment_score = -0.9, overall_sentiment = 'mixed'
 WHERE organization_id = :'org_a' AND call_id = :'some_call';
SELECT is((SELECT sentiment_score || ' ' || sentiment_label FROM wib.sentiment_scores
            WHERE organization_id = :'org_a' AND call_id = :'some_call'), '-0.900 mixed',
          'sentiment_trigger_follows_summary_update');
UPDATE wib.ai_summaries SET sentiment_score = NULL WHERE organization_id = :'org_a' AND call_id = :'some_call';
SELECT is((SELECT count(*) FROM wib.sentiment_scores WHERE organization_id = :'org_a' AND call_id = :'some_call'),
          0::bigint, 'sentiment_row_removed_when_score_cleared');
-- Put the pattern value back for the nightly tests below.
UPDATE wib.ai_summaries a SET sentiment_score = ((extract(minute FROM c.started_at)::int % 5) - 2) / 4.0,
                              overall_sentiment = NULL
  FROM wib.calls c
 WHERE a.organization_id = :'org_a' AND a.call_id = :'some_call' AND c.organization_id = a.organization_id AND c.id = a.call_id;

-- Backfill: summaries written while the trigger was off.
ALTER TABLE wib.ai_summaries DISABLE TRIGGER ai_summaries_sentiment, DISABLE TRIGGER ai_summaries_sentiment_update;
UPDATE wib.ai_summaries SET sentiment_score = 0.1
 WHERE organization_id = :'org_b' AND call_id IN (SELECT id FROM wib.calls WHERE organization_id = :'org_b'
                                                     AND started_at < '2026-10-01 09:03+00');
DELETE FROM wib.sentiment_scores WHERE organization_id = :'org_a'
   AND call_id IN (SELECT id FROM wib.calls WHERE organization_id = :'org_a' AND started_at < '2026-10-01 08:05+00');
ALTER TABLE wib.ai_summaries ENABLE TRIGGER ai_summaries_sentiment, ENABLE TRIGGER ai_summaries_sentiment_update;
SELECT is(wib.sentiment_backfill(), 6::bigint, 'sentiment_backfill_writes_missing_and_stale_rows');
SELECT is(wib.sentiment_backfill(), 0::bigint, 'sentiment_backfill_twice_changes_nothing');
UPDATE wib.ai_summaries SET sentiment_score = ((extract(minute FROM c.started_at)::int % 5) - 2) / 4.0
  FROM wib.calls c
 WHERE ai_summaries.organization_id = :'org_b' AND c.organization_id = :'org_b' AND c.id = ai_summaries.call_id
   AND c.started_at < '2026-10-01 09:03+00';

-- ------------------------------------------------------------ privileges and definitions
SELECT has_view('wib', 'mv_call_sentiment_daily', 'daily view exists');
SELECT has_view('wib', 'mv_agent_performance_weekly', 'weekly view exists');
SELECT has_pk('wib', 'analytics_daily_totals', 'daily_totals_have_a_primary_key');
SELECT has_pk('wib', 'analytics_agent_weekly_totals', 'weekly_totals_have_a_primary_key');
SELECT ok(NOT has_table_privilege('wib_app', 'wib.mv_call_sentiment_daily', 'SELECT')
          AND NOT has_table_privilege('wib_app', 'wib.mv_agent_performance_weekly', 'SELECT')
          AND NOT has_table_privilege('wib_app', 'wib.analytics_daily_totals', 'SELECT')
          AND NOT has_table_privilege('wib_app', 'wib.analytics_agent_weekly_totals', 'SELECT')
          AND NOT has_table_privilege('wib_app', 'wib.analytics_changes', 'SELECT,INSERT,UPDATE,DELETE'),
          'wib_app_has_no_privilege_on_totals_views_or_log');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'wib'::regnamespace
              AND p.proname IN ('sentiment_trends', 'agent_leaderboard', 'analytics_snapshots_range', 'anomalies', 'data_as_of')
              AND 'statement_timeout=10s' = ANY (p.proconfig)),
          ARRAY['agent_leaderboard', 'analytics_snapshots_range', 'anomalies', 'data_as_of', 'sentiment_trends'],
          'dashboard_functions_set_statement_timeout_10s');
SELECT is((SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'wib'::regnamespace AND p.prosecdef
              AND p.proname IN ('sentiment_trends', 'agent_leaderboard', 'run_nightly', 'run_nightly_range',
                                'sentiment_backfill', 'sentiment_from_summary', 'analytics_reschedule')
              AND NOT ('search_path=pg_catalog, wib, pg_temp' = ANY (p.proconfig))), 0::bigint,
          'definer_functions_pin_search_path');

SET ROLE analytics_app;
SELECT throws_ok('SELECT * FROM wib.mv_call_sentiment_daily', '42501', NULL, 'wib_app_cannot_select_daily_view');
SELECT throws_ok('SELECT * FROM wib.mv_agent_performance_weekly', '42501', NULL, 'wib_app_cannot_select_weekly_view');
SELECT throws_ok('SELECT * FROM wib.analytics_daily_totals', '42501', NULL, 'wib_app_cannot_select_daily_totals');
SELECT throws_ok('SELECT * FROM wib.analytics_agent_weekly_totals', '42501', NULL, 'wib_app_cannot_select_weekly_totals');
SELECT throws_ok('DELETE FROM wib.analytics_changes', '42501', NULL, 'wib_app_cannot_touch_the_change_log');
SELECT throws_ok('SELECT wib.run_nightly()', '42501', NULL, 'wib_app_cannot_run_nightly');
SELECT throws_ok('SELECT wib.sentiment_backfill()', '42501', NULL, 'wib_app_cannot_run_backfill');
-- The application writes summaries as its tenant; the trigger still fills sentiment_scores.
SELECT wib.set_context(:'org_a', 'writer');
INSERT INTO wib.calls (organization_id, agent_id, status, started_at) VALUES (:'org_a', 'ann', 'completed', '2026-11-10 10:00+00')
RETURNING id AS app_call \gset
INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score, overall_sentiment) VALUES (:'org_a', :'app_call', -0.4, NULL);
SELECT is((SELECT sentiment_label FROM wib.sentiment_scores WHERE call_id = :'app_call'), 'negative',
          'summary_written_by_the_application_gets_its_sentiment_row');
SELECT wib.clear_context();
RESET ROLE;

-- ------------------------------------------------------------ the nightly job
SELECT is((SELECT count(*) FROM wib.run_nightly_range('2026-10-01', '2026-11-03')), 34::bigint,
          'run_nightly_range_processes_every_day');

SET ROLE analytics_app;
SELECT wib.set_context(:'org_a', 'manager');
SELECT is((SELECT count(*) FROM wib.anomalies('2026-10-01', '2026-10-31')), 1::bigint,
          'planted_drop_is_the_only_anomaly_in_october');
SELECT results_eq($$SELECT day, metric, prediction_type, direction, value FROM wib.anomalies('2026-10-01', '2026-10-31')$$,
                  $$VALUES ('2026-10-26'::date, 'call_volume'::text, 'volume_anomaly'::text, 'drop'::text, 40::float8)$$,
                  'planted_drop_found_on_its_day_with_negative_sign');
SELECT ok((SELECT z < -3 AND confidence > 0.8 FROM wib.anomalies('2026-10-26', '2026-10-26')),
          'planted_drop_z_below_threshold_with_confidence');
SELECT matches((SELECT explanation FROM wib.anomalies('2026-10-26', '2026-10-26')),
               '^Call volume dropped 61% on Mon 2026-10-26 vs the 25-day baseline \(z = −[0-9]+\.[0-9]\)$',
               'anomaly_explanation_reads_like_a_sentence');
SELECT is((SELECT baseline_days FROM wib.anomalies('2026-10-26', '2026-10-26')), 25,
          'baseline_starts_at_first_day_with_calls');
SELECT is((SELECT count(*) FROM wib.anomalies('2026-10-15', '2026-10-15')), 0::bigint,
          'org_a_anomalies_exclude_org_b_spike');

-- Gap filling: the days without calls are zeros in the trend and the series.
SELECT results_eq($$SELECT period, total_calls, calls_with_sentiment FROM wib.sentiment_trends('2026-10-31', '2026-11-03')$$,
                  $$VALUES ('2026-10-31'::date, 100::bigint, 100::bigint), ('2026-11-01', 0, 0), ('2026-11-02', 0, 0),
                           ('2026-11-03', 5, 5)$$,
                  'sentiment_trends_fills_days_without_calls');
SELECT is((SELECT count(*) FROM wib.anomalies('2026-11-01', '2026-11-02') WHERE metric = 'call_volume' AND direction = 'drop'),
          2::bigint, 'day_without_calls_is_a_zero_and_detected_as_a_drop');

-- Tenant isolation of every API result.
SELECT is((SELECT sum(total_calls) FROM wib.sentiment_trends('2026-10-01', '2026-11-30', 'month')),
          (SELECT count(*) FROM wib.calls WHERE organization_id = :'org_a')::numeric,
          'sentiment_trends_count_only_own_calls');
SELECT results_eq($$SELECT agent_id, name, calls, rank FROM wib.agent_leaderboard('2026-10-01', '2026-11-30')$$,
                  $$SELECT agent_id, max(u.name), count(*), rank() OVER (ORDER BY count(*) DESC)
                      FROM wib.calls c JOIN wib.users u ON u.organization_id = c.organization_id AND u.id = c.agent_id
                     GROUP BY agent_id ORDER BY count(*) DESC, agent_id$$,
                  'agent_leaderboard_lists_only_own_agents');
SELECT is((SELECT count(*) FROM wib.analytics_snapshots_range('2026-10-01', '2026-11-30', 'daily')
            WHERE organization_id <> :'org_a'), 0::bigint, 'snapshots_range_returns_only_own_rows');
SELECT is((SELECT count(*) FROM wib.analytics_snapshots_range('2026-10-01', '2026-10-31', 'daily')), 31::bigint,
          'daily_snapshot_for_every_day');
SELECT results_eq($$SELECT snapshot_date, total_calls FROM wib.analytics_snapshots_range('2026-10-01', '2026-10-31', 'monthly')$$,
                  $$SELECT date '2026-10-01', count(*)::integer FROM wib.calls
                     WHERE started_at >= '2026-10-01 00:00+00' AND started_at < '2026-11-01 00:00+00'$$,
                  'monthly_snapshot_written_when_month_closes');
SELECT is((SELECT count(*) FROM wib.ml_predictions WHERE organization_id <> :'org_a'), 0::bigint,
          'predictions_visible_only_to_own_org');
SELECT ok(wib.data_as_of() BETWEEN now() - interval '1 minute' AND now(), 'data_as_of_is_the_last_refresh');

SELECT wib.set_context(:'org_b', 'manager');
SELECT results_eq($$SELECT day, metric, direction FROM wib.anomalies('2026-10-01', '2026-10-31')$$,
                  $$VALUES ('2026-10-15'::date, 'call_volume'::text, 'spike'::text)$$,
                  'org_b_sees_only_its_own_spike');
SELECT matches((SELECT explanation FROM wib.anomalies('2026-10-15', '2026-10-15')),
               '^Call volume rose [0-9]+% on Thu 2026-10-15 vs the 14-day baseline \(z = [0-9]+\.[0-9]\)$',
               'spike_explanation_says_rose');
SELECT is((SELECT array_agg(agent_id) FROM wib.agent_leaderboard('2026-10-01', '2026-10-31')), ARRAY['cat'],
          'org_b_leaderboard_has_only_its_agent');
SELECT is((SELECT sum(total_calls) FROM wib.sentiment_trends('2026-10-01', '2026-10-31', 'week')),
          (SELECT count(*) FROM wib.calls WHERE organization_id = :'org_b')::numeric,
          'org_b_trends_count_only_its_calls');
RESET ROLE;

-- Weekly and monthly medians are the exact medians of the period's scores.
SELECT wib.set_context(:'org_a', 'manager');
SET ROLE analytics_app;
SELECT is((SELECT median_sentiment FROM wib.sentiment_trends('2026-10-05', '2026-10-11', 'week')),
          (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s.sentiment_score::float8)
             FROM wib.sentiment_scores s JOIN wib.calls c ON c.organization_id = s.organization_id AND c.id = s.call_id
            WHERE c.started_at >= '2026-10-05 00:00+00' AND c.started_at < '2026-10-12 00:00+00'),
          'weekly_median_is_exact');
RESET ROLE;

-- Idempotence: running days again leaves every row as it was.
CREATE TEMP TABLE before_predictions AS SELECT * FROM wib.ml_predictions WHERE organization_id IN (:'org_a', :'org_b');
CREATE TEMP TABLE before_snapshots AS SELECT * FROM wib.analytics_snapshots WHERE organization_id IN (:'org_a', :'org_b');
SELECT lives_ok($$SELECT wib.run_nightly('2026-10-26')$$, 'run_nightly_again_for_a_day');
SELECT lives_ok($$SELECT count(*) FROM wib.run_nightly_range('2026-10-01', '2026-11-03')$$, 'run_nightly_range_again');
SELECT set_eq($$SELECT * FROM wib.ml_predictions WHERE organization_id IN ('$$ || :'org_a' || $$', '$$ || :'org_b' || $$')$$,
              'SELECT * FROM before_predictions', 'rerun_gives_the_same_predictions');
SELECT set_eq($$SELECT * FROM wib.analytics_snapshots WHERE organization_id IN ('$$ || :'org_a' || $$', '$$ || :'org_b' || $$')$$,
              'SELECT * FROM before_snapshots', 'rerun_gives_the_same_snapshots');
-- A stale anomaly disappears when the data no longer supports it.
DELETE FROM wib.calls WHERE organization_id = :'org_b' AND started_at >= '2026-10-15 00:00+00'
   AND started_at < '2026-10-16 00:00+00' AND started_at > '2026-10-15 09:50+00';
SELECT is((SELECT (wib.run_nightly('2026-10-15') ->> 'predictions_removed')::int), 1, 'rerun_removes_anomaly_no_longer_found');

-- anomaly.detected is emitted once for each new anomaly, through the real wib.emit_event.
SELECT ok(EXISTS (SELECT 1 FROM wib.event_types WHERE event_type = 'anomaly.detected'),
          'anomaly_detected_is_in_the_webhook_catalogue');
DELETE FROM wib.ml_predictions WHERE organization_id = :'org_a' AND target_date = '2026-10-26';
SELECT is((wib.run_nightly('2026-10-26') ->> 'events')::int, 1, 'one_event_for_the_new_anomaly');
SELECT is((wib.run_nightly('2026-10-26') ->> 'events')::int, 0, 'no_second_event_when_rerun');
SELECT is((SELECT count(*) FROM wib.anomalies('2026-10-26', '2026-10-26')), 1::bigint, 'anomaly_recorded_alongside_its_event');
SELECT lives_ok($$SELECT wib.run_nightly('2026-10-27')$$, 'run_nightly_runs_for_the_next_day');

-- ------------------------------------------------------------ plan gating and bad input
SET ROLE analytics_app;
SELECT wib.set_context(:'org_pro', 'manager');
SELECT throws_ok($$SELECT * FROM wib.sentiment_trends('2026-10-01', '2026-10-31')$$, 'WB001', NULL, 'trends_need_business_plan');
SELECT throws_ok($$SELECT * FROM wib.agent_leaderboard('2026-10-01', '2026-10-31')$$, 'WB001', NULL, 'leaderboard_needs_business_plan');
SELECT throws_ok($$SELECT * FROM wib.anomalies('2026-10-01', '2026-10-31')$$, 'WB001', NULL, 'anomalies_need_business_plan');
SELECT lives_ok($$SELECT * FROM wib.analytics_snapshots_range('2026-10-01', '2026-10-31')$$, 'snapshots_available_on_pro');
SELECT wib.set_context(:'org_starter', 'manager');
SELECT throws_ok($$SELECT * FROM wib.analytics_snapshots_range('2026-10-01', '2026-10-31')$$, 'WB001', NULL, 'snapshots_need_pro_plan');
SELECT throws_ok($$SELECT wib.data_as_of()$$, 'WB001', NULL, 'data_as_of_needs_pro_plan');
SELECT wib.clear_context();
SELECT throws_ok($$SELECT * FROM wib.sentiment_trends('2026-10-01', '2026-10-31')$$, 'WB005', NULL, 'trends_need_an_org');
SELECT wib.set_context(:'org_a', 'manager');
SELECT throws_ok($$SELECT * FROM wib.sentiment_trends('2026-10-31', '2026-10-01')$$, '22023', 'invalid to_date', 'reversed_range_refused');
SELECT throws_ok($$SELECT * FROM wib.sentiment_trends(NULL, '2026-10-01')$$, '22023', 'invalid from_date', 'null_from_date_refused');
SELECT throws_ok($$SELECT * FROM wib.sentiment_trends('2026-10-01', '2026-10-31', 'hour')$$, '22023', 'invalid granularity', 'unknown_granularity_refused');
SELECT throws_ok($$SELECT * FROM wib.agent_leaderboard('2026-10-01', '2026-10-31', 'name')$$, '22023', 'invalid order_by', 'unknown_order_refused');
SELECT throws_ok($$SELECT * FROM wib.agent_leaderboard('2026-10-01', '2026-10-31', 'calls', 0)$$, '22023', 'invalid max_rows', 'max_rows_zero_refused');
SELECT throws_ok($$SELECT * FROM wib.analytics_snapshots_range('2026-10-01', '2026-10-31', 'yearly')$$, '22023', 'invalid granularity', 'unknown_snapshot_granularity_refused');
SELECT throws_ok($$SELECT * FROM wib.sentiment_trends('2000-01-01', '2026-10-31')$$, '22023', 'invalid to_date', 'overlong_range_refused');
RESET ROLE;
-- A cancel is not caught by WHEN OTHERS (so not by throws_ok): catch it by name.
-- Arms a deadline with the given call, then sleeps a second.
CREATE FUNCTION pg_temp.slow_after(arm text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'SELECT ' || arm;
    PERFORM pg_sleep(1);
    RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END
$$;
SELECT is(pg_temp.slow_after('wib.analytics_deadline(50)'), '57014 canceling statement due to statement timeout',
          'dashboard_deadline_cancels_a_slow_statement');
-- The API functions' deadline is wib.analytics_timeout, which only superusers set.
SET wib.analytics_timeout = '100ms';
SELECT is(pg_temp.slow_after('wib.analytics_deadline()'), '57014 canceling statement due to statement timeout',
          'the_api_deadline_is_wib_analytics_timeout');
RESET wib.analytics_timeout;
SET ROLE analytics_app;
SELECT throws_ok($$SET wib.analytics_timeout = '1h'$$, '42501', NULL, 'applications_cannot_lift_the_api_deadline');
RESET ROLE;
SELECT wib.analytics_deadline(300) IS NULL AS armed \gset
SELECT lives_ok($$SELECT pg_sleep(0.5)$$, 'deadline_does_not_outlive_its_statement');
SELECT throws_ok($$SELECT wib.run_nightly((now() AT TIME ZONE 'UTC')::date + 1)$$, '22023', 'invalid day', 'future_day_refused');
SELECT throws_ok($$SELECT wib.run_nightly(NULL)$$, '22023', 'invalid day', 'null_day_refused');

-- ------------------------------------------------------------ schedule and retention
SELECT is((SELECT run_at FROM wib.scheduled_jobs WHERE name = 'analytics_nightly'),
          current_setting('wib.nightly_at')::time, 'nightly_job_runs_at_the_setting');
SELECT is((SELECT command FROM wib.scheduled_jobs WHERE name = 'analytics_nightly'), 'SELECT wib.run_nightly()',
          'nightly_job_calls_run_nightly');
SELECT is(wib.job_cron_expr(interval '1 day', (SELECT run_at FROM wib.scheduled_jobs WHERE name = 'analytics_nightly')),
          format('%s %s * * *', extract(minute FROM current_setting('wib.nightly_at')::time)::int,
                 extract(hour FROM current_setting('wib.nightly_at')::time)::int),
          'pg_cron_runs_the_nightly_job_at_the_same_time');
-- A call moved to another day (or agent) takes its sentiment with it.
UPDATE wib.calls SET started_at = started_at + interval '1 day', agent_id = 'bob'
 WHERE organization_id = :'org_a' AND id = :'some_call';
SELECT is((SELECT s.call_started_at = c.started_at AND s.agent_id = 'bob'
             FROM wib.sentiment_scores s JOIN wib.calls c ON c.organization_id = s.organization_id AND c.id = s.call_id
            WHERE s.organization_id = :'org_a' AND s.call_id = :'some_call'), true,
          'sentiment_row_follows_its_call');
UPDATE wib.ml_predictions SET expires_at = now() - interval '1 second'
 WHERE organization_id = :'org_a' AND target_date = '2026-10-26';
SELECT is((SELECT removed FROM wib.purge_expired() WHERE policy = 'ml_predictions_expired'), 2::bigint,
          'expired_predictions_purged_by_retention');

SELECT * FROM finish();
ROLLBACK;
