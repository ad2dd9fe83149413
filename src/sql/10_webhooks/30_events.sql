-- The webhooks channel of the event bus (src/sql/00_core/60_events.sql): one delivery per
-- matching subscription, queued in the caller's transaction.

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
    -- A downgraded plan stops sending.  (Asked apart from the INSERT, which a
    -- Citus cluster runs on the organization's shard, where no other
    -- distributed table may be read.)
    IF NOT wib.org_has_feature(org, 'webhooks') THEN
        RETURN 0;
    END IF;
    INSERT INTO wib.webhook_deliveries (organization_id, subscription_id, event_id, event_type, payload)
    SELECT s.organization_id, s.id, webhook_fanout.event_id, webhook_fanout.event_type, webhook_fanout.payload
      FROM wib.webhook_subscriptions s
     WHERE s.organization_id = org
       AND s.is_active
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

-- Internal: whether org has an active subscription (the bus's cheap check).
CREATE OR REPLACE FUNCTION wib.webhook_listens(org uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM wib.webhook_subscriptions s WHERE s.organization_id = org AND s.is_active);
END
$$;
COMMENT ON FUNCTION wib.webhook_listens(uuid) IS
    'Internal: true when the organization has an active webhook subscription.';

SELECT wib.event_channel_register('webhooks', 'webhook_fanout', 'webhook_listens',
                                  'Signed HTTPS deliveries to the organization''s webhook subscriptions.');
