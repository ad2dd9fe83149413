-- Connecting a CRM: the authorize URL with a single-use state, the callback
-- that hands the code to the CRM worker (no network I/O in the caller's
-- transaction), and disconnecting (tokens revoked by the worker, ciphertext
-- deleted).

-- Internal: the plan feature of a CRM, checked for the organization in context.
CREATE OR REPLACE FUNCTION wib.crm_require_feature(crm_type text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    PERFORM wib.crm_check_type(crm_type);
    PERFORM wib.require_feature((SELECT a.feature FROM wib.crm_adapters() a WHERE a.crm_type = crm_require_feature.crm_type));
END
$$;
COMMENT ON FUNCTION wib.crm_require_feature(text) IS
    'Internal: raises WB001 unless the plan of the organization in context includes the CRM (crm_hubspot: pro, crm_salesforce: business).';

-- Internal: refuses a redirect URI that is not absolute https (http only for loopback development hosts).
CREATE OR REPLACE FUNCTION wib.crm_check_redirect_uri(redirect_uri text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    PERFORM wib.require_text(redirect_uri, 'redirect_uri', 2048);
    IF redirect_uri !~ '^https://[^/?#@[:space:]]+(/[^#[:space:]]*)?$'
       AND redirect_uri !~ '^http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?(/[^#[:space:]]*)?$' THEN
        PERFORM wib.invalid_field('redirect_uri',
            'redirect_uri must be an absolute https URL without credentials or fragment (http only for localhost).');
    END IF;
    RETURN redirect_uri;
END
$$;
COMMENT ON FUNCTION wib.crm_check_redirect_uri(text) IS
    'Internal: an OAuth redirect URI (absolute https, or http on localhost), else 22023 naming redirect_uri.';

-- Internal: the authorize URL of a CRM's adapter (wib.crm_<crm>_authorize_url).
-- Volatile: an adapter may keep something with the state (Salesforce's PKCE verifier).
CREATE OR REPLACE FUNCTION wib.crm_authorize_url(crm_type text, redirect_uri text, state text) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    url text;
BEGIN
    EXECUTE format('SELECT wib.%I($1, $2)', 'crm_' || crm_type || '_authorize_url') INTO url USING redirect_uri, state;
    RETURN url;
END
$$;
COMMENT ON FUNCTION wib.crm_authorize_url(text, text, text) IS
    'Internal: the URL the user''s browser is sent to, from the CRM''s adapter.';

CREATE OR REPLACE FUNCTION wib.crm_connect(crm_type text, redirect_uri text, idempotency_key text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org     uuid := wib.require_org();
    request jsonb := jsonb_build_object('crm_type', crm_type, 'redirect_uri', redirect_uri);
    replay  jsonb;
    state   text;
    url     text;
BEGIN
    PERFORM wib.crm_require_feature(crm_type);
    PERFORM wib.crm_check_redirect_uri(redirect_uri);
    IF idempotency_key IS NOT NULL THEN
        replay := wib.idempotency_begin(idempotency_key, request);
        IF replay IS NOT NULL THEN
            RETURN replay #>> '{}';
        END IF;
    END IF;
    PERFORM wib.crm_provider(crm_type);		-- WB501 when the operator has not configured it
    PERFORM wib.rate_limit_internal(org, 'crm_connect', 20, interval '1 minute');

    state := wib.crm_random_state();
    INSERT INTO wib.crm_oauth_states (organization_id, crm_type, state_hash, user_id, redirect_uri, expires_at)
    VALUES (org, crm_type, sha256(convert_to(state, 'UTF8')), wib.current_user_id(), redirect_uri,
            now() + interval '10 minutes');
    url := wib.crm_authorize_url(crm_type, redirect_uri, state);
    PERFORM wib.audit('crm:connect_initiated', 'crm_integration', crm_type, NULL,
                      jsonb_build_object('crm_type', crm_type, 'redirect_uri', redirect_uri));
    IF idempotency_key IS NOT NULL THEN
        PERFORM wib.idempotency_finish(idempotency_key, to_jsonb(url));
    END IF;
    RETURN url;
END
$$;
COMMENT ON FUNCTION wib.crm_connect(text, text, text) IS
    'Starts connecting a CRM (plan-gated: crm_hubspot pro, crm_salesforce business; rate-limited): returns the authorize URL to send the user''s browser to, with a random single-use state bound to the organization, user, CRM and redirect URI, valid 10 minutes. Audited crm:connect_initiated.';

CREATE OR REPLACE FUNCTION wib.crm_callback(crm_type text, code text, state text, redirect_uri text DEFAULT NULL)
    RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org   uuid := wib.require_org();
    st    wib.crm_oauth_states;
    integ uuid;
    sealed bytea;
BEGIN
    PERFORM wib.crm_require_feature(crm_type);
    PERFORM wib.require_text(code, 'code', 2048);
    PERFORM wib.require_text(state, 'state', 200);
    SELECT * INTO st FROM wib.crm_oauth_states s
     WHERE s.organization_id = org AND s.state_hash = sha256(convert_to(crm_callback.state, 'UTF8'))
       FOR UPDATE;
    -- A state of another organization is not found here: the same error as a forged one.
    IF NOT FOUND OR st.crm_type <> crm_type
       OR st.user_id IS DISTINCT FROM wib.current_user_id()
       OR (redirect_uri IS NOT NULL AND redirect_uri <> st.redirect_uri) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB502',
            MESSAGE = 'OAuth state is not valid here',
            DETAIL = 'The state was not issued by wib.crm_connect for this organization, user, CRM and redirect URI.',
            HINT = 'Start again with wib.crm_connect.';
    END IF;
    IF st.used_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB504',
            MESSAGE = 'OAuth state was already used',
            DETAIL = format('It was used at %s.', st.used_at),
            HINT = 'Start again with wib.crm_connect.';
    END IF;
    IF st.expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'WB503',
            MESSAGE = 'OAuth state has expired',
            DETAIL = format('It expired at %s (states are valid for 10 minutes).', st.expires_at),
            HINT = 'Start again with wib.crm_connect.';
    END IF;

    INSERT INTO wib.crm_integrations AS i (organization_id, crm_type, status, connected_by, next_sync_at)
    VALUES (org, crm_type, 'pending', wib.current_user_id(), now())
    ON CONFLICT ON CONSTRAINT crm_integrations_type_key
    DO UPDATE SET status = 'pending', error_detail = NULL, connected_by = EXCLUDED.connected_by,
                  next_sync_at = EXCLUDED.next_sync_at
    RETURNING i.id INTO integ;
    -- The code waits, sealed, for the worker to exchange it (no network I/O here).
    -- Sealed first: on a Citus cluster the coordinator alone holds the key ring,
    -- and Citus refuses VOLATILE functions in an UPDATE.
    sealed := wib.vault_seal(crm_callback.code, org, 'crm_oauth_states.code', st.id::text);
    UPDATE wib.crm_oauth_states s
       SET used_at = now(), integration_id = integ, code = sealed
     WHERE s.organization_id = org AND s.id = st.id;
    -- An earlier state of the same integration that was never exchanged is dropped.
    UPDATE wib.crm_oauth_states s SET code = NULL
     WHERE s.organization_id = org AND s.integration_id = integ AND s.id <> st.id AND s.code IS NOT NULL;
    PERFORM wib.wake('crm_sync');
    RETURN integ;
END
$$;
COMMENT ON FUNCTION wib.crm_callback(text, text, text, text) IS
    'The platform''s OAuth callback route calls this with the code and state the CRM sent back (and, optionally, the redirect URI it was reached at): checks the state (WB502 other organization, user, CRM or redirect URI; WB504 already used; WB503 expired; nothing written then), hands the code to the CRM worker, which exchanges it, and returns the integration id (status pending until the worker connects it).';

CREATE OR REPLACE FUNCTION wib.crm_disconnect(crm_type text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org uuid := wib.require_org();
    i   wib.crm_integrations;
BEGIN
    PERFORM wib.crm_check_type(crm_type);
    SELECT * INTO i FROM wib.crm_integrations x
     WHERE x.organization_id = org AND x.crm_type = crm_disconnect.crm_type FOR UPDATE;
    IF NOT FOUND OR i.status = 'disconnected' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB505',
            MESSAGE = format('CRM "%s" is not connected', crm_type);
    END IF;
    -- The access token goes now; the refresh token stays sealed until the worker revokes it.
    UPDATE wib.crm_tokens t SET revoke = true, access_token = NULL
     WHERE t.organization_id = org AND t.integration_id = i.id AND NOT t.revoke;
    DELETE FROM wib.crm_tokens t
     WHERE t.organization_id = org AND t.integration_id = i.id AND t.revoke AND t.refresh_token IS NULL;
    UPDATE wib.crm_oauth_states s SET code = NULL WHERE s.organization_id = org AND s.integration_id = i.id;
    UPDATE wib.crm_sync_log l SET status = 'failed', finished_at = now(), error_detail = 'disconnected'
     WHERE l.organization_id = org AND l.integration_id = i.id AND l.status = 'running';
    UPDATE wib.crm_call_pushes p SET status = 'failed', last_error = 'disconnected'
     WHERE p.organization_id = org AND p.integration_id = i.id AND p.status IN ('pending', 'unknown');
    DELETE FROM wib.crm_contact_cache c WHERE c.organization_id = org AND c.integration_id = i.id;
    UPDATE wib.crm_integrations x
       SET status = 'disconnected', sync_cursor = NULL, current_sync_id = NULL, contact_count = 0,
           next_sync_at = NULL, calls_due_at = NULL, error_detail = NULL,
           last_sync_status = CASE WHEN x.last_sync_status = 'running' THEN 'failed' ELSE x.last_sync_status END
     WHERE x.organization_id = org AND x.id = i.id;
    PERFORM wib.audit('crm:disconnected', 'crm_integration', i.id::text,
                      jsonb_build_object('crm_type', i.crm_type, 'status', i.status,
                                         'external_account_id', i.external_account_id),
                      jsonb_build_object('crm_type', i.crm_type, 'status', 'disconnected'));
    PERFORM wib.wake('crm_sync');
END
$$;
COMMENT ON FUNCTION wib.crm_disconnect(text) IS
    'Disconnects a CRM: the access token ciphertext is deleted at once, the refresh token is revoked at the CRM by the worker and then deleted, the cached contacts go, pending call pushes fail, status becomes disconnected. WB505 when not connected. Audited crm:disconnected.';
