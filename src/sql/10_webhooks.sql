-- Webhooks: subscriptions, transactional event fanout, Standard Webhooks
-- signatures, the SSRF guard, and the tables the deliverer worker drains.
-- SQLSTATEs of this feature: WB101 (the subscription is inactive).  Invalid input
-- is 22023 naming the field, an unknown subscription P0002.  See docs/webhooks.md.

-- ---------------------------------------------------------------------------
-- Signatures and the SSRF guard (C)

CREATE FUNCTION wib.sign_webhook(secret text, msg_id text, ts bigint, body text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_sign_webhook';
COMMENT ON FUNCTION wib.sign_webhook(text, text, bigint, text) IS
    'Standard Webhooks signature "v1,<base64 HMAC-SHA256>" of msg_id.ts.body under a whsec_ secret.';

CREATE FUNCTION wib.verify_webhook(secret text, msg_id text, ts bigint, body text,
                                   signature_header text, tolerance_seconds integer DEFAULT 300) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_verify_webhook';
COMMENT ON FUNCTION wib.verify_webhook(text, text, bigint, text, text, integer) IS
    'True when ts is within tolerance_seconds of now and any "v1," entry of signature_header signs msg_id.ts.body under secret (constant-time compare).';

CREATE FUNCTION wib.webhook_new_secret() RETURNS text
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_webhook_new_secret';
COMMENT ON FUNCTION wib.webhook_new_secret() IS
    'Internal: a new signing secret, "whsec_" + base64 of 32 random bytes.';

CREATE FUNCTION wib.url_check(url text) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_url_check';
COMMENT ON FUNCTION wib.url_check(text) IS
    'SSRF guard: NULL when tenants may use the URL (https, no credentials, no private, loopback or reserved address however spelt), else the reason.';

-- ---------------------------------------------------------------------------
-- The event catalogue

CREATE TABLE wib.webhook_event_types (
    event_type  text  NOT NULL,
    description text  NOT NULL,
    example     jsonb NOT NULL,
    CONSTRAINT webhook_event_types_pkey PRIMARY KEY (event_type),
    CONSTRAINT webhook_event_types_name_check CHECK (event_type ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$')
);
COMMENT ON TABLE wib.webhook_event_types IS
    'The catalogue of webhook event types, with an example payload of each; custom.* types are also accepted by wib.emit_event.';

INSERT INTO wib.webhook_event_types (event_type, description, example) VALUES
    ('call.started', 'A call was created (placed or received).',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "direction": "outbound", "status": "queued", "from_number": "+15550100", "to_number": "+15550199", "agent_id": "agent-1", "started_at": "2026-01-01T12:00:00Z"}'),
    ('call.completed', 'A call''s status became completed.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "direction": "outbound", "status": "completed", "disposition": "answered", "agent_id": "agent-1", "started_at": "2026-01-01T12:00:00Z", "ended_at": "2026-01-01T12:04:10Z", "duration_seconds": 250}'),
    ('call.failed', 'A call ended as failed, busy, no_answer or canceled.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "status": "no_answer"}'),
    ('recording.ready', 'A recording finished processing.',
     '{"recording_id": "5f0e9d5c-1f0a-4a8e-8d0e-0c5a1b2c3d4e", "call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "recording_url": "https://media.example.com/r/5f0e.mp3", "duration_seconds": 248}'),
    ('transcript.ready', 'A recording''s transcript became available.',
     '{"recording_id": "5f0e9d5c-1f0a-4a8e-8d0e-0c5a1b2c3d4e", "call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11"}'),
    ('sentiment.analyzed', 'The AI summary and sentiment of a call were stored.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "overall_sentiment": "positive", "sentiment_score": 0.62, "summary": "Customer agreed to a demo."}'),
    ('outcome.recorded', 'The outcome of a call was recorded.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "outcome": "sale", "is_success": true, "value_amount": 1200.00}'),
    ('scorecard.created', 'A call was scored by a reviewer.',
     '{"scorecard_id": "7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "agent_id": "agent-1", "total_score": 87.5}'),
    ('webhook.test', 'Sent by wib.webhook_test to check an endpoint.',
     '{"subscription_id": "2c9d8e7f-6a5b-4c3d-9e1f-0a1b2c3d4e5f", "message": "This is a test event from wib."}'),
    ('webhook.disabled', 'A subscription was deactivated after a run of failed deliveries (sent to the organization''s other subscriptions).',
     '{"subscription_id": "2c9d8e7f-6a5b-4c3d-9e1f-0a1b2c3d4e5f", "name": "crm", "consecutive_failures": 20}');

-- ---------------------------------------------------------------------------
-- Tables

CREATE TABLE wib.webhook_subscriptions (
    organization_id            uuid        NOT NULL,
    id                         uuid        NOT NULL DEFAULT gen_random_uuid(),
    name                       text        NOT NULL,
    target_url                 text        NOT NULL,
    secret                     text        NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    events                     text[]      NOT NULL,
    is_active                  boolean     NOT NULL DEFAULT true,
    retry_policy               text        NOT NULL DEFAULT 'exponential',
    max_retries                integer     NOT NULL DEFAULT 5,
    consecutive_failures       integer     NOT NULL DEFAULT 0,
    disabled_at                timestamptz,
    disabled_reason            text,
    created_by                 text,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT webhook_subscriptions_name_key UNIQUE (organization_id, name),
    CONSTRAINT webhook_subscriptions_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT webhook_subscriptions_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT webhook_subscriptions_url_check CHECK (length(target_url) BETWEEN 1 AND 2048),
    CONSTRAINT webhook_subscriptions_events_check CHECK (cardinality(events) BETWEEN 1 AND 50),
    CONSTRAINT webhook_subscriptions_policy_check CHECK (retry_policy IN ('none', 'linear', 'exponential')),
    CONSTRAINT webhook_subscriptions_retries_check CHECK (max_retries BETWEEN 0 AND 20)
);
COMMENT ON TABLE wib.webhook_subscriptions IS
    'Endpoints an organization receives events at, with the events wanted, the retry policy and the signing secret (never readable by wib_app).';
SELECT wib.make_tenant_table('wib.webhook_subscriptions');
CREATE TRIGGER webhook_subscriptions_touch BEFORE UPDATE ON wib.webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- The SSRF guard and the plan limit hold for rows written without the API too
-- (wib_app may write the table; row-level security keeps it to its organization).
CREATE FUNCTION wib.webhook_subscriptions_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    reason text := wib.url_check(NEW.target_url);
    used   bigint;
BEGIN
    IF reason IS NOT NULL THEN
        PERFORM wib.invalid_field('target_url', format('target_url is refused: %s.', reason));
    END IF;
    IF TG_OP = 'INSERT' AND wib.current_org_id() IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('wib.webhook_subscribe:' || NEW.organization_id::text, 0));
        SELECT count(*) INTO used FROM wib.webhook_subscriptions s WHERE s.organization_id = NEW.organization_id;
        PERFORM wib.require_limit('webhooks', used, 1);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION wib.webhook_subscriptions_check() IS
    'Trigger: refuses a subscription whose target_url the SSRF guard refuses, or one over the plan''s webhooks limit, however the row is written.';
CREATE TRIGGER webhook_subscriptions_check BEFORE INSERT OR UPDATE OF target_url ON wib.webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_subscriptions_check();

CREATE TABLE wib.webhook_deliveries (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    subscription_id uuid        NOT NULL,
    event_id        uuid        NOT NULL,
    message_id      text        NOT NULL GENERATED ALWAYS AS ('msg_' || replace(id::text, '-', '')) STORED,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    attempt_number  integer     NOT NULL DEFAULT 0,
    next_retry_at   timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    response_status integer,
    response_body   text,
    last_error      text,
    duration_ms     integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT webhook_deliveries_subscription_fkey FOREIGN KEY (organization_id, subscription_id)
        REFERENCES wib.webhook_subscriptions (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed', 'retrying')),
    CONSTRAINT webhook_deliveries_attempt_check CHECK (attempt_number >= 0),
    CONSTRAINT webhook_deliveries_payload_check CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT webhook_deliveries_body_check CHECK (length(response_body) <= 1024)
);
CREATE INDEX webhook_deliveries_due_idx ON wib.webhook_deliveries (next_retry_at)
    WHERE status IN ('pending', 'retrying');
-- A queue: rows are updated twice within seconds of their insert, so vacuum it often.
ALTER TABLE wib.webhook_deliveries SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
                                        autovacuum_analyze_scale_factor = 0.05, fillfactor = 80);
CREATE INDEX webhook_deliveries_subscription_idx ON wib.webhook_deliveries (organization_id, subscription_id, created_at);
COMMENT ON TABLE wib.webhook_deliveries IS
    'One row per event per subscription: status, attempts, the last response (first 1 KB), and the lease of the deliverer sending it. message_id (webhook-id) is stable across retries.';
SELECT wib.make_tenant_table('wib.webhook_deliveries');

-- ---------------------------------------------------------------------------
-- Fanout

-- Internal: one delivery per active subscription of org that wants event_type
-- (or only to the subscription given); wakes the deliverer at commit.
CREATE FUNCTION wib.webhook_fanout(org uuid, event_type text, payload jsonb,
                                   event_id uuid DEFAULT gen_random_uuid(),
                                   only_subscription uuid DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
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

CREATE FUNCTION wib.emit_event(event_type text, payload jsonb) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
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
CREATE FUNCTION wib.webhook_emit_core_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
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

CREATE TRIGGER calls_webhook_event AFTER INSERT OR UPDATE OF status ON wib.calls
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE TRIGGER recordings_webhook_event AFTER INSERT OR UPDATE OF status, transcript ON wib.recordings
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE TRIGGER ai_summaries_webhook_event AFTER INSERT OR UPDATE OF overall_sentiment, sentiment_score ON wib.ai_summaries
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE TRIGGER call_outcomes_webhook_event AFTER INSERT ON wib.call_outcomes
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE TRIGGER scorecards_webhook_event AFTER INSERT ON wib.scorecards
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();

-- ---------------------------------------------------------------------------
-- API

-- Internal: checks the events array of a subscription.
CREATE FUNCTION wib.webhook_check_events(events text[]) RETURNS text[]
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    bad text;
BEGIN
    IF events IS NULL OR cardinality(events) = 0 THEN
        PERFORM wib.invalid_field('events', 'events must be a non-empty array of event types.');
    END IF;
    IF cardinality(events) > 50 THEN
        PERFORM wib.invalid_field('events', 'events must list at most 50 event types.');
    END IF;
    SELECT e INTO bad FROM unnest(events) AS e
     WHERE e IS NULL
        OR (e <> '*' AND e !~ '^custom\.[a-z0-9_]+(\.[a-z0-9_]+)*$'
            AND NOT EXISTS (SELECT 1 FROM wib.webhook_event_types t WHERE t.event_type = e))
     LIMIT 1;
    IF FOUND THEN
        PERFORM wib.invalid_field('events',
            format('Unknown event type %s; see wib.webhook_event_types (or use custom.<name> or *).',
                   coalesce('"' || bad || '"', 'NULL')));
    END IF;
    RETURN ARRAY(SELECT DISTINCT e FROM unnest(events) AS e ORDER BY e);
END
$$;
COMMENT ON FUNCTION wib.webhook_check_events(text[]) IS 'Internal: validates and normalizes a subscription''s events.';

-- Internal: refuses a target URL the SSRF guard refuses.
CREATE FUNCTION wib.webhook_check_url(url text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    reason text;
BEGIN
    PERFORM wib.require_text(url, 'target_url', 2048);
    reason := wib.url_check(url);
    IF reason IS NOT NULL THEN
        PERFORM wib.invalid_field('target_url', format('target_url is refused: %s.', reason));
    END IF;
    RETURN url;
END
$$;
COMMENT ON FUNCTION wib.webhook_check_url(text) IS 'Internal: raises 22023 naming target_url when the SSRF guard refuses it.';

-- Internal: checks retry_policy and max_retries.
CREATE FUNCTION wib.webhook_check_retry(retry_policy text, max_retries integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF retry_policy IS NULL OR retry_policy NOT IN ('none', 'linear', 'exponential') THEN
        PERFORM wib.invalid_field('retry_policy', 'retry_policy must be none, linear or exponential.');
    END IF;
    IF max_retries IS NULL OR max_retries NOT BETWEEN 0 AND 20 THEN
        PERFORM wib.invalid_field('max_retries', 'max_retries must be an integer from 0 to 20.');
    END IF;
END
$$;
COMMENT ON FUNCTION wib.webhook_check_retry(text, integer) IS 'Internal: validates a retry policy.';

-- The subscription as the API shows it (no secrets).
CREATE FUNCTION wib.webhook_public(s wib.webhook_subscriptions) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    RETURN jsonb_build_object('id', s.id, 'name', s.name, 'target_url', s.target_url, 'events', s.events,
                              'is_active', s.is_active, 'retry_policy', s.retry_policy,
                              'max_retries', s.max_retries);
COMMENT ON FUNCTION wib.webhook_public(wib.webhook_subscriptions) IS 'Internal: a subscription without its secrets, for the audit log.';

CREATE FUNCTION wib.webhook_subscribe(name text, target_url text, events text[],
                                      retry_policy text DEFAULT 'exponential', max_retries integer DEFAULT 5)
    RETURNS TABLE (id uuid, secret text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org        uuid := wib.require_org();
    new_events text[];
    new_secret text;
    new_id     uuid;
    used       bigint;
BEGIN
    PERFORM wib.require_feature('webhooks');
    PERFORM wib.require_text(name, 'name', 200);
    PERFORM wib.webhook_check_url(target_url);
    new_events := wib.webhook_check_events(events);
    PERFORM wib.webhook_check_retry(retry_policy, max_retries);

    -- Serialize subscribes of one organization so the plan limit holds under concurrency.
    PERFORM pg_advisory_xact_lock(hashtextextended('wib.webhook_subscribe:' || org::text, 0));
    SELECT count(*) INTO used FROM wib.webhook_subscriptions s WHERE s.organization_id = org;
    PERFORM wib.require_limit('webhooks', used, 1);
    IF EXISTS (SELECT 1 FROM wib.webhook_subscriptions s
                WHERE s.organization_id = org AND s.name = btrim(webhook_subscribe.name)) THEN
        PERFORM wib.invalid_field('name', format('A webhook named "%s" already exists.', btrim(webhook_subscribe.name)));
    END IF;

    new_secret := wib.webhook_new_secret();
    INSERT INTO wib.webhook_subscriptions AS s
           (organization_id, name, target_url, secret, events, retry_policy, max_retries, created_by)
    VALUES (org, btrim(webhook_subscribe.name), target_url, new_secret, new_events,
            webhook_subscribe.retry_policy, webhook_subscribe.max_retries, wib.current_user_id())
    RETURNING s.id INTO new_id;

    PERFORM wib.audit('webhook:created', 'webhook', new_id::text, NULL,
                      jsonb_build_object('id', new_id, 'name', btrim(webhook_subscribe.name),
                                         'target_url', target_url, 'events', new_events,
                                         'retry_policy', webhook_subscribe.retry_policy,
                                         'max_retries', webhook_subscribe.max_retries));
    id := new_id;
    secret := new_secret;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wib.webhook_subscribe(text, text, text[], text, integer) IS
    'Creates a webhook subscription (plan feature webhooks, counted against the webhooks limit, URL checked by the SSRF guard); returns its id and its signing secret, shown only this once. Audited webhook:created.';

-- Internal: the subscription of the organization in context, without secrets, or P0002.
CREATE FUNCTION wib.webhook_get(id uuid) RETURNS wib.webhook_subscriptions
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    s wib.webhook_subscriptions;
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the UUID of a webhook subscription.');
    END IF;
    SELECT x.organization_id, x.id, x.name, x.target_url, NULL, NULL, NULL, x.events, x.is_active,
           x.retry_policy, x.max_retries, x.consecutive_failures, x.disabled_at, x.disabled_reason,
           x.created_by, x.created_at, x.updated_at
      INTO s
      FROM wib.webhook_subscriptions x
     WHERE x.organization_id = wib.require_org() AND x.id = webhook_get.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('webhook subscription %s does not exist', id);
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION wib.webhook_get(uuid) IS 'Internal: a subscription of the organization in context (secrets left out), or P0002.';

CREATE FUNCTION wib.webhook_update(id uuid, changes jsonb) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.webhook_subscriptions;
    new_row wib.webhook_subscriptions;
BEGIN
    PERFORM wib.require_feature('webhooks');
    PERFORM wib.check_fields(changes, ARRAY['name', 'target_url', 'events', 'is_active', 'retry_policy', 'max_retries'],
                             'changes');
    old_row := wib.webhook_get(id);
    new_row := old_row;
    IF changes ? 'name' THEN
        new_row.name := btrim(wib.require_text(wib.field_text(changes, 'name', 200), 'name', 200));
    END IF;
    IF changes ? 'target_url' THEN
        new_row.target_url := wib.webhook_check_url(wib.field_text(changes, 'target_url', 2048));
    END IF;
    IF changes ? 'events' THEN
        IF jsonb_typeof(changes -> 'events') IS DISTINCT FROM 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(changes -> 'events') e WHERE jsonb_typeof(e) <> 'string') THEN
            PERFORM wib.invalid_field('events', 'events must be an array of event type strings.');
        END IF;
        new_row.events := wib.webhook_check_events(ARRAY(SELECT jsonb_array_elements_text(changes -> 'events')));
    END IF;
    IF changes ? 'is_active' THEN
        IF jsonb_typeof(changes -> 'is_active') IS DISTINCT FROM 'boolean' THEN
            PERFORM wib.invalid_field('is_active', 'is_active must be true or false.');
        END IF;
        new_row.is_active := (changes ->> 'is_active')::boolean;
    END IF;
    IF changes ? 'retry_policy' THEN
        new_row.retry_policy := wib.field_text(changes, 'retry_policy', 20);
    END IF;
    IF changes ? 'max_retries' THEN
        IF jsonb_typeof(changes -> 'max_retries') IS DISTINCT FROM 'number'
           OR (changes ->> 'max_retries') !~ '^[0-9]{1,2}$' THEN
            PERFORM wib.invalid_field('max_retries', 'max_retries must be an integer from 0 to 20.');
        END IF;
        new_row.max_retries := (changes ->> 'max_retries')::integer;
    END IF;
    PERFORM wib.webhook_check_retry(new_row.retry_policy, new_row.max_retries);
    IF new_row.name <> old_row.name AND EXISTS (
           SELECT 1 FROM wib.webhook_subscriptions s
            WHERE s.organization_id = old_row.organization_id AND s.name = new_row.name) THEN
        PERFORM wib.invalid_field('name', format('A webhook named "%s" already exists.', new_row.name));
    END IF;

    UPDATE wib.webhook_subscriptions s
       SET name = new_row.name, target_url = new_row.target_url, events = new_row.events,
           is_active = new_row.is_active, retry_policy = new_row.retry_policy, max_retries = new_row.max_retries,
           consecutive_failures = CASE WHEN new_row.is_active AND NOT old_row.is_active THEN 0
                                       ELSE s.consecutive_failures END,
           disabled_at = CASE WHEN new_row.is_active THEN NULL ELSE coalesce(s.disabled_at, now()) END,
           disabled_reason = CASE WHEN new_row.is_active THEN NULL
                                  WHEN old_row.is_active THEN 'deactivated by the application'
                                  ELSE s.disabled_reason END
     WHERE s.organization_id = old_row.organization_id AND s.id = old_row.id;
    IF old_row.is_active AND NOT new_row.is_active THEN
        PERFORM wib.webhook_drop_pending(old_row.id, 'subscription deactivated');
    END IF;
    PERFORM wib.audit('webhook:updated', 'webhook', old_row.id::text,
                      wib.webhook_public(old_row), wib.webhook_public(new_row));
END
$$;
COMMENT ON FUNCTION wib.webhook_update(uuid, jsonb) IS
    'Changes a subscription: any of name, target_url, events, is_active, retry_policy, max_retries. Deactivating fails its pending deliveries; reactivating clears its failure count. Audited webhook:updated.';

-- Internal: marks the queued deliveries of a subscription of the organization in context failed.
CREATE FUNCTION wib.webhook_drop_pending(subscription_id uuid, reason text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    n integer;
BEGIN
    UPDATE wib.webhook_deliveries d
       SET status = 'failed', last_error = reason, leased_until = NULL
     WHERE d.organization_id = wib.require_org()
       AND d.subscription_id = webhook_drop_pending.subscription_id
       AND d.status IN ('pending', 'retrying');
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.webhook_drop_pending(uuid, text) IS
    'Internal: fails the queued deliveries of a subscription of the organization in context.';

CREATE FUNCTION wib.webhook_unsubscribe(id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.webhook_subscriptions := wib.webhook_get(id);
BEGIN
    DELETE FROM wib.webhook_subscriptions s
     WHERE s.organization_id = old_row.organization_id AND s.id = old_row.id;
    PERFORM wib.audit('webhook:deleted', 'webhook', old_row.id::text, wib.webhook_public(old_row), NULL);
END
$$;
COMMENT ON FUNCTION wib.webhook_unsubscribe(uuid) IS
    'Deletes a subscription and its deliveries. Audited webhook:deleted.';

CREATE FUNCTION wib.webhook_rotate_secret(id uuid) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    new_secret text := wib.webhook_new_secret();
BEGIN
    PERFORM wib.require_feature('webhooks');
    PERFORM wib.webhook_get(id);
    UPDATE wib.webhook_subscriptions s
       SET previous_secret = s.secret, previous_secret_expires_at = now() + interval '24 hours',
           secret = new_secret
     WHERE s.organization_id = wib.require_org() AND s.id = webhook_rotate_secret.id;
    PERFORM wib.audit('webhook:secret_rotated', 'webhook', id::text, NULL,
                      jsonb_build_object('previous_secret_valid_until', now() + interval '24 hours'));
    RETURN new_secret;
END
$$;
COMMENT ON FUNCTION wib.webhook_rotate_secret(uuid) IS
    'Gives a subscription a new signing secret and returns it; for 24 hours deliveries carry signatures under both the old and the new secret. Audited webhook:secret_rotated.';

CREATE FUNCTION wib.webhook_test(id uuid) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    s        wib.webhook_subscriptions;
    test_event uuid := gen_random_uuid();
    delivery uuid;
BEGIN
    PERFORM wib.require_feature('webhooks');
    s := wib.webhook_get(id);
    IF NOT s.is_active THEN
        RAISE EXCEPTION USING ERRCODE = 'WB101',
            MESSAGE = format('webhook subscription %s is inactive', id),
            HINT = 'Reactivate it with wib.webhook_update(id, ''{"is_active": true}'').';
    END IF;
    PERFORM wib.webhook_fanout(s.organization_id, 'webhook.test',
                               jsonb_build_object('subscription_id', s.id,
                                                  'message', 'This is a test event from wib.'),
                               test_event, s.id);
    SELECT d.id INTO delivery FROM wib.webhook_deliveries d
     WHERE d.organization_id = s.organization_id AND d.event_id = test_event;
    PERFORM wib.audit('webhook:tested', 'webhook', s.id::text, NULL, jsonb_build_object('delivery_id', delivery));
    RETURN delivery;
END
$$;
COMMENT ON FUNCTION wib.webhook_test(uuid) IS
    'Queues a webhook.test delivery to the subscription now and returns the delivery id. Audited webhook:tested.';

-- ---------------------------------------------------------------------------
-- The deliverer's side (called by the worker and by wib.deliver_due)

-- Delay before retry number attempt (1-based) of a policy, from wib.webhook_retry_schedule.
CREATE FUNCTION wib.webhook_retry_delay(policy text, attempt integer) RETURNS interval
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (SELECT CASE policy
                       WHEN 'exponential' THEN s[least(greatest(attempt, 1), cardinality(s))]
                       WHEN 'linear' THEN s[1] * greatest(attempt, 1)
                   END
              FROM (SELECT string_to_array(replace(current_setting('wib.webhook_retry_schedule'), ' ', ''),
                                           ',')::interval[] AS s) x);
COMMENT ON FUNCTION wib.webhook_retry_delay(text, integer) IS
    'Internal: the wait before a retry: exponential takes the attempt''s step of wib.webhook_retry_schedule (the last one repeats), linear the first step times the attempt.';

-- Claims up to max_items due deliveries for lease, returning what sending them needs.
CREATE FUNCTION wib.webhook_claim(max_items integer, lease interval)
    RETURNS TABLE (organization_id uuid, id uuid, attempt_number integer, message_id text,
                   target_url text, body text, secrets text[])
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    -- Walk the due index in order: a plain index scan stops after max_items live
    -- rows and marks the dead entries a busy queue leaves behind, where a bitmap
    -- scan would re-read them all on every claim until the next vacuum.
    SET enable_bitmapscan = off
    SET enable_seqscan = off
AS $$
    WITH due AS (
        SELECT d.organization_id, d.id
          FROM wib.webhook_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.next_retry_at <= now()
         ORDER BY d.next_retry_at
         LIMIT max_items
           FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE wib.webhook_deliveries d
           SET attempt_number = d.attempt_number + 1,
               next_retry_at = now() + lease,
               leased_until = now() + lease
          FROM due
         WHERE d.organization_id = due.organization_id AND d.id = due.id
        RETURNING d.organization_id, d.id, d.subscription_id, d.attempt_number, d.message_id,
                  d.event_type, d.created_at, d.payload)
    SELECT c.organization_id, c.id, c.attempt_number, c.message_id, s.target_url,
           jsonb_build_object('type', c.event_type,
                              'timestamp', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                              'data', c.payload)::text,
           CASE WHEN s.previous_secret IS NOT NULL AND s.previous_secret_expires_at > now()
                THEN ARRAY[s.secret, s.previous_secret] ELSE ARRAY[s.secret] END
      FROM claimed c
      JOIN wib.webhook_subscriptions s ON s.organization_id = c.organization_id AND s.id = c.subscription_id
$$;
COMMENT ON FUNCTION wib.webhook_claim(integer, interval) IS
    'Internal (deliverer): leases due deliveries with FOR UPDATE SKIP LOCKED; a lease that expires makes the delivery due again.';

-- Records the results of one batch of attempts, schedules retries, and
-- deactivates subscriptions after wib.webhook_disable_after failed deliveries in a row.
CREATE FUNCTION wib.webhook_record(org_ids uuid[], ids uuid[], attempts integer[], http_status integer[],
                                   errors text[], durations integer[], bodies text[], retry_after integer[])
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    -- A generic plan cannot see the batch size and picks scans of the whole table.
    SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    n             integer;
    disable_after integer := current_setting('wib.webhook_disable_after')::integer;
    sub           record;
BEGIN
    WITH r AS (
        SELECT * FROM unnest(org_ids, ids, attempts, http_status, errors, durations, bodies, retry_after)
                   AS r(organization_id, id, attempt, http_status, error, duration_ms, body, retry_after)),
    -- The batch's rows found by primary key first (materialized, so the planner
    -- cannot reach them through the subscription index instead).
    rd AS MATERIALIZED (
        SELECT r.*, d.subscription_id
          FROM r
          JOIN wib.webhook_deliveries d ON d.organization_id = r.organization_id AND d.id = r.id
         WHERE d.attempt_number = r.attempt AND d.status IN ('pending', 'retrying')),
    outcome AS (
        SELECT rd.*,
               CASE WHEN rd.http_status BETWEEN 200 AND 299 THEN 'delivered'
                    WHEN rd.http_status = 410 OR s.retry_policy = 'none' OR rd.attempt > s.max_retries THEN 'failed'
                    ELSE 'retrying' END AS new_status,
               s.retry_policy
          FROM rd
          JOIN wib.webhook_subscriptions s ON s.organization_id = rd.organization_id AND s.id = rd.subscription_id),
    upd AS (
        UPDATE wib.webhook_deliveries d
           SET status = o.new_status,
               response_status = nullif(o.http_status, 0),
               response_body = left(o.body, 1024),
               last_error = o.error,
               duration_ms = o.duration_ms,
               last_attempt_at = now(),
               leased_until = NULL,
               delivered_at = CASE WHEN o.new_status = 'delivered' THEN now() END,
               next_retry_at = CASE WHEN o.new_status = 'retrying'
                                    THEN now() + greatest(wib.webhook_retry_delay(o.retry_policy, o.attempt),
                                                          CASE WHEN o.http_status IN (429, 503)
                                                               THEN make_interval(secs => coalesce(o.retry_after, 0))
                                                               ELSE interval '0' END)
                                    ELSE d.next_retry_at END
          FROM outcome o
         WHERE d.organization_id = o.organization_id AND d.id = o.id
        RETURNING d.organization_id, d.subscription_id, d.status),
    per_sub AS (
        SELECT u.organization_id, u.subscription_id,
               count(*) FILTER (WHERE u.status = 'delivered') AS delivered,
               count(*) FILTER (WHERE u.status = 'failed') AS failed
          FROM upd u GROUP BY 1, 2),
    -- Failure runs: a delivered message resets the count, each failed delivery adds one.
    counted AS (
        UPDATE wib.webhook_subscriptions s
           SET consecutive_failures = CASE WHEN p.delivered > 0 THEN 0 ELSE s.consecutive_failures + p.failed END
          FROM per_sub p
         WHERE s.organization_id = p.organization_id AND s.id = p.subscription_id
           AND (p.failed > 0 OR (p.delivered > 0 AND s.consecutive_failures > 0))
        RETURNING 1)
    SELECT count(*) INTO n FROM upd;

    IF disable_after > 0 THEN
        FOR sub IN
            UPDATE wib.webhook_subscriptions s
               SET is_active = false, disabled_at = now(),
                   disabled_reason = format('%s failed deliveries in a row', s.consecutive_failures)
              FROM (SELECT DISTINCT d.organization_id, d.subscription_id
                      FROM unnest(org_ids, ids) AS u(organization_id, id)
                      JOIN wib.webhook_deliveries d ON d.organization_id = u.organization_id AND d.id = u.id) t
             WHERE s.organization_id = t.organization_id AND s.id = t.subscription_id
               AND s.is_active AND s.consecutive_failures >= disable_after
            RETURNING s.organization_id, s.id, s.name, s.consecutive_failures
        LOOP
            UPDATE wib.webhook_deliveries d
               SET status = 'failed', last_error = 'subscription deactivated after repeated failures',
                   leased_until = NULL
             WHERE d.organization_id = sub.organization_id AND d.subscription_id = sub.id
               AND d.status IN ('pending', 'retrying') AND (d.leased_until IS NULL OR d.leased_until < now());
            PERFORM wib.audit('webhook:disabled', 'webhook', sub.id::text, NULL,
                              jsonb_build_object('consecutive_failures', sub.consecutive_failures),
                              sub.organization_id);
            PERFORM wib.webhook_fanout(sub.organization_id, 'webhook.disabled',
                                       jsonb_build_object('subscription_id', sub.id, 'name', sub.name,
                                                          'consecutive_failures', sub.consecutive_failures));
        END LOOP;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.webhook_record(uuid[], uuid[], integer[], integer[], text[], integer[], text[], integer[]) IS
    'Internal (deliverer): records a batch of attempts: delivered on 2xx, failed on 410 or when retries are spent, else retrying on the schedule (Retry-After on 429/503 when longer).';

-- Makes deliveries leased by a deliverer that died due again (run when the worker starts).
CREATE FUNCTION wib.webhook_release_leases() RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
BEGIN ATOMIC
    -- Rows locked by a live wib.deliver_due() session are its own business: skip them.
    WITH stale AS (
        SELECT d.organization_id, d.id FROM wib.webhook_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.leased_until > now()
           FOR UPDATE SKIP LOCKED),
    released AS (
        UPDATE wib.webhook_deliveries d SET next_retry_at = now(), leased_until = NULL
          FROM stale
         WHERE d.organization_id = stale.organization_id AND d.id = stale.id
        RETURNING 1)
    SELECT count(*)::integer FROM released;
END;
COMMENT ON FUNCTION wib.webhook_release_leases() IS
    'Internal (deliverer): makes the deliveries leased before a restart due at once.';

CREATE FUNCTION wib.deliver_due(max_items integer DEFAULT 1000) RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_deliver_due';
COMMENT ON FUNCTION wib.deliver_due(integer) IS
    'Operators: one delivery pass in the caller''s session, the same code the deliverer worker runs (claim, send concurrently, record); returns the number of deliveries attempted.';

-- ---------------------------------------------------------------------------
-- Retention

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('webhook_deliveries',
     $q$WITH gone AS (DELETE FROM wib.webhook_deliveries
                       WHERE created_at < now() - interval '7 days' AND status IN ('delivered', 'failed')
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Finished webhook deliveries older than 7 days.');

-- ---------------------------------------------------------------------------
-- Privileges

GRANT EXECUTE ON FUNCTION
    wib.sign_webhook(text, text, bigint, text),
    wib.verify_webhook(text, text, bigint, text, text, integer),
    wib.url_check(text),
    wib.emit_event(text, jsonb),
    wib.webhook_subscribe(text, text, text[], text, integer),
    wib.webhook_update(uuid, jsonb),
    wib.webhook_unsubscribe(uuid),
    wib.webhook_rotate_secret(uuid),
    wib.webhook_test(uuid),
    wib.webhook_get(uuid),
    wib.webhook_check_events(text[]),
    wib.webhook_check_url(text),
    wib.webhook_check_retry(text, integer),
    wib.webhook_public(wib.webhook_subscriptions),
    wib.webhook_drop_pending(uuid, text),
    wib.webhook_new_secret(),
    wib.webhook_subscriptions_check()
TO wib_app;
-- Operators drive passes themselves (wib.deliver_due, e.g. from pg_cron); the helpers it calls
-- are SECURITY DEFINER because a pass spans every organization.
GRANT EXECUTE ON FUNCTION
    wib.deliver_due(integer), wib.webhook_retry_delay(text, integer),
    wib.webhook_claim(integer, interval),
    wib.webhook_record(uuid[], uuid[], integer[], integer[], text[], integer[], text[], integer[]),
    wib.webhook_release_leases()
TO wib_admin;

GRANT SELECT ON wib.webhook_event_types TO wib_app;
GRANT SELECT (organization_id, id, name, target_url, events, is_active, retry_policy, max_retries,
              consecutive_failures, disabled_at, disabled_reason, previous_secret_expires_at,
              created_by, created_at, updated_at)
    ON wib.webhook_subscriptions TO wib_app;
GRANT INSERT (organization_id, name, target_url, secret, events, retry_policy, max_retries, created_by),
      UPDATE (name, target_url, events, is_active, retry_policy, max_retries, consecutive_failures,
              disabled_at, disabled_reason, updated_at),
      DELETE
    ON wib.webhook_subscriptions TO wib_app;
GRANT SELECT ON wib.webhook_deliveries TO wib_app;
