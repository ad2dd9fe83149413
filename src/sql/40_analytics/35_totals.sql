-- Analytics totals kept up to date incrementally: statement-level triggers on
-- wib.calls, wib.call_outcomes and wib.sentiment_scores append the (organization,
-- UTC day, agent) buckets a statement touched to wib.analytics_changes (one
-- row per bucket and statement, so bulk loads stay cheap); the nightly job
-- consumes that log and recomputes exactly those days and agent-weeks from the
-- base tables.  Its cost grows with what changed, not with history, and each
-- recomputed bucket equals what a full recomputation gives, because it is the
-- same aggregate over the same rows.
--
-- Consuming the log and recomputing happen in one statement, so under every
-- isolation level the log rows consumed are exactly those whose changes the
-- recomputation sees: a change committed later (or still uncommitted) leaves
-- its log row for the next run.

-- The full recomputation of the daily totals (what the materialized view of
-- 0.1.0 computed): two hash aggregates joined on (organization, day); of
-- every organization, or of only_org (on a Citus cluster, where each
-- organization's statements are routed to its shard).
CREATE OR REPLACE FUNCTION wib.analytics_daily_recompute(only_org uuid DEFAULT NULL) RETURNS SETOF wib.analytics_daily_totals
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
    SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
RETURN QUERY
SELECT a.organization_id, a.day, a.total_calls, a.completed_calls, a.total_duration_seconds, a.calls_with_duration,
       coalesce(s.calls_with_sentiment, 0), s.sentiment_sum,
       coalesce(s.positive_calls, 0), coalesce(s.negative_calls, 0), coalesce(s.neutral_calls, 0),
       s.scores_milli, a.calls_with_outcome, a.successful_calls
  FROM (SELECT c.organization_id, (c.started_at AT TIME ZONE INTERVAL '0')::date AS day,
               count(*)::integer AS total_calls,
               count(*) FILTER (WHERE c.status = 'completed')::integer AS completed_calls,
               coalesce(sum(c.duration_seconds), 0)::bigint AS total_duration_seconds,
               count(c.duration_seconds)::integer AS calls_with_duration,
               count(o.call_id)::integer AS calls_with_outcome,
               count(*) FILTER (WHERE o.success)::integer AS successful_calls
          FROM wib.calls c
          LEFT JOIN (SELECT co.organization_id, co.call_id, bool_or(co.is_success) AS success
                       FROM wib.call_outcomes co WHERE only_org IS NULL OR co.organization_id = only_org
                      GROUP BY co.organization_id, co.call_id) o
                 ON o.organization_id = c.organization_id AND o.call_id = c.id
         WHERE only_org IS NULL OR c.organization_id = only_org
         GROUP BY c.organization_id, (c.started_at AT TIME ZONE INTERVAL '0')::date) a
  LEFT JOIN (SELECT ss.organization_id, (ss.call_started_at AT TIME ZONE INTERVAL '0')::date AS day,
                    count(*)::integer AS calls_with_sentiment,
                    sum(ss.sentiment_score) AS sentiment_sum,
                    count(*) FILTER (WHERE ss.sentiment_label = 'positive')::integer AS positive_calls,
                    count(*) FILTER (WHERE ss.sentiment_label = 'negative')::integer AS negative_calls,
                    count(*) FILTER (WHERE ss.sentiment_label IN ('neutral', 'mixed'))::integer AS neutral_calls,
                    array_agg((ss.sentiment_score * 1000)::smallint ORDER BY ss.sentiment_score) AS scores_milli
               FROM wib.sentiment_scores ss
              WHERE only_org IS NULL OR ss.organization_id = only_org
              GROUP BY ss.organization_id, (ss.call_started_at AT TIME ZONE INTERVAL '0')::date) s
         ON s.organization_id = a.organization_id AND s.day = a.day;
END
$$;
COMMENT ON FUNCTION wib.analytics_daily_recompute(uuid) IS
    'Internal: the daily analytics totals recomputed from every call, outcome and sentiment score, of every organization or of only_org (what wib.analytics_daily_totals must equal once brought up to date).';

-- The full recomputation of the weekly agent totals (of every organization, or of only_org).
CREATE OR REPLACE FUNCTION wib.analytics_weekly_recompute(only_org uuid DEFAULT NULL) RETURNS SETOF wib.analytics_agent_weekly_totals
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
    SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
RETURN QUERY
SELECT a.organization_id, a.week, a.agent_id, a.calls,
       coalesce(s.calls_with_sentiment, 0), s.sentiment_sum, coalesce(s.positive_calls, 0),
       a.calls_with_outcome, a.successful_calls
  FROM (SELECT c.organization_id, c.agent_id, date_trunc('week', c.started_at AT TIME ZONE INTERVAL '0')::date AS week,
               count(*)::integer AS calls,
               count(o.call_id)::integer AS calls_with_outcome,
               count(*) FILTER (WHERE o.success)::integer AS successful_calls
          FROM wib.calls c
          LEFT JOIN (SELECT co.organization_id, co.call_id, bool_or(co.is_success) AS success
                       FROM wib.call_outcomes co WHERE only_org IS NULL OR co.organization_id = only_org
                      GROUP BY co.organization_id, co.call_id) o
                 ON o.organization_id = c.organization_id AND o.call_id = c.id
         WHERE c.agent_id IS NOT NULL AND (only_org IS NULL OR c.organization_id = only_org)
         GROUP BY c.organization_id, c.agent_id, date_trunc('week', c.started_at AT TIME ZONE INTERVAL '0')::date) a
  LEFT JOIN (SELECT ss.organization_id, ss.agent_id,
                    date_trunc('week', ss.call_started_at AT TIME ZONE INTERVAL '0')::date AS week,
                    count(*)::integer AS calls_with_sentiment,
                    sum(ss.sentiment_score) AS sentiment_sum,
                    count(*) FILTER (WHERE ss.sentiment_label = 'positive')::integer AS positive_calls
               FROM wib.sentiment_scores ss
              WHERE ss.agent_id IS NOT NULL AND (only_org IS NULL OR ss.organization_id = only_org)
              GROUP BY ss.organization_id, ss.agent_id, date_trunc('week', ss.call_started_at AT TIME ZONE INTERVAL '0')::date) s
         ON s.organization_id = a.organization_id AND s.agent_id = a.agent_id AND s.week = a.week;
END
$$;
COMMENT ON FUNCTION wib.analytics_weekly_recompute(uuid) IS
    'Internal: the weekly agent analytics totals recomputed from every call, outcome and sentiment score, of every organization or of only_org (what wib.analytics_agent_weekly_totals must equal once brought up to date).';

-- ------------------------------------------------------------ the change log

-- Inserts and deletes of calls and sentiment scores are logged by a trigger in
-- C (src/analytics/change_log.c): one runs with every call an application
-- inserts, so it reads the transition table directly and appends the buckets
-- with one saved plan.  Updates and outcomes are logged by the SQL triggers
-- below, which pair old and new rows or look the calls up.
CREATE OR REPLACE FUNCTION wib.analytics_log_rows() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'wib_analytics_log_rows';
COMMENT ON FUNCTION wib.analytics_log_rows() IS
    'Trigger (AFTER INSERT with a NEW TABLE or AFTER DELETE with an OLD TABLE, per statement; arguments: the time column and the agent column): logs in wib.analytics_changes the (organization, UTC day, agent) buckets of the rows, as the owner of the log.';

-- The SQL triggers gather the changed buckets from the transition tables
-- first, in a statement that reads nothing else, and then write the log from
-- arrays: on a Citus cluster they run on a shard, where a statement that
-- reads a transition table cannot also write (or join) a distributed table
-- ("executor could not find named tuplestore").  The buckets of one
-- statement are few (distinct organization, day, agent).

-- Statement-level trigger on updates of wib.calls: the buckets of both
-- versions of a call whose organization, start, agent, status or duration
-- changed.  Definer rights: applications write calls, only wib writes the log.
CREATE OR REPLACE FUNCTION wib.analytics_calls_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    orgs   uuid[];
    days   date[];
    agents text[];
BEGIN
    SELECT array_agg(x.organization_id), array_agg(x.day), array_agg(x.agent_id) INTO orgs, days, agents
      FROM (SELECT DISTINCT b.organization_id, (b.started_at AT TIME ZONE INTERVAL '0')::date AS day, b.agent_id
              FROM old_rows o
              FULL JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
              CROSS JOIN LATERAL (VALUES (o.organization_id, o.started_at, o.agent_id),
                                         (n.organization_id, n.started_at, n.agent_id)) b(organization_id, started_at, agent_id)
             WHERE b.organization_id IS NOT NULL
               AND (o.organization_id, o.started_at, o.agent_id, o.status, o.duration_seconds)
                   IS DISTINCT FROM (n.organization_id, n.started_at, n.agent_id, n.status, n.duration_seconds)) x;
    IF orgs IS NOT NULL THEN
        INSERT INTO wib.analytics_changes (organization_id, day, agent_id)
        SELECT u.organization_id, u.day, u.agent_id FROM unnest(orgs, days, agents) u(organization_id, day, agent_id);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.analytics_calls_updated() IS
    'Trigger on wib.calls (UPDATE, per statement): logs in wib.analytics_changes the days and agents of both versions of each call whose organization, start, agent, status or duration changed.';

-- Statement-level trigger on wib.call_outcomes: the buckets of the calls whose
-- outcomes were added, removed or changed (a call deleted with its outcomes
-- was logged by the calls trigger).
CREATE OR REPLACE FUNCTION wib.analytics_outcomes_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    orgs  uuid[];
    calls uuid[];
    scope uuid;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(k.organization_id), array_agg(k.call_id) INTO orgs, calls
          FROM (SELECT DISTINCT n.organization_id, n.call_id FROM new_rows n) k;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(k.organization_id), array_agg(k.call_id) INTO orgs, calls
          FROM (SELECT DISTINCT o.organization_id, o.call_id FROM old_rows o) k;
    ELSE
        SELECT array_agg(x.organization_id), array_agg(x.call_id) INTO orgs, calls
          FROM (SELECT DISTINCT k.organization_id, k.call_id
                  FROM old_rows o
                  FULL JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
                  CROSS JOIN LATERAL (VALUES (o.organization_id, o.call_id), (n.organization_id, n.call_id)) k(organization_id, call_id)
                 WHERE k.organization_id IS NOT NULL
                   AND (o.organization_id, o.call_id, o.is_success) IS DISTINCT FROM (n.organization_id, n.call_id, n.is_success)) x;
    END IF;
    -- The calls are read one organization at a time on a Citus shard
    -- (wib.org_scopes): the statement stays on this worker.
    FOR scope IN SELECT o FROM wib.org_scopes(orgs) o WHERE orgs IS NOT NULL LOOP
        INSERT INTO wib.analytics_changes (organization_id, day, agent_id)
        SELECT DISTINCT c.organization_id, (c.started_at AT TIME ZONE INTERVAL '0')::date, c.agent_id
          FROM unnest(orgs, calls) k(organization_id, call_id)
          JOIN wib.calls c ON c.organization_id = k.organization_id AND c.id = k.call_id
         WHERE scope IS NULL OR (k.organization_id = scope AND c.organization_id = scope);
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.analytics_outcomes_changed() IS
    'Trigger on wib.call_outcomes (per statement): logs in wib.analytics_changes the days and agents of the calls whose outcomes the statement changed.';

-- Statement-level trigger on updates of wib.sentiment_scores: each score
-- carries its call's start and agent, so the buckets come from the rows.
CREATE OR REPLACE FUNCTION wib.analytics_sentiment_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    orgs   uuid[];
    days   date[];
    agents text[];
BEGIN
    SELECT array_agg(x.organization_id), array_agg(x.day), array_agg(x.agent_id) INTO orgs, days, agents
      FROM (SELECT DISTINCT b.organization_id, (b.started_at AT TIME ZONE INTERVAL '0')::date AS day, b.agent_id
              FROM old_rows o
              FULL JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
              CROSS JOIN LATERAL (VALUES (o.organization_id, o.call_started_at, o.agent_id),
                                         (n.organization_id, n.call_started_at, n.agent_id)) b(organization_id, started_at, agent_id)
             WHERE b.organization_id IS NOT NULL
               AND (o.organization_id, o.call_started_at, o.agent_id, o.sentiment_score, o.sentiment_label)
                   IS DISTINCT FROM (n.organization_id, n.call_started_at, n.agent_id, n.sentiment_score, n.sentiment_label)) x;
    IF orgs IS NOT NULL THEN
        INSERT INTO wib.analytics_changes (organization_id, day, agent_id)
        SELECT u.organization_id, u.day, u.agent_id FROM unnest(orgs, days, agents) u(organization_id, day, agent_id);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.analytics_sentiment_updated() IS
    'Trigger on wib.sentiment_scores (UPDATE, per statement): logs in wib.analytics_changes the days and agents of both versions of each score whose organization, call start, agent, score or label changed.';

-- TRUNCATE fires no row changes: every bucket with totals is logged, so the
-- next run recomputes them all.
CREATE OR REPLACE FUNCTION wib.analytics_totals_truncated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    INSERT INTO wib.analytics_changes (organization_id, day, agent_id)
    SELECT t.organization_id, t.day, NULL FROM wib.analytics_daily_totals t
    UNION
    SELECT w.organization_id, w.week, w.agent_id FROM wib.analytics_agent_weekly_totals w;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.analytics_totals_truncated() IS
    'Trigger on wib.calls, wib.call_outcomes and wib.sentiment_scores (TRUNCATE): logs every bucket that has totals, so the next nightly run recomputes them all.';

CREATE OR REPLACE TRIGGER calls_analytics_insert AFTER INSERT ON wib.calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_log_rows('started_at', 'agent_id');
CREATE OR REPLACE TRIGGER calls_analytics_update AFTER UPDATE ON wib.calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_calls_updated();
CREATE OR REPLACE TRIGGER calls_analytics_delete AFTER DELETE ON wib.calls
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_log_rows('started_at', 'agent_id');
CREATE OR REPLACE TRIGGER calls_analytics_truncate AFTER TRUNCATE ON wib.calls
    FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_totals_truncated();
CREATE OR REPLACE TRIGGER call_outcomes_analytics_insert AFTER INSERT ON wib.call_outcomes
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_outcomes_changed();
CREATE OR REPLACE TRIGGER call_outcomes_analytics_update AFTER UPDATE ON wib.call_outcomes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_outcomes_changed();
CREATE OR REPLACE TRIGGER call_outcomes_analytics_delete AFTER DELETE ON wib.call_outcomes
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_outcomes_changed();
CREATE OR REPLACE TRIGGER call_outcomes_analytics_truncate AFTER TRUNCATE ON wib.call_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_totals_truncated();
CREATE OR REPLACE TRIGGER sentiment_scores_analytics_insert AFTER INSERT ON wib.sentiment_scores
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_log_rows('call_started_at', 'agent_id');
CREATE OR REPLACE TRIGGER sentiment_scores_analytics_update AFTER UPDATE ON wib.sentiment_scores
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_sentiment_updated();
CREATE OR REPLACE TRIGGER sentiment_scores_analytics_delete AFTER DELETE ON wib.sentiment_scores
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_log_rows('call_started_at', 'agent_id');
CREATE OR REPLACE TRIGGER sentiment_scores_analytics_truncate AFTER TRUNCATE ON wib.sentiment_scores
    FOR EACH STATEMENT EXECUTE FUNCTION wib.analytics_totals_truncated();

-- ------------------------------------------------------------ bringing the totals up to date

-- Consumes the change log and recomputes the days and agent-weeks it names
-- (each by index ranges of its calls and scores), or, when the log names a
-- large share of all buckets (a bulk load, a back-fill) or full_rebuild is
-- set, recomputes everything with the two hash aggregates.  Rows that did not
-- change are not rewritten; buckets left without calls are removed (NOT IN
-- over the recomputed keys: a hashed subplan whatever the row estimates).
-- With only_org, every table it reads or writes is restricted to that
-- organization, so that Citus routes each statement to the organization's
-- shard (wib.org_scopes() says when; a single node does every
-- organization in one statement).  Plans are always custom: only_org is then
-- a constant, and "only_org IS NULL OR ..." folds to nothing on a single node
-- and to the shard key on a cluster.
CREATE OR REPLACE FUNCTION wib.analytics_totals_refresh(full_rebuild boolean DEFAULT false, only_org uuid DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
    SET plan_cache_mode = force_custom_plan
    SET jit = off
    SET work_mem = '64MB'
AS $$
DECLARE
    pending bigint;
    result  jsonb;
BEGIN
    IF NOT coalesce(full_rebuild, false) THEN
        SELECT count(*) INTO pending FROM wib.analytics_changes l WHERE only_org IS NULL OR l.organization_id = only_org;
        full_rebuild := pending >= greatest(20000, (SELECT c.reltuples FROM pg_catalog.pg_class c
                                                      WHERE c.oid = 'wib.analytics_daily_totals'::regclass) / 4);
    END IF;

    IF full_rebuild THEN
        WITH consumed AS (
            DELETE FROM wib.analytics_changes l WHERE only_org IS NULL OR l.organization_id = only_org RETURNING 1
        ), fresh_days AS MATERIALIZED (
            SELECT * FROM wib.analytics_daily_recompute(only_org)
        ), fresh_weeks AS MATERIALIZED (
            SELECT * FROM wib.analytics_weekly_recompute(only_org)
        ), up_days AS (
            INSERT INTO wib.analytics_daily_totals AS t SELECT * FROM fresh_days
            ON CONFLICT (organization_id, day) DO UPDATE
               SET total_calls = EXCLUDED.total_calls, completed_calls = EXCLUDED.completed_calls,
                   total_duration_seconds = EXCLUDED.total_duration_seconds,
                   calls_with_duration = EXCLUDED.calls_with_duration,
                   calls_with_sentiment = EXCLUDED.calls_with_sentiment, sentiment_sum = EXCLUDED.sentiment_sum,
                   positive_calls = EXCLUDED.positive_calls, negative_calls = EXCLUDED.negative_calls,
                   neutral_calls = EXCLUDED.neutral_calls, scores_milli = EXCLUDED.scores_milli,
                   calls_with_outcome = EXCLUDED.calls_with_outcome, successful_calls = EXCLUDED.successful_calls
             WHERE (t.total_calls, t.completed_calls, t.total_duration_seconds, t.calls_with_duration,
                    t.calls_with_sentiment, t.sentiment_sum, t.positive_calls, t.negative_calls, t.neutral_calls,
                    t.scores_milli, t.calls_with_outcome, t.successful_calls)
                   IS DISTINCT FROM
                   (EXCLUDED.total_calls, EXCLUDED.completed_calls, EXCLUDED.total_duration_seconds,
                    EXCLUDED.calls_with_duration, EXCLUDED.calls_with_sentiment, EXCLUDED.sentiment_sum,
                    EXCLUDED.positive_calls, EXCLUDED.negative_calls, EXCLUDED.neutral_calls,
                    EXCLUDED.scores_milli, EXCLUDED.calls_with_outcome, EXCLUDED.successful_calls)
            RETURNING 1
        ), gone_days AS (
            DELETE FROM wib.analytics_daily_totals t
             WHERE (only_org IS NULL OR t.organization_id = only_org)
               AND (t.organization_id, t.day) NOT IN (SELECT f.organization_id, f.day FROM fresh_days f)
            RETURNING 1
        ), up_weeks AS (
            INSERT INTO wib.analytics_agent_weekly_totals AS t SELECT * FROM fresh_weeks
            ON CONFLICT (organization_id, week, agent_id) DO UPDATE
               SET calls = EXCLUDED.calls, calls_with_sentiment = EXCLUDED.calls_with_sentiment,
                   sentiment_sum = EXCLUDED.sentiment_sum, positive_calls = EXCLUDED.positive_calls,
                   calls_with_outcome = EXCLUDED.calls_with_outcome, successful_calls = EXCLUDED.successful_calls
             WHERE (t.calls, t.calls_with_sentiment, t.sentiment_sum, t.positive_calls, t.calls_with_outcome,
                    t.successful_calls)
                   IS DISTINCT FROM
                   (EXCLUDED.calls, EXCLUDED.calls_with_sentiment, EXCLUDED.sentiment_sum, EXCLUDED.positive_calls,
                    EXCLUDED.calls_with_outcome, EXCLUDED.successful_calls)
            RETURNING 1
        ), gone_weeks AS (
            DELETE FROM wib.analytics_agent_weekly_totals t
             WHERE (only_org IS NULL OR t.organization_id = only_org)
               AND (t.organization_id, t.week, t.agent_id) NOT IN (SELECT f.organization_id, f.week, f.agent_id FROM fresh_weeks f)
            RETURNING 1
        )
        SELECT jsonb_build_object('totals', 'full', 'changes', (SELECT count(*) FROM consumed),
                                  'days_written', (SELECT count(*) FROM up_days), 'days_removed', (SELECT count(*) FROM gone_days),
                                  'weeks_written', (SELECT count(*) FROM up_weeks), 'weeks_removed', (SELECT count(*) FROM gone_weeks))
          INTO result;
        RETURN result;
    END IF;

    WITH consumed AS (
        DELETE FROM wib.analytics_changes l WHERE only_org IS NULL OR l.organization_id = only_org
        RETURNING l.organization_id, l.day, l.agent_id
    ), dirty_days AS MATERIALIZED (
        SELECT DISTINCT c.organization_id, c.day FROM consumed c
    ), dirty_weeks AS MATERIALIZED (
        SELECT DISTINCT c.organization_id, date_trunc('week', c.day::timestamp)::date AS week, c.agent_id
          FROM consumed c WHERE c.agent_id IS NOT NULL
    ), fresh_days AS MATERIALIZED (
        -- Each day from its calls (UTC day range of the started_at index) and its scores.
        SELECT d.organization_id, d.day, a.total_calls, a.completed_calls, a.total_duration_seconds,
               a.calls_with_duration, s.calls_with_sentiment, s.sentiment_sum, s.positive_calls,
               s.negative_calls, s.neutral_calls, s.scores_milli, a.calls_with_outcome, a.successful_calls
          FROM dirty_days d
          CROSS JOIN LATERAL (
              SELECT count(*)::integer AS total_calls,
                     count(*) FILTER (WHERE c.status = 'completed')::integer AS completed_calls,
                     coalesce(sum(c.duration_seconds), 0)::bigint AS total_duration_seconds,
                     count(c.duration_seconds)::integer AS calls_with_duration,
                     count(o.success)::integer AS calls_with_outcome,
                     count(*) FILTER (WHERE o.success)::integer AS successful_calls
                FROM wib.calls c
                LEFT JOIN LATERAL (SELECT bool_or(co.is_success) AS success FROM wib.call_outcomes co
                                    WHERE co.organization_id = c.organization_id AND co.call_id = c.id
                                      AND (only_org IS NULL OR co.organization_id = only_org)) o ON true
               WHERE c.organization_id = d.organization_id AND (only_org IS NULL OR c.organization_id = only_org)
                 AND c.started_at >= d.day::timestamp AT TIME ZONE INTERVAL '0'
                 AND c.started_at < (d.day + 1)::timestamp AT TIME ZONE INTERVAL '0') a
          CROSS JOIN LATERAL (
              SELECT count(*)::integer AS calls_with_sentiment,
                     sum(ss.sentiment_score) AS sentiment_sum,
                     count(*) FILTER (WHERE ss.sentiment_label = 'positive')::integer AS positive_calls,
                     count(*) FILTER (WHERE ss.sentiment_label = 'negative')::integer AS negative_calls,
                     count(*) FILTER (WHERE ss.sentiment_label IN ('neutral', 'mixed'))::integer AS neutral_calls,
                     array_agg((ss.sentiment_score * 1000)::smallint ORDER BY ss.sentiment_score) AS scores_milli
                FROM wib.sentiment_scores ss
               WHERE ss.organization_id = d.organization_id AND (only_org IS NULL OR ss.organization_id = only_org)
                 AND ss.call_started_at >= d.day::timestamp AT TIME ZONE INTERVAL '0'
                 AND ss.call_started_at < (d.day + 1)::timestamp AT TIME ZONE INTERVAL '0') s
         WHERE a.total_calls > 0
    ), fresh_weeks AS MATERIALIZED (
        -- Each agent-week from the agent's calls of the week and their scores.
        SELECT w.organization_id, w.week, w.agent_id, a.calls, s.calls_with_sentiment, s.sentiment_sum,
               s.positive_calls, a.calls_with_outcome, a.successful_calls
          FROM dirty_weeks w
          CROSS JOIN LATERAL (
              SELECT count(*)::integer AS calls,
                     count(o.success)::integer AS calls_with_outcome,
                     count(*) FILTER (WHERE o.success)::integer AS successful_calls
                FROM wib.calls c
                LEFT JOIN LATERAL (SELECT bool_or(co.is_success) AS success FROM wib.call_outcomes co
                                    WHERE co.organization_id = c.organization_id AND co.call_id = c.id
                                      AND (only_org IS NULL OR co.organization_id = only_org)) o ON true
               WHERE c.organization_id = w.organization_id AND c.agent_id = w.agent_id
                 AND (only_org IS NULL OR c.organization_id = only_org)
                 AND c.started_at >= w.week::timestamp AT TIME ZONE INTERVAL '0'
                 AND c.started_at < (w.week + 7)::timestamp AT TIME ZONE INTERVAL '0') a
          CROSS JOIN LATERAL (
              SELECT count(*)::integer AS calls_with_sentiment,
                     sum(ss.sentiment_score) AS sentiment_sum,
                     count(*) FILTER (WHERE ss.sentiment_label = 'positive')::integer AS positive_calls
                FROM wib.sentiment_scores ss
               WHERE ss.organization_id = w.organization_id AND ss.agent_id = w.agent_id
                 AND (only_org IS NULL OR ss.organization_id = only_org)
                 AND ss.call_started_at >= w.week::timestamp AT TIME ZONE INTERVAL '0'
                 AND ss.call_started_at < (w.week + 7)::timestamp AT TIME ZONE INTERVAL '0') s
         WHERE a.calls > 0
    ), up_days AS (
        INSERT INTO wib.analytics_daily_totals AS t SELECT * FROM fresh_days
        ON CONFLICT (organization_id, day) DO UPDATE
           SET total_calls = EXCLUDED.total_calls, completed_calls = EXCLUDED.completed_calls,
               total_duration_seconds = EXCLUDED.total_duration_seconds,
               calls_with_duration = EXCLUDED.calls_with_duration,
               calls_with_sentiment = EXCLUDED.calls_with_sentiment, sentiment_sum = EXCLUDED.sentiment_sum,
               positive_calls = EXCLUDED.positive_calls, negative_calls = EXCLUDED.negative_calls,
               neutral_calls = EXCLUDED.neutral_calls, scores_milli = EXCLUDED.scores_milli,
               calls_with_outcome = EXCLUDED.calls_with_outcome, successful_calls = EXCLUDED.successful_calls
         WHERE (t.total_calls, t.completed_calls, t.total_duration_seconds, t.calls_with_duration,
                t.calls_with_sentiment, t.sentiment_sum, t.positive_calls, t.negative_calls, t.neutral_calls,
                t.scores_milli, t.calls_with_outcome, t.successful_calls)
               IS DISTINCT FROM
               (EXCLUDED.total_calls, EXCLUDED.completed_calls, EXCLUDED.total_duration_seconds,
                EXCLUDED.calls_with_duration, EXCLUDED.calls_with_sentiment, EXCLUDED.sentiment_sum,
                EXCLUDED.positive_calls, EXCLUDED.negative_calls, EXCLUDED.neutral_calls,
                EXCLUDED.scores_milli, EXCLUDED.calls_with_outcome, EXCLUDED.successful_calls)
        RETURNING 1
    ), gone_days AS (
        DELETE FROM wib.analytics_daily_totals t
         USING dirty_days d
         WHERE t.organization_id = d.organization_id AND t.day = d.day
           AND (only_org IS NULL OR t.organization_id = only_org)
           AND (d.organization_id, d.day) NOT IN (SELECT f.organization_id, f.day FROM fresh_days f)
        RETURNING 1
    ), up_weeks AS (
        INSERT INTO wib.analytics_agent_weekly_totals AS t SELECT * FROM fresh_weeks
        ON CONFLICT (organization_id, week, agent_id) DO UPDATE
           SET calls = EXCLUDED.calls, calls_with_sentiment = EXCLUDED.calls_with_sentiment,
               sentiment_sum = EXCLUDED.sentiment_sum, positive_calls = EXCLUDED.positive_calls,
               calls_with_outcome = EXCLUDED.calls_with_outcome, successful_calls = EXCLUDED.successful_calls
         WHERE (t.calls, t.calls_with_sentiment, t.sentiment_sum, t.positive_calls, t.calls_with_outcome,
                t.successful_calls)
               IS DISTINCT FROM
               (EXCLUDED.calls, EXCLUDED.calls_with_sentiment, EXCLUDED.sentiment_sum, EXCLUDED.positive_calls,
                EXCLUDED.calls_with_outcome, EXCLUDED.successful_calls)
        RETURNING 1
    ), gone_weeks AS (
        DELETE FROM wib.analytics_agent_weekly_totals t
         USING dirty_weeks w
         WHERE t.organization_id = w.organization_id AND t.week = w.week AND t.agent_id = w.agent_id
           AND (only_org IS NULL OR t.organization_id = only_org)
           AND (w.organization_id, w.week, w.agent_id) NOT IN (SELECT f.organization_id, f.week, f.agent_id FROM fresh_weeks f)
        RETURNING 1
    )
    SELECT jsonb_build_object('totals', 'incremental', 'changes', (SELECT count(*) FROM consumed),
                              'days_written', (SELECT count(*) FROM up_days), 'days_removed', (SELECT count(*) FROM gone_days),
                              'weeks_written', (SELECT count(*) FROM up_weeks), 'weeks_removed', (SELECT count(*) FROM gone_weeks))
      INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION wib.analytics_totals_refresh(boolean, uuid) IS
    'Internal: brings wib.analytics_daily_totals and wib.analytics_agent_weekly_totals up to date, of every organization or of only_org: consumes wib.analytics_changes and recomputes the days and agent-weeks it names, or everything when full_rebuild is set or the log names a large share of all days; returns what it did.';

-- ------------------------------------------------------------ the names the readers use

-- The dashboards and the nightly job read the totals under the names of the
-- materialized views of 0.1.0; neither is readable by wib_app.
CREATE OR REPLACE VIEW wib.mv_call_sentiment_daily AS
SELECT t.organization_id, t.day, t.total_calls, t.completed_calls, t.total_duration_seconds, t.calls_with_duration,
       t.calls_with_sentiment, t.sentiment_sum, t.positive_calls, t.negative_calls, t.neutral_calls,
       t.scores_milli, t.calls_with_outcome, t.successful_calls
  FROM wib.analytics_daily_totals t;
COMMENT ON VIEW wib.mv_call_sentiment_daily IS
    'Calls, durations, sentiment and outcomes per organization and UTC day: wib.analytics_daily_totals under the name the dashboards and the nightly job read (a materialized view before 0.2.0). Up to date as of wib.data_as_of(); not readable by wib_app.';

CREATE OR REPLACE VIEW wib.mv_agent_performance_weekly AS
SELECT t.organization_id, t.agent_id, t.week, t.calls, t.calls_with_sentiment, t.sentiment_sum, t.positive_calls,
       t.calls_with_outcome, t.successful_calls
  FROM wib.analytics_agent_weekly_totals t;
COMMENT ON VIEW wib.mv_agent_performance_weekly IS
    'Calls, sentiment and outcomes per organization, agent and ISO week (Monday, UTC): wib.analytics_agent_weekly_totals under the name the dashboards read (a materialized view before 0.2.0). Up to date as of wib.data_as_of(); not readable by wib_app.';
