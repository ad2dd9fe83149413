-- A step of the nightly job: call spikes per inbound number (toll fraud), the
-- daily series of each number against its own baseline.  The minute-by-minute
-- check of the same numbers runs on the inbound path (ivr.call_spike).

-- Spikes of one day, for every number of every organization whose plan has
-- inbound IVR (or of only_org, every table restricted to it: see
-- wib.org_scopes()): the day's calls to the number against the wib.anomaly_window
-- days before it, upserted into wib.ml_predictions (volume_anomaly, subject
-- inbound_calls:<number>); anomaly.detected for new ones.  Only rises are
-- reported, and only for numbers with wib.anomaly_min_history days of
-- history (days without calls count as zero).  Counts are noisy even when the past was flat, so the spread of
-- the baseline is taken as at least the square root of its mean (at least 1),
-- as for counts of independent arrivals: a number that never rings is not
-- reported for two calls, but is for a few dozen (wib.ivr_spike_min_calls).
CREATE OR REPLACE FUNCTION wib.analytics_detect_ivr(day date, only_org uuid DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
    SET plan_cache_mode = force_custom_plan
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    win        integer := wib.analytics_setting('wib.anomaly_window', '30')::integer;
    threshold  float8  := wib.analytics_setting('wib.anomaly_threshold', '3')::float8;
    min_hist   integer := least(wib.analytics_setting('wib.anomaly_min_history', '7')::integer, win);
    min_change float8  := wib.analytics_setting('wib.anomaly_min_change', '0.1')::float8;
    min_calls  integer := wib.analytics_setting('wib.ivr_spike_min_calls', '20')::integer;
    ttl        integer := wib.analytics_setting('wib.prediction_ttl', '90')::integer;
    expires    timestamptz := ((day + ttl)::timestamp AT TIME ZONE 'UTC');
    lo         timestamptz := ((day - win)::timestamp AT TIME ZONE 'UTC');
    hi         timestamptz := ((day + 1)::timestamp AT TIME ZONE 'UTC');
    fresh      jsonb;
    written    bigint;
    removed    bigint;
    emitted    integer := 0;
    ev         jsonb;
BEGIN
    WITH counts AS (
        SELECT l.organization_id AS org, l.number_id, (l.started_at AT TIME ZONE 'UTC')::date AS d, count(*) AS calls
          FROM wib.inbound_call_log l
         WHERE l.started_at >= lo AND l.started_at < hi
           AND (only_org IS NULL OR l.organization_id = only_org)
         GROUP BY 1, 2, 3
    ), nums AS (
        -- The numbers called on the day (only they can spike), each judged
        -- from the day it was provisioned or the window's first day.
        SELECT c.org, c.number_id, n.phone_number,
               greatest((n.created_at AT TIME ZONE 'UTC')::date, day - win) AS first_day
          FROM counts c
          JOIN wib.inbound_numbers n ON n.organization_id = c.org AND n.id = c.number_id
          JOIN wib.organizations o ON o.id = c.org
         WHERE c.d = day
           AND (only_org IS NULL OR (n.organization_id = only_org AND o.id = only_org))
           AND wib.plan_rank(o.plan) >= (SELECT wib.plan_rank(fp.min_plan) FROM wib.feature_plans fp
                                          WHERE fp.feature = 'inbound_ivr')
    ), series AS (
        SELECT s.org, s.number_id, s.phone_number, count(*)::integer AS len,
               array_agg(coalesce(c.calls, 0)::float8 ORDER BY g) AS vals
          FROM nums s
          CROSS JOIN LATERAL generate_series(s.first_day, day, interval '1 day') g
          LEFT JOIN counts c ON c.org = s.org AND c.number_id = s.number_id AND c.d = g::date
         GROUP BY 1, 2, 3
    ), scored AS (
        SELECT s.*, z.value, z.mean, z.stddev,
               (z.value - z.mean) / greatest(coalesce(z.stddev, 0), sqrt(greatest(z.mean, 1))) AS score
          FROM series s
          CROSS JOIN LATERAL wib.zscore_series(s.vals, win, threshold, min_hist) z
         WHERE z.idx = s.len AND z.mean IS NOT NULL AND s.len - 1 >= min_hist
    ), wanted AS (
        SELECT sc.org, 'volume_anomaly' AS ptype, 'inbound_calls:' || sc.phone_number AS subject, sc.score,
               round(least(0.999, greatest(0, 1 - 1 / (sc.score * sc.score)))::numeric, 3) AS confidence,
               format('Calls to %s rose to %s on %s from a %s-day baseline of %s a day (z = %s): possible toll fraud',
                      sc.phone_number, sc.value::bigint, to_char(day, 'Dy YYYY-MM-DD'), sc.len - 1,
                      round(sc.mean::numeric, 1), round(sc.score::numeric, 1)) AS explanation,
               jsonb_build_object('kind', 'anomaly', 'metric', 'inbound_calls', 'number_id', sc.number_id,
                                  'phone_number', sc.phone_number, 'value', sc.value, 'baseline_mean', sc.mean,
                                  'baseline_stddev', sc.stddev, 'baseline_days', sc.len - 1, 'window', win,
                                  'threshold', threshold, 'min_history', min_hist, 'min_change', min_change,
                                  'min_calls', min_calls) AS features
          FROM scored sc
         WHERE sc.score >= threshold
           AND sc.value >= min_calls
           AND sc.value - sc.mean >= min_change * abs(sc.mean)
    ), upserted AS (
        INSERT INTO wib.ml_predictions AS p
               (organization_id, prediction_type, subject, target_date, score, confidence, explanation,
                features, model_version, expires_at)
        SELECT w.org, w.ptype, w.subject, day, w.score, w.confidence, w.explanation, w.features,
               'wib-zscore-ivr-1', expires
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
         WHERE p.target_date = day AND p.model_version = 'wib-zscore-ivr-1'
           AND (only_org IS NULL OR p.organization_id = only_org)
           AND NOT EXISTS (SELECT 1 FROM wanted w
                            WHERE w.org = p.organization_id AND w.ptype = p.prediction_type AND w.subject = p.subject)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM removed_rows),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('organization_id', u.organization_id, 'prediction_id', u.id,
                                                         'day', day, 'metric', 'inbound_calls',
                                                         'number_id', u.features -> 'number_id',
                                                         'phone_number', u.features -> 'phone_number', 'z', u.score,
                                                         'value', u.features -> 'value',
                                                         'baseline_mean', u.features -> 'baseline_mean',
                                                         'explanation', u.explanation)), '[]')
              FROM upserted u WHERE u.inserted)
      INTO written, removed, fresh;

    -- anomaly.detected for each new spike; one that cannot be queued is
    -- logged and skipped (the prediction itself is recorded).
    FOR ev IN SELECT e FROM jsonb_array_elements(fresh) e LOOP
        BEGIN
            PERFORM wib.act_as((ev ->> 'organization_id')::uuid);
            PERFORM wib.emit_event('anomaly.detected', ev);
            emitted := emitted + 1;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'anomaly.detected for organization % not queued: %', ev ->> 'organization_id', SQLERRM;
        END;
    END LOOP;
    RETURN jsonb_build_object('ivr_spikes_written', written, 'ivr_spikes_removed', removed,
                              'new_ivr_spikes', jsonb_array_length(fresh), 'ivr_spike_events', emitted);
END
$$;
COMMENT ON FUNCTION wib.analytics_detect_ivr(date, uuid) IS
    'Internal: the nightly per-number spike check of day (toll fraud), of every organization or of only_org: each inbound number''s daily calls against its own wib.anomaly_window-day baseline, rises only, at least wib.ivr_spike_min_calls calls; upserted into wib.ml_predictions (volume_anomaly, subject inbound_calls:<number>), anomaly.detected for new ones.';
