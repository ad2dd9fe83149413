-- The Web Push channel of the event bus (src/sql/00_core/60_events.sql): an
-- event a subscription wants queues a push saying what happened in generic
-- words, with a link into the app.  The platform's PII rule holds by
-- construction: a push is built from its template (wib.push_event_templates)
-- and takes nothing from the event's payload but the UUID of the resource the
-- link opens -- no call content, transcript, phone number or name.

INSERT INTO wib.push_event_templates (event_type, title, body, url, id_field, tag, urgency, only_when) VALUES
    ('*', 'New activity', 'There is new activity in your workspace.', '/', NULL, 'activity', 'normal', NULL),
    ('push.test', 'Test notification', 'Push notifications work on this device.', '/settings/devices', NULL,
     'push-test', 'normal', NULL),
    ('anomaly.detected', 'Unusual activity', 'Analytics found an unusual day for your organization.',
     '/analytics/anomalies', NULL, 'anomaly', 'normal', NULL),
    ('export.completed', 'Export ready', 'Your export has finished and is ready to download.',
     '/exports/{id}', 'export_id', NULL, 'normal', NULL),
    ('crm.sync_failed', 'CRM sync needs attention', 'A CRM sync did not complete. Check the integration.',
     '/settings/integrations', NULL, 'crm-sync', 'normal', NULL),
    ('ivr.call_ended', 'New voicemail', 'A caller left a voicemail.', '/calls/{id}', 'call_id', NULL, 'high',
     '{"final_action": "voicemail"}'),
    ('ivr.call_spike', 'Call spike on a number', 'One of your numbers is getting far more calls than usual.',
     '/inbound', NULL, 'ivr-call-spike', 'high', NULL),
    ('call.started', 'Call started', 'A call has started.', '/calls/{id}', 'call_id', NULL, 'low', NULL),
    ('call.completed', 'Call completed', 'A call has ended.', '/calls/{id}', 'call_id', NULL, 'normal', NULL),
    ('call.failed', 'Call not connected', 'A call did not connect.', '/calls/{id}', 'call_id', NULL, 'normal', NULL),
    ('recording.ready', 'Recording ready', 'A call recording is ready.', '/calls/{id}', 'call_id', NULL, 'normal', NULL),
    ('transcript.ready', 'Transcript ready', 'A call transcript is ready to read in the app.', '/calls/{id}', 'call_id',
     NULL, 'normal', NULL),
    ('sentiment.analyzed', 'Call summary ready', 'A call summary is ready.', '/calls/{id}', 'call_id', NULL, 'low', NULL),
    ('outcome.recorded', 'Outcome recorded', 'An outcome was recorded for a call.', '/calls/{id}', 'call_id', NULL,
     'low', NULL),
    ('scorecard.created', 'New scorecard', 'A call was scored.', '/calls/{id}', 'call_id', NULL, 'low', NULL),
    ('webhook.test', 'Webhook test', 'A webhook test event was sent.', '/settings/webhooks', NULL, NULL, 'low', NULL),
    ('webhook.disabled', 'Webhook paused', 'A webhook endpoint was deactivated after repeated failures.',
     '/settings/webhooks', NULL, 'webhook-disabled', 'normal', NULL)
ON CONFLICT (event_type) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body, url = EXCLUDED.url,
    id_field = EXCLUDED.id_field, tag = EXCLUDED.tag, urgency = EXCLUDED.urgency, only_when = EXCLUDED.only_when;

-- The template of an event type ('*' when it has none).
CREATE OR REPLACE FUNCTION wib.push_event_template(event_type text) RETURNS wib.push_event_templates
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    RETURN (SELECT t FROM wib.push_event_templates t
                 WHERE t.event_type IN (push_event_template.event_type, '*')
                 ORDER BY t.event_type = '*' LIMIT 1);
END
$$;
COMMENT ON FUNCTION wib.push_event_template(text) IS
    'Internal: the push template of an event type, or the ''*'' one.';

-- The notification an event's push carries, or NULL when the event sends
-- none (its template's only_when does not hold).
CREATE OR REPLACE FUNCTION wib.push_event_notification(event_type text, payload jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    t   wib.push_event_templates := wib.push_event_template(event_type);
    id  text;
    url text;
BEGIN
    IF t.event_type IS NULL OR (t.only_when IS NOT NULL AND NOT coalesce(payload, '{}') @> t.only_when) THEN
        RETURN NULL;
    END IF;
    -- Only a UUID is taken from the payload: ids carry no personal data.
    IF t.id_field IS NOT NULL AND jsonb_typeof(payload -> t.id_field) = 'string' THEN
        id := lower(payload ->> t.id_field);
        IF id !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
            id := NULL;
        END IF;
    END IF;
    url := CASE WHEN position('{id}' IN t.url) = 0 THEN t.url
                WHEN id IS NULL THEN rtrim(split_part(t.url, '{id}', 1), '/')
                ELSE replace(t.url, '{id}', id) END;
    RETURN jsonb_strip_nulls(jsonb_build_object('title', t.title, 'body', t.body, 'url', url,
                                                'tag', coalesce(t.tag, push_event_notification.event_type || coalesce(':' || id, ''))));
END
$$;
COMMENT ON FUNCTION wib.push_event_notification(text, jsonb) IS
    'The push an event sends (title, body, url, tag) from wib.push_event_templates: generic words and a link into the app holding at most the UUID of the resource, nothing else of the payload (the PII rule); NULL when the event sends no push.';

-- Internal: one push per active subscription of org that wants event_type,
-- on a device not revoked, while the plan includes mobile_push.
CREATE OR REPLACE FUNCTION wib.push_fanout(org uuid, event_type text, payload jsonb,
                                           event_id uuid DEFAULT gen_random_uuid()) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    note jsonb;
    n    integer;
BEGIN
    IF NOT wib.push_listens(org) THEN
        RETURN 0;
    END IF;
    note := wib.push_event_notification(event_type, payload);
    IF note IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO wib.push_deliveries (organization_id, subscription_id, event_id, event_type, notification,
                                     urgency, topic)
    SELECT s.organization_id, s.id, push_fanout.event_id, push_fanout.event_type, note,
           (wib.push_event_template(push_fanout.event_type)).urgency, wib.push_topic(note ->> 'tag')
      FROM wib.push_subscriptions s
      JOIN wib.mobile_devices d ON d.organization_id = s.organization_id AND d.id = s.device_id
      JOIN wib.organizations o ON o.id = s.organization_id
      JOIN wib.feature_plans f ON f.feature = 'mobile_push'
     WHERE s.organization_id = org
       AND s.active AND s.push_type = 'web' AND d.revoked_at IS NULL
       AND wib.plan_rank(o.plan) >= wib.plan_rank(f.min_plan)  -- a downgraded plan stops sending
       AND (push_fanout.event_type = ANY (s.events) OR '*' = ANY (s.events));
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM wib.wake('deliverer');
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.push_fanout(uuid, text, jsonb, uuid) IS
    'Internal: queues the push of an event for every matching active subscription of an organization whose plan includes mobile_push, in the caller''s transaction.';

-- Internal: whether org has an active push subscription (the bus's cheap check).
CREATE OR REPLACE FUNCTION wib.push_listens(org uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM wib.push_subscriptions s WHERE s.organization_id = org AND s.active);
END
$$;
COMMENT ON FUNCTION wib.push_listens(uuid) IS
    'Internal: true when the organization has an active push subscription.';

SELECT wib.event_channel_register('push', 'push_fanout', 'push_listens',
                                  'Web Push notifications to the organization''s registered devices.');
