-- Analytics totals kept up to date from the change log: after every kind of
-- change to calls, outcomes and AI summaries (inserts in bulk and one by one,
-- moves across days, weeks and agents, status and duration changes, deletes,
-- outcome changes, scores changed, cleared and removed, an agent deleted, a
-- TRUNCATE), the totals equal a full recomputation, the log is consumed, and
-- the dashboards read the same figures.  Isolation levels and concurrent
-- writers: test/t/041_analytics_totals.pl.
BEGIN;
SELECT plan(37);

-- The totals against the full recomputation: rows in one and not the other (with multiplicity).
CREATE FUNCTION pg_temp.totals_diff() RETURNS bigint LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM ((SELECT * FROM wib.analytics_daily_totals EXCEPT ALL SELECT * FROM wib.analytics_daily_recompute())
                                  UNION ALL
                                  (SELECT * FROM wib.analytics_daily_recompute() EXCEPT ALL SELECT * FROM wib.analytics_daily_totals)) d)
         + (SELECT count(*) FROM ((SELECT * FROM wib.analytics_agent_weekly_totals EXCEPT ALL SELECT * FROM wib.analytics_weekly_recompute())
                                  UNION ALL
                                  (SELECT * FROM wib.analytics_weekly_recompute() EXCEPT ALL SELECT * FROM wib.analytics_agent_weekly_totals)) w)
$$;
-- Brings the totals up to date as the nightly job does and says whether they equal a full recomputation.
CREATE FUNCTION pg_temp.refreshed_equal() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wib.analytics_totals_refresh();
    RETURN pg_temp.totals_diff() = 0 AND NOT EXISTS (SELECT 1 FROM wib.analytics_changes);
END
$$;

SELECT wib.organization_create('Totals A', 'business') AS org_a \gset
SELECT wib.organization_create('Totals B', 'business') AS org_b \gset
INSERT INTO wib.users (organization_id, id, name, role)
SELECT o, 'agent-' || a, 'Agent ' || a, 'agent' FROM unnest(ARRAY[:'org_a', :'org_b']::uuid[]) o, generate_series(1, 4) a;

-- ------------------------------------------------------------ inserts
SELECT is(wib.analytics_totals_refresh() ->> 'changes', '0', 'nothing_logged_before_any_call');
-- Three weeks of calls (Sunday and Monday included), some without agent, duration or completion.
INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
SELECT o, CASE WHEN i % 5 = 0 THEN NULL ELSE 'agent-' || (1 + i % 4) END,
       CASE WHEN i % 6 = 0 THEN 'no_answer' ELSE 'completed' END,
       timestamptz '2026-10-04 00:00+00' + (i % 21) * interval '1 day' + (i * 7919 % 86400) * interval '1 second',
       CASE WHEN i % 8 = 0 THEN NULL ELSE 20 + i % 400 END
  FROM unnest(ARRAY[:'org_a', :'org_b']::uuid[]) o, generate_series(1, 300) i;
SELECT ok((SELECT count(*) FROM wib.analytics_changes) BETWEEN 1 AND 2 * 21 * 5,
          'a_bulk_insert_logs_one_row_per_bucket_not_per_call');
INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score, overall_sentiment)
SELECT organization_id, id, ((hashtext(id::text) % 1000) / 1000.0)::numeric(4,3),
       CASE WHEN hashtext(id::text) % 7 = 0 THEN 'mixed' END
  FROM wib.calls WHERE hashtext(id::text) % 3 <> 0;
INSERT INTO wib.call_outcomes (organization_id, call_id, outcome)
SELECT organization_id, id, (ARRAY['sale', 'callback', 'appointment_set', 'voicemail'])[1 + abs(hashtext(id::text)) % 4]
  FROM wib.calls WHERE hashtext(id::text) % 4 = 0;
-- A second outcome for some calls: success is any of them.
INSERT INTO wib.call_outcomes (organization_id, call_id, outcome)
SELECT organization_id, call_id, 'sale' FROM wib.call_outcomes WHERE outcome = 'callback' AND hashtext(call_id::text) % 2 = 0;
SELECT ok(pg_temp.refreshed_equal(), 'totals_equal_full_recomputation_after_bulk_inserts');
SELECT ok((SELECT count(*) > 0 FROM wib.analytics_daily_totals) AND (SELECT count(*) > 0 FROM wib.analytics_agent_weekly_totals),
          'totals_have_rows');
SELECT is((wib.analytics_totals_refresh() ->> 'days_written')::int, 0, 'a_run_without_changes_writes_nothing');

-- One call at a time, as an application writes them.
INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
VALUES (:'org_a', 'agent-1', 'completed', '2026-10-05 23:59:59.999999+00', 61) RETURNING id AS lone_call \gset
INSERT INTO wib.calls (organization_id, agent_id, status, started_at) VALUES (:'org_b', NULL, 'ringing', '2026-10-30 12:00+00');
INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score) VALUES (:'org_a', :'lone_call', -0.25);
INSERT INTO wib.call_outcomes (organization_id, call_id, outcome) VALUES (:'org_a', :'lone_call', 'appointment_set');
SELECT ok(pg_temp.refreshed_equal(), 'totals_equal_after_single_row_inserts');
SELECT ok(EXISTS (SELECT 1 FROM wib.analytics_daily_totals WHERE organization_id = :'org_b' AND day = '2026-10-30'),
          'a_new_day_gets_a_row');

-- The application's own role, which may not touch the log, in a session whose
-- time zone is 14 hours from UTC: a call late on a UTC day is logged under that
-- day, three calls of one bucket in one statement as one row.
SET TIME ZONE 'Pacific/Kiritimati';
SELECT wib.set_context(:'org_a', 'writer');
SET LOCAL ROLE wib_app;
INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
SELECT :'org_a', 'agent-3', 'completed', timestamptz '2026-10-06 23:30+00' + i * interval '1 minute', 30
  FROM generate_series(0, 2) i;
RESET ROLE;
SELECT wib.clear_context();
RESET TIME ZONE;
SELECT results_eq($$SELECT day, agent_id FROM wib.analytics_changes$$,
                  $$VALUES (date '2026-10-06', 'agent-3'::text)$$,
                  'an_application_insert_is_logged_once_per_bucket_under_its_utc_day');
SELECT ok(pg_temp.refreshed_equal(), 'totals_equal_after_an_application_insert');
DELETE FROM wib.calls WHERE organization_id = :'org_a' AND started_at >= '2026-10-06 23:30+00' AND started_at < '2026-10-07 00:00+00';
SELECT results_eq($$SELECT day, agent_id FROM wib.analytics_changes$$,
                  $$VALUES (date '2026-10-06', 'agent-3'::text)$$,
                  'a_delete_is_logged_once_per_bucket');
SELECT ok(pg_temp.refreshed_equal(), 'totals_equal_after_the_delete');

-- ------------------------------------------------------------ updates of calls
UPDATE wib.calls SET started_at = started_at + interval '1 microsecond' WHERE id = :'lone_call';
SELECT ok(pg_temp.refreshed_equal(), 'a_call_moved_to_the_next_day_and_week_moves_its_totals');
UPDATE wib.calls SET started_at = started_at + interval '9 days'
 WHERE organization_id = :'org_a' AND hashtext(id::text) % 10 = 1;
SELECT ok(pg_temp.refreshed_equal(), 'calls_moved_across_weeks_move_their_calls_outcomes_and_scores');
UPDATE wib.calls SET agent_id = 'agent-3' WHERE organization_id = :'org_b' AND agent_id = 'agent-2';
UPDATE wib.calls SET agent_id = NULL WHERE organization_id = :'org_b' AND agent_id = 'agent-4' AND hashtext(id::text) % 2 = 0;
UPDATE wib.calls SET agent_id = 'agent-1' WHERE organization_id = :'org_a' AND agent_id IS NULL AND hashtext(id::text) % 2 = 0;
SELECT ok(pg_temp.refreshed_equal(), 'agent_changes_move_weekly_totals');
SELECT ok(NOT EXISTS (SELECT 1 FROM wib.analytics_agent_weekly_totals WHERE organization_id = :'org_b' AND agent_id = 'agent-2'),
          'an_agent_left_without_calls_has_no_weekly_rows');
UPDATE wib.calls SET status = 'failed', duration_seconds = NULL WHERE hashtext(id::text) % 9 = 2;
UPDATE wib.calls SET duration_seconds = duration_seconds + 1 WHERE hashtext(id::text) % 9 = 3;
SELECT ok(pg_temp.refreshed_equal(), 'status_and_duration_changes_are_counted');
UPDATE wib.calls SET disposition = 'noted' WHERE organization_id = :'org_a';
SELECT is((SELECT count(*) FROM wib.analytics_changes), 0::bigint, 'an_update_of_other_columns_logs_nothing');

-- ------------------------------------------------------------ deletes of calls
DELETE FROM wib.calls WHERE hashtext(id::text) % 11 = 4;
SELECT ok(pg_temp.refreshed_equal(), 'deleted_calls_take_their_outcomes_and_scores_with_them');
DELETE FROM wib.calls WHERE organization_id = :'org_b' AND started_at >= '2026-10-30 00:00+00' AND started_at < '2026-10-31 00:00+00';
SELECT ok(pg_temp.refreshed_equal(), 'a_day_left_without_calls_loses_its_row');
SELECT ok(NOT EXISTS (SELECT 1 FROM wib.analytics_daily_totals WHERE organization_id = :'org_b' AND day = '2026-10-30'),
          'the_empty_day_has_no_row');

-- ------------------------------------------------------------ outcomes
UPDATE wib.call_outcomes SET outcome = 'sale' WHERE outcome = 'voicemail' AND hashtext(id::text) % 2 = 0;
SELECT ok(pg_temp.refreshed_equal(), 'an_outcome_turning_successful_is_counted');
UPDATE wib.call_outcomes SET outcome = 'not_interested' WHERE outcome IN ('sale', 'appointment_set') AND hashtext(id::text) % 3 = 0;
SELECT ok(pg_temp.refreshed_equal(), 'an_outcome_no_longer_successful_is_counted');
UPDATE wib.call_outcomes o SET call_id = (SELECT c.id FROM wib.calls c
                                           WHERE c.organization_id = o.organization_id AND c.id <> o.call_id
                                             AND c.started_at > '2026-10-20' ORDER BY c.id LIMIT 1)
 WHERE o.organization_id = :'org_a' AND hashtext(o.id::text) % 5 = 0;
SELECT ok(pg_temp.refreshed_equal(), 'an_outcome_moved_to_another_call_moves_its_counts');
DELETE FROM wib.call_outcomes WHERE hashtext(id::text) % 4 = 1;
SELECT ok(pg_temp.refreshed_equal(), 'deleted_outcomes_are_uncounted');

-- ------------------------------------------------------------ summaries and scores
UPDATE wib.ai_summaries SET sentiment_score = -sentiment_score WHERE hashtext(id::text) % 5 = 0;
UPDATE wib.ai_summaries SET overall_sentiment = 'positive' WHERE hashtext(id::text) % 5 = 1;
SELECT ok(pg_temp.refreshed_equal(), 'changed_scores_and_labels_change_sums_counts_and_medians');
UPDATE wib.ai_summaries SET sentiment_score = NULL WHERE hashtext(id::text) % 7 = 2;
SELECT ok(pg_temp.refreshed_equal(), 'cleared_scores_are_uncounted');
DELETE FROM wib.ai_summaries WHERE hashtext(id::text) % 7 = 3;
SELECT ok(pg_temp.refreshed_equal(), 'deleted_summaries_take_their_scores_away');
SELECT ok(wib.sentiment_backfill() >= 0 AND pg_temp.refreshed_equal(), 'a_backfill_is_followed');

-- ------------------------------------------------------------ other paths to the same tables
DELETE FROM wib.users WHERE organization_id = :'org_a' AND id = 'agent-2';
SELECT ok(pg_temp.refreshed_equal(), 'a_deleted_agent_leaves_its_calls_without_agent');
TRUNCATE wib.call_outcomes;
SELECT ok(pg_temp.refreshed_equal(), 'truncate_recomputes_every_bucket');
-- A bulk load past the threshold takes the full path, with the same result.
INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
SELECT :'org_b', 'agent-' || (1 + i % 4), 'completed', timestamptz '1950-01-01 00:00+00' + i * interval '1 day', 60
  FROM generate_series(1, 25000) i;
-- Statistics as autovacuum keeps them after a load: run after other files,
-- the table's may say empty (their rows were rolled back), and a plan for an
-- empty table over these rows takes hours under valgrind.
ANALYZE wib.calls;
SELECT is(wib.analytics_totals_refresh() ->> 'totals', 'full', 'a_large_log_takes_the_full_path');
SELECT is(pg_temp.totals_diff(), 0::bigint, 'totals_equal_after_the_full_path');
SELECT is(wib.analytics_totals_refresh(true) ->> 'days_written', '0', 'a_forced_full_run_rewrites_nothing_unchanged');

-- ------------------------------------------------------------ the readers
SELECT results_eq($$SELECT * FROM wib.mv_call_sentiment_daily ORDER BY organization_id, day$$,
                  $$SELECT organization_id, day, total_calls, completed_calls, total_duration_seconds, calls_with_duration,
                           calls_with_sentiment, sentiment_sum, positive_calls, negative_calls, neutral_calls, scores_milli,
                           calls_with_outcome, successful_calls
                      FROM wib.analytics_daily_recompute() ORDER BY organization_id, day$$,
                  'the_daily_view_reads_the_recomputed_figures');
SELECT results_eq($$SELECT * FROM wib.mv_agent_performance_weekly ORDER BY organization_id, week, agent_id$$,
                  $$SELECT organization_id, agent_id, week, calls, calls_with_sentiment, sentiment_sum, positive_calls,
                           calls_with_outcome, successful_calls
                      FROM wib.analytics_weekly_recompute() ORDER BY organization_id, week, agent_id$$,
                  'the_weekly_view_reads_the_recomputed_figures');
SELECT wib.set_context(:'org_a', 'manager');
SELECT results_eq($$SELECT period, total_calls, median_sentiment FROM wib.sentiment_trends('2026-10-01', '2026-11-10', 'week')$$,
                  $$SELECT g::date, count(c.id), percentile_cont(0.5) WITHIN GROUP (ORDER BY s.sentiment_score::float8)
                      FROM generate_series(timestamp '2026-09-28', '2026-11-10', interval '1 week') g
                      LEFT JOIN wib.calls c ON c.organization_id = wib.current_org_id()
                                           AND c.started_at >= greatest(g, '2026-10-01') AT TIME ZONE 'UTC'
                                           AND c.started_at < least(g + interval '1 week', '2026-11-11') AT TIME ZONE 'UTC'
                      LEFT JOIN wib.sentiment_scores s ON s.organization_id = c.organization_id AND s.call_id = c.id
                     GROUP BY g ORDER BY g$$,
                  'weekly_trends_with_exact_medians_match_the_calls');
SELECT results_eq($$SELECT agent_id, calls FROM wib.agent_leaderboard('2026-10-05', '2026-11-08', 'calls', 100) ORDER BY agent_id$$,
                  $$SELECT agent_id, count(*) FROM wib.calls
                     WHERE organization_id = wib.current_org_id() AND agent_id IS NOT NULL
                       AND started_at >= '2026-10-05 00:00+00' AND started_at < '2026-11-09 00:00+00'
                     GROUP BY agent_id ORDER BY agent_id$$,
                  'leaderboard_counts_match_the_calls');
SELECT wib.clear_context();

SELECT * FROM finish();
ROLLBACK;
