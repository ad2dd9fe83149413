-- Salesforce's SQL contract: the operator's settings (login_url, api_version,
-- instance_domains) and bad input to them; the instance_url check (allowed
-- domains, exact hosts and suffixes, the SSRF guard); the PKCE challenge;
-- plan gating (business); the integration's config; webhook secrets (only
-- through the API, sealed, per organization); outbound messages refused
-- before anything is read; SOQL built from the cursor.
BEGIN;
\ir lib/fixtures.sql
SELECT plan(40);

INSERT INTO fx VALUES ('pro', wib.organization_create('Pro Co', 'pro')),
                      ('biz', wib.organization_create('Biz Co', 'business')),
                      ('biz2', wib.organization_create('Biz Two', 'business'));

-- ---------------------------------------------------------------------------
-- Operators set Salesforce's app; bad settings are refused naming the field.
SET ROLE wib_test_admin;
SELECT throws_ok('SELECT wib.crm_provider_set(''salesforce'', ''{"api_url": "https://x.example.test"}'')', '22023',
                 'unknown field "api_url" in settings', 'salesforce takes login_url, not api_url');
SELECT throws_ok('SELECT wib.crm_provider_set(''salesforce'', ''{"login_url": "ftp://login.example.test"}'')', '22023',
                 'invalid login_url', 'login_url must be http(s)');
SELECT throws_ok('SELECT wib.crm_provider_set(''salesforce'', ''{"api_version": "60"}'')', '22023',
                 'invalid api_version', 'api_version must look like v60.0');
SELECT throws_ok('SELECT wib.crm_provider_set(''salesforce'', ''{"instance_domains": ".salesforce.com"}'')', '22023',
                 'invalid instance_domains', 'instance_domains must be an array');
SELECT throws_ok('SELECT wib.crm_provider_set(''salesforce'', ''{"instance_domains": [".com"]}'')', '22023',
                 'invalid instance_domains', 'a suffix of one label is refused');
SELECT throws_ok('SELECT wib.crm_provider_set(''salesforce'', ''{"instance_domains": []}'')', '22023',
                 'invalid instance_domains', 'an empty list is refused');
SELECT throws_ok('SELECT wib.crm_provider_set(''salesforce'', ''{"instance_domains": ["evil.example.com/x"]}'')', '22023',
                 'invalid instance_domains', 'a host with a path is refused');
SELECT is((SELECT count(*) FROM wib.crm_providers_show() WHERE crm_type = 'salesforce'), 0::bigint,
          'refused settings wrote nothing');
SELECT lives_ok('SELECT wib.crm_provider_set(''salesforce'', ''{"client_id": "sf-app", "client_secret": "sf-secret-value",
                 "login_url": "https://test.salesforce.com/", "api_version": "v61.0"}'')', 'operators set the Salesforce app');
SELECT is((SELECT row(client_id, client_secret_set, api_url, auth_url, settings ->> 'api_version',
                      settings -> 'instance_domains')::text FROM wib.crm_providers_show() WHERE crm_type = 'salesforce'),
          '(sf-app,t,https://test.salesforce.com,https://test.salesforce.com,v61.0,"["".my.salesforce.com"", "".salesforce.com"", "".force.com""]")',
          'login_url is both base URLs (a sandbox); the default instance domains are kept');
RESET ROLE;
SELECT ok((SELECT position('sf-secret-value' IN encode(client_secret, 'escape')) = 0 FROM wib.crm_providers
            WHERE crm_type = 'salesforce'), 'the client secret is sealed');

-- ---------------------------------------------------------------------------
-- instance_url: an https origin on an allowed domain that the SSRF guard allows.
SELECT is(wib.crm_salesforce_instance_refusal(NULL), 'the token answer carries no instance_url', 'no instance_url');
SELECT alike(wib.crm_salesforce_instance_refusal('https://evil.example.com'), '%outside the allowed domains%',
            'a host outside the domains');
SELECT alike(wib.crm_salesforce_instance_refusal('https://na1.my.salesforce.com.evil.example.com'), '%outside the allowed domains%',
            'an allowed name inside another host');
SELECT alike(wib.crm_salesforce_instance_refusal('https://salesforce.com'), '%outside the allowed domains%',
            'a suffix does not match the bare domain');
SELECT alike(wib.crm_salesforce_instance_refusal('https://evilsalesforce.com'), '%outside the allowed domains%',
            'a suffix matches whole labels only');
SELECT alike(wib.crm_salesforce_instance_refusal('https://acme.my.salesforce.com/services'), '%is not an https origin%',
            'an instance_url with a path');
SELECT alike(wib.crm_salesforce_instance_refusal('https://user@acme.my.salesforce.com'), '%is not an https origin%',
            'an instance_url with credentials');
SET ROLE wib_test_admin;
SELECT wib.crm_provider_set('salesforce', '{"instance_domains": ["127.0.0.1", ".internal.example"]}');
RESET ROLE;
SELECT alike(wib.crm_salesforce_instance_refusal('https://127.0.0.1:8443'), '%refused by the SSRF guard%',
            'an allowed domain that is a loopback address is refused by the SSRF guard');
SELECT alike(wib.crm_salesforce_instance_refusal('https://x.my.salesforce.com'), '%outside the allowed domains%',
            'operators replace the domains');

-- PKCE (RFC 7636 S256), as Python's hashlib computes it.
SELECT is(wib.crm_salesforce_pkce_challenge('dBjftJeZ4CVP-mJ92K9qxR0M2GpbNQZbRYDqJhIHm2e6'),
          'yquS6eHlVyAoUiNBvLtobcO_s_C3bqtJGpVJE8p4n3g', 'the S256 challenge is base64url(SHA-256), unpadded');

-- ---------------------------------------------------------------------------
-- Plan gating and the integration's API.
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('pro'), 'u');
SELECT throws_ok('SELECT wib.crm_connect(''salesforce'', ''https://app.example.test/cb'')', 'WB001', NULL,
                 'crm_connect: salesforce needs business');
SELECT throws_ok('SELECT wib.crm_config_set(''salesforce'', ''{}'')', 'WB001', NULL, 'crm_config_set: salesforce needs business');
SELECT throws_ok('SELECT wib.crm_webhook_secret(''salesforce'')', 'WB001', NULL, 'crm_webhook_secret: salesforce needs business');
SELECT wib.set_context(pg_temp.org('biz'), 'u');
SELECT alike(wib.crm_connect('salesforce', 'https://app.example.test/cb'),
            'https://test.salesforce.com/services/oauth2/authorize?response_type=code&client_id=sf-app&%&code_challenge_method=S256',
            'business organizations connect Salesforce');
RESET ROLE;
SELECT ok((SELECT code_verifier IS NOT NULL AND position('code_verifier' IN encode(code_verifier, 'escape')) = 0
             FROM wib.crm_oauth_states WHERE organization_id = pg_temp.org('biz')), 'the state keeps a sealed PKCE verifier');
SET ROLE wib_test_app;
SELECT throws_ok('SELECT * FROM wib.crm_oauth_states', '42501', NULL, 'applications cannot read OAuth states');
SELECT throws_ok('SELECT * FROM wib.crm_webhook_secrets', '42501', NULL, 'applications cannot read webhook secrets');
SELECT throws_ok('SELECT wib.crm_webhook_secret(''salesforce'')', 'WB505', NULL, 'no webhook secret before the CRM connects');
SELECT throws_ok('SELECT wib.crm_config_set(''salesforce'', ''{"objects": ["Contact"]}'')', 'WB505', NULL,
                 'no config before the CRM connects');
SELECT throws_ok('SELECT wib.crm_webhook_secret(''hubspot'')', '22023', 'invalid crm_type',
                 'HubSpot signs its webhooks: no secret in the path');
RESET ROLE;

-- A connected integration (as the worker leaves it) for the rest.
SELECT wib.set_context(pg_temp.org('biz'), 'u', true);
INSERT INTO wib.crm_integrations (organization_id, crm_type, status, external_account_id, next_sync_at, worker_state)
VALUES (pg_temp.org('biz'), 'salesforce', 'connected', '00D000000000001AAA', now() + interval '1 day',
        '{"instance_url": "https://acme.my.salesforce.com"}');
SELECT wib.crm_webhook_secret_new(pg_temp.org('biz'), (SELECT id FROM wib.crm_integrations
                                   WHERE organization_id = pg_temp.org('biz') AND crm_type = 'salesforce'), NULL);
RESET wib.org_id;
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('biz'), 'u');
SELECT throws_ok('SELECT wib.crm_config_set(''salesforce'', ''{"objects": ["Account"]}'')', '22023', 'invalid objects',
                 'config: objects are Contact and Lead');
SELECT throws_ok('SELECT wib.crm_config_set(''salesforce'', ''{"api_share": 0}'')', '22023', 'invalid api_share',
                 'config: api_share is 1 to 100');
SELECT throws_ok('SELECT wib.crm_config_set(''salesforce'', ''{"color": "red"}'')', '22023', 'unknown field "color" in config',
                 'config: unknown fields are refused');
SELECT is(wib.crm_config_set('salesforce', '{"objects": ["Lead", "Contact"], "api_share": 25}'),
          '{"objects": ["Contact", "Lead"], "api_share": 25}'::jsonb, 'config: Contacts and Leads, a quarter of the budget');
SELECT ok(wib.crm_webhook_secret('salesforce') ~ '^[A-Za-z0-9_-]{43}$', 'the webhook secret reads back for its organization');
SELECT throws_ok('SELECT wib.crm_webhook_secret_rotate(''salesforce'', interval ''8 days'')', '22023',
                 'invalid previous_valid_for', 'rotation: the old secret lives at most 7 days');
SELECT wib.set_context(pg_temp.org('biz2'), 'u');
SELECT throws_ok('SELECT wib.crm_webhook_secret(''salesforce'')', 'WB505', NULL,
                 'another organization cannot read the secret');
RESET ROLE;

-- Outbound messages are refused before anything is read.
SELECT throws_ok($$SELECT wib.crm_webhook('salesforce', 'POST', 'https://p.example/h/salesforce/' || repeat('A', 43),
                 convert_to('<x/>', 'UTF8'), '{}')$$, 'WB007', NULL, 'an outbound message with an unknown secret');

-- SOQL of the cursor: ordered by SystemModstamp, Id; after a position with ties.
SELECT is(wib.crm_salesforce_soql('Contact', ARRAY['Id', 'SystemModstamp'], '2026-11-29 10:15:00+00', '0038b000000000PAAQ', NULL, false),
          'SELECT Id, SystemModstamp FROM Contact WHERE ((SystemModstamp = 2026-11-29T10:15:00.000Z AND Id > ''0038b000000000PAAQ'') OR SystemModstamp > 2026-11-29T10:15:00.000Z) ORDER BY SystemModstamp, Id',
          'a query after a position reads the rest of its second, then later ones');

SELECT * FROM finish();
ROLLBACK;
