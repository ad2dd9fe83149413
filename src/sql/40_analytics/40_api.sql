-- The dashboards' API: plan-gated reads of precomputed data, each under a deadline.

-- The median of a day's scores from the view's sorted scores_milli, without a
-- sort: the same float8 percentile_cont(0.5) gives (the middle score, or the
-- lower middle one plus half the gap to the upper one).
CREATE OR REPLACE FUNCTION wib.sorted_milli_median(scores smallint[]) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN cardinality(scores) % 2 = 1 THEN scores[(cardinality(scores) + 1) / 2] / 1000.0::float8
                WHEN cardinality(scores) > 0
                THEN scores[cardinality(scores) / 2] / 1000.0::float8
                     + 0.5::float8 * (scores[cardinality(scores) / 2 + 1] / 1000.0::float8
                                      - scores[cardinality(scores) / 2] / 1000.0::float8) END;
COMMENT ON FUNCTION wib.sorted_milli_median(smallint[]) IS
    'Internal: the median (as percentile_cont(0.5) over score / 1000.0) of an ascending array of scores times 1000, as mv_call_sentiment_daily.scores_milli keeps them; NULL for NULL or empty.';

-- Refuses a missing or reversed date range, or one longer than max_days.
CREATE OR REPLACE FUNCTION wib.analytics_check_range(from_date date, to_date date, max_days integer) RETURNS void
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

CREATE OR REPLACE FUNCTION wib.sentiment_trends(from_date date, to_date date, granularity text DEFAULT 'day')
    RETURNS TABLE (period date, total_calls bigint, calls_with_sentiment bigint, avg_sentiment numeric,
                   positive_calls bigint, negative_calls bigint, neutral_calls bigint, median_sentiment float8)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET statement_timeout = '10s'
AS $$
DECLARE
    org  uuid := wib.require_org();
    step interval;
BEGIN
    PERFORM wib.analytics_deadline();
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

CREATE OR REPLACE FUNCTION wib.agent_leaderboard(from_date date, to_date date, order_by text DEFAULT 'calls',
                                      max_rows integer DEFAULT 20)
    RETURNS TABLE (agent_id text, name text, calls bigint, avg_sentiment numeric, positive_calls bigint,
                   success_rate numeric, rank bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline();
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

CREATE OR REPLACE FUNCTION wib.analytics_snapshots_range(from_date date, to_date date, granularity text DEFAULT 'daily')
    RETURNS SETOF wib.analytics_snapshots
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline();
    PERFORM wib.require_feature('analytics_snapshots');
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

CREATE OR REPLACE FUNCTION wib.anomalies(from_date date, to_date date)
    RETURNS TABLE (day date, metric text, prediction_type text, value float8, baseline_mean float8,
                   baseline_stddev float8, baseline_days integer, z float8, direction text,
                   confidence numeric, explanation text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline();
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

CREATE OR REPLACE FUNCTION wib.data_as_of() RETURNS timestamptz
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
    SET statement_timeout = '10s'
AS $$
BEGIN
    PERFORM wib.analytics_deadline();
    PERFORM wib.require_feature('analytics_snapshots');
    RETURN (SELECT r.refreshed_at FROM wib.analytics_refreshes r WHERE r.name = 'views');
END
$$;
COMMENT ON FUNCTION wib.data_as_of() IS
    'When wib.run_nightly() last refreshed the analytics views and snapshots (the dashboards'' "Data as of"); NULL before the first run. Plan: analytics_snapshots (pro).';
