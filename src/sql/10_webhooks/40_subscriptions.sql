-- Subscriptions: create, change, rotate, test and delete, validated and audited.

COMMENT ON COLUMN wib.webhook_subscriptions.secret IS
    'The signing secret, sealed by the vault for (organization_id, ''webhook_subscriptions.secret'', id): only the deliverer''s claim opens it.';
COMMENT ON COLUMN wib.webhook_subscriptions.previous_secret IS
    'The secret the last rotation replaced, sealed for (organization_id, ''webhook_subscriptions.previous_secret'', id); it signs too until previous_secret_expires_at.';

-- Subscriptions in use against the plan's webhooks limit (see wib.quota_take).
CREATE OR REPLACE FUNCTION wib.quota_usage_webhooks(org uuid) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    RETURN (SELECT count(*) FROM wib.webhook_subscriptions s WHERE s.organization_id = org);
END
$$;
COMMENT ON FUNCTION wib.quota_usage_webhooks(uuid) IS 'Internal: the subscriptions an organization has, for its webhooks limit.';

-- The SSRF guard and the plan limit hold however a row is written: applications
-- write subscriptions only through the API, and this trigger guards even the
-- writes of roles that may write the table directly.
CREATE OR REPLACE FUNCTION wib.webhook_subscriptions_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    reason text := wib.url_check(NEW.target_url);
BEGIN
    IF reason IS NOT NULL THEN
        PERFORM wib.invalid_field('target_url', format('target_url is refused: %s.', reason));
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM wib.quota_take('webhooks', NEW.organization_id);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION wib.webhook_subscriptions_check() IS
    'Trigger: refuses a subscription whose target_url the SSRF guard refuses, or one over the plan''s webhooks limit (at any isolation level), however the row is written.';
CREATE OR REPLACE TRIGGER webhook_subscriptions_check BEFORE INSERT OR UPDATE OF target_url ON wib.webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_subscriptions_check();

-- Internal: checks the events array of a subscription.
CREATE OR REPLACE FUNCTION wib.webhook_check_events(events text[]) RETURNS text[]
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
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
            AND NOT EXISTS (SELECT 1 FROM wib.event_types t WHERE t.event_type = e))
     LIMIT 1;
    IF FOUND THEN
        PERFORM wib.invalid_field('events',
            format('Unknown event type %s; see wib.event_types (or use custom.<name> or *).',
                   coalesce('"' || bad || '"', 'NULL')));
    END IF;
    RETURN ARRAY(SELECT DISTINCT e FROM unnest(events) AS e ORDER BY e);
END
$$;
COMMENT ON FUNCTION wib.webhook_check_events(text[]) IS 'Internal: validates and normalizes a subscription''s events.';

-- Internal: refuses a target URL the SSRF guard refuses.
CREATE OR REPLACE FUNCTION wib.webhook_check_url(url text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
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
CREATE OR REPLACE FUNCTION wib.webhook_check_retry(retry_policy text, max_retries integer) RETURNS void
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
CREATE OR REPLACE FUNCTION wib.webhook_public(s wib.webhook_subscriptions) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    RETURN jsonb_build_object('id', s.id, 'name', s.name, 'target_url', s.target_url, 'events', s.events,
                              'is_active', s.is_active, 'retry_policy', s.retry_policy,
                              'max_retries', s.max_retries);
COMMENT ON FUNCTION wib.webhook_public(wib.webhook_subscriptions) IS 'Internal: a subscription without its secrets, for the audit log.';

CREATE OR REPLACE FUNCTION wib.webhook_subscribe(name text, target_url text, events text[],
                                      retry_policy text DEFAULT 'exponential', max_retries integer DEFAULT 5)
    RETURNS TABLE (id uuid, secret text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org        uuid := wib.require_org();
    new_events text[];
    new_secret text;
    new_id     uuid;
BEGIN
    PERFORM wib.require_feature('webhooks');
    PERFORM wib.require_text(name, 'name', 200);
    PERFORM wib.webhook_check_url(target_url);
    new_events := wib.webhook_check_events(events);
    PERFORM wib.webhook_check_retry(retry_policy, max_retries);

    -- The plan's webhooks limit is taken by the table's trigger, at any isolation level.
    IF EXISTS (SELECT 1 FROM wib.webhook_subscriptions s
                WHERE s.organization_id = org AND s.name = btrim(webhook_subscribe.name)) THEN
        PERFORM wib.invalid_field('name', format('A webhook named "%s" already exists.', btrim(webhook_subscribe.name)));
    END IF;

    -- The secret is sealed for this subscription's id, so the id comes first.
    new_secret := wib.webhook_new_secret();
    new_id := gen_random_uuid();
    INSERT INTO wib.webhook_subscriptions AS s
           (organization_id, id, name, target_url, secret, events, retry_policy, max_retries, created_by)
    VALUES (org, new_id, btrim(webhook_subscribe.name), target_url,
            wib.vault_seal(new_secret, org, 'webhook_subscriptions.secret', new_id::text), new_events,
            webhook_subscribe.retry_policy, webhook_subscribe.max_retries, wib.current_user_id());

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
    'Creates a webhook subscription (plan feature webhooks, counted against the webhooks limit, URL checked by the SSRF guard); returns its id and its signing secret, shown only this once (it is stored sealed by the vault). Audited webhook:created.';

-- Internal: the subscription of the organization in context, without secrets, or P0002.
CREATE OR REPLACE FUNCTION wib.webhook_get(id uuid) RETURNS wib.webhook_subscriptions
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    s wib.webhook_subscriptions;
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the UUID of a webhook subscription.');
    END IF;
    SELECT x.* INTO s
      FROM wib.webhook_subscriptions x
     WHERE x.organization_id = wib.require_org() AND x.id = webhook_get.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('webhook subscription %s does not exist', id);
    END IF;
    s.secret := NULL;
    s.previous_secret := NULL;
    s.previous_secret_expires_at := NULL;
    RETURN s;
END
$$;
COMMENT ON FUNCTION wib.webhook_get(uuid) IS 'Internal: a subscription of the organization in context (secrets left out), or P0002.';

CREATE OR REPLACE FUNCTION wib.webhook_update(id uuid, changes jsonb) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
CREATE OR REPLACE FUNCTION wib.webhook_drop_pending(subscription_id uuid, reason text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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

CREATE OR REPLACE FUNCTION wib.webhook_unsubscribe(id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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

CREATE OR REPLACE FUNCTION wib.webhook_rotate_secret(id uuid) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org        uuid := wib.require_org();
    new_secret text := wib.webhook_new_secret();
    sealed     bytea;
    old_secret text;
BEGIN
    PERFORM wib.require_feature('webhooks');
    PERFORM wib.webhook_get(id);
    SELECT s.secret INTO sealed FROM wib.webhook_subscriptions s
     WHERE s.organization_id = org AND s.id = webhook_rotate_secret.id
       FOR UPDATE;
    -- The current secret keeps signing for a day, sealed as the previous one.
    -- One that no longer opens (its key left the ring) cannot sign anyway:
    -- rotating is how a subscription gets a working secret back.
    BEGIN
        old_secret := wib.vault_open(sealed, org, 'webhook_subscriptions.secret', id::text);
    EXCEPTION WHEN SQLSTATE 'WB009' OR undefined_object THEN
        old_secret := NULL;
    END;
    UPDATE wib.webhook_subscriptions s
       SET previous_secret = wib.vault_seal(old_secret, org, 'webhook_subscriptions.previous_secret', s.id::text),
           previous_secret_expires_at = CASE WHEN old_secret IS NOT NULL THEN now() + interval '24 hours' END,
           secret = wib.vault_seal(new_secret, org, 'webhook_subscriptions.secret', s.id::text)
     WHERE s.organization_id = org AND s.id = webhook_rotate_secret.id;
    PERFORM wib.audit('webhook:secret_rotated', 'webhook', id::text, NULL,
                      jsonb_build_object('previous_secret_valid_until',
                                         CASE WHEN old_secret IS NOT NULL THEN now() + interval '24 hours' END));
    RETURN new_secret;
END
$$;
COMMENT ON FUNCTION wib.webhook_rotate_secret(uuid) IS
    'Gives a subscription a new signing secret and returns it, shown only this once; for 24 hours deliveries carry signatures under both the old and the new secret. Audited webhook:secret_rotated.';

CREATE OR REPLACE FUNCTION wib.webhook_test(id uuid) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
