-- CRM providers: which CRMs wib has an adapter for, and the operator's
-- settings of each (OAuth app credentials, scopes, base URLs).

-- The CRMs wib can sync, with the feature of wib.feature_plans that gates each
-- and the defaults of their settings.  Adding a CRM adds a row here, its
-- adapter (src/sql/50_crm/*_<crm>.sql, src/crm/<crm>_*.c) and nothing else.
-- An adapter with settings of its own (a non-empty settings object, their
-- defaults) reads them with wib.crm_<crm>_provider_settings.
CREATE OR REPLACE FUNCTION wib.crm_adapters()
    RETURNS TABLE (crm_type text, feature text, api_url text, auth_url text, scopes text[], settings jsonb)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    VALUES ('hubspot', 'crm_hubspot', 'https://api.hubapi.com', 'https://app.hubspot.com/oauth/authorize',
            ARRAY['oauth', 'crm.objects.contacts.read', 'crm.objects.contacts.write'], '{}'::jsonb),
           ('salesforce', 'crm_salesforce', 'https://login.salesforce.com', 'https://login.salesforce.com',
            ARRAY['api', 'refresh_token'],
            '{"api_version": "v60.0", "instance_domains": [".my.salesforce.com", ".salesforce.com", ".force.com"]}'::jsonb)
$$;
COMMENT ON FUNCTION wib.crm_adapters() IS
    'Internal: the CRMs wib has an adapter for, the plan feature that gates each, their default base URLs and scopes, and the defaults of their adapter''s own settings.';

-- Raises 22023 naming crm_type unless it names a CRM of the platform, and
-- WB508 when wib has no adapter for it yet; returns it.
CREATE OR REPLACE FUNCTION wib.crm_check_type(crm_type text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    IF crm_type IS NULL OR crm_type NOT IN ('hubspot', 'salesforce', 'pipedrive') THEN
        PERFORM wib.invalid_field('crm_type', 'crm_type must be hubspot, salesforce or pipedrive.');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM wib.crm_adapters() a WHERE a.crm_type = crm_check_type.crm_type) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB508',
            MESSAGE = format('CRM "%s" is not available yet', crm_type),
            HINT = 'SELECT crm_type FROM wib.crm_adapters() lists the CRMs wib can sync.';
    END IF;
    RETURN crm_type;
END
$$;
COMMENT ON FUNCTION wib.crm_check_type(text) IS
    'Internal: crm_type when wib can sync that CRM; 22023 for an unknown CRM, WB508 for one without an adapter yet.';

-- Internal: raises 22023 naming field unless url is an absolute http(s) URL
-- without credentials, query or fragment.
CREATE OR REPLACE FUNCTION wib.crm_check_base_url(url text, field text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF url IS NULL OR length(url) > 500
       OR url !~ '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$' THEN
        PERFORM wib.invalid_field(field, format('%s must be an absolute https URL without credentials, query or fragment, such as https://api.hubapi.com.', field));
    END IF;
    RETURN rtrim(url, '/');
END
$$;
COMMENT ON FUNCTION wib.crm_check_base_url(text, text) IS
    'Internal: a provider base URL (absolute http(s), no credentials, query or fragment), trailing slash removed; 22023 naming the field otherwise.';

CREATE OR REPLACE FUNCTION wib.crm_provider_set(crm_type text, settings jsonb) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    a        record;
    old_row  wib.crm_providers;
    secret   text;
    scopes   text[];
    extra    jsonb;
BEGIN
    PERFORM wib.crm_check_type(crm_type);
    SELECT * INTO a FROM wib.crm_adapters() x WHERE x.crm_type = crm_provider_set.crm_type;
    SELECT * INTO old_row FROM wib.crm_providers p WHERE p.crm_type = crm_provider_set.crm_type FOR UPDATE;
    -- The adapter reads its own settings, and hands back the common ones (Salesforce: login_url as both base URLs).
    IF a.settings <> '{}' THEN
        EXECUTE format('SELECT * FROM wib.%I($1, $2)', 'crm_' || crm_type || '_provider_settings')
           INTO settings, extra USING settings, coalesce(old_row.settings, a.settings);
    END IF;
    PERFORM wib.check_fields(settings, ARRAY['client_id', 'client_secret', 'scopes', 'api_url', 'auth_url'], 'settings');

    IF settings ? 'client_id' THEN
        PERFORM wib.require_text(wib.field_text(settings, 'client_id', 255), 'client_id', 255);
    END IF;
    secret := wib.field_text(settings, 'client_secret', 500);
    IF settings ? 'client_secret' THEN
        PERFORM wib.require_text(secret, 'client_secret', 500);
    END IF;
    IF settings ? 'scopes' THEN
        IF jsonb_typeof(settings -> 'scopes') IS DISTINCT FROM 'array'
           OR jsonb_array_length(settings -> 'scopes') NOT BETWEEN 1 AND 50
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(settings -> 'scopes') e
                       WHERE jsonb_typeof(e) <> 'string' OR (e #>> '{}') !~ '^[A-Za-z0-9._:/-]{1,100}$') THEN
            PERFORM wib.invalid_field('scopes', 'scopes must be a JSON array of 1 to 50 scope names such as "crm.objects.contacts.read".');
        END IF;
        scopes := ARRAY(SELECT DISTINCT e FROM jsonb_array_elements_text(settings -> 'scopes') e ORDER BY e);
    END IF;

    INSERT INTO wib.crm_providers AS p (crm_type, client_id, client_secret, scopes, api_url, auth_url, settings, updated_at)
    VALUES (crm_type,
            coalesce(wib.field_text(settings, 'client_id', 255), old_row.client_id),
            CASE WHEN secret IS NOT NULL
                 THEN wib.vault_seal(secret, NULL, 'crm_providers.client_secret', crm_type)
                 ELSE old_row.client_secret END,
            coalesce(scopes, old_row.scopes, a.scopes),
            CASE WHEN settings ? 'api_url' THEN wib.crm_check_base_url(wib.field_text(settings, 'api_url', 500), 'api_url')
                 ELSE coalesce(old_row.api_url, a.api_url) END,
            CASE WHEN settings ? 'auth_url' THEN wib.crm_check_base_url(wib.field_text(settings, 'auth_url', 500), 'auth_url')
                 ELSE coalesce(old_row.auth_url, a.auth_url) END,
            coalesce(extra, old_row.settings, a.settings),
            now())
    ON CONFLICT ON CONSTRAINT crm_providers_pkey DO UPDATE
       SET client_id = EXCLUDED.client_id, client_secret = EXCLUDED.client_secret, scopes = EXCLUDED.scopes,
           api_url = EXCLUDED.api_url, auth_url = EXCLUDED.auth_url, settings = EXCLUDED.settings,
           updated_at = EXCLUDED.updated_at;
END
$$;
COMMENT ON FUNCTION wib.crm_provider_set(text, jsonb) IS
    'Operators: sets a CRM''s OAuth app and endpoints: {"client_id", "client_secret" (sealed in the vault, never readable back), "scopes": [...], "api_url", "auth_url"} (Salesforce: "login_url", "api_version", "instance_domains" instead of the base URLs); fields left out keep their value (defaults: https://api.hubapi.com and https://app.hubspot.com/oauth/authorize for HubSpot, https://login.salesforce.com for Salesforce).';

CREATE OR REPLACE FUNCTION wib.crm_providers_show()
    RETURNS TABLE (crm_type text, client_id text, client_secret_set boolean, scopes text[], api_url text,
                   auth_url text, updated_at timestamptz, settings jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    SELECT p.crm_type, p.client_id, p.client_secret IS NOT NULL, p.scopes, p.api_url, p.auth_url, p.updated_at, p.settings
      FROM wib.crm_providers p ORDER BY p.crm_type;
END;
COMMENT ON FUNCTION wib.crm_providers_show() IS
    'Operators: the settings of each configured CRM, with whether a client secret is set (never the secret itself) and its adapter''s own settings.';

-- Internal: the provider settings a CRM call needs, with the client secret
-- opened; WB501 when the operator has not configured the CRM.
CREATE OR REPLACE FUNCTION wib.crm_provider(crm_type text)
    RETURNS TABLE (client_id text, client_secret text, scopes text[], api_url text, auth_url text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    p wib.crm_providers;
BEGIN
    SELECT * INTO p FROM wib.crm_providers x WHERE x.crm_type = crm_provider.crm_type;
    IF NOT FOUND OR p.client_id IS NULL OR p.client_secret IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB501',
            MESSAGE = format('CRM "%s" is not configured', crm_type),
            HINT = 'An operator sets the OAuth app with wib.crm_provider_set(crm_type, ''{"client_id": ..., "client_secret": ...}'').';
    END IF;
    client_id := p.client_id;
    client_secret := wib.vault_open(p.client_secret, NULL, 'crm_providers.client_secret', p.crm_type);
    scopes := p.scopes;
    api_url := p.api_url;
    auth_url := p.auth_url;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wib.crm_provider(text) IS
    'Internal: a configured CRM''s client id, opened client secret, scopes and base URLs; WB501 when it is not configured.';

CREATE OR REPLACE FUNCTION wib.crm_random_state() RETURNS text
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_crm_random_state';
COMMENT ON FUNCTION wib.crm_random_state() IS
    'Internal: a new OAuth state, 32 random bytes (pg_strong_random) as base64url.';

CREATE OR REPLACE FUNCTION wib.crm_url_encode(value text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_crm_url_encode';
COMMENT ON FUNCTION wib.crm_url_encode(text) IS
    'Internal: value percent-encoded for a URL query (RFC 3986: unreserved characters kept, space as %20).';
