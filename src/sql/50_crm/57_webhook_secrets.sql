-- Inbound webhooks of CRMs that do not sign them (Salesforce's outbound
-- messages) are authenticated by a secret at the end of the URL path: one per
-- integration, made when it connects, shown to the organization, rotatable
-- (the replaced secret keeps working a while, for messages already queued),
-- deleted when it disconnects.  And the answer the platform's route gives
-- the CRM (Salesforce expects a SOAP acknowledgement).

-- Internal: raises 22023 naming crm_type unless the CRM's webhooks carry a secret in the path.
CREATE OR REPLACE FUNCTION wib.crm_check_secret_webhooks(crm_type text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF crm_type IS DISTINCT FROM 'salesforce' THEN
        PERFORM wib.invalid_field('crm_type',
            format('crm_type must be a CRM whose webhooks carry a secret in the URL (salesforce); %s signs its webhooks.', crm_type));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.crm_check_secret_webhooks(text) IS
    'Internal: 22023 naming crm_type unless the CRM''s inbound webhooks are authenticated by a secret in the URL path (Salesforce).';

-- Internal: makes a new current secret for an integration and returns it; the
-- current one, if any, stays valid until previous_until (NULL or past: not at
-- all); one replaced secret at most is kept.
CREATE OR REPLACE FUNCTION wib.crm_webhook_secret_new(org uuid, integration uuid, previous_until timestamptz) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    secret text := wib.crm_random_state();
    new_id uuid := gen_random_uuid();
    ts     timestamptz;
BEGIN
    DELETE FROM wib.crm_webhook_secrets s
     WHERE s.organization_id = org AND s.integration_id = integration AND s.valid_until IS NOT NULL;
    -- (a value, not an expression: Citus refuses functions other than
    -- IMMUTABLE ones in a COALESCE of an UPDATE on a distributed table)
    ts := coalesce(previous_until, wib.clock_now());
    UPDATE wib.crm_webhook_secrets s SET valid_until = ts
     WHERE s.organization_id = org AND s.integration_id = integration AND s.valid_until IS NULL;
    DELETE FROM wib.crm_webhook_secrets s
     WHERE s.organization_id = org AND s.integration_id = integration AND s.valid_until <= wib.clock_now();
    INSERT INTO wib.crm_webhook_secrets (organization_id, id, integration_id, secret, secret_hash)
    VALUES (org, new_id, integration, wib.vault_seal(secret, org, 'crm_webhook_secrets.secret', new_id::text),
            sha256(convert_to(secret, 'UTF8')));
    RETURN secret;
END
$$;
COMMENT ON FUNCTION wib.crm_webhook_secret_new(uuid, uuid, timestamptz) IS
    'Internal: a new webhook secret for an integration (32 random bytes, base64url), sealed and hashed; the replaced one stays valid until previous_until.';

CREATE OR REPLACE FUNCTION wib.crm_webhook_secret(crm_type text) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org uuid := wib.require_org();
    s   wib.crm_webhook_secrets;
BEGIN
    PERFORM wib.crm_require_feature(crm_type);
    PERFORM wib.crm_check_secret_webhooks(crm_type);
    SELECT x.* INTO s FROM wib.crm_webhook_secrets x JOIN wib.crm_integrations i
        ON i.organization_id = x.organization_id AND i.id = x.integration_id
     WHERE x.organization_id = org AND i.crm_type = crm_webhook_secret.crm_type AND x.valid_until IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'WB505',
            MESSAGE = format('CRM "%s" is not connected', crm_type),
            DETAIL = 'The webhook secret is made when the CRM connects.';
    END IF;
    RETURN wib.vault_open(s.secret, org, 'crm_webhook_secrets.secret', s.id::text);
END
$$;
COMMENT ON FUNCTION wib.crm_webhook_secret(text) IS
    'The secret that ends the URL a CRM posts its unsigned webhooks to (Salesforce outbound messages: https://<the platform>/.../<secret>), for the organization in context to put in the CRM''s settings; plan-gated; 22023 for a CRM that signs its webhooks, WB505 before it connected.';

CREATE OR REPLACE FUNCTION wib.crm_webhook_secret_rotate(crm_type text, previous_valid_for interval DEFAULT interval '24 hours')
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org    uuid := wib.require_org();
    i      wib.crm_integrations;
    secret text;
BEGIN
    PERFORM wib.crm_require_feature(crm_type);
    PERFORM wib.crm_check_secret_webhooks(crm_type);
    IF previous_valid_for IS NULL OR previous_valid_for < interval '0' OR previous_valid_for > interval '7 days' THEN
        PERFORM wib.invalid_field('previous_valid_for',
            'previous_valid_for must be an interval from 0 to 7 days: how long the replaced secret keeps working.');
    END IF;
    SELECT * INTO i FROM wib.crm_integrations x
     WHERE x.organization_id = org AND x.crm_type = crm_webhook_secret_rotate.crm_type FOR UPDATE;
    IF NOT FOUND OR i.status = 'disconnected' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB505',
            MESSAGE = format('CRM "%s" is not connected', crm_type);
    END IF;
    PERFORM wib.rate_limit_internal(org, 'crm_webhook_secret_rotate', 10, interval '1 minute');
    secret := wib.crm_webhook_secret_new(org, i.id, wib.clock_now() + previous_valid_for);
    PERFORM wib.audit('crm:webhook_secret_rotated', 'crm_integration', i.id::text, NULL,
                      jsonb_build_object('crm_type', i.crm_type,
                                         'previous_valid_until', wib.clock_now() + previous_valid_for));
    RETURN secret;
END
$$;
COMMENT ON FUNCTION wib.crm_webhook_secret_rotate(text, interval) IS
    'Replaces the webhook secret of a CRM integration (Salesforce) and returns the new one; the replaced secret keeps working for previous_valid_for (default 24 hours, at most 7 days; 0: not at all), so messages the CRM already queued still arrive. Plan-gated, rate-limited; WB505 when not connected. Audited crm:webhook_secret_rotated (without the secret).';

-- Trigger: a disconnected integration's webhook secrets go.
CREATE OR REPLACE FUNCTION wib.crm_webhook_secrets_drop() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    DELETE FROM wib.crm_webhook_secrets s WHERE s.organization_id = NEW.organization_id AND s.integration_id = NEW.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.crm_webhook_secrets_drop() IS
    'Trigger on wib.crm_integrations: the webhook secrets of an integration that becomes disconnected are deleted.';

CREATE OR REPLACE TRIGGER crm_integrations_webhook_secrets AFTER UPDATE OF status ON wib.crm_integrations
    FOR EACH ROW WHEN (NEW.status = 'disconnected' AND OLD.status <> 'disconnected')
    EXECUTE FUNCTION wib.crm_webhook_secrets_drop();

CREATE OR REPLACE FUNCTION wib.crm_webhook_response(crm_type text, method text, uri text, raw_body bytea, headers jsonb)
    RETURNS TABLE (status integer, content_type text, body text, applied integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    applied := wib.crm_webhook(crm_type, method, uri, raw_body, headers);
    IF to_regprocedure(format('wib.crm_%s_webhook_ack()', crm_type)) IS NOT NULL THEN
        EXECUTE format('SELECT * FROM wib.%I()', 'crm_' || crm_type || '_webhook_ack') INTO status, content_type, body;
    ELSE
        status := 204;
    END IF;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wib.crm_webhook_response(text, text, text, bytea, jsonb) IS
    'wib.crm_webhook, with the HTTP answer the CRM expects: Salesforce 200 and the SOAP notificationsResponse with Ack true (else it sends the message again), HubSpot 204 without a body; applied is the number of events applied. Refused requests raise wib.crm_webhook''s errors.';
