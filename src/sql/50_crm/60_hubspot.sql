-- The HubSpot adapter (CRM v3, OAuth 2026 API): default mappings, the
-- authorize URL, and the requests of the CRM worker with what their answers
-- mean.  Contacts are in 61_hubspot_contacts.sql, webhooks in
-- 62_hubspot_webhook.sql.

-- The property wib writes its call id into, to find a call it may have logged.
CREATE OR REPLACE FUNCTION wib.crm_hubspot_call_property() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 'wib_call_id';
COMMENT ON FUNCTION wib.crm_hubspot_call_property() IS
    'Internal: the custom HubSpot call property (created by wib once per portal) that carries wib''s call id.';

CREATE OR REPLACE FUNCTION wib.crm_hubspot_default_mappings() RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN '[
      {"wib_entity": "contact", "wib_field": "phone_number",  "crm_object": "contacts", "crm_field": "phone",       "transform": null},
      {"wib_entity": "contact", "wib_field": "mobile_number", "crm_object": "contacts", "crm_field": "mobilephone", "transform": null},
      {"wib_entity": "contact", "wib_field": "email",         "crm_object": "contacts", "crm_field": "email",       "transform": "lowercase"},
      {"wib_entity": "contact", "wib_field": "first_name",    "crm_object": "contacts", "crm_field": "firstname",   "transform": null},
      {"wib_entity": "contact", "wib_field": "last_name",     "crm_object": "contacts", "crm_field": "lastname",    "transform": null},
      {"wib_entity": "contact", "wib_field": "company_name",  "crm_object": "contacts", "crm_field": "company",     "transform": null},
      {"wib_entity": "call", "wib_field": "started_at",       "crm_object": "calls", "crm_field": "hs_timestamp",          "transform": "epoch_ms"},
      {"wib_entity": "call", "wib_field": "title",            "crm_object": "calls", "crm_field": "hs_call_title",         "transform": null},
      {"wib_entity": "call", "wib_field": "summary",          "crm_object": "calls", "crm_field": "hs_call_body",          "transform": null},
      {"wib_entity": "call", "wib_field": "direction",        "crm_object": "calls", "crm_field": "hs_call_direction",     "transform": "uppercase"},
      {"wib_entity": "call", "wib_field": "duration_seconds", "crm_object": "calls", "crm_field": "hs_call_duration",      "transform": "seconds_to_ms"},
      {"wib_entity": "call", "wib_field": "from_number",      "crm_object": "calls", "crm_field": "hs_call_from_number",   "transform": null},
      {"wib_entity": "call", "wib_field": "to_number",        "crm_object": "calls", "crm_field": "hs_call_to_number",     "transform": null},
      {"wib_entity": "call", "wib_field": "status",           "crm_object": "calls", "crm_field": "hs_call_status",        "transform": "uppercase"},
      {"wib_entity": "call", "wib_field": "recording_url",    "crm_object": "calls", "crm_field": "hs_call_recording_url", "transform": null}
    ]'::jsonb;
COMMENT ON FUNCTION wib.crm_hubspot_default_mappings() IS
    'HubSpot''s default field mappings: contact phone, mobilephone, email (lower case), firstname, lastname, company; call hs_timestamp (ms), hs_call_title, hs_call_body (summary), hs_call_direction (INBOUND/OUTBOUND), hs_call_duration (milliseconds), from and to numbers, hs_call_status (COMPLETED, ...), hs_call_recording_url.';

CREATE OR REPLACE FUNCTION wib.crm_hubspot_authorize_url(redirect_uri text, state text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    SELECT p.auth_url
           || '?client_id=' || wib.crm_url_encode(p.client_id)
           || '&scope=' || wib.crm_url_encode(array_to_string(p.scopes, ' '))
           || '&redirect_uri=' || wib.crm_url_encode(crm_hubspot_authorize_url.redirect_uri)
           || '&state=' || wib.crm_url_encode(crm_hubspot_authorize_url.state)
      FROM wib.crm_providers p WHERE p.crm_type = 'hubspot';
END;
COMMENT ON FUNCTION wib.crm_hubspot_authorize_url(text, text) IS
    'Internal: HubSpot''s authorize URL (client_id, space-separated scopes, redirect_uri, state).';

-- The requests of the HubSpot adapter (see wib.crm_next for when each is made).
CREATE OR REPLACE FUNCTION wib.crm_hubspot_request(job text, i wib.crm_integrations, ctx jsonb)
    RETURNS wib.crm_request
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    p       record;
    org     uuid := i.organization_id;
    account text := 'hubspot:' || i.external_account_id;
    bearer  text;
    s       wib.crm_oauth_states;
    t       wib.crm_tokens;
    body    jsonb;
    contact text;
    api     text;
BEGIN
    -- OAuth requests carry the client credentials; API requests only need the base URL.
    IF job IN ('exchange', 'refresh', 'account', 'revoke') THEN
        SELECT * INTO p FROM wib.crm_provider('hubspot');
    END IF;
    CASE job
    WHEN 'exchange' THEN
        SELECT * INTO s FROM wib.crm_oauth_states x WHERE x.organization_id = org AND x.id = (ctx ->> 'state_id')::uuid;
        RETURN ROW('exchange', 'POST', p.api_url || '/oauth/v3/token', NULL,
                   ARRAY['grant_type', 'authorization_code', 'client_id', p.client_id, 'client_secret', p.client_secret,
                         'redirect_uri', s.redirect_uri,
                         'code', wib.vault_open(s.code, org, 'crm_oauth_states.code', s.id::text)],
                   NULL, NULL, NULL, false, false, ctx)::wib.crm_request;
    WHEN 'refresh' THEN
        RETURN ROW('refresh', 'POST', p.api_url || '/oauth/v3/token', NULL,
                   ARRAY['grant_type', 'refresh_token', 'client_id', p.client_id, 'client_secret', p.client_secret,
                         'refresh_token', wib.crm_refresh_token(org, i.id)],
                   NULL, NULL, NULL, false, true, ctx)::wib.crm_request;
    WHEN 'account' THEN
        RETURN ROW('account', 'POST', p.api_url || '/oauth/v3/token/introspect', NULL,
                   ARRAY['client_id', p.client_id, 'client_secret', p.client_secret,
                         'token', wib.crm_access_token(org, i.id), 'token_type_hint', 'access_token'],
                   NULL, NULL, NULL, false, true, ctx)::wib.crm_request;
    WHEN 'revoke' THEN
        SELECT * INTO t FROM wib.crm_tokens x WHERE x.organization_id = org AND x.id = (ctx ->> 'token_id')::uuid;
        RETURN ROW('revoke', 'POST', p.api_url || '/oauth/v3/token/revoke', NULL,
                   ARRAY['token', wib.vault_open(t.refresh_token, org, 'crm_tokens.refresh_token', t.id::text),
                         'token_type_hint', 'refresh_token', 'client_id', p.client_id, 'client_secret', p.client_secret],
                   NULL, NULL, NULL, false, true, ctx)::wib.crm_request;
    ELSE
        NULL;
    END CASE;

    api := (SELECT x.api_url FROM wib.crm_providers x WHERE x.crm_type = 'hubspot');
    bearer := wib.crm_access_token(org, i.id);
    CASE job
    WHEN 'setup' THEN
        IF coalesce((i.worker_state ->> 'call_property')::boolean, false) THEN
            RETURN wib.crm_request_none('none');
        END IF;
        RETURN ROW('setup', 'POST', api || '/crm/v3/properties/calls', NULL, NULL,
                   jsonb_build_object('name', wib.crm_hubspot_call_property(), 'label', 'wib call id',
                                      'description', 'The id of the call in wib, which logged it.',
                                      'type', 'string', 'fieldType', 'text', 'groupName', 'callinformation')::text,
                   bearer, account, false, true, ctx)::wib.crm_request;
    WHEN 'push_call' THEN
        contact := wib.crm_call_contact(org, i.id, (ctx ->> 'call_id')::uuid);
        body := jsonb_build_object('properties', wib.crm_hubspot_call_properties(org, (ctx ->> 'call_id')::uuid));
        IF contact IS NOT NULL THEN
            body := body || jsonb_build_object('associations', jsonb_build_array(jsonb_build_object(
                        'to', jsonb_build_object('id', contact),
                        'types', jsonb_build_array(jsonb_build_object('associationCategory', 'HUBSPOT_DEFINED',
                                                                      'associationTypeId', 194)))));
        END IF;
        RETURN ROW('push_call', 'POST', api || '/crm/v3/objects/calls', NULL, NULL, body::text,
                   bearer, account, false, false, ctx || jsonb_build_object('contact_id', contact))::wib.crm_request;
    WHEN 'find_call' THEN
        RETURN ROW('find_call', 'POST', api || '/crm/v3/objects/calls/search', NULL, NULL,
                   jsonb_build_object(
                       'filterGroups', jsonb_build_array(jsonb_build_object('filters', jsonb_build_array(jsonb_build_object(
                           'propertyName', wib.crm_hubspot_call_property(), 'operator', 'EQ', 'value', ctx ->> 'call_id')))),
                       'properties', jsonb_build_array(wib.crm_hubspot_call_property()), 'limit', 1)::text,
                   bearer, account, true, true, ctx)::wib.crm_request;
    WHEN 'sync' THEN
        RETURN wib.crm_hubspot_sync_request(i, ctx, bearer, account, api);
    ELSE
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown CRM request kind "%s"', job);
    END CASE;
END
$$;
COMMENT ON FUNCTION wib.crm_hubspot_request(text, wib.crm_integrations, jsonb) IS
    'Internal: a request of the HubSpot adapter: exchange, refresh, introspection (account), revoke (form bodies with the client credentials), the call-id property (setup), call creation (push_call, associated to the contact of the number, type 194), call search by wib''s id (find_call), contact listing and search (sync).';

-- The properties of the call engagement for a call, from the mappings in effect.
CREATE OR REPLACE FUNCTION wib.crm_hubspot_call_properties(org uuid, call_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    fields  jsonb := wib.crm_call_fields(org, call_id);
    country text := wib.org_default_country(org);
    props   jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(m.crm_field, v.value), '{}'::jsonb) INTO props
      FROM wib.crm_mappings_effective(org, 'hubspot') m,
           LATERAL (SELECT wib.crm_transform(fields ->> m.wib_field, m.transform, country) AS value) v
     WHERE m.wib_entity = 'call' AND v.value IS NOT NULL;
    -- HubSpot requires hs_timestamp; wib's id lets a lost answer be found again.
    IF NOT props ? 'hs_timestamp' THEN
        props := props || jsonb_build_object('hs_timestamp', wib.crm_transform(fields ->> 'started_at', 'epoch_ms'));
    END IF;
    RETURN props || jsonb_build_object(wib.crm_hubspot_call_property(), call_id::text);
END
$$;
COMMENT ON FUNCTION wib.crm_hubspot_call_properties(uuid, uuid) IS
    'Internal: the properties of the HubSpot call engagement of a call (mapped fields, hs_timestamp always, wib''s call id).';

-- What an answer to the HubSpot adapter's request means (see wib.crm_record).
CREATE OR REPLACE FUNCTION wib.crm_hubspot_apply(job text, i wib.crm_integrations, ctx jsonb, status integer,
                                                 body jsonb, error text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    org     uuid := i.organization_id;
    push    uuid := (ctx ->> 'push_id')::uuid;
    account text;
    message text := left(coalesce(body ->> 'message', body ->> 'error_description', error,
                                  CASE WHEN status > 0 THEN format('HTTP %s', status) ELSE 'no answer' END), 500);
BEGIN
    -- The portal id: "hub_id" in the introspection metadata ("hubId" in older answers).
    IF job IN ('exchange', 'account') THEN
        account := coalesce(body ->> 'hub_id', body ->> 'hubId');
        IF job = 'account' AND status = 200 AND coalesce((body ->> 'active')::boolean, false) IS NOT TRUE THEN
            RETURN jsonb_build_object('error', 'HubSpot says the access token is not active');
        END IF;
        IF account ~ '^[0-9]{1,20}$' THEN
            RETURN jsonb_build_object('account_id', account);
        END IF;
        RETURN CASE WHEN job = 'account' AND status = 200
                    THEN jsonb_build_object('error', 'the introspection answer names no portal (hub_id)')
                    ELSE '{}'::jsonb END;
    END IF;

    IF job = 'setup' THEN
        -- Created now, or already there (409): either way calls can carry wib's id.
        IF status IN (200, 201, 409) THEN
            UPDATE wib.crm_integrations x SET worker_state = x.worker_state || '{"call_property": true}'
             WHERE x.organization_id = org AND x.id = i.id;
            RETURN '{}';
        END IF;
        RETURN jsonb_build_object('pause', true,
                                  'error', 'the call property ' || wib.crm_hubspot_call_property() || ' could not be created: '
                                           || message || format(' (HTTP %s)', status));
    END IF;

    IF job = 'push_call' THEN
        IF status IN (200, 201) AND body ->> 'id' ~ '^[0-9]+$' THEN
            RETURN wib.crm_push_result(org, push, 'pushed', body ->> 'id', ctx ->> 'contact_id');
        ELSIF status IN (401, 429) THEN
            -- Refused on arrival: nothing was created.
            RETURN wib.crm_push_result(org, push, CASE status WHEN 401 THEN 'retry' ELSE 'pending' END,
                                       NULL, NULL, message || format(' (HTTP %s)', status));
        ELSIF status BETWEEN 400 AND 499 THEN
            RETURN wib.crm_push_result(org, push, 'failed', NULL, ctx ->> 'contact_id', message || format(' (HTTP %s)', status));
        END IF;
        -- No clear answer: the call may exist; it is looked for before any resend.
        RETURN wib.crm_push_result(org, push, 'unknown', NULL, NULL, message);
    END IF;

    IF job = 'find_call' THEN
        IF status = 200 AND jsonb_typeof(body -> 'results') = 'array' THEN
            IF jsonb_array_length(body -> 'results') > 0 AND body #>> '{results,0,id}' ~ '^[0-9]+$' THEN
                RETURN wib.crm_push_result(org, push, 'pushed', body #>> '{results,0,id}', NULL);
            END IF;
            RETURN wib.crm_push_result(org, push, 'retry', NULL, NULL, 'not found in HubSpot: created again');
        ELSIF status = 401 THEN
            RETURN '{}';
        END IF;
        RETURN wib.crm_push_result(org, push, 'unknown', NULL, NULL, 'could not be looked for: ' || message);
    END IF;

    IF job = 'sync' THEN
        RETURN wib.crm_hubspot_sync_apply(i, ctx, status, body, message);
    END IF;
    RETURN '{}';
END
$$;
COMMENT ON FUNCTION wib.crm_hubspot_apply(text, wib.crm_integrations, jsonb, integer, jsonb, text) IS
    'Internal: applies an answer of HubSpot: the portal id (hub_id or hubId), the call property, a logged or found call, a page of contacts; returns counts for the run (pause: stop for now, with the error).';
