-- The Salesforce adapter (REST API, OAuth 2.0 web server flow with PKCE):
-- provider settings, default mappings, the authorize URL, the org's
-- instance_url (allowed domains and the SSRF guard), tokens without
-- expires_in and with rotating refresh tokens, the daily API budget, and the
-- requests of the CRM worker with what their answers mean.  Contacts and
-- Leads are in 65_salesforce_contacts.sql, calls logged as Tasks in
-- 66_salesforce_calls.sql, outbound messages in 67_salesforce_webhook.sql.
--
-- Requests to the login host (token, revoke) go to the operator's login_url;
-- requests to the org's data go to the instance_url Salesforce returned with
-- the tokens, which is only used on an allowed domain, passes wib.url_check,
-- and is sent through the SSRF guard (ctx.guarded) like any tenant URL.

CREATE OR REPLACE FUNCTION wib.crm_salesforce_default_mappings() RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN '[
      {"wib_entity": "contact", "wib_field": "phone_number",  "crm_object": "Contact", "crm_field": "Phone",        "transform": null},
      {"wib_entity": "contact", "wib_field": "mobile_number", "crm_object": "Contact", "crm_field": "MobilePhone",  "transform": null},
      {"wib_entity": "contact", "wib_field": "email",         "crm_object": "Contact", "crm_field": "Email",        "transform": "lowercase"},
      {"wib_entity": "contact", "wib_field": "first_name",    "crm_object": "Contact", "crm_field": "FirstName",    "transform": null},
      {"wib_entity": "contact", "wib_field": "last_name",     "crm_object": "Contact", "crm_field": "LastName",     "transform": null},
      {"wib_entity": "contact", "wib_field": "company_name",  "crm_object": "Contact", "crm_field": "Account.Name", "transform": null},
      {"wib_entity": "call", "wib_field": "title",            "crm_object": "Task", "crm_field": "Subject",               "transform": null},
      {"wib_entity": "call", "wib_field": "summary",          "crm_object": "Task", "crm_field": "Description",           "transform": null},
      {"wib_entity": "call", "wib_field": "direction",        "crm_object": "Task", "crm_field": "CallType",              "transform": null},
      {"wib_entity": "call", "wib_field": "duration_seconds", "crm_object": "Task", "crm_field": "CallDurationInSeconds", "transform": null},
      {"wib_entity": "call", "wib_field": "disposition",      "crm_object": "Task", "crm_field": "CallDisposition",       "transform": null}
    ]'::jsonb;
COMMENT ON FUNCTION wib.crm_salesforce_default_mappings() IS
    'Salesforce''s default field mappings: contact Phone, MobilePhone, Email (lower case), FirstName, LastName, Account.Name (a Lead''s Company); call Task Subject (the title), Description (the summary), CallType (Inbound/Outbound), CallDurationInSeconds, CallDisposition.';

-- Reads Salesforce's own provider settings (login_url, api_version,
-- instance_domains) for wib.crm_provider_set: common gets the common fields
-- (login_url as both base URLs), extra the adapter's settings merged over old.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_provider_settings(settings jsonb, old jsonb, OUT common jsonb, OUT extra jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    login   text;
    version text;
    domains jsonb;
BEGIN
    PERFORM wib.check_fields(settings, ARRAY['client_id', 'client_secret', 'scopes', 'login_url', 'api_version',
                                             'instance_domains'], 'settings');
    common := settings - 'login_url' - 'api_version' - 'instance_domains';
    extra := coalesce(old, '{}');
    IF settings ? 'login_url' THEN
        login := wib.crm_check_base_url(wib.field_text(settings, 'login_url', 500), 'login_url');
        common := common || jsonb_build_object('api_url', login, 'auth_url', login);
    END IF;
    IF settings ? 'api_version' THEN
        version := wib.field_text(settings, 'api_version', 10);
        IF version IS NULL OR version !~ '^v[1-9][0-9]{1,2}\.0$' THEN
            PERFORM wib.invalid_field('api_version', 'api_version must be a Salesforce REST API version such as v60.0.');
        END IF;
        extra := extra || jsonb_build_object('api_version', version);
    END IF;
    IF settings ? 'instance_domains' THEN
        domains := settings -> 'instance_domains';
        IF jsonb_typeof(domains) IS DISTINCT FROM 'array' OR jsonb_array_length(domains) NOT BETWEEN 1 AND 20
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(domains) e
                       WHERE jsonb_typeof(e) <> 'string'
                          OR NOT (lower(e #>> '{}') ~ '^[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*$'
                                  OR lower(e #>> '{}') ~ '^(\.[a-z0-9]([a-z0-9-]{0,62})){2,}$')
                          OR length(e #>> '{}') > 253) THEN
            PERFORM wib.invalid_field('instance_domains',
                'instance_domains must be a JSON array of 1 to 20 host names: an exact host (eu45.salesforce.com), or a suffix of at least two labels starting with a dot (.my.salesforce.com).');
        END IF;
        extra := extra || jsonb_build_object('instance_domains',
            (SELECT jsonb_agg(DISTINCT lower(e)) FROM jsonb_array_elements_text(domains) e));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_provider_settings(jsonb, jsonb) IS
    'Internal: Salesforce''s part of wib.crm_provider_set: login_url (both base URLs), api_version (v60.0), instance_domains (exact hosts, or suffixes starting with a dot), validated (22023 naming the field).';

-- A setting of Salesforce's adapter: the operator's, else its default.
-- PL/pgSQL: on a Citus cluster, where wib.crm_providers is a reference table,
-- the SQL-language form failed (syntax error at or near "RETURN").
CREATE OR REPLACE FUNCTION wib.crm_salesforce_setting(name text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    value jsonb;
BEGIN
    SELECT p.settings -> crm_salesforce_setting.name INTO value FROM wib.crm_providers p WHERE p.crm_type = 'salesforce';
    IF value IS NULL THEN
        SELECT a.settings -> crm_salesforce_setting.name INTO value FROM wib.crm_adapters() a WHERE a.crm_type = 'salesforce';
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_setting(text) IS
    'Internal: one of Salesforce''s adapter settings (api_version, instance_domains), the operator''s or the default.';

-- NULL when url may be an integration's instance_url: an https origin whose
-- host is one of instance_domains (or ends with a suffix of it), which the
-- SSRF guard allows; else why not.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_instance_refusal(url text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    host  text := lower(substring(url FROM '^https?://([A-Za-z0-9.-]{1,253})(?::[0-9]{1,5})?/?$'));
    guard text;
BEGIN
    IF url IS NULL THEN
        RETURN 'the token answer carries no instance_url';
    END IF;
    IF host IS NULL THEN
        RETURN format('the instance_url %s is not an https origin', left(url, 200));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(wib.crm_salesforce_setting('instance_domains')) d
                    WHERE CASE WHEN left(d, 1) = '.' THEN length(host) > length(d) AND right(host, length(d)) = d
                               ELSE host = d END) THEN
        RETURN format('the instance_url host %s is outside the allowed domains (instance_domains)', host);
    END IF;
    guard := wib.url_check(url);
    IF guard IS NOT NULL THEN
        RETURN format('the instance_url %s is refused by the SSRF guard: %s', left(url, 200), guard);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_instance_refusal(text) IS
    'Internal: NULL when an instance_url returned by Salesforce may be called (an https origin on an allowed domain that the SSRF guard allows), else the reason.';

-- The PKCE code challenge of a verifier (RFC 7636, S256): base64url(SHA-256(verifier)) without padding.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_pkce_challenge(verifier text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN rtrim(translate(encode(sha256(convert_to(verifier, 'UTF8')), 'base64'), '+/', '-_'), '=');
COMMENT ON FUNCTION wib.crm_salesforce_pkce_challenge(text) IS
    'Internal: the S256 code challenge of a PKCE code verifier (RFC 7636): base64url of its SHA-256, unpadded.';

-- The authorize URL of a state wib.crm_connect has just stored: a fresh PKCE
-- verifier (32 random bytes, base64url) is sealed with the state, its
-- challenge goes in the URL.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_authorize_url(redirect_uri text, state text) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org      uuid := wib.require_org();
    p        wib.crm_providers;
    verifier text := wib.crm_random_state();
    state_id uuid;
    sealed   bytea;
    url      text;
BEGIN
    SELECT * INTO p FROM wib.crm_providers x WHERE x.crm_type = 'salesforce';
    -- Sealed first: Citus refuses VOLATILE functions in an UPDATE.
    SELECT s.id INTO state_id FROM wib.crm_oauth_states s
     WHERE s.organization_id = org AND s.state_hash = sha256(convert_to(crm_salesforce_authorize_url.state, 'UTF8'));
    sealed := wib.vault_seal(verifier, org, 'crm_oauth_states.code_verifier', state_id::text);
    UPDATE wib.crm_oauth_states s SET code_verifier = sealed
     WHERE s.organization_id = org AND s.id = state_id;
    url := p.auth_url || '/services/oauth2/authorize?response_type=code'
           || '&client_id=' || wib.crm_url_encode(p.client_id)
           || '&redirect_uri=' || wib.crm_url_encode(crm_salesforce_authorize_url.redirect_uri)
           || '&scope=' || wib.crm_url_encode(array_to_string(p.scopes, ' '))
           || '&state=' || wib.crm_url_encode(crm_salesforce_authorize_url.state)
           || '&code_challenge=' || wib.crm_salesforce_pkce_challenge(verifier)
           || '&code_challenge_method=S256';
    verifier := NULL;
    RETURN url;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_authorize_url(text, text) IS
    'Internal: Salesforce''s authorize URL (response_type=code, client_id, redirect_uri, scope, state, an S256 PKCE code_challenge) for a state of wib.crm_connect, whose code verifier is sealed with the state.';

-- The error of an answer in words: Salesforce's error array (errorCode:
-- message, the first three), an OAuth error, the transport error.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_message(body jsonb, status integer, error text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    msg text;
BEGIN
    IF jsonb_typeof(body) = 'array' THEN
        SELECT string_agg(coalesce(e ->> 'errorCode', 'ERROR') || ': ' || coalesce(e ->> 'message', ''), '; ') INTO msg
          FROM (SELECT e FROM jsonb_array_elements(body) e LIMIT 3) x;
    ELSIF jsonb_typeof(body) = 'object' THEN
        msg := coalesce(body ->> 'error_description', body ->> 'error', body ->> 'message');
    END IF;
    RETURN left(coalesce(msg, error, CASE WHEN status > 0 THEN 'no error in the answer' ELSE 'no answer' END), 450)
           || CASE WHEN status > 0 THEN format(' (HTTP %s)', status) ELSE '' END;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_message(jsonb, integer, text) IS
    'Internal: why a Salesforce request failed, in words: its error array (errorCode: message), an OAuth error, or the transport error, with the HTTP status.';

-- The base of the org's REST API: the instance_url and the API version.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_api(i wib.crm_integrations) RETURNS text
    LANGUAGE sql STABLE
    RETURN (i.worker_state ->> 'instance_url') || '/services/data/' || (wib.crm_salesforce_setting('api_version') #>> '{}');
COMMENT ON FUNCTION wib.crm_salesforce_api(wib.crm_integrations) IS
    'Internal: the base URL of an integration''s Salesforce REST API (its instance_url, /services/data/, the API version).';

-- ---------------------------------------------------------------------------
-- The daily API budget.  worker_state.sf_api keeps the org's usage as the last
-- Sforce-Limit-Info said ({"usage", "limit", "at"}), the requests this
-- integration sent per hour over the last 24 hours ({"hours": {"<hour>": n}}),
-- and paused_until after a 403 REQUEST_LIMIT_EXCEEDED.

-- Counts a request to the org's API in the current hour.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_count(org uuid, integration uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    hour  bigint := floor(extract(epoch FROM wib.clock_now()) / 3600)::bigint;
    hours jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(h.key, h.value), '{}') INTO hours
      FROM wib.crm_integrations x, jsonb_each(coalesce(x.worker_state #> '{sf_api,hours}', '{}')) h
     WHERE x.organization_id = org AND x.id = integration AND h.key::bigint > hour - 24;
    hours := hours || jsonb_build_object(hour::text, coalesce((hours ->> hour::text)::integer, 0) + 1);
    UPDATE wib.crm_integrations x
       SET worker_state = jsonb_set(x.worker_state, '{sf_api}',
                                    coalesce(x.worker_state -> 'sf_api', '{}') || jsonb_build_object('hours', hours))
     WHERE x.organization_id = org AND x.id = integration;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_count(uuid, uuid) IS
    'Internal: counts one request of an integration to its Salesforce org''s API in the current hour (the last 24 hours are kept).';

-- Requests an integration sent to the org's API in the last 24 hours.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_used(i wib.crm_integrations) RETURNS integer
    LANGUAGE sql STABLE
    RETURN (SELECT coalesce(sum(h.value::integer), 0)::integer
              FROM jsonb_each_text(coalesce(i.worker_state #> '{sf_api,hours}', '{}')) h
             WHERE h.key::bigint > floor(extract(epoch FROM wib.clock_now()) / 3600)::bigint - 24);
COMMENT ON FUNCTION wib.crm_salesforce_used(wib.crm_integrations) IS
    'Internal: the requests an integration sent to its Salesforce org''s API in the last 24 hours (by the hour).';

-- The share of the org's daily limit an integration's sync may use, in requests (NULL while the limit is unknown).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_allowance(i wib.crm_integrations) RETURNS integer
    LANGUAGE sql STABLE
    RETURN floor((i.worker_state #>> '{sf_api,limit}')::bigint
                 * coalesce((i.config ->> 'api_share')::integer, current_setting('wib.crm_salesforce_api_share')::integer)
                 / 100.0)::integer;
COMMENT ON FUNCTION wib.crm_salesforce_allowance(wib.crm_integrations) IS
    'Internal: how many requests in 24 hours an integration''s contact sync may send: its share (config api_share, else wib.crm_salesforce_api_share) of the org''s daily limit as Sforce-Limit-Info last said.';

-- Records what a Sforce-Limit-Info header ("api-usage=10018/100000") says.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_usage(org uuid, integration uuid, info text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    m text[] := regexp_match(info, 'api-usage=([0-9]{1,12})/([0-9]{1,12})');
BEGIN
    IF m IS NULL THEN
        RETURN;
    END IF;
    UPDATE wib.crm_integrations x
       SET worker_state = jsonb_set(x.worker_state, '{sf_api}',
                                    coalesce(x.worker_state -> 'sf_api', '{}')
                                    || jsonb_build_object('usage', m[1]::bigint, 'limit', m[2]::bigint, 'at', wib.clock_now()))
     WHERE x.organization_id = org AND x.id = integration;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_usage(uuid, uuid, text) IS
    'Internal: records the org''s API usage and daily limit from a Sforce-Limit-Info header (api-usage=used/limit).';

-- Holds an integration back until a time: the run in progress finishes with
-- the reason, the next sync waits, and so do call pushes when calls is true.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_hold(org uuid, integration uuid, until timestamptz, reason text,
                                                   calls boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    PERFORM wib.crm_pause(org, integration, reason);
    IF calls THEN
        UPDATE wib.crm_call_pushes p SET due_at = greatest(p.due_at, until)
         WHERE p.organization_id = org AND p.integration_id = integration AND p.status = 'pending';
        UPDATE wib.crm_call_pushes p SET pushing_since = greatest(p.pushing_since, until)
         WHERE p.organization_id = org AND p.integration_id = integration AND p.status IN ('pushing', 'unknown');
    END IF;
    UPDATE wib.crm_integrations x
       SET next_sync_at = greatest(x.next_sync_at, until),
           calls_due_at = CASE WHEN x.calls_due_at IS NULL OR NOT calls THEN x.calls_due_at
                               ELSE greatest(x.calls_due_at, until) END
     WHERE x.organization_id = org AND x.id = integration;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_hold(uuid, uuid, timestamptz, text, boolean) IS
    'Internal: holds a Salesforce integration back until a time (its running run finishes with the reason; the next sync, and call pushes when calls is true, wait).';

-- ---------------------------------------------------------------------------
-- Tokens.

-- Reads a token answer already stored (wib.crm_tokens_store): the org (the
-- "id" URL names it), the instance_url (checked), the session's end
-- (wib.crm_salesforce_session_lifetime, or unknown); a connection gets its
-- outbound-message secret.  A refused answer revokes the tokens (exchange) or
-- is fatal (refresh).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_tokens(i wib.crm_integrations, body jsonb, exchange boolean) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org      uuid := i.organization_id;
    instance text := rtrim(body ->> 'instance_url', '/');
    refusal  text := wib.crm_salesforce_instance_refusal(rtrim(body ->> 'instance_url', '/'));
    account  text := substring(body ->> 'id' FROM '/id/(00D[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?)/[0-9A-Za-z]{15,18}/?$');
    lifetime interval := current_setting('wib.crm_salesforce_session_lifetime')::interval;
    expires  timestamptz;
BEGIN
    IF refusal IS NULL AND account IS NULL THEN
        refusal := 'the token answer names no Salesforce org (its id URL)';
    END IF;
    IF refusal IS NULL AND NOT exchange AND left(account, 15) IS DISTINCT FROM left(i.external_account_id, 15) THEN
        refusal := format('the refreshed tokens are for another Salesforce org (%s)', account);
    END IF;
    IF refusal IS NOT NULL THEN
        IF exchange THEN
            -- The tokens are revoked at Salesforce by the worker (at the login URL), then deleted.
            UPDATE wib.crm_tokens t SET revoke = true, access_token = NULL
             WHERE t.organization_id = org AND t.integration_id = i.id AND NOT t.revoke;
            PERFORM wib.crm_connect_failed(org, i.id, 'Salesforce answered, but ' || refusal || '; the tokens were revoked');
            RETURN '{}';
        END IF;
        RETURN jsonb_build_object('fatal', 'Salesforce refreshed the access token, but ' || refusal || '; reconnect Salesforce');
    END IF;
    -- (a value, not an expression: Citus refuses functions other than
    -- IMMUTABLE ones in a CASE of an UPDATE on a distributed table)
    expires := CASE WHEN lifetime > interval '0' THEN wib.clock_now() + lifetime ELSE 'infinity' END;
    UPDATE wib.crm_tokens t
       SET expires_at = expires,
           lifetime_seconds = nullif(extract(epoch FROM lifetime)::integer, 0)
     WHERE t.organization_id = org AND t.integration_id = i.id AND NOT t.revoke;
    UPDATE wib.crm_integrations x
       SET worker_state = x.worker_state - 'refresh_sent_at' || jsonb_build_object('instance_url', instance)
     WHERE x.organization_id = org AND x.id = i.id;
    IF exchange THEN
        IF NOT EXISTS (SELECT 1 FROM wib.crm_webhook_secrets s
                        WHERE s.organization_id = org AND s.integration_id = i.id AND s.valid_until IS NULL) THEN
            PERFORM wib.crm_webhook_secret_new(org, i.id, NULL);
        END IF;
        RETURN jsonb_build_object('account_id', account);
    END IF;
    RETURN '{}';
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_tokens(wib.crm_integrations, jsonb, boolean) IS
    'Internal: reads a stored Salesforce token answer: the org id (from its id URL), the instance_url (allowed domains, SSRF guard), the session''s end (wib.crm_salesforce_session_lifetime, else unknown: refreshed after a 401); a connection gets its outbound-message secret. Refused: the tokens are revoked (exchange) or the integration fails (refresh).';

-- ---------------------------------------------------------------------------
-- The requests of the Salesforce adapter (see wib.crm_next for when each is made).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_request(job text, i wib.crm_integrations, ctx jsonb)
    RETURNS wib.crm_request
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    p        record;
    org      uuid := i.organization_id;
    s        wib.crm_oauth_states;
    t        wib.crm_tokens;
    verifier text;
    base     text;
    bearer   text;
    until    timestamptz := (i.worker_state #>> '{sf_api,paused_until}')::timestamptz;
    contact  text;
BEGIN
    -- OAuth requests go to the operator's login URL with the client credentials.
    IF job IN ('exchange', 'refresh', 'revoke') THEN
        SELECT * INTO p FROM wib.crm_provider('salesforce');
    END IF;
    CASE job
    WHEN 'exchange' THEN
        SELECT * INTO s FROM wib.crm_oauth_states x WHERE x.organization_id = org AND x.id = (ctx ->> 'state_id')::uuid;
        verifier := wib.vault_open(s.code_verifier, org, 'crm_oauth_states.code_verifier', s.id::text);
        -- The verifier goes with the code, once.
        UPDATE wib.crm_oauth_states x SET code_verifier = NULL WHERE x.organization_id = org AND x.id = s.id;
        UPDATE wib.crm_integrations x SET worker_state = x.worker_state - 'refresh_sent_at' #- '{sf_api,paused_until}'
         WHERE x.organization_id = org AND x.id = i.id;
        RETURN ROW('exchange', 'POST', p.auth_url || '/services/oauth2/token', NULL,
                   ARRAY['grant_type', 'authorization_code',
                         'code', wib.vault_open(s.code, org, 'crm_oauth_states.code', s.id::text),
                         'client_id', p.client_id, 'client_secret', p.client_secret,
                         'redirect_uri', s.redirect_uri, 'code_verifier', verifier],
                   NULL, NULL, NULL, false, false, ctx)::wib.crm_request;
    WHEN 'refresh' THEN
        -- Marked before it is sent: a refresh whose answer is never recorded may have rotated the refresh token.
        UPDATE wib.crm_integrations x
           SET worker_state = x.worker_state || jsonb_build_object('refresh_sent_at', wib.clock_now())
         WHERE x.organization_id = org AND x.id = i.id;
        RETURN ROW('refresh', 'POST', p.auth_url || '/services/oauth2/token', NULL,
                   ARRAY['grant_type', 'refresh_token', 'refresh_token', wib.crm_refresh_token(org, i.id),
                         'client_id', p.client_id, 'client_secret', p.client_secret],
                   NULL, NULL, NULL, false, true,
                   ctx || jsonb_build_object('unrecorded', i.worker_state ? 'refresh_sent_at'))::wib.crm_request;
    WHEN 'revoke' THEN
        SELECT * INTO t FROM wib.crm_tokens x WHERE x.organization_id = org AND x.id = (ctx ->> 'token_id')::uuid;
        -- Revoking the refresh token ends every session it made.
        RETURN ROW('revoke', 'POST', p.auth_url || '/services/oauth2/revoke', NULL,
                   ARRAY['token', coalesce(wib.vault_open(t.refresh_token, org, 'crm_tokens.refresh_token', t.id::text),
                                           wib.vault_open(t.access_token, org, 'crm_tokens.access_token', t.id::text))],
                   NULL, NULL, NULL, false, true, ctx)::wib.crm_request;
    WHEN 'account' THEN
        -- The org comes with the tokens; an integration pending without it cannot go on.
        PERFORM wib.crm_connect_failed(org, i.id, 'the Salesforce org of the tokens is not known; reconnect Salesforce');
        RETURN wib.crm_request_none('done');
    ELSE
        NULL;
    END CASE;

    -- Requests to the org's data: to its instance_url, through the SSRF guard.
    base := wib.crm_salesforce_api(i);
    IF base IS NULL OR wib.crm_salesforce_instance_refusal(i.worker_state ->> 'instance_url') IS NOT NULL THEN
        PERFORM wib.crm_fail(org, i.id, coalesce('Salesforce''s instance_url may not be called: '
                                                 || wib.crm_salesforce_instance_refusal(i.worker_state ->> 'instance_url'),
                                                 'the integration has no Salesforce instance_url')
                                        || '; reconnect Salesforce');
        RETURN wib.crm_request_none('done');
    END IF;
    bearer := wib.crm_access_token(org, i.id);
    ctx := ctx || '{"guarded": true}';
    CASE job
    WHEN 'setup' THEN
        -- Before calls are pushed: nothing to set up, but the org's limit may be spent.
        IF until > wib.clock_now() THEN
            PERFORM wib.crm_salesforce_hold(org, i.id, until,
                format('Salesforce''s daily API request limit is spent (REQUEST_LIMIT_EXCEEDED); requests wait until %s', until), true);
            RETURN wib.crm_request_none('done');
        END IF;
        RETURN wib.crm_request_none('none');
    WHEN 'push_call' THEN
        contact := wib.crm_call_contact(org, i.id, (ctx ->> 'call_id')::uuid);
        PERFORM wib.crm_salesforce_count(org, i.id);
        RETURN ROW('push_call', 'POST', base || '/sobjects/Task', NULL, NULL,
                   wib.crm_salesforce_task(org, (ctx ->> 'call_id')::uuid, contact)::text,
                   bearer, NULL, false, false, ctx || jsonb_build_object('contact_id', contact))::wib.crm_request;
    WHEN 'find_call' THEN
        PERFORM wib.crm_salesforce_count(org, i.id);
        RETURN ROW('find_call', 'GET', base || '/query',
                   ARRAY['q', format('SELECT Id, WhoId FROM Task WHERE CallObject = %s ORDER BY CreatedDate, Id LIMIT 1',
                                     quote_literal((ctx ->> 'call_id')::uuid::text))],
                   NULL, NULL, bearer, NULL, false, true, ctx)::wib.crm_request;
    WHEN 'sync' THEN
        RETURN wib.crm_salesforce_sync_request(i, ctx, bearer, base);
    ELSE
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown CRM request kind "%s"', job);
    END CASE;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_request(text, wib.crm_integrations, jsonb) IS
    'Internal: a request of the Salesforce adapter: code exchange with the PKCE verifier, refresh, revoke (form bodies at the login URL), Task creation (push_call), Task query by CallObject (find_call), Contact and Lead queries and deletions (sync), at the instance_url through the SSRF guard; none while the org''s limit is spent.';

-- What an answer to the Salesforce adapter's request means (see wib.crm_record).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_apply(job text, i wib.crm_integrations, ctx jsonb, status integer,
                                                    body jsonb, error text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org     uuid := i.organization_id;
    message text := wib.crm_salesforce_message(body, status, error);
    until   timestamptz;
BEGIN
    IF ctx ? 'limit_info' THEN
        PERFORM wib.crm_salesforce_usage(org, i.id, ctx ->> 'limit_info');
    END IF;
    IF job = 'exchange' THEN
        RETURN wib.crm_salesforce_tokens(i, body, true);
    END IF;
    IF job = 'refresh' THEN
        IF status = 200 THEN
            RETURN wib.crm_salesforce_tokens(i, body, false);
        END IF;
        UPDATE wib.crm_integrations x SET worker_state = x.worker_state - 'refresh_sent_at'
         WHERE x.organization_id = org AND x.id = i.id;
        RETURN jsonb_build_object('fatal', 'Salesforce refused to refresh the access token: ' || message
            || CASE WHEN coalesce((ctx ->> 'unrecorded')::boolean, false)
                    THEN '. An earlier refresh got no recorded answer (the worker stopped, or the answer was lost): with refresh token rotation, Salesforce replaced the refresh token then, and the new one never reached wib'
                    ELSE '' END
            || '; reconnect Salesforce');
    END IF;

    -- The org's daily limit is spent: everything waits (the request did nothing).
    IF status = 403 AND jsonb_typeof(body) = 'array' AND body #>> '{0,errorCode}' = 'REQUEST_LIMIT_EXCEEDED' THEN
        until := wib.clock_now() + current_setting('wib.crm_salesforce_limit_pause')::interval;
        UPDATE wib.crm_integrations x
           SET worker_state = jsonb_set(x.worker_state, '{sf_api}', coalesce(x.worker_state -> 'sf_api', '{}')
                                                                    || jsonb_build_object('paused_until', until))
         WHERE x.organization_id = org AND x.id = i.id;
        IF job = 'push_call' THEN
            PERFORM wib.crm_push_result(org, (ctx ->> 'push_id')::uuid, 'pending', NULL, NULL, message);
        ELSIF job = 'find_call' THEN
            PERFORM wib.crm_push_result(org, (ctx ->> 'push_id')::uuid, 'unknown', NULL, NULL, 'could not be looked for: ' || message);
        END IF;
        PERFORM wib.crm_salesforce_hold(org, i.id, until,
            format('Salesforce''s daily API request limit is spent (%s); requests wait until %s', message, until), true);
        RETURN '{}';
    END IF;

    CASE job
    WHEN 'push_call' THEN
        RETURN wib.crm_salesforce_push_apply(i, ctx, status, body, message);
    WHEN 'find_call' THEN
        RETURN wib.crm_salesforce_find_apply(i, ctx, status, body, message);
    WHEN 'sync' THEN
        RETURN wib.crm_salesforce_sync_apply(i, ctx, status, body, message);
    ELSE
        RETURN '{}';
    END CASE;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_apply(text, wib.crm_integrations, jsonb, integer, jsonb, text) IS
    'Internal: applies an answer of Salesforce: the API usage it reports (Sforce-Limit-Info), tokens (exchange, refresh: a refused refresh is fatal, with a reconnect hint), 403 REQUEST_LIMIT_EXCEEDED (everything waits wib.crm_salesforce_limit_pause), a logged or found Task, a batch of contacts or deletions; returns counts for the run.';
