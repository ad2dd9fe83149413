-- HubSpot's inbound webhooks: signature v3 checked on the raw bytes (in C,
-- src/crm/hubspot_webhook.c), then a JSON array of up to 100 events, each
-- naming the portal; contact creation, property change and deletion update
-- the cache of every connected integration of that portal, once per event id.

CREATE OR REPLACE FUNCTION wib.crm_hubspot_verify(secret text, method text, uri text, raw_body bytea, headers jsonb)
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_crm_hubspot_verify';
COMMENT ON FUNCTION wib.crm_hubspot_verify(text, text, text, bytea, jsonb) IS
    'Internal: checks HubSpot''s v3 signature of a request (X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp, header names in any case) in constant time; WB007 when missing or forged, WB506 when the timestamp is more than five minutes from now.';

-- Applies one contact event to one integration; true when it changed the cache or asked for a sync.
CREATE OR REPLACE FUNCTION wib.crm_hubspot_event(i wib.crm_integrations, e jsonb) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org     uuid := i.organization_id;
    cid     text := e ->> 'objectId';
    kind    text := e ->> 'subscriptionType';
    at      timestamptz := wib.crm_time(e ->> 'occurredAt');
    c       wib.crm_contact_cache;
    props   jsonb;
    url     text;
    v       record;
    n       integer;
BEGIN
    IF kind = 'contact.deletion' THEN
        DELETE FROM wib.crm_contact_cache x
         WHERE x.organization_id = org AND x.crm_type = 'hubspot' AND x.crm_contact_id = cid;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            UPDATE wib.crm_integrations x SET contact_count = greatest(x.contact_count - n, 0)
             WHERE x.organization_id = org AND x.id = i.id;
        END IF;
        RETURN true;
    END IF;
    IF kind NOT IN ('contact.creation', 'contact.propertyChange') THEN
        IF kind LIKE 'contact.%' THEN
            -- Restores, merges, privacy deletions: the next delta sync reads the contact as it is now.
            UPDATE wib.crm_integrations x
               SET next_sync_at = least(x.next_sync_at, wib.clock_now()),
                   worker_state = x.worker_state || '{"next_trigger": "webhook"}'
             WHERE x.organization_id = org AND x.id = i.id;
            RETURN true;
        END IF;
        RETURN false;
    END IF;

    SELECT * INTO c FROM wib.crm_contact_cache x
     WHERE x.organization_id = org AND x.crm_type = 'hubspot' AND x.crm_contact_id = cid FOR UPDATE;
    IF NOT FOUND THEN
        -- A contact the cache has not seen: a row now, filled by later events and the next delta sync.
        -- (Its URL is read first: Citus refuses a subquery in an INSERT's VALUES.)
        url := (SELECT substring(p.auth_url FROM '^https?://[^/]+') FROM wib.crm_providers p WHERE p.crm_type = 'hubspot')
               || '/contacts/' || i.external_account_id || '/record/0-1/' || cid;
        INSERT INTO wib.crm_contact_cache (organization_id, integration_id, crm_type, crm_contact_id, crm_url, raw_data,
                                           crm_modified_at)
        VALUES (org, i.id, 'hubspot', cid, url, '{}', NULL)
        RETURNING * INTO c;
        UPDATE wib.crm_integrations x
           SET contact_count = x.contact_count + 1,
               next_sync_at = least(x.next_sync_at, wib.clock_now() + interval '10 seconds'),
               worker_state = x.worker_state || '{"next_trigger": "webhook"}'
         WHERE x.organization_id = org AND x.id = i.id;
    END IF;
    IF kind = 'contact.propertyChange' THEN
        -- An event older than what the cache holds is left out.
        IF c.crm_modified_at IS NOT NULL AND at IS NOT NULL AND at < c.crm_modified_at THEN
            RETURN false;
        END IF;
        props := c.raw_data || jsonb_build_object(left(e ->> 'propertyName', 100), e -> 'propertyValue');
        SELECT * INTO v FROM wib.crm_contact_values(props, wib.crm_contact_mapping(org, 'hubspot'),
                                                    wib.org_default_country(org));
        UPDATE wib.crm_contact_cache x
           SET raw_data = jsonb_strip_nulls(props), phone_number = v.phone_number, email = v.email,
               display_name = v.display_name, company_name = v.company_name, phone_e164 = v.phone_e164,
               mobile_number = v.mobile_number, mobile_e164 = v.mobile_e164,
               crm_modified_at = greatest(x.crm_modified_at, at), synced_at = wib.clock_now()
         WHERE x.organization_id = org AND x.id = c.id;
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION wib.crm_hubspot_event(wib.crm_integrations, jsonb) IS
    'Internal: applies a HubSpot contact event to one integration''s cache (creation: a row; property change: the property and the fields mapped from it; deletion: the row goes; other contact events: a delta sync soon).';

CREATE OR REPLACE FUNCTION wib.crm_hubspot_webhook(method text, uri text, raw_body bytea, headers jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    events    jsonb;
    e         jsonb;
    portals   text[];
    connected text[];
    portal    text;
    i         wib.crm_integrations;
    applied   integer := 0;
    touched   boolean;
    counts    jsonb := '{}';
BEGIN
    -- Nothing of the request is read before its signature holds.
    PERFORM wib.crm_hubspot_verify((SELECT p.client_secret FROM wib.crm_provider('hubspot') p),
                                   method, uri, raw_body, headers);
    BEGIN
        events := convert_from(raw_body, 'UTF8')::jsonb;
    EXCEPTION WHEN OTHERS THEN
        PERFORM wib.invalid_field('raw_body', 'A HubSpot webhook body is a JSON array of events.');
    END;
    IF jsonb_typeof(events) IS DISTINCT FROM 'array' OR jsonb_array_length(events) NOT BETWEEN 1 AND 100
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(events) x
                   WHERE jsonb_typeof(x) <> 'object'
                      OR NOT (x ->> 'eventId' ~ '^[0-9]{1,20}$' AND x ->> 'portalId' ~ '^[0-9]{1,20}$'
                              AND x ->> 'objectId' ~ '^[0-9]{1,20}$' AND jsonb_typeof(x -> 'subscriptionType') = 'string')) THEN
        PERFORM wib.invalid_field('raw_body',
            'A HubSpot webhook body is a JSON array of 1 to 100 events, each with a numeric eventId, portalId and objectId and a subscriptionType.');
    END IF;
    -- Every portal must be a connected integration's, before anything is written.
    -- (The portals are gathered first: on a Citus cluster a query may not
    -- correlate the events with the distributed integrations.)
    SELECT array_agg(DISTINCT x ->> 'portalId') INTO portals FROM jsonb_array_elements(events) x;
    SELECT coalesce(array_agg(DISTINCT j.external_account_id), '{}') INTO connected
      FROM wib.crm_integrations j
     WHERE j.crm_type = 'hubspot' AND j.status = 'connected' AND j.external_account_id = ANY (portals);
    SELECT p INTO portal FROM unnest(portals) p WHERE p <> ALL (connected) ORDER BY p LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'WB507',
            MESSAGE = 'HubSpot webhook for a portal no organization has connected',
            DETAIL = format('Portal %s has no connected HubSpot integration.', portal);
    END IF;

    -- Every organization of the request's portals hears of it in its audit log, even when nothing was new.
    SELECT jsonb_object_agg(j.organization_id::text, 0) INTO counts
      FROM wib.crm_integrations j
     WHERE j.crm_type = 'hubspot' AND j.status = 'connected' AND j.external_account_id = ANY (portals);
    FOR e IN SELECT x FROM jsonb_array_elements(events) x ORDER BY (x ->> 'occurredAt') NULLS FIRST, x ->> 'eventId' LOOP
        touched := false;
        FOR i IN SELECT * FROM wib.crm_integrations j
                  WHERE j.crm_type = 'hubspot' AND j.external_account_id = e ->> 'portalId' AND j.status = 'connected'
                  ORDER BY j.organization_id LOOP
            PERFORM wib.act_as(i.organization_id);
            INSERT INTO wib.crm_webhook_events (organization_id, crm_type, event_id, integration_id)
            VALUES (i.organization_id, 'hubspot', e ->> 'eventId', i.id)
            ON CONFLICT ON CONSTRAINT crm_webhook_events_pkey DO NOTHING;
            IF FOUND AND wib.crm_hubspot_event(i, e) THEN
                touched := true;
                counts := jsonb_set(counts, ARRAY[i.organization_id::text],
                                    to_jsonb(coalesce((counts ->> i.organization_id::text)::integer, 0) + 1));
            END IF;
        END LOOP;
        IF touched THEN
            applied := applied + 1;
        END IF;
    END LOOP;
    FOR i IN SELECT * FROM wib.crm_integrations j
              WHERE j.crm_type = 'hubspot' AND j.status = 'connected' AND counts ? j.organization_id::text LOOP
        PERFORM wib.act_as(i.organization_id);
        PERFORM wib.audit_for(i.organization_id, 'crm:webhook_received', 'crm_integration', i.id::text, NULL,
                              jsonb_build_object('crm_type', 'hubspot', 'events', jsonb_array_length(events),
                                                 'applied', (counts ->> i.organization_id::text)::integer));
    END LOOP;
    PERFORM wib.wake('crm_sync');
    RETURN applied;
END
$$;
COMMENT ON FUNCTION wib.crm_hubspot_webhook(text, text, bytea, jsonb) IS
    'Internal: HubSpot''s side of wib.crm_webhook: signature v3 first, then the events, each applied once per connected integration of its portal; returns the events applied.';
