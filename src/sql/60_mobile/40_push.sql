-- Web Push subscriptions (the browser's PushSubscription JSON, as is), test
-- pushes, and wib.push_send, how an application notifies a user on all their
-- devices.  The deliverer sends what is queued here (src/push/push_deliver.c).

-- The events a subscription gets when it names none: those of this list the
-- catalogue has (crm.sync_failed comes with CRM sync; ivr.call_ended pushes
-- only for voicemails).
-- (PL/pgSQL: on a Citus cluster, where wib.event_types is a reference table,
-- Citus fails to run a function with an SQL-standard body that reads it.)
CREATE OR REPLACE FUNCTION wib.push_default_events() RETURNS text[]
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    RETURN ARRAY(SELECT e FROM unnest(ARRAY['anomaly.detected', 'crm.sync_failed', 'export.completed', 'ivr.call_ended']) e
                  WHERE EXISTS (SELECT 1 FROM wib.event_types t WHERE t.event_type = e) ORDER BY e);
END
$$;
COMMENT ON FUNCTION wib.push_default_events() IS
    'The events a push subscription gets by default: anomaly.detected, crm.sync_failed, export.completed and ivr.call_ended (voicemails), those of them in wib.event_types.';

-- Internal: checks and normalizes the events of a subscription (NULL: the defaults).
CREATE OR REPLACE FUNCTION wib.push_check_events(events text[]) RETURNS text[]
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    bad text;
BEGIN
    IF events IS NULL THEN
        events := wib.push_default_events();
    END IF;
    IF cardinality(events) = 0 OR cardinality(events) > 50 THEN
        PERFORM wib.invalid_field('events', 'events must list 1 to 50 event types (or be NULL for the defaults).');
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
COMMENT ON FUNCTION wib.push_check_events(text[]) IS 'Internal: validates and normalizes the events of a push subscription.';

-- Internal: a link a notification may carry: a path of the app, or an https URL.
CREATE OR REPLACE FUNCTION wib.push_check_link(value text, field text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF value IS NOT NULL AND value !~ '^(/([^/\\[:space:]][^[:space:]]*)?|https://[^/@[:space:]]+(/[^[:space:]]*)?)$' THEN
        PERFORM wib.invalid_field(field, format('%s must be a path of the app (/calls) or an https URL.', field));
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION wib.push_check_link(text, text) IS 'Internal: value when it is a path of the app or an https URL, else 22023 naming field.';

-- Internal: a notification as wib.push_send takes it, checked and normalized:
-- title (required), body, url, tag, icon; nothing else, and small enough
-- for one push message with the id and type the deliverer adds.
CREATE OR REPLACE FUNCTION wib.push_check_notification(notification jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    result  jsonb;
    size    integer;
    longest text;
BEGIN
    PERFORM wib.check_fields(notification, ARRAY['title', 'body', 'url', 'tag', 'icon'], 'notification');
    result := jsonb_strip_nulls(jsonb_build_object(
        'title', wib.require_text(wib.field_text(notification, 'title', 3000), 'title', 3000),
        'body', wib.field_text(notification, 'body', 3000),
        'url', wib.push_check_link(wib.field_text(notification, 'url', 2048), 'url'),
        'tag', wib.field_text(notification, 'tag', 64),
        'icon', wib.push_check_link(wib.field_text(notification, 'icon', 2048), 'icon')));
    size := octet_length(result::text);
    IF size > 3800 THEN
        SELECT k INTO longest FROM jsonb_each_text(result) AS e(k, v) ORDER BY octet_length(v) DESC, k LIMIT 1;
        PERFORM wib.invalid_field(longest,
            format('The notification must fit in one push message (4 KB): at most 3800 bytes as JSON, not %s; shorten %s.',
                   size, longest));
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION wib.push_check_notification(jsonb) IS
    'Internal: a notification of title (required), body, url, tag and icon, at most 3800 bytes as JSON; 22023 naming the field otherwise.';

-- The Topic header of a tag (RFC 8030: at most 32 base64url characters): a
-- newer push with the same tag replaces one the push service still holds.
CREATE OR REPLACE FUNCTION wib.push_topic(tag text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN left(translate(encode(sha256(convert_to(tag, 'UTF8')), 'base64'), '+/=', '-_'), 32);
COMMENT ON FUNCTION wib.push_topic(text) IS
    'Internal: the Topic header for a notification tag, 32 base64url characters of its SHA-256 (NULL for NULL).';

-- Internal: turns a subscription off and drops its queued pushes (not those in flight).
CREATE OR REPLACE FUNCTION wib.push_deactivate(org uuid, subscription_id uuid, reason text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    UPDATE wib.push_subscriptions s
       SET active = false, deactivated_at = now(), deactivated_reason = reason
     WHERE s.organization_id = org AND s.id = push_deactivate.subscription_id AND s.active;
    UPDATE wib.push_deliveries d
       SET status = 'failed', last_error = reason, leased_until = NULL
     WHERE d.organization_id = org AND d.subscription_id = push_deactivate.subscription_id
       AND d.status IN ('pending', 'retrying') AND (d.leased_until IS NULL OR d.leased_until < now());
END
$$;
COMMENT ON FUNCTION wib.push_deactivate(uuid, uuid, text) IS
    'Internal: deactivates a push subscription and fails its queued pushes (those a deliverer is sending are recorded as answered).';

-- The subscription as the audit log shows it: the push service's origin, not the endpoint (a capability).
CREATE OR REPLACE FUNCTION wib.push_subscription_public(s wib.push_subscriptions) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    RETURN jsonb_build_object('id', s.id, 'device_id', s.device_id, 'user_id', s.user_id,
                              'push_service', substring(s.endpoint FROM '^[a-z]+://[^/]+'),
                              'events', s.events, 'active', s.active);
COMMENT ON FUNCTION wib.push_subscription_public(wib.push_subscriptions) IS
    'Internal: a push subscription for the audit log (the push service''s origin, never the endpoint or keys).';

CREATE OR REPLACE FUNCTION wib.push_subscribe(device_id uuid, subscription jsonb, events text[] DEFAULT NULL)
    RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org        uuid := wib.require_org();
    d          wib.mobile_devices;
    key_id     integer;
    ep         text;
    reason     text;
    keys       jsonb;
    p256dh     bytea;
    auth       bytea;
    expiration timestamptz;
    new_events text[];
    s          wib.push_subscriptions;
    new_id     uuid := gen_random_uuid();
BEGIN
    PERFORM wib.require_feature('mobile_push');
    d := wib.mobile_device_active(wib.mobile_device_get(device_id, false));
    key_id := (SELECT k.id FROM wib.vapid_keys k WHERE k.is_current);
    IF key_id IS NULL THEN
        PERFORM wib.vapid_public_key();     -- WB603
    END IF;

    -- The browser's PushSubscription.toJSON(), as is.
    PERFORM wib.check_fields(subscription, ARRAY['endpoint', 'expirationTime', 'keys'], 'subscription');
    ep := wib.require_text(wib.field_text(subscription, 'endpoint', 2048), 'endpoint', 2048);
    reason := wib.push_endpoint_check(ep);
    IF reason IS NOT NULL THEN
        PERFORM wib.invalid_field('endpoint', format('endpoint is refused: %s.', reason));
    END IF;
    IF subscription ? 'expirationTime' AND jsonb_typeof(subscription -> 'expirationTime') NOT IN ('null', 'number') THEN
        PERFORM wib.invalid_field('expirationTime', 'expirationTime must be null or milliseconds since the epoch.');
    END IF;
    IF jsonb_typeof(subscription -> 'expirationTime') = 'number' THEN
        BEGIN
            expiration := to_timestamp((subscription ->> 'expirationTime')::numeric / 1000);
        EXCEPTION WHEN others THEN
            PERFORM wib.invalid_field('expirationTime', 'expirationTime must be null or milliseconds since the epoch.');
        END;
    END IF;
    keys := subscription -> 'keys';
    PERFORM wib.check_fields(keys, ARRAY['p256dh', 'auth'], 'keys');
    p256dh := wib.base64url_decode(wib.require_text(wib.field_text(keys, 'p256dh', 200), 'p256dh', 200));
    IF p256dh IS NULL OR NOT wib.webpush_point_valid(p256dh) THEN
        PERFORM wib.invalid_field('p256dh', 'p256dh must be the base64url of a 65-byte uncompressed P-256 point.');
    END IF;
    auth := wib.base64url_decode(wib.require_text(wib.field_text(keys, 'auth', 100), 'auth', 100));
    IF auth IS NULL OR length(auth) <> 16 THEN
        PERFORM wib.invalid_field('auth', 'auth must be the base64url of the 16-byte authentication secret.');
    END IF;
    new_events := wib.push_check_events(events);

    -- One live subscription per device: a browser that subscribes anew replaces its old one.
    PERFORM wib.push_deactivate(org, x.id, 'replaced by a new subscription of the device')
       FROM wib.push_subscriptions x
      WHERE x.organization_id = org AND x.device_id = d.id AND x.active AND x.endpoint <> ep;
    -- The same endpoint subscribed again (by this or another device) is the same subscription.
    SELECT * INTO s FROM wib.push_subscriptions x
     WHERE x.organization_id = org AND x.endpoint = ep FOR UPDATE;
    IF FOUND THEN
        new_id := s.id;
        IF s.active AND s.device_id <> d.id THEN
            PERFORM wib.push_deactivate(org, s.id, 'moved to another device');
        END IF;
        UPDATE wib.push_subscriptions x
           SET device_id = d.id, user_id = d.user_id, p256dh_key = wib.base64url_encode(p256dh),
               auth_key = wib.vault_seal_bytes(auth, org, 'push_subscriptions.auth_key', new_id::text),
               active = true, events = new_events, vapid_key_id = key_id, expiration_time = expiration,
               failure_count = 0, last_error = NULL, deactivated_at = NULL, deactivated_reason = NULL
         WHERE x.organization_id = org AND x.id = new_id
        RETURNING * INTO s;
    ELSE
        INSERT INTO wib.push_subscriptions AS x
               (organization_id, id, device_id, user_id, endpoint, p256dh_key, auth_key, events, vapid_key_id,
                expiration_time)
        VALUES (org, new_id, d.id, d.user_id, ep, wib.base64url_encode(p256dh),
                wib.vault_seal_bytes(auth, org, 'push_subscriptions.auth_key', new_id::text), new_events, key_id,
                expiration)
        RETURNING * INTO s;
    END IF;
    UPDATE wib.mobile_devices x SET last_active_at = now() WHERE x.organization_id = org AND x.id = d.id;
    PERFORM wib.audit('mobile:push_subscribed', 'push_subscription', new_id::text, NULL,
                      wib.push_subscription_public(s));
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION wib.push_subscribe(uuid, jsonb, text[]) IS
    'Subscribes a device of the user in context to Web Push (plan feature mobile_push) with the browser''s PushSubscription JSON as is: an https endpoint of a push service of wib.push_allowed_hosts (and the SSRF guard), keys.p256dh a P-256 point, keys.auth 16 bytes. events: the event types it gets pushes for (NULL: wib.push_default_events()). Returns the subscription id. Audited mobile:push_subscribed.';

-- Internal: a subscription of the organization in context the caller may act on, or P0002.
CREATE OR REPLACE FUNCTION wib.push_subscription_get(id uuid) RETURNS wib.push_subscriptions
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    usr text := wib.mobile_require_user();
    s   wib.push_subscriptions;
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the UUID of a push subscription.');
    END IF;
    SELECT * INTO s FROM wib.push_subscriptions x
     WHERE x.organization_id = wib.require_org() AND x.id = push_subscription_get.id
       AND (x.user_id = usr OR wib.mobile_sees_all());
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('push subscription %s does not exist', id);
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION wib.push_subscription_get(uuid) IS
    'Internal: a push subscription of the organization in context that is the user''s own (any, for an owner or admin), or P0002.';

CREATE OR REPLACE FUNCTION wib.push_unsubscribe(id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    s wib.push_subscriptions := wib.push_subscription_get(id);
BEGIN
    DELETE FROM wib.push_subscriptions x WHERE x.organization_id = s.organization_id AND x.id = s.id;
    PERFORM wib.audit('mobile:push_unsubscribed', 'push_subscription', s.id::text,
                      wib.push_subscription_public(s), NULL);
END
$$;
COMMENT ON FUNCTION wib.push_unsubscribe(uuid) IS
    'Deletes a push subscription and its pushes (the user''s own, or any for an owner or admin). Audited mobile:push_unsubscribed.';

-- Internal: queues one push of a notification to every active subscription
-- of the organization's devices that match (one device, or one user's),
-- wakes the deliverer; returns the number queued.
CREATE OR REPLACE FUNCTION wib.push_queue(org uuid, device uuid, target_user text, notification jsonb,
                                          event_type text, urgency text) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO wib.push_deliveries (organization_id, subscription_id, event_type, notification, urgency, topic)
    SELECT s.organization_id, s.id, push_queue.event_type, push_queue.notification, push_queue.urgency,
           wib.push_topic(push_queue.notification ->> 'tag')
      FROM wib.push_subscriptions s
      JOIN wib.mobile_devices d ON d.organization_id = s.organization_id AND d.id = s.device_id
     WHERE s.organization_id = org AND s.active AND s.push_type = 'web' AND d.revoked_at IS NULL
       AND (device IS NULL OR s.device_id = device)
       AND (target_user IS NULL OR s.user_id = target_user);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM wib.wake('deliverer');
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.push_queue(uuid, uuid, text, jsonb, text, text) IS
    'Internal: queues a notification to the active subscriptions of a device or of a user (revoked devices get nothing) and wakes the deliverer at commit; returns how many pushes.';

CREATE OR REPLACE FUNCTION wib.push_test(device_id uuid) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    d    wib.mobile_devices;
    note jsonb;
    push uuid;
BEGIN
    PERFORM wib.require_feature('mobile_push');
    d := wib.mobile_device_active(wib.mobile_device_get(device_id, true));
    note := wib.push_event_notification('push.test', '{}');
    IF wib.push_queue(d.organization_id, d.id, NULL, note, 'push.test', 'normal') = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'WB604',
            MESSAGE = format('device %s has no active push subscription', d.id),
            HINT = 'Subscribe it with wib.push_subscribe (the browser''s PushManager.subscribe first).';
    END IF;
    SELECT p.id INTO push FROM wib.push_deliveries p
      JOIN wib.push_subscriptions s ON s.organization_id = p.organization_id AND s.id = p.subscription_id
     WHERE p.organization_id = d.organization_id AND s.device_id = d.id AND p.event_type = 'push.test'
     ORDER BY p.created_at DESC, p.id LIMIT 1;
    PERFORM wib.audit('mobile:push_tested', 'mobile_device', d.id::text, NULL, jsonb_build_object('push_id', push));
    RETURN push;
END
$$;
COMMENT ON FUNCTION wib.push_test(uuid) IS
    'Queues a test push to the device''s subscription now and returns the push''s id (wib.push_deliveries). WB604 when the device has no active subscription. Audited mobile:push_tested.';

CREATE OR REPLACE FUNCTION wib.push_send(user_id text, notification jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org  uuid := wib.require_org();
    note jsonb;
BEGIN
    PERFORM wib.require_feature('mobile_push');
    PERFORM wib.require_text(user_id, 'user_id', 255);
    note := wib.push_check_notification(notification);
    IF NOT EXISTS (SELECT 1 FROM wib.users u WHERE u.organization_id = org AND u.id = push_send.user_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('user "%s" does not exist', user_id);
    END IF;
    RETURN wib.push_queue(org, NULL, user_id, note, NULL, 'normal');
END
$$;
COMMENT ON FUNCTION wib.push_send(text, jsonb) IS
    'Notifies a user of the organization in context on all their active devices (plan feature mobile_push): notification has title (required), body, url (a path of the app or an https URL), tag and icon, at most 3800 bytes as JSON. Returns the number of pushes queued (0 when the user has no subscribed device).';
