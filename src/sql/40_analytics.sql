-- Advanced analytics: sentiment scores, precomputed views, nightly snapshots,
-- z-score anomalies and trend predictions.  The kernels are C (src/analytics/);
-- dashboards read only precomputed data through the plan-gated API below.

-- ---------------------------------------------------------------- kernels

CREATE FUNCTION wib.zscore_series(vals float8[], window_size integer DEFAULT 30,
                                  threshold float8 DEFAULT 2.0, min_history integer DEFAULT 2)
    RETURNS TABLE (idx integer, value float8, mean float8, stddev float8, z float8, is_anomaly boolean)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_zscore_series';
COMMENT ON FUNCTION wib.zscore_series(float8[], integer, float8, integer) IS
    'Z-score of each point of vals (idx = 1-based position) against the window_size points before it (sample stddev), in one O(n) pass; equals (v - avg(v) OVER w) / stddev_samp(v) OVER w with w = ROWS BETWEEN window_size PRECEDING AND 1 PRECEDING. z is NULL with fewer than min_history points in the window, zero spread, or a missing point (NULL or NaN, left out of every window). is_anomaly: abs(z) >= threshold.';

CREATE FUNCTION wib.linear_trend(vals float8[], OUT slope float8, OUT intercept float8, OUT r2 float8, OUT n integer)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_linear_trend';
COMMENT ON FUNCTION wib.linear_trend(float8[]) IS
    'Least-squares line through vals with x = 1-based position (as regr_slope, regr_intercept, regr_r2): slope, intercept, r2 and the number of points used. NULL and NaN points are skipped; slope, intercept and r2 are NULL with fewer than two points.';

GRANT EXECUTE ON FUNCTION wib.zscore_series(float8[], integer, float8, integer), wib.linear_trend(float8[])
    TO wib_app, wib_admin;

CREATE FUNCTION wib.analytics_deadline(timeout_ms integer) RETURNS void
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_analytics_deadline';
COMMENT ON FUNCTION wib.analytics_deadline(integer) IS
    'Internal: cancels the current statement (statement timeout) if it still runs timeout_ms from now; an earlier deadline is kept.';

-- Snapshots are Pro in the platform design, the rest of analytics Business
-- (feature advanced_analytics).  Snapshots have no row in wib.feature_plans
-- (the platform's list of gated features); they are gated on the plan itself.
CREATE FUNCTION wib.analytics_snapshots_plan() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 'pro';
COMMENT ON FUNCTION wib.analytics_snapshots_plan() IS 'Internal: the lowest plan with analytics snapshots.';

CREATE FUNCTION wib.analytics_require_snapshots() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF wib.plan_rank(wib.current_plan()) < wib.plan_rank(wib.analytics_snapshots_plan()) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB001',
            MESSAGE = format('feature "analytics_snapshots" requires plan "%s" or higher; the organization is on plan "%s"',
                             wib.analytics_snapshots_plan(), wib.current_plan()),
            HINT = 'Upgrade the organization''s plan to use this feature.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.analytics_require_snapshots() IS
    'Internal: raises WB001 unless the organization in context is on the pro plan or higher (analytics snapshots).';

-- ---------------------------------------------------------------- tables

CREATE TABLE wib.sentiment_scores (
    organization_id uuid         NOT NULL,
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    call_id         uuid         NOT NULL,
    ai_summary_id   uuid,
    call_started_at timestamptz  NOT NULL,
    agent_id        text,
    sentiment_score numeric(4,3) NOT NULL,
    sentiment_label text         NOT NULL,
    positive_pct    numeric(5,2),
    negative_pct    numeric(5,2),
    neutral_pct     numeric(5,2),
    model_version   text,
    analyzed_at     timestamptz  NOT NULL DEFAULT now(),
    created_at      timestamptz  NOT NULL DEFAULT now(),
    updated_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT sentiment_scores_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT sentiment_scores_call_key UNIQUE (organization_id, call_id),
    CONSTRAINT sentiment_scores_call_fkey FOREIGN KEY (organization_id, call_id)
        REFERENCES wib.calls (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT sentiment_scores_summary_fkey FOREIGN KEY (organization_id, ai_summary_id)
        REFERENCES wib.ai_summaries (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT sentiment_scores_score_check CHECK (sentiment_score BETWEEN -1 AND 1),
    CONSTRAINT sentiment_scores_label_check CHECK (sentiment_label IN ('positive', 'negative', 'neutral', 'mixed')),
    CONSTRAINT sentiment_scores_pct_check CHECK (positive_pct BETWEEN 0 AND 100
                                                 AND negative_pct BETWEEN 0 AND 100
                                                 AND neutral_pct BETWEEN 0 AND 100)
);
CREATE INDEX sentiment_scores_summary_idx ON wib.sentiment_scores (organization_id, ai_summary_id);
COMMENT ON TABLE wib.sentiment_scores IS
    'Sentiment of each analysed call (one row per call), kept in step with wib.ai_summaries by a trigger; wib.sentiment_backfill() fills it for older summaries. call_started_at and agent_id copy the call''s (kept in step by a trigger on wib.calls) so the nightly views need not join every call.';
SELECT wib.make_tenant_table('wib.sentiment_scores');
CREATE TRIGGER sentiment_scores_touch BEFORE UPDATE ON wib.sentiment_scores
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.analytics_snapshots (
    organization_id        uuid         NOT NULL,
    id                     uuid         NOT NULL DEFAULT gen_random_uuid(),
    granularity            text         NOT NULL,
    snapshot_date          date         NOT NULL,
    period_end             date         NOT NULL,
    total_calls            integer      NOT NULL,
    completed_calls        integer      NOT NULL,
    total_duration_seconds bigint       NOT NULL,
    avg_duration_seconds   numeric(10,2),
    calls_with_sentiment   integer      NOT NULL,
    avg_sentiment          numeric(5,4),
    positive_calls         integer      NOT NULL,
    negative_calls         integer      NOT NULL,
    neutral_calls          integer      NOT NULL,
    calls_with_outcome     integer      NOT NULL,
    successful_calls       integer      NOT NULL,
    success_rate           numeric(5,4),
    computed_at            timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT analytics_snapshots_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT analytics_snapshots_period_key UNIQUE (organization_id, granularity, snapshot_date),
    CONSTRAINT analytics_snapshots_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT analytics_snapshots_granularity_check CHECK (granularity IN ('daily', 'weekly', 'monthly')),
    CONSTRAINT analytics_snapshots_period_check CHECK (
        CASE granularity
            WHEN 'daily' THEN period_end = snapshot_date
            WHEN 'weekly' THEN extract(isodow FROM snapshot_date) = 1 AND period_end = snapshot_date + 6
            ELSE extract(day FROM snapshot_date) = 1
                 AND period_end = (snapshot_date + interval '1 month' - interval '1 day')::date
        END),
    CONSTRAINT analytics_snapshots_counts_check CHECK (
        total_calls >= 0 AND completed_calls >= 0 AND total_duration_seconds >= 0
        AND calls_with_sentiment >= 0 AND positive_calls >= 0 AND negative_calls >= 0 AND neutral_calls >= 0
        AND calls_with_outcome >= 0 AND successful_calls >= 0),
    CONSTRAINT analytics_snapshots_sentiment_check CHECK (avg_sentiment BETWEEN -1 AND 1),
    CONSTRAINT analytics_snapshots_rate_check CHECK (success_rate BETWEEN 0 AND 1)
);
COMMENT ON TABLE wib.analytics_snapshots IS
    'Per-organization call metrics for a day, a week (Monday to Sunday) or a month, written by wib.run_nightly(); one row per organization, granularity and start date.';
SELECT wib.make_tenant_table('wib.analytics_snapshots');

CREATE TABLE wib.ml_predictions (
    organization_id uuid             NOT NULL,
    id              uuid             NOT NULL DEFAULT gen_random_uuid(),
    prediction_type text             NOT NULL,
    subject         text             NOT NULL,
    target_date     date             NOT NULL,
    score           double precision NOT NULL,
    confidence      numeric(4,3)     NOT NULL,
    explanation     text             NOT NULL,
    features        jsonb            NOT NULL DEFAULT '{}',
    model_version   text             NOT NULL,
    expires_at      timestamptz      NOT NULL,
    created_at      timestamptz      NOT NULL DEFAULT now(),
    updated_at      timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT ml_predictions_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT ml_predictions_subject_key UNIQUE (organization_id, prediction_type, subject, target_date),
    CONSTRAINT ml_predictions_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT ml_predictions_type_check CHECK (prediction_type IN ('churn_risk', 'deal_probability',
                                                                   'sentiment_trend', 'volume_anomaly')),
    CONSTRAINT ml_predictions_probability_check CHECK (prediction_type NOT IN ('churn_risk', 'deal_probability')
                                                       OR score BETWEEN 0 AND 1),
    CONSTRAINT ml_predictions_score_check CHECK (score = score AND score NOT IN ('Infinity', '-Infinity')),
    CONSTRAINT ml_predictions_confidence_check CHECK (confidence BETWEEN 0 AND 1),
    CONSTRAINT ml_predictions_subject_check CHECK (length(subject) BETWEEN 1 AND 255),
    CONSTRAINT ml_predictions_explanation_check CHECK (length(explanation) BETWEEN 1 AND 2000),
    CONSTRAINT ml_predictions_features_check CHECK (jsonb_typeof(features) = 'object')
);
CREATE INDEX ml_predictions_date_idx ON wib.ml_predictions (organization_id, target_date);
CREATE INDEX ml_predictions_expires_idx ON wib.ml_predictions (expires_at);
COMMENT ON TABLE wib.ml_predictions IS
    'Statistical predictions about an organization: volume_anomaly and sentiment_trend rows from wib.run_nightly() (z-score anomalies and the sentiment trend), churn_risk and deal_probability from other models; each expires.';
SELECT wib.make_tenant_table('wib.ml_predictions');
CREATE TRIGGER ml_predictions_touch BEFORE UPDATE ON wib.ml_predictions
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- Not a tenant table: when the nightly job last refreshed the shared views.
CREATE TABLE wib.analytics_refreshes (
    name             text        NOT NULL,
    refreshed_at     timestamptz NOT NULL,
    last_day         date,
    duration_ms      double precision,
    CONSTRAINT analytics_refreshes_pkey PRIMARY KEY (name)
);
COMMENT ON TABLE wib.analytics_refreshes IS
    'When wib.run_nightly() last refreshed the analytics views (name = ''views'') and for which day; read by wib.data_as_of().';
SELECT pg_catalog.pg_extension_config_dump('wib.analytics_refreshes', '');

-- ---------------------------------------------------------------- sentiment

-- The label of a score when the summary gave none.
CREATE FUNCTION wib.sentiment_label(label text, score numeric) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(label, CASE WHEN score >= 0.25 THEN 'positive'
                                WHEN score <= -0.25 THEN 'negative'
                                ELSE 'neutral' END);
COMMENT ON FUNCTION wib.sentiment_label(text, numeric) IS
    'The sentiment label of a call: the summary''s overall_sentiment, else positive from 0.25, negative to -0.25, neutral between.';

-- Trigger on ai_summaries: keeps the call's sentiment_scores row in step.
-- Definer rights because applications do not write sentiment_scores; it only
-- touches the row of the summary's own organization and call.
CREATE FUNCTION wib.sentiment_from_summary() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.call_id IS DISTINCT FROM NEW.call_id THEN
        DELETE FROM wib.sentiment_scores s
         WHERE s.organization_id = OLD.organization_id AND s.call_id = OLD.call_id;
    END IF;
    IF NEW.sentiment_score IS NULL THEN
        DELETE FROM wib.sentiment_scores s
         WHERE s.organization_id = NEW.organization_id AND s.call_id = NEW.call_id;
        RETURN NULL;
    END IF;
    INSERT INTO wib.sentiment_scores AS s
           (organization_id, call_id, ai_summary_id, call_started_at, agent_id, sentiment_score, sentiment_label,
            positive_pct, negative_pct, neutral_pct, model_version, analyzed_at)
    SELECT NEW.organization_id, NEW.call_id, NEW.id, c.started_at, c.agent_id, NEW.sentiment_score,
           wib.sentiment_label(NEW.overall_sentiment, NEW.sentiment_score),
           NEW.positive_pct, NEW.negative_pct, NEW.neutral_pct, NEW.model, NEW.updated_at
      FROM wib.calls c
     WHERE c.organization_id = NEW.organization_id AND c.id = NEW.call_id
    ON CONFLICT (organization_id, call_id) DO UPDATE
       SET ai_summary_id = EXCLUDED.ai_summary_id, call_started_at = EXCLUDED.call_started_at,
           agent_id = EXCLUDED.agent_id, sentiment_score = EXCLUDED.sentiment_score,
           sentiment_label = EXCLUDED.sentiment_label, positive_pct = EXCLUDED.positive_pct,
           negative_pct = EXCLUDED.negative_pct, neutral_pct = EXCLUDED.neutral_pct,
           model_version = EXCLUDED.model_version, analyzed_at = EXCLUDED.analyzed_at;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.sentiment_from_summary() IS
    'Trigger on wib.ai_summaries: writes (or removes, when the score is NULL) the call''s row of wib.sentiment_scores.';

CREATE TRIGGER ai_summaries_sentiment AFTER INSERT OR UPDATE ON wib.ai_summaries
    FOR EACH ROW EXECUTE FUNCTION wib.sentiment_from_summary();

CREATE FUNCTION wib.sentiment_backfill() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    written bigint;
    removed bigint;
BEGIN
    WITH upserted AS (
        INSERT INTO wib.sentiment_scores AS s
               (organization_id, call_id, ai_summary_id, call_started_at, agent_id, sentiment_score, sentiment_label,
                positive_pct, negative_pct, neutral_pct, model_version, analyzed_at)
        SELECT a.organization_id, a.call_id, a.id, c.started_at, c.agent_id, a.sentiment_score,
               wib.sentiment_label(a.overall_sentiment, a.sentiment_score),
               a.positive_pct, a.negative_pct, a.neutral_pct, a.model, a.updated_at
          FROM wib.ai_summaries a
          JOIN wib.calls c ON c.organization_id = a.organization_id AND c.id = a.call_id
         WHERE a.sentiment_score IS NOT NULL
        ON CONFLICT (organization_id, call_id) DO UPDATE
           SET ai_summary_id = EXCLUDED.ai_summary_id, call_started_at = EXCLUDED.call_started_at,
               agent_id = EXCLUDED.agent_id, sentiment_score = EXCLUDED.sentiment_score,
               sentiment_label = EXCLUDED.sentiment_label, positive_pct = EXCLUDED.positive_pct,
               negative_pct = EXCLUDED.negative_pct, neutral_pct = EXCLUDED.neutral_pct,
               model_version = EXCLUDED.model_version, analyzed_at = EXCLUDED.analyzed_at
         WHERE (s.ai_summary_id, s.call_started_at, s.agent_id, s.sentiment_score, s.sentiment_label,
                s.positive_pct, s.negative_pct, s.neutral_pct, s.model_version)
               IS DISTINCT FROM
               (EXCLUDED.ai_summary_id, EXCLUDED.call_started_at, EXCLUDED.agent_id, EXCLUDED.sentiment_score,
                EXCLUDED.sentiment_label, EXCLUDED.positive_pct, EXCLUDED.negative_pct, EXCLUDED.neutral_pct,
                EXCLUDED.model_version)
        RETURNING 1)
    SELECT count(*) INTO written FROM upserted;
    WITH gone AS (
        DELETE FROM wib.sentiment_scores s
         WHERE NOT EXISTS (SELECT 1 FROM wib.ai_summaries a
                            WHERE a.organization_id = s.organization_id AND a.call_id = s.call_id
                              AND a.sentiment_score IS NOT NULL)
        RETURNING 1)
    SELECT count(*) INTO removed FROM gone;
    RETURN written + removed;
END
$$;
COMMENT ON FUNCTION wib.sentiment_backfill() IS
    'Brings wib.sentiment_scores in step with every organization''s wib.ai_summaries (for summaries written before the extension, or with the trigger disabled); returns the rows written or removed. Running it twice changes nothing the second time.';

-- Trigger on calls: a call's new start time or agent reaches its sentiment row.
CREATE FUNCTION wib.sentiment_follow_call() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    UPDATE wib.sentiment_scores s
       SET call_started_at = NEW.started_at, agent_id = NEW.agent_id
     WHERE s.organization_id = NEW.organization_id AND s.call_id = NEW.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.sentiment_follow_call() IS
    'Trigger on wib.calls: copies a changed started_at or agent_id to the call''s row of wib.sentiment_scores.';

CREATE TRIGGER calls_sentiment_follow AFTER UPDATE OF started_at, agent_id ON wib.calls
    FOR EACH ROW WHEN (OLD.started_at IS DISTINCT FROM NEW.started_at OR OLD.agent_id IS DISTINCT FROM NEW.agent_id)
    EXECUTE FUNCTION wib.sentiment_follow_call();

-- ---------------------------------------------------------------- views
-- Materialized views hold every organization's rows and have no row-level
-- security: wib_app is granted nothing on them and reads them only through
-- the definer-rights functions below, which filter on wib.require_org().

-- Both views list their rows in the order of their unique key, and that key
-- leads their columns.  REFRESH ... CONCURRENTLY first checks the new rows for
-- duplicates by sorting them whole (record image order, column by column):
-- rows that already come in that order are sorted in one linear pass instead
-- of n log n comparisons of whole rows.  Only columns the API reads are kept,
-- because every column is compared twice per row by that check and the diff.
-- UTC days and weeks are taken AT TIME ZONE INTERVAL '0': the same values as
-- AT TIME ZONE 'UTC' without looking the zone up by name for every call.

CREATE MATERIALIZED VIEW wib.mv_call_sentiment_daily AS
-- Two hash aggregates joined on (organization, day): calls with their
-- outcomes, and the (fewer) scored calls; no sort of every call.
SELECT a.organization_id, a.day, a.total_calls, a.completed_calls, a.total_duration_seconds, a.calls_with_duration,
       coalesce(s.calls_with_sentiment, 0) AS calls_with_sentiment,
       s.sentiment_sum,
       coalesce(s.positive_calls, 0) AS positive_calls,
       coalesce(s.negative_calls, 0) AS negative_calls,
       coalesce(s.neutral_calls, 0) AS neutral_calls,
       s.scores_milli,
       a.calls_with_outcome, a.successful_calls
  FROM (SELECT c.organization_id, (c.started_at AT TIME ZONE INTERVAL '0')::date AS day,
               count(*)::integer AS total_calls,
               count(*) FILTER (WHERE c.status = 'completed')::integer AS completed_calls,
               coalesce(sum(c.duration_seconds), 0)::bigint AS total_duration_seconds,
               count(c.duration_seconds)::integer AS calls_with_duration,
               count(o.call_id)::integer AS calls_with_outcome,
               count(*) FILTER (WHERE o.success)::integer AS successful_calls
          FROM wib.calls c
          LEFT JOIN (SELECT co.organization_id, co.call_id, bool_or(co.is_success) AS success
                       FROM wib.call_outcomes co GROUP BY co.organization_id, co.call_id) o
                 ON o.organization_id = c.organization_id AND o.call_id = c.id
         GROUP BY c.organization_id, (c.started_at AT TIME ZONE INTERVAL '0')::date) a
  LEFT JOIN (SELECT ss.organization_id, (ss.call_started_at AT TIME ZONE INTERVAL '0')::date AS day,
                    count(*)::integer AS calls_with_sentiment,
                    sum(ss.sentiment_score) AS sentiment_sum,
                    count(*) FILTER (WHERE ss.sentiment_label = 'positive')::integer AS positive_calls,
                    count(*) FILTER (WHERE ss.sentiment_label = 'negative')::integer AS negative_calls,
                    count(*) FILTER (WHERE ss.sentiment_label IN ('neutral', 'mixed'))::integer AS neutral_calls,
                    array_agg((ss.sentiment_score * 1000)::smallint ORDER BY ss.sentiment_score) AS scores_milli
               FROM wib.sentiment_scores ss
              GROUP BY ss.organization_id, (ss.call_started_at AT TIME ZONE INTERVAL '0')::date) s
         ON s.organization_id = a.organization_id AND s.day = a.day
 ORDER BY a.organization_id, a.day;
CREATE UNIQUE INDEX mv_call_sentiment_daily_key ON wib.mv_call_sentiment_daily (organization_id, day);
COMMENT ON MATERIALIZED VIEW wib.mv_call_sentiment_daily IS
    'Calls, durations, sentiment and outcomes per organization and UTC day (scores_milli: the day''s scores times 1000 in ascending order, for exact medians of a day or of longer periods). Refreshed by wib.run_nightly(); not readable by wib_app.';

CREATE MATERIALIZED VIEW wib.mv_agent_performance_weekly AS
SELECT a.organization_id, a.agent_id, a.week, a.calls,
       coalesce(s.calls_with_sentiment, 0) AS calls_with_sentiment,
       s.sentiment_sum,
       coalesce(s.positive_calls, 0) AS positive_calls,
       a.calls_with_outcome, a.successful_calls
  FROM (SELECT c.organization_id, c.agent_id, date_trunc('week', c.started_at AT TIME ZONE INTERVAL '0')::date AS week,
               count(*)::integer AS calls,
               count(o.call_id)::integer AS calls_with_outcome,
               count(*) FILTER (WHERE o.success)::integer AS successful_calls
          FROM wib.calls c
          LEFT JOIN (SELECT co.organization_id, co.call_id, bool_or(co.is_success) AS success
                       FROM wib.call_outcomes co GROUP BY co.organization_id, co.call_id) o
                 ON o.organization_id = c.organization_id AND o.call_id = c.id
         WHERE c.agent_id IS NOT NULL
         GROUP BY c.organization_id, c.agent_id, date_trunc('week', c.started_at AT TIME ZONE INTERVAL '0')::date) a
  LEFT JOIN (SELECT ss.organization_id, ss.agent_id,
                    date_trunc('week', ss.call_started_at AT TIME ZONE INTERVAL '0')::date AS week,
                    count(*)::integer AS calls_with_sentiment,
                    sum(ss.sentiment_score) AS sentiment_sum,
                    count(*) FILTER (WHERE ss.sentiment_label = 'positive')::integer AS positive_calls
               FROM wib.sentiment_scores ss
              WHERE ss.agent_id IS NOT NULL
              GROUP BY ss.organization_id, ss.agent_id, date_trunc('week', ss.call_started_at AT TIME ZONE INTERVAL '0')::date) s
         ON s.organization_id = a.organization_id AND s.agent_id = a.agent_id AND s.week = a.week
 -- Byte order of agent_id (COLLATE "C"), as the record image comparison has it.
 ORDER BY a.organization_id, a.agent_id COLLATE "C", a.week;
CREATE UNIQUE INDEX mv_agent_performance_weekly_key ON wib.mv_agent_performance_weekly (organization_id, week, agent_id);
COMMENT ON MATERIALIZED VIEW wib.mv_agent_performance_weekly IS
    'Calls, sentiment and outcomes per organization, agent and ISO week (Monday, UTC). Refreshed by wib.run_nightly(); not readable by wib_app.';

-- ---------------------------------------------------------------- API

-- The median of a day's scores from the view's sorted scores_milli, without a
-- sort: the same float8 percentile_cont(0.5) gives (the middle score, or the
-- lower middle one plus half the gap to the upper one).
CREATE FUNCTION wib.sorted_milli_median(scores smallint[]) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN cardinality(scores) % 2 = 1 THEN scores[(cardinality(scores) + 1) / 2] / 1000.0::float8
                WHEN cardinality(scores) > 0
                THEN scores[cardinality(scores) / 2] / 1000.0::float8
                     + 0.5::float8 * (scores[cardinality(scores) / 2 + 1] / 1000.0::float8
                                      - scores[cardinality(scores) / 2] / 1000.0::float8) END;
COMMENT ON FUNCTION wib.sorted_milli_median(smallint[]) IS
    'Internal: the median (as percentile_cont(0.5) over score / 1000.0) of an ascending array of scores times 1000, as mv_call_sentiment_daily.scores_milli keeps them; NULL for NULL or empty.';

-- Refuses a missing or reversed date range, or one longer than max_days.
CREATE FUNCTION wib.analytics_check_range(from_date date, to_date date, max_days integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF from_date IS NULL OR from_date IN ('infinity', '-infinity') THEN
        PERFORM wib.invalid_field('from_date', 'from_date must be a date.');
    END IF;
    IF to_date IS NULL OR to_date IN ('infinity', '-infinity') THEN
        PERFORM wib.invalid_field('to_date', 'to_date must be a date.');
    END IF;
    IF to_date < from_date THEN
        PERFORM wib.invalid_field('to_date', format('to_date (%s) must not be before from_date (%s).', to_date, from_date));
    END IF;
    IF to_date - from_date >= max_days THEN
        PERFORM wib.invalid_field('to_date', format('The range may span at most %s days; got %s.', max_days, to_date - from_date + 1));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.analytics_check_range(date, date, integer) IS
    'Internal: raises 22023 naming from_date or to_date unless both are dates, in order, at most max_days apart.';

CREATE FUNCTION wib.sentiment_trends(from_date date, to_date date, granularity text DEFAULT 'day')
    RETURNS TABLE (period date, total_calls bigint, calls_with_sentiment bigint, avg_sentiment numeric,
                   positive_calls bigint, negative_calls bigint, neutral_calls bigint, median_sentiment float8)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
DECLARE
    org  uuid := wib.require_org();
    step interval;
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.require_feature('advanced_analytics');
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    step := CASE granularity WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '1 week'
                             WHEN 'month' THEN interval '1 month' END;
    IF step IS NULL THEN
        PERFORM wib.invalid_field('granularity', 'granularity must be one of day, week, month.');
    END IF;
    RETURN QUERY
    WITH p AS (
        SELECT g::date AS period
          FROM generate_series(date_trunc(granularity, from_date::timestamp), to_date::timestamp, step) g
    ), d AS (
        SELECT date_trunc(granularity, m.day::timestamp)::date AS period, m.*
          FROM wib.mv_call_sentiment_daily m
         WHERE m.organization_id = org AND m.day BETWEEN from_date AND to_date
    ), agg AS (
        SELECT d.period,
               sum(d.total_calls) AS total_calls, sum(d.calls_with_sentiment) AS calls_with_sentiment,
               sum(d.sentiment_sum) AS sentiment_sum, sum(d.positive_calls) AS positive_calls,
               sum(d.negative_calls) AS negative_calls, sum(d.neutral_calls) AS neutral_calls,
               max(wib.sorted_milli_median(d.scores_milli)) FILTER (WHERE granularity = 'day') AS day_median
          FROM d GROUP BY d.period
    ), med AS (
        -- Exact medians of longer periods: every score of the period, once.
        SELECT d.period, percentile_cont(0.5) WITHIN GROUP (ORDER BY u / 1000.0::float8) AS median
          FROM d, unnest(d.scores_milli) u
         WHERE granularity <> 'day'
         GROUP BY d.period
    )
    SELECT p.period,
           coalesce(a.total_calls, 0)::bigint,
           coalesce(a.calls_with_sentiment, 0)::bigint,
           round(a.sentiment_sum / nullif(a.calls_with_sentiment, 0), 4),
           coalesce(a.positive_calls, 0)::bigint,
           coalesce(a.negative_calls, 0)::bigint,
           coalesce(a.neutral_calls, 0)::bigint,
           CASE WHEN granularity = 'day' THEN a.day_median ELSE md.median END
      FROM p
      LEFT JOIN agg a ON a.period = p.period
      LEFT JOIN med md ON md.period = p.period
     ORDER BY p.period;
END
$$;
COMMENT ON FUNCTION wib.sentiment_trends(date, date, text) IS
    'Sentiment of the organization''s calls per day, week (from Monday) or month between from_date and to_date (UTC days, both included), one row per period even without calls: calls, calls with a score, average and median score, positive/negative/neutral counts (mixed counts as neutral). Reads the nightly view (see wib.data_as_of()). Plan: advanced_analytics.';

CREATE FUNCTION wib.agent_leaderboard(from_date date, to_date date, order_by text DEFAULT 'calls',
                                      max_rows integer DEFAULT 20)
    RETURNS TABLE (agent_id text, name text, calls bigint, avg_sentiment numeric, positive_calls bigint,
                   success_rate numeric, rank bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.require_feature('advanced_analytics');
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    IF order_by IS NULL OR order_by NOT IN ('calls', 'sentiment', 'positive_calls', 'success_rate') THEN
        PERFORM wib.invalid_field('order_by', 'order_by must be one of calls, sentiment, positive_calls, success_rate.');
    END IF;
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 100 THEN
        PERFORM wib.invalid_field('max_rows', 'max_rows must be between 1 and 100.');
    END IF;
    RETURN QUERY
    WITH agg AS (
        SELECT w.agent_id,
               sum(w.calls)::bigint AS calls,
               round(sum(w.sentiment_sum) / nullif(sum(w.calls_with_sentiment), 0), 4) AS avg_sentiment,
               sum(w.positive_calls)::bigint AS positive_calls,
               round(sum(w.successful_calls)::numeric / nullif(sum(w.calls_with_outcome), 0), 4) AS success_rate
          FROM wib.mv_agent_performance_weekly w
         WHERE w.organization_id = org
           AND w.week >= date_trunc('week', from_date::timestamp)::date AND w.week <= to_date
         GROUP BY w.agent_id
    ), ranked AS (
        SELECT a.*, CASE order_by WHEN 'calls' THEN a.calls::numeric
                                  WHEN 'sentiment' THEN a.avg_sentiment
                                  WHEN 'positive_calls' THEN a.positive_calls::numeric
                                  ELSE a.success_rate END AS key
          FROM agg a
    )
    SELECT r.agent_id, u.name, r.calls, r.avg_sentiment, r.positive_calls, r.success_rate,
           rank() OVER (ORDER BY r.key DESC NULLS LAST)
      FROM ranked r
      LEFT JOIN wib.users u ON u.organization_id = org AND u.id = r.agent_id
     ORDER BY r.key DESC NULLS LAST, r.agent_id
     LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION wib.agent_leaderboard(date, date, text, integer) IS
    'The organization''s agents ranked by calls, sentiment (average score), positive_calls or success_rate (calls with a successful outcome among calls with an outcome), over the ISO weeks (Monday, UTC) from the week of from_date to the week of to_date; at most max_rows (1-100). Reads the nightly view. Plan: advanced_analytics.';

CREATE FUNCTION wib.analytics_snapshots_range(from_date date, to_date date, granularity text DEFAULT 'daily')
    RETURNS SETOF wib.analytics_snapshots
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.analytics_require_snapshots();
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    IF granularity IS NULL OR granularity NOT IN ('daily', 'weekly', 'monthly') THEN
        PERFORM wib.invalid_field('granularity', 'granularity must be one of daily, weekly, monthly.');
    END IF;
    RETURN QUERY
    SELECT s.* FROM wib.analytics_snapshots s
     WHERE s.organization_id = org AND s.granularity = analytics_snapshots_range.granularity
       AND s.snapshot_date BETWEEN from_date AND to_date
     ORDER BY s.snapshot_date;
END
$$;
COMMENT ON FUNCTION wib.analytics_snapshots_range(date, date, text) IS
    'The organization''s daily, weekly or monthly snapshots whose start date lies between from_date and to_date, oldest first. Plan: analytics_snapshots (pro).';

CREATE FUNCTION wib.anomalies(from_date date, to_date date)
    RETURNS TABLE (day date, metric text, prediction_type text, value float8, baseline_mean float8,
                   baseline_stddev float8, baseline_days integer, z float8, direction text,
                   confidence numeric, explanation text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.require_feature('advanced_analytics');
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    RETURN QUERY
    SELECT p.target_date, p.subject, p.prediction_type,
           (p.features ->> 'value')::float8, (p.features ->> 'baseline_mean')::float8,
           (p.features ->> 'baseline_stddev')::float8, (p.features ->> 'baseline_days')::integer,
           p.score, CASE WHEN p.score < 0 THEN 'drop' ELSE 'spike' END,
           p.confidence, p.explanation
      FROM wib.ml_predictions p
     WHERE p.organization_id = org AND p.target_date BETWEEN from_date AND to_date
       AND p.prediction_type IN ('volume_anomaly', 'sentiment_trend')
       AND p.features ->> 'kind' = 'anomaly'
     ORDER BY p.target_date, p.subject;
END
$$;
COMMENT ON FUNCTION wib.anomalies(date, date) IS
    'Days between from_date and to_date on which a metric (call_volume, avg_duration, avg_sentiment, positive_share) was unusual against its baseline, as found by wib.run_nightly(), with the z-score and a readable explanation. Plan: advanced_analytics.';

CREATE FUNCTION wib.data_as_of() RETURNS timestamptz
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.analytics_require_snapshots();
    RETURN (SELECT r.refreshed_at FROM wib.analytics_refreshes r WHERE r.name = 'views');
END
$$;
COMMENT ON FUNCTION wib.data_as_of() IS
    'When wib.run_nightly() last refreshed the analytics views and snapshots (the dashboards'' "Data as of"); NULL before the first run. Plan: analytics_snapshots (pro).';

-- ---------------------------------------------------------------- nightly job

-- A setting read as text, with the default when the library is not loaded.
CREATE FUNCTION wib.analytics_setting(name text, fallback text) RETURNS text
    LANGUAGE sql STABLE
    RETURN coalesce(nullif(current_setting(name, true), ''), fallback);
COMMENT ON FUNCTION wib.analytics_setting(text, text) IS 'Internal: current_setting(name), or fallback when undefined.';

-- The sentence a manager reads for an anomaly ("Call volume dropped 41% on Tue 2026-11-17 vs the 30-day baseline (z = −3.2)").
CREATE FUNCTION wib.anomaly_explanation(metric text, day date, value float8, baseline float8,
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

-- Refreshes both views without blocking the dashboards that read them.
-- JIT compiling the refresh's statements costs more than it saves; the
-- concurrent refresh ANALYZEs its temporary copies of the new rows before its
-- duplicate check and diff (whose plans only need row counts), and a small
-- statistics sample makes that a tenth of the work.
CREATE FUNCTION wib.analytics_refresh() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
    SET work_mem = '64MB'
    SET jit = off
    SET default_statistics_target = 10
AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY wib.mv_call_sentiment_daily;
    REFRESH MATERIALIZED VIEW CONCURRENTLY wib.mv_agent_performance_weekly;
    INSERT INTO wib.analytics_refreshes AS r (name, refreshed_at) VALUES ('views', now())
    ON CONFLICT (name) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at;
END
$$;
COMMENT ON FUNCTION wib.analytics_refresh() IS 'Internal: refreshes the analytics views concurrently and records when.';

-- Upserts the snapshots of granularity gran for [first_day, last_day] for every
-- organization whose plan includes snapshots; an unchanged snapshot is left alone.
CREATE FUNCTION wib.analytics_snapshot(gran text, first_day date, last_day date) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    written bigint;
BEGIN
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
         WHERE wib.plan_rank(o.plan) >= wib.plan_rank(wib.analytics_snapshots_plan())
         GROUP BY o.id
        ON CONFLICT (organization_id, granularity, snapshot_date) DO UPDATE
           SET period_end = EXCLUDED.period_end, total_calls = EXCLUDED.total_calls,
               completed_calls = EXCLUDED.completed_calls, total_duration_seconds = EXCLUDED.total_duration_seconds,
               avg_duration_seconds = EXCLUDED.avg_duration_seconds, calls_with_sentiment = EXCLUDED.calls_with_sentiment,
               avg_sentiment = EXCLUDED.avg_sentiment, positive_calls = EXCLUDED.positive_calls,
               negative_calls = EXCLUDED.negative_calls, neutral_calls = EXCLUDED.neutral_calls,
               calls_with_outcome = EXCLUDED.calls_with_outcome, successful_calls = EXCLUDED.successful_calls,
               success_rate = EXCLUDED.success_rate, computed_at = now()
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
COMMENT ON FUNCTION wib.analytics_snapshot(text, date, date) IS
    'Internal: upserts the snapshots of one period for every organization whose plan includes snapshots; returns the rows written.';

-- Anomalies and the sentiment trend of one day for every organization whose
-- plan includes advanced analytics; emits anomaly.detected for new anomalies
-- when webhooks are installed.  Returns what it wrote.
CREATE FUNCTION wib.analytics_detect(day date) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
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
    WITH orgs AS (
        SELECT o.id AS org, f.first_day
          FROM wib.organizations o
          CROSS JOIN LATERAL (SELECT min(m.day) AS first_day FROM wib.mv_call_sentiment_daily m
                               WHERE m.organization_id = o.id) f
         WHERE wib.plan_rank(o.plan) >= (SELECT wib.plan_rank(fp.min_plan) FROM wib.feature_plans fp
                                          WHERE fp.feature = 'advanced_analytics')
           AND f.first_day <= day
    ), days AS (
        -- Gap-filled: every day from the organization's first day with calls
        -- (at most win days back) to the day itself.
        SELECT o.org, g::date AS d
          FROM orgs o, generate_series(greatest(o.first_day, day - win), day, interval '1 day') g
    ), series AS (
        SELECT s.org, count(*)::integer AS len,
               array_agg(coalesce(m.total_calls, 0)::float8 ORDER BY s.d) AS call_volume,
               array_agg(m.total_duration_seconds::float8 / nullif(m.calls_with_duration, 0) ORDER BY s.d) AS avg_duration,
               array_agg(m.sentiment_sum::float8 / nullif(m.calls_with_sentiment, 0) ORDER BY s.d) AS avg_sentiment,
               array_agg(m.positive_calls::float8 / nullif(m.calls_with_sentiment, 0) ORDER BY s.d) AS positive_share
          FROM days s
          LEFT JOIN wib.mv_call_sentiment_daily m ON m.organization_id = s.org AND m.day = s.d
         GROUP BY s.org
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
            PERFORM pg_catalog.set_config('wib.org_id', ev ->> 'organization_id', true);
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
COMMENT ON FUNCTION wib.analytics_detect(date) IS
    'Internal: z-score anomalies (call volume, average duration, average sentiment, positive share) and the sentiment trend of day for every organization on advanced_analytics, upserted into wib.ml_predictions; emits anomaly.detected for new anomalies.';

-- Snapshots and predictions of one day (the views must be fresh).
CREATE FUNCTION wib.analytics_process_day(day date) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    snaps bigint := wib.analytics_snapshot('daily', day, day);
    week_start date := date_trunc('week', day::timestamp)::date;
    month_start date := date_trunc('month', day::timestamp)::date;
BEGIN
    IF extract(isodow FROM day) = 7 THEN
        snaps := snaps + wib.analytics_snapshot('weekly', week_start, day);
    END IF;
    IF extract(day FROM day + 1) = 1 THEN
        snaps := snaps + wib.analytics_snapshot('monthly', month_start, day);
    END IF;
    RETURN jsonb_build_object('day', day, 'snapshots_written', snaps) || wib.analytics_detect(day);
END
$$;
COMMENT ON FUNCTION wib.analytics_process_day(date) IS
    'Internal: the daily snapshot (and the weekly or monthly one the day closes) and the predictions of day.';

-- Refuses a missing or future day.
CREATE FUNCTION wib.analytics_check_day(day date, field text) RETURNS void
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
CREATE FUNCTION wib.analytics_lock() RETURNS void
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
CREATE FUNCTION wib.analytics_reschedule() RETURNS timestamptz
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
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

CREATE FUNCTION wib.run_nightly(day date DEFAULT ((now() AT TIME ZONE 'UTC')::date - 1)) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    started timestamptz := clock_timestamp();
    result  jsonb;
BEGIN
    PERFORM wib.analytics_check_day(day, 'day');
    PERFORM wib.analytics_lock();
    PERFORM wib.analytics_refresh();
    result := wib.analytics_process_day(day);
    UPDATE wib.analytics_refreshes
       SET last_day = greatest(last_day, day),
           duration_ms = extract(epoch FROM clock_timestamp() - started) * 1000
     WHERE name = 'views';
    PERFORM wib.analytics_reschedule();
    RETURN result || jsonb_build_object('duration_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
END
$$;
COMMENT ON FUNCTION wib.run_nightly(date) IS
    'The nightly analytics job for day (default yesterday, UTC): refreshes both views concurrently, upserts the daily snapshot (and the weekly or monthly one the day closes), finds z-score anomalies and the sentiment trend and writes them to wib.ml_predictions. Idempotent: running a day again gives the same rows. Run by the scheduler at wib.nightly_at, or by pg_cron.';

CREATE FUNCTION wib.run_nightly_range(from_date date, to_date date) RETURNS SETOF jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
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
    'Back-fills the nightly job for every day from from_date to to_date (views refreshed once); one summary per day.';

-- The event the nightly job emits, in the webhooks catalogue so that subscriptions can ask for it.
INSERT INTO wib.webhook_event_types (event_type, description, example) VALUES
    ('anomaly.detected', 'The nightly analytics job found an unusual day for the organization (a z-score anomaly of call volume, duration, sentiment or positive share).',
     '{"organization_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10", "prediction_id": "3e2f1a0b-9c8d-4e7f-a6b5-c4d3e2f1a0b9", "day": "2026-11-17", "metric": "call_volume", "z": -3.2, "value": 59, "baseline_mean": 100.4, "explanation": "Call volume dropped 41% on Tue 2026-11-17 vs the 30-day baseline (z = −3.2)"}');

INSERT INTO wib.scheduled_jobs (name, command, run_every, run_at, description, next_run_at)
SELECT 'analytics_nightly', 'SELECT wib.run_nightly()', interval '1 day', at,
       'Refreshes the analytics views, writes yesterday''s snapshots and finds anomalies (daily at wib.nightly_at, UTC).',
       wib.job_next_run(interval '1 day', at, now())
  FROM (SELECT wib.analytics_setting('wib.nightly_at', '02:00')::time AS at) s;

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
     'Snapshots whose period ended more than wib.snapshot_retention days ago.');

-- ---------------------------------------------------------------- privileges

GRANT EXECUTE ON FUNCTION
    wib.sentiment_trends(date, date, text), wib.agent_leaderboard(date, date, text, integer),
    wib.analytics_snapshots_range(date, date, text), wib.anomalies(date, date), wib.data_as_of(),
    wib.analytics_deadline(integer), wib.analytics_check_range(date, date, integer),
    wib.sentiment_label(text, numeric), wib.analytics_require_snapshots(), wib.analytics_snapshots_plan()
TO wib_app;
GRANT SELECT ON wib.sentiment_scores, wib.analytics_snapshots, wib.ml_predictions, wib.analytics_refreshes TO wib_app;

GRANT EXECUTE ON FUNCTION
    wib.run_nightly(date), wib.run_nightly_range(date, date), wib.sentiment_backfill(),
    wib.analytics_reschedule()
TO wib_admin;
