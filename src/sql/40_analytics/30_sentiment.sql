-- Sentiment scores, kept in step with the AI summaries and calls by triggers.

-- The label of a score when the summary gave none.
CREATE OR REPLACE FUNCTION wib.sentiment_label(label text, score numeric) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(label, CASE WHEN score >= 0.25 THEN 'positive'
                                WHEN score <= -0.25 THEN 'negative'
                                ELSE 'neutral' END);
COMMENT ON FUNCTION wib.sentiment_label(text, numeric) IS
    'The sentiment label of a call: the summary''s overall_sentiment, else positive from 0.25, negative to -0.25, neutral between.';

-- Triggers on ai_summaries: keep the calls' sentiment_scores rows in step, one
-- statement for all the rows a statement wrote, so a bulk load of summaries is
-- one upsert into sentiment_scores (and one entry of its own statement-level
-- triggers) rather than one per row.  Definer rights because applications do
-- not write sentiment_scores; the rows written are those of the summaries'
-- own organizations and calls.
CREATE OR REPLACE FUNCTION wib.sentiment_from_summary() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    -- Read from the transition tables first, by statements that read nothing
    -- else: on a Citus shard a statement writing a distributed table cannot
    -- read them (see wib.analytics_calls_updated).
    gone_orgs  uuid[];
    gone_calls uuid[];
    orgs       uuid[];
    calls      uuid[];
    ids        uuid[];
    scores     numeric[];
    labels     text[];
    pos        numeric[];
    neg        numeric[];
    neu        numeric[];
    models     text[];
    analyzed   timestamptz[];
    scope      uuid;
BEGIN
    -- The calls that lose their score: a summary moved to another call (the
    -- call it left), or a summary without a score.
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(g.organization_id), array_agg(g.call_id) INTO gone_orgs, gone_calls
          FROM (SELECT o.organization_id, o.call_id
                  FROM old_rows o JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
                 WHERE o.call_id <> n.call_id
                UNION
                SELECT n.organization_id, n.call_id FROM new_rows n WHERE n.sentiment_score IS NULL) g;
    ELSE
        SELECT array_agg(n.organization_id), array_agg(n.call_id) INTO gone_orgs, gone_calls
          FROM new_rows n WHERE n.sentiment_score IS NULL;
    END IF;
    SELECT array_agg(n.organization_id), array_agg(n.call_id), array_agg(n.id), array_agg(n.sentiment_score),
           array_agg(wib.sentiment_label(n.overall_sentiment, n.sentiment_score)),
           array_agg(n.positive_pct), array_agg(n.negative_pct), array_agg(n.neutral_pct),
           array_agg(n.model), array_agg(n.updated_at)
      INTO orgs, calls, ids, scores, labels, pos, neg, neu, models, analyzed
      FROM new_rows n
     WHERE n.sentiment_score IS NOT NULL;
    -- One organization at a time on a Citus shard (wib.org_scopes), every
    -- table restricted to it: the statements stay on this worker.
    FOR scope IN SELECT o FROM wib.org_scopes(coalesce(orgs, '{}') || coalesce(gone_orgs, '{}')) o LOOP
        IF gone_orgs IS NOT NULL THEN
            DELETE FROM wib.sentiment_scores s
             WHERE (scope IS NULL OR s.organization_id = scope)
               AND (s.organization_id, s.call_id) IN (SELECT g.organization_id, g.call_id
                                                        FROM unnest(gone_orgs, gone_calls) g(organization_id, call_id));
        END IF;
        IF orgs IS NOT NULL THEN
            INSERT INTO wib.sentiment_scores AS s
                   (organization_id, call_id, ai_summary_id, call_started_at, agent_id, sentiment_score, sentiment_label,
                    positive_pct, negative_pct, neutral_pct, model_version, analyzed_at)
            SELECT n.organization_id, n.call_id, n.id, c.started_at, c.agent_id, n.sentiment_score, n.label,
                   n.positive_pct, n.negative_pct, n.neutral_pct, n.model, n.analyzed_at
              FROM unnest(orgs, calls, ids, scores, labels, pos, neg, neu, models, analyzed)
                   n(organization_id, call_id, id, sentiment_score, label, positive_pct, negative_pct, neutral_pct, model, analyzed_at)
              JOIN wib.calls c ON c.organization_id = n.organization_id AND c.id = n.call_id
             WHERE scope IS NULL OR (n.organization_id = scope AND c.organization_id = scope)
            ON CONFLICT (organization_id, call_id) DO UPDATE
               SET ai_summary_id = EXCLUDED.ai_summary_id, call_started_at = EXCLUDED.call_started_at,
                   agent_id = EXCLUDED.agent_id, sentiment_score = EXCLUDED.sentiment_score,
                   sentiment_label = EXCLUDED.sentiment_label, positive_pct = EXCLUDED.positive_pct,
                   negative_pct = EXCLUDED.negative_pct, neutral_pct = EXCLUDED.neutral_pct,
                   model_version = EXCLUDED.model_version, analyzed_at = EXCLUDED.analyzed_at;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.sentiment_from_summary() IS
    'Statement-level trigger on wib.ai_summaries: writes (or removes, when the score is NULL) the rows of wib.sentiment_scores of the calls whose summaries the statement inserted or updated, in one upsert.';

CREATE OR REPLACE TRIGGER ai_summaries_sentiment AFTER INSERT ON wib.ai_summaries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.sentiment_from_summary();
CREATE OR REPLACE TRIGGER ai_summaries_sentiment_update AFTER UPDATE ON wib.ai_summaries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wib.sentiment_from_summary();

CREATE OR REPLACE FUNCTION wib.sentiment_backfill() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
CREATE OR REPLACE FUNCTION wib.sentiment_follow_call() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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

CREATE OR REPLACE TRIGGER calls_sentiment_follow AFTER UPDATE OF started_at, agent_id ON wib.calls
    FOR EACH ROW WHEN (OLD.started_at IS DISTINCT FROM NEW.started_at OR OLD.agent_id IS DISTINCT FROM NEW.agent_id)
    EXECUTE FUNCTION wib.sentiment_follow_call();
