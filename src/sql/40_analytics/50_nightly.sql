-- The nightly job: bring the totals up to date, write snapshots, find anomalies and trends.

-- A setting read as text, with the default when the library is not loaded.
CREATE OR REPLACE FUNCTION wib.analytics_setting(name text, fallback text) RETURNS text
    LANGUAGE sql STABLE
    RETURN coalesce(nullif(current_setting(name, true), ''), fallback);
COMMENT ON FUNCTION wib.analytics_setting(text, text) IS 'Internal: current_setting(name), or fallback when undefined.';

-- The sentence a manager reads for an anomaly ("Call volume dropped 41% on Tue 2026-11-17 vs the 30-day baseline (z = −3.2)").
CREATE OR REPLACE FUNCTION wib.anomaly_explanation(metric text, day date, value float8, baseline float8,
                                        baseline_days integer, z float8) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN metric IN ('call_volume', 'avg_duration') THEN
            format('%s %s %s%% on %s vs the %s-day baseline (z = %s)',
                   CASE metric WHEN 'call_volume' THEN 'Call volume' ELSE 'Average call duration' END,
                   CASE WHEN z < 0 THEN 'dropped' ELSE 'rose' END,
                   round(abs(value - baseline) / nullif(baseline, 0) * 100)::bigint,
                   to_char(day, 'Dy YYYY-MM-DD'), baseline_days,
                   replace(round(z::numeric, 1)::text, '-', '−'))
        WHEN metric = 'avg_sentiment' THEN
            format('Average sentiment %s to %s on %s from a %s-day baseline of %s (z = %s)',
                   CASE WHEN z < 0 THEN 'fell' ELSE 'rose' END,
                   replace(round(value::numeric, 2)::text, '-', '−'), to_char(day, 'Dy YYYY-MM-DD'), baseline_days,
                   replace(round(baseline::numeric, 2)::text, '-', '−'),
                   replace(round(z::numeric, 1)::text, '-', '−'))
        ELSE
            format('Positive-call share %s to %s%% on %s from a %s-day baseline of %s%% (z = %s)',
                   CASE WHEN z < 0 THEN 'fell' ELSE 'rose' END,
                   round((value * 100)::numeric), to_char(day, 'Dy YYYY-MM-DD'), baseline_days,
                   round((baseline * 100)::numeric),
                   replace(round(z::numeric, 1)::text, '-', '−'))
    END;
COMMENT ON FUNCTION wib.anomaly_explanation(text, date, float8, float8, integer, float8) IS
    'Internal: the readable explanation of an anomaly of metric on day.';

-- The counts of two step summaries added key by key (other values of part
-- replace those of total).
CREATE OR REPLACE FUNCTION wib.jsonb_add_counts(total jsonb, part jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN coalesce(total, '{}') || coalesce(
        (SELECT jsonb_object_agg(p.key, CASE WHEN jsonb_typeof(p.value) = 'number' AND jsonb_typeof(total -> p.key) = 'number'
                                             THEN to_jsonb((total ->> p.key)::numeric + (p.value #>> '{}')::numeric)
                                             ELSE p.value END)
           FROM jsonb_each(part) p), '{}');
COMMENT ON FUNCTION wib.jsonb_add_counts(jsonb, jsonb) IS
    'Internal: total with the numbers of part added key by key (other values of part replace those of total).';

-- Brings the analytics totals up to date (35_totals.sql) and records when.
CREATE OR REPLACE FUNCTION wib.analytics_refresh() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    scope uuid;
BEGIN
    FOR scope IN SELECT s FROM wib.org_scopes() s LOOP
        PERFORM wib.analytics_totals_refresh(false, scope);
    END LOOP;
    INSERT INTO wib.analytics_refreshes AS r (name, refreshed_at) VALUES ('views', now())
    ON CONFLICT (name) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at;
END
$$;
COMMENT ON FUNCTION wib.analytics_refresh() IS 'Internal: brings the analytics totals up to date and records when.';

-- Upserts the snapshots of granularity gran for [first_day, last_day] for every
-- organization whose plan includes snapshots (or for only_org, if its plan
-- does); an unchanged snapshot is left alone.
CREATE OR REPLACE FUNCTION wib.analytics_snapshot(gran text, first_day date, last_day date, only_org uuid DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
    SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    -- A value, not now(): Citus accepts only IMMUTABLE functions in the
    -- DO UPDATE SET clause of an INSERT into a distributed table.
    computed timestamptz := now();
    written  bigint;
BEGIN
    -- only_org's plan is checked here, on the coordinator of a cluster, so
    -- that the statement below reads no other table than its own.
    IF only_org IS NOT NULL AND NOT wib.org_has_feature(only_org, 'analytics_snapshots') THEN
        RETURN 0;
    END IF;
    WITH upserted AS (
        INSERT INTO wib.analytics_snapshots AS s
               (organization_id, granularity, snapshot_date, period_end, total_calls, completed_calls,
                total_duration_seconds, avg_duration_seconds, calls_with_sentiment, avg_sentiment,
                positive_calls, negative_calls, neutral_calls, calls_with_outcome, successful_calls, success_rate)
        SELECT o.id, gran, first_day, last_day,
               coalesce(sum(d.total_calls), 0), coalesce(sum(d.completed_calls), 0),
               coalesce(sum(d.total_duration_seconds), 0),
               round(sum(d.total_duration_seconds)::numeric / nullif(sum(d.calls_with_duration), 0), 2),
               coalesce(sum(d.calls_with_sentiment), 0),
               round(sum(d.sentiment_sum) / nullif(sum(d.calls_with_sentiment), 0), 4),
               coalesce(sum(d.positive_calls), 0), coalesce(sum(d.negative_calls), 0),
               coalesce(sum(d.neutral_calls), 0), coalesce(sum(d.calls_with_outcome), 0),
               coalesce(sum(d.successful_calls), 0),
               round(sum(d.successful_calls)::numeric / nullif(sum(d.calls_with_outcome), 0), 4)
          FROM wib.organizations o
          LEFT JOIN wib.mv_call_sentiment_daily d
                 ON d.organization_id = o.id AND d.day BETWEEN first_day AND last_day
                AND (only_org IS NULL OR d.organization_id = only_org)
         WHERE (only_org IS NOT NULL OR wib.org_has_feature(o.id, 'analytics_snapshots'))
           AND (only_org IS NULL OR o.id = only_org)
         GROUP BY o.id
        ON CONFLICT (organization_id, granularity, snapshot_date) DO UPDATE
           SET period_end = EXCLUDED.period_end, total_calls = EXCLUDED.total_calls,
               completed_calls = EXCLUDED.completed_calls, total_duration_seconds = EXCLUDED.total_duration_seconds,
               avg_duration_seconds = EXCLUDED.avg_duration_seconds, calls_with_sentiment = EXCLUDED.calls_with_sentiment,
               avg_sentiment = EXCLUDED.avg_sentiment, positive_calls = EXCLUDED.positive_calls,
               negative_calls = EXCLUDED.negative_calls, neutral_calls = EXCLUDED.neutral_calls,
               calls_with_outcome = EXCLUDED.calls_with_outcome, successful_calls = EXCLUDED.successful_calls,
               success_rate = EXCLUDED.success_rate, computed_at = computed
         WHERE (s.period_end, s.total_calls, s.completed_calls, s.total_duration_seconds, s.avg_duration_seconds,
                s.calls_with_sentiment, s.avg_sentiment, s.positive_calls, s.negative_calls, s.neutral_calls,
                s.calls_with_outcome, s.successful_calls, s.success_rate)
               IS DISTINCT FROM
               (EXCLUDED.period_end, EXCLUDED.total_calls, EXCLUDED.completed_calls, EXCLUDED.total_duration_seconds,
                EXCLUDED.avg_duration_seconds, EXCLUDED.calls_with_sentiment, EXCLUDED.avg_sentiment,
                EXCLUDED.positive_calls, EXCLUDED.negative_calls, EXCLUDED.neutral_calls,
                EXCLUDED.calls_with_outcome, EXCLUDED.successful_calls, EXCLUDED.success_rate)
        RETURNING 1)
    SELECT count(*) INTO written FROM upserted;
    RETURN written;
END
$$;
COMMENT ON FUNCTION wib.analytics_snapshot(text, date, date, uuid) IS
    'Internal: upserts the snapshots of one period for every organization whose plan includes snapshots, or for only_org; returns the rows written.';

-- Anomalies and the sentiment trend of one day for every organization whose
-- plan includes advanced analytics (or for only_org, if its plan does); emits
-- anomaly.detected for new anomalies.  Returns what it wrote.
CREATE OR REPLACE FUNCTION wib.analytics_detect(day date, only_org uuid DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
    SET plan_cache_mode = force_custom_plan
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    win       integer := wib.analytics_setting('wib.anomaly_window', '30')::integer;
    threshold float8  := wib.analytics_setting('wib.anomaly_threshold', '3')::float8;
    min_hist  integer := least(wib.analytics_setting('wib.anomaly_min_history', '7')::integer, win);
    min_change float8 := wib.analytics_setting('wib.anomaly_min_change', '0.1')::float8;
    ttl       integer := wib.analytics_setting('wib.prediction_ttl', '90')::integer;
    expires   timestamptz := ((day + ttl)::timestamp AT TIME ZONE 'UTC');
    fresh     jsonb;
    written   bigint;
    removed   bigint;
    emitted   integer := 0;
    ev        jsonb;
BEGIN
    -- As in wib.analytics_snapshot: only_org's plan is checked on its own.
    IF only_org IS NOT NULL AND NOT wib.org_has_feature(only_org, 'advanced_analytics') THEN
        RETURN jsonb_build_object('predictions_written', 0, 'predictions_removed', 0, 'new_anomalies', 0, 'events', 0);
    END IF;
    WITH orgs AS (
        SELECT o.id AS org, f.first_day
          FROM wib.organizations o
          CROSS JOIN LATERAL (SELECT min(m.day) AS first_day FROM wib.mv_call_sentiment_daily m
                               WHERE m.organization_id = o.id AND (only_org IS NULL OR m.organization_id = only_org)) f
         WHERE (only_org IS NOT NULL OR wib.org_has_feature(o.id, 'advanced_analytics'))
           AND (only_org IS NULL OR o.id = only_org)
           AND f.first_day <= day
    ), series AS (
        -- Gap-filled: every day from the organization's first day with calls
        -- (at most win days back) to the day itself, from an index range of
        -- the organization's totals, so the cost follows the window, not the
        -- history kept.
        SELECT o.org, w.*
          FROM orgs o
          CROSS JOIN LATERAL (
              SELECT count(*)::integer AS len,
                     array_agg(coalesce(m.total_calls, 0)::float8 ORDER BY g.d) AS call_volume,
                     array_agg(m.total_duration_seconds::float8 / nullif(m.calls_with_duration, 0) ORDER BY g.d) AS avg_duration,
                     array_agg(m.sentiment_sum::float8 / nullif(m.calls_with_sentiment, 0) ORDER BY g.d) AS avg_sentiment,
                     array_agg(m.positive_calls::float8 / nullif(m.calls_with_sentiment, 0) ORDER BY g.d) AS positive_share
                FROM generate_series(greatest(o.first_day, analytics_detect.day - win), analytics_detect.day,
                                     interval '1 day') g(d)
                LEFT JOIN wib.mv_call_sentiment_daily m
                       ON m.organization_id = o.org AND m.day = g.d::date
                      AND (only_org IS NULL OR m.organization_id = only_org)
                      AND m.day BETWEEN greatest(o.first_day, analytics_detect.day - win) AND analytics_detect.day) w
    ), metrics AS (
        SELECT s.org, s.len, v.metric, v.ptype, v.vals
          FROM series s
          CROSS JOIN LATERAL (VALUES ('call_volume', 'volume_anomaly', s.call_volume),
                                     ('avg_duration', 'volume_anomaly', s.avg_duration),
                                     ('avg_sentiment', 'sentiment_trend', s.avg_sentiment),
                                     ('positive_share', 'sentiment_trend', s.positive_share)) v(metric, ptype, vals)
    ), anomalies AS (
        SELECT m.org, m.ptype, m.metric AS subject, z.z AS score,
               round(least(0.999, greatest(0, 1 - 1 / (z.z * z.z)))::numeric, 3) AS confidence,
               wib.anomaly_explanation(m.metric, day, z.value, z.mean, m.len - 1, z.z) AS explanation,
               jsonb_build_object('kind', 'anomaly', 'metric', m.metric, 'value', z.value,
                                  'baseline_mean', z.mean, 'baseline_stddev', z.stddev,
                                  'baseline_days', m.len - 1, 'window', win, 'threshold', threshold,
                                  'min_history', min_hist, 'min_change', min_change) AS features,
               'wib-zscore-1' AS model_version
          FROM metrics m
          CROSS JOIN LATERAL wib.zscore_series(m.vals, win, threshold, min_hist) z
         WHERE z.idx = m.len AND z.is_anomaly
           -- A practical floor besides the z threshold: a relative change for
           -- volume and duration, an absolute one for sentiment and share.
           AND abs(z.value - z.mean) >= min_change * CASE WHEN m.metric IN ('call_volume', 'avg_duration')
                                                          THEN abs(z.mean) ELSE 1 END
    ), trends AS (
        SELECT s.org, 'sentiment_trend' AS ptype, 'avg_sentiment_trend' AS subject, t.slope AS score,
               round(least(1, greatest(0, t.r2))::numeric, 3) AS confidence,
               format('Average sentiment %s over the %s days to %s (r² = %s)',
                      CASE WHEN abs(t.slope) < 0.0005 THEN 'held steady'
                           WHEN t.slope > 0 THEN format('rose by %s a day', round(t.slope::numeric, 3))
                           ELSE format('fell by %s a day', round(abs(t.slope)::numeric, 3)) END,
                      s.len, to_char(day, 'Dy YYYY-MM-DD'), round(t.r2::numeric, 2)) AS explanation,
               jsonb_build_object('kind', 'trend', 'metric', 'avg_sentiment', 'slope', t.slope,
                                  'intercept', t.intercept, 'r2', t.r2, 'points', t.n, 'days', s.len) AS features,
               'wib-trend-1' AS model_version
          FROM series s
          CROSS JOIN LATERAL wib.linear_trend(s.avg_sentiment) t
         WHERE t.n >= min_hist AND t.slope IS NOT NULL
    ), wanted AS (
        SELECT * FROM anomalies UNION ALL SELECT * FROM trends
    ), upserted AS (
        INSERT INTO wib.ml_predictions AS p
               (organization_id, prediction_type, subject, target_date, score, confidence, explanation,
                features, model_version, expires_at)
        SELECT w.org, w.ptype, w.subject, day, w.score, w.confidence, w.explanation, w.features,
               w.model_version, expires
          FROM wanted w
        ON CONFLICT (organization_id, prediction_type, subject, target_date) DO UPDATE
           SET score = EXCLUDED.score, confidence = EXCLUDED.confidence, explanation = EXCLUDED.explanation,
               features = EXCLUDED.features, model_version = EXCLUDED.model_version, expires_at = EXCLUDED.expires_at
         WHERE (p.score, p.confidence, p.explanation, p.features, p.model_version, p.expires_at)
               IS DISTINCT FROM
               (EXCLUDED.score, EXCLUDED.confidence, EXCLUDED.explanation, EXCLUDED.features,
                EXCLUDED.model_version, EXCLUDED.expires_at)
        RETURNING p.id, p.organization_id, p.subject, p.score, p.explanation, p.features, (p.xmax = 0) AS inserted
    ), removed_rows AS (
        DELETE FROM wib.ml_predictions p
         WHERE p.target_date = day AND p.model_version IN ('wib-zscore-1', 'wib-trend-1')
           AND (only_org IS NULL OR p.organization_id = only_org)
           AND NOT EXISTS (SELECT 1 FROM wanted w
                            WHERE w.org = p.organization_id AND w.ptype = p.prediction_type AND w.subject = p.subject)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM removed_rows),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('organization_id', u.organization_id, 'prediction_id', u.id,
                                                         'day', day, 'metric', u.subject, 'z', u.score,
                                                         'value', u.features -> 'value',
                                                         'baseline_mean', u.features -> 'baseline_mean',
                                                         'explanation', u.explanation)), '[]')
              FROM upserted u WHERE u.inserted AND u.features ->> 'kind' = 'anomaly')
      INTO written, removed, fresh;

    -- anomaly.detected for each new anomaly.  An event that cannot be queued
    -- is logged and skipped: the anomaly itself is recorded, and the other
    -- organizations still get theirs.
    FOR ev IN SELECT e FROM jsonb_array_elements(fresh) e LOOP
        BEGIN
            PERFORM wib.act_as((ev ->> 'organization_id')::uuid);
            PERFORM wib.emit_event('anomaly.detected', ev);
            emitted := emitted + 1;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'anomaly.detected for organization % not queued: %', ev ->> 'organization_id', SQLERRM;
        END;
    END LOOP;
    RETURN jsonb_build_object('predictions_written', written, 'predictions_removed', removed,
                              'new_anomalies', jsonb_array_length(fresh), 'events', emitted);
END
$$;
COMMENT ON FUNCTION wib.analytics_detect(date, uuid) IS
    'Internal: z-score anomalies (call volume, average duration, average sentiment, positive share) and the sentiment trend of day for every organization on advanced_analytics (or only_org), upserted into wib.ml_predictions; emits anomaly.detected for new anomalies.';

-- Snapshots and predictions of one day (the totals must be up to date), in
-- each of wib.org_scopes(): once for all organizations on a single node, once
-- per organization on a Citus cluster, where the steps' statements (joins
-- through CTEs) run only when routed to one shard.
CREATE OR REPLACE FUNCTION wib.analytics_process_day(day date) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    week_start  date := date_trunc('week', day::timestamp)::date;
    month_start date := date_trunc('month', day::timestamp)::date;
    snaps       bigint := 0;
    found       jsonb := '{}';
    scope       uuid;
BEGIN
    FOR scope IN SELECT s FROM wib.org_scopes() s LOOP
        snaps := snaps + wib.analytics_snapshot('daily', day, day, scope);
        IF extract(isodow FROM day) = 7 THEN
            snaps := snaps + wib.analytics_snapshot('weekly', week_start, day, scope);
        END IF;
        IF extract(day FROM day + 1) = 1 THEN
            snaps := snaps + wib.analytics_snapshot('monthly', month_start, day, scope);
        END IF;
        found := wib.jsonb_add_counts(found, wib.analytics_detect(day, scope) || wib.analytics_detect_ivr(day, scope));
    END LOOP;
    RETURN jsonb_build_object('day', day, 'snapshots_written', snaps) || found;
END
$$;
COMMENT ON FUNCTION wib.analytics_process_day(date) IS
    'Internal: the daily snapshot (and the weekly or monthly one the day closes) and the predictions of day (wib.analytics_detect, and the inbound numbers'' spikes, wib.analytics_detect_ivr).';

-- Refuses a missing or future day.
CREATE OR REPLACE FUNCTION wib.analytics_check_day(day date, field text) RETURNS void
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF day IS NULL OR day IN ('infinity', '-infinity') THEN
        PERFORM wib.invalid_field(field, format('%s must be a date.', field));
    END IF;
    IF day > (now() AT TIME ZONE 'UTC')::date THEN
        PERFORM wib.invalid_field(field, format('%s (%s) must not be after today (UTC).', field, day));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.analytics_check_day(date, text) IS 'Internal: raises 22023 naming field unless day is a date up to today (UTC).';

-- Only one nightly run at a time (a second one would only repeat the work).
CREATE OR REPLACE FUNCTION wib.analytics_lock() RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('wib.run_nightly')) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB401',
            MESSAGE = 'a nightly analytics run is already in progress',
            DETAIL = 'wib.run_nightly() and wib.run_nightly_range() take one lock; another session holds it.',
            HINT = 'Wait for the other run to finish; running the same day again gives the same rows.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.analytics_lock() IS 'Internal: takes the nightly run''s lock or raises WB401.';

-- Moves the analytics_nightly job to the time of day in wib.nightly_at.
CREATE OR REPLACE FUNCTION wib.analytics_reschedule() RETURNS timestamptz
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    at   time := wib.analytics_setting('wib.nightly_at', '02:00')::time;
    next_run timestamptz;
BEGIN
    UPDATE wib.scheduled_jobs j
       SET run_at = at, next_run_at = wib.job_next_run(j.run_every, at, now())
     WHERE j.name = 'analytics_nightly' AND j.run_at IS DISTINCT FROM at;
    SELECT j.next_run_at INTO next_run FROM wib.scheduled_jobs j WHERE j.name = 'analytics_nightly';
    RETURN next_run;
END
$$;
COMMENT ON FUNCTION wib.analytics_reschedule() IS
    'Applies wib.nightly_at to the analytics_nightly job now (the job also applies it after each run); returns the next run. With pg_cron, run wib.cron_schedule() again afterwards.';

CREATE OR REPLACE FUNCTION wib.run_nightly(day date DEFAULT ((now() AT TIME ZONE 'UTC')::date - 1)) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    started timestamptz := clock_timestamp();
    result  jsonb;
BEGIN
    PERFORM wib.analytics_check_day(day, 'day');
    PERFORM wib.analytics_lock();
    PERFORM wib.analytics_refresh();
    result := wib.analytics_process_day(day) || wib.ml_nightly(day);
    UPDATE wib.analytics_refreshes
       SET last_day = greatest(last_day, day),
           duration_ms = extract(epoch FROM clock_timestamp() - started) * 1000
     WHERE name = 'views';
    PERFORM wib.analytics_reschedule();
    RETURN result || jsonb_build_object('duration_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
END
$$;
COMMENT ON FUNCTION wib.run_nightly(date) IS
    'The nightly analytics job for day (default yesterday, UTC): brings the analytics totals up to date with what changed since the last run, upserts the daily snapshot (and the weekly or monthly one the day closes), finds z-score anomalies and the sentiment trend and writes them to wib.ml_predictions, and retrains the contact models of enterprise organizations whose data changed. Idempotent: running a day again gives the same rows. Run by the scheduler at wib.nightly_at, or by pg_cron.';

CREATE OR REPLACE FUNCTION wib.run_nightly_range(from_date date, to_date date) RETURNS SETOF jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    d date;
BEGIN
    PERFORM wib.analytics_check_day(from_date, 'from_date');
    PERFORM wib.analytics_check_day(to_date, 'to_date');
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    PERFORM wib.analytics_lock();
    PERFORM wib.analytics_refresh();
    FOR d IN SELECT g::date FROM generate_series(from_date, to_date, interval '1 day') g LOOP
        RETURN NEXT wib.analytics_process_day(d);
    END LOOP;
    UPDATE wib.analytics_refreshes SET last_day = greatest(last_day, to_date) WHERE name = 'views';
END
$$;
COMMENT ON FUNCTION wib.run_nightly_range(date, date) IS
    'Back-fills the nightly job for every day from from_date to to_date (totals brought up to date once); one summary per day.';

-- The event the nightly job emits, in the webhooks catalogue so that subscriptions can ask for it.
INSERT INTO wib.event_types (event_type, description, example) VALUES
    ('anomaly.detected', 'The nightly analytics job found an unusual day for the organization (a z-score anomaly of call volume, duration, sentiment or positive share).',
     '{"organization_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10", "prediction_id": "3e2f1a0b-9c8d-4e7f-a6b5-c4d3e2f1a0b9", "day": "2026-11-17", "metric": "call_volume", "z": -3.2, "value": 59, "baseline_mean": 100.4, "explanation": "Call volume dropped 41% on Tue 2026-11-17 vs the 30-day baseline (z = −3.2)"}')
ON CONFLICT (event_type) DO UPDATE SET description = EXCLUDED.description, example = EXCLUDED.example;

INSERT INTO wib.scheduled_jobs (name, command, run_every, run_at, description, next_run_at)
SELECT 'analytics_nightly', 'SELECT wib.run_nightly()', interval '1 day', at,
       'Refreshes the analytics views, writes yesterday''s snapshots and finds anomalies (daily at wib.nightly_at, UTC).',
       wib.job_next_run(interval '1 day', at, now())
  FROM (SELECT wib.analytics_setting('wib.nightly_at', '02:00')::time AS at) s
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('ml_predictions_expired',
     $q$WITH gone AS (DELETE FROM wib.ml_predictions WHERE expires_at < now() RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Predictions past their expires_at (wib.prediction_ttl days after the day they are about).'),
    ('analytics_snapshots',
     $q$WITH gone AS (DELETE FROM wib.analytics_snapshots
                       WHERE period_end < (now() AT TIME ZONE 'UTC')::date
                                          - wib.analytics_setting('wib.snapshot_retention', '1095')::integer
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Snapshots whose period ended more than wib.snapshot_retention days ago.')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;
