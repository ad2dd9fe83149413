-- Event fanout: one delivery per matching subscription, in the caller's transaction, and the
-- triggers that emit the core tables' events without application code.

-- Internal: one delivery per active subscription of org that wants event_type
-- (or only to the subscription given); wakes the deliverer at commit.
CREATE OR REPLACE FUNCTION wib.webhook_fanout(org uuid, event_type text, payload jsonb,
                                   event_id uuid DEFAULT gen_random_uuid(),
                                   only_subscription uuid DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO wib.webhook_deliveries (organization_id, subscription_id, event_id, event_type, payload)
    SELECT s.organization_id, s.id, webhook_fanout.event_id, webhook_fanout.event_type, webhook_fanout.payload
      FROM wib.webhook_subscriptions s
      JOIN wib.organizations o ON o.id = s.organization_id
      JOIN wib.feature_plans f ON f.feature = 'webhooks'
     WHERE s.organization_id = org
       AND s.is_active
       AND wib.plan_rank(o.plan) >= wib.plan_rank(f.min_plan)  -- a downgraded plan stops sending
       AND (CASE WHEN only_subscription IS NULL
                 THEN webhook_fanout.event_type = ANY (s.events) OR '*' = ANY (s.events)
                 ELSE s.id = only_subscription END);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM wib.wake('deliverer');
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.webhook_fanout(uuid, text, jsonb, uuid, uuid) IS
    'Internal: queues one delivery of an event per matching active subscription of an organization whose plan includes webhooks, in the caller''s transaction.';

CREATE OR REPLACE FUNCTION wib.emit_event(event_type text, payload jsonb) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org      uuid := wib.require_org();
    event_id uuid := gen_random_uuid();
BEGIN
    PERFORM wib.require_text(event_type, 'event_type', 100);
    IF NOT EXISTS (SELECT 1 FROM wib.webhook_event_types t WHERE t.event_type = emit_event.event_type)
       AND event_type !~ '^custom\.[a-z0-9_]+(\.[a-z0-9_]+)*$' THEN
        PERFORM wib.invalid_field('event_type',
            'event_type must be one of wib.webhook_event_types or custom.<name> (lower case, digits, underscores).');
    END IF;
    IF payload IS NULL OR jsonb_typeof(payload) <> 'object' THEN
        PERFORM wib.invalid_field('payload', 'payload must be a JSON object.');
    END IF;
    IF pg_column_size(payload) > 262144 THEN
        PERFORM wib.invalid_field('payload', 'payload must be at most 256 kB.');
    END IF;
    PERFORM wib.webhook_fanout(org, event_type, payload, event_id);
    RETURN event_id;
END
$$;
COMMENT ON FUNCTION wib.emit_event(text, jsonb) IS
    'Queues the event for every active subscription of the organization in context that wants it, in the caller''s transaction (nothing is sent on rollback); returns the event id.';

-- Trigger: emits the platform events of the core tables without application code.
CREATE OR REPLACE FUNCTION wib.webhook_emit_core_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    ev      text;
    payload jsonb;
    ev2     text;
BEGIN
    -- Most organizations have no subscription: leave at once.
    IF NOT EXISTS (SELECT 1 FROM wib.webhook_subscriptions s
                    WHERE s.organization_id = NEW.organization_id AND s.is_active) THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'calls' THEN
        payload := jsonb_build_object('call_id', NEW.id, 'direction', NEW.direction, 'status', NEW.status,
                                      'disposition', NEW.disposition, 'from_number', NEW.from_number,
                                      'to_number', NEW.to_number, 'agent_id', NEW.agent_id,
                                      'campaign_id', NEW.campaign_id, 'started_at', NEW.started_at,
                                      'ended_at', NEW.ended_at, 'duration_seconds', NEW.duration_seconds);
        IF TG_OP = 'INSERT' THEN
            ev := 'call.started';
            IF NEW.status = 'completed' THEN
                ev2 := 'call.completed';
            END IF;
        ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
            IF NEW.status = 'completed' THEN
                ev := 'call.completed';
            ELSIF NEW.status IN ('failed', 'busy', 'no_answer', 'canceled') THEN
                ev := 'call.failed';
            END IF;
        END IF;
    ELSIF TG_TABLE_NAME = 'recordings' THEN
        payload := jsonb_build_object('recording_id', NEW.id, 'call_id', NEW.call_id,
                                      'recording_url', NEW.recording_url, 'duration_seconds', NEW.duration_seconds);
        IF NEW.status = 'ready' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'ready') THEN
            ev := 'recording.ready';
        END IF;
        IF NEW.transcript IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.transcript IS NULL) THEN
            ev2 := 'transcript.ready';
        END IF;
    ELSIF TG_TABLE_NAME = 'ai_summaries' THEN
        IF NEW.overall_sentiment IS NOT NULL
           AND (TG_OP = 'INSERT' OR OLD.overall_sentiment IS DISTINCT FROM NEW.overall_sentiment
                OR OLD.sentiment_score IS DISTINCT FROM NEW.sentiment_score) THEN
            ev := 'sentiment.analyzed';
            payload := jsonb_build_object('call_id', NEW.call_id, 'overall_sentiment', NEW.overall_sentiment,
                                          'sentiment_score', NEW.sentiment_score, 'summary', NEW.summary);
        END IF;
    ELSIF TG_TABLE_NAME = 'call_outcomes' THEN
        ev := 'outcome.recorded';
        payload := jsonb_build_object('call_id', NEW.call_id, 'outcome', NEW.outcome,
                                      'is_success', NEW.is_success, 'value_amount', NEW.value_amount);
    ELSIF TG_TABLE_NAME = 'scorecards' THEN
        ev := 'scorecard.created';
        payload := jsonb_build_object('scorecard_id', NEW.id, 'call_id', NEW.call_id,
                                      'agent_id', NEW.agent_id, 'total_score', NEW.total_score);
    END IF;
    IF ev IS NOT NULL THEN
        PERFORM wib.webhook_fanout(NEW.organization_id, ev, payload);
    END IF;
    IF ev2 IS NOT NULL THEN
        PERFORM wib.webhook_fanout(NEW.organization_id, ev2, payload);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.webhook_emit_core_event() IS
    'Trigger: emits call.started, call.completed, call.failed, recording.ready, transcript.ready, sentiment.analyzed, outcome.recorded and scorecard.created.';

CREATE OR REPLACE TRIGGER calls_webhook_event AFTER INSERT OR UPDATE OF status ON wib.calls
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE OR REPLACE TRIGGER recordings_webhook_event AFTER INSERT OR UPDATE OF status, transcript ON wib.recordings
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE OR REPLACE TRIGGER ai_summaries_webhook_event AFTER INSERT OR UPDATE OF overall_sentiment, sentiment_score ON wib.ai_summaries
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE OR REPLACE TRIGGER call_outcomes_webhook_event AFTER INSERT ON wib.call_outcomes
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE OR REPLACE TRIGGER scorecards_webhook_event AFTER INSERT ON wib.scorecards
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
