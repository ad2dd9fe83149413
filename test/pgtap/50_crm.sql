-- CRM sync's SQL contract: plan gating, what applications may read of the CRM
-- tables, the operator's provider settings, connecting (states), sync now,
-- the dashboard, mappings and their transforms, the caller lookup with the
-- organization's default country, inbound webhooks, and bad input to every
-- function (each refused with a documented error, nothing written).
BEGIN;
\ir lib/fixtures.sql
SELECT plan(109);

CREATE FUNCTION pg_temp.sqlstate(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.sqlstate(text) TO PUBLIC;
INSERT INTO fx VALUES ('starter', wib.organization_create('Starter Co', 'starter')),
                      ('pro', wib.organization_create('Pro Co', 'pro'));

-- ---------------------------------------------------------------------------
-- Operators configure providers; applications cannot.
SELECT throws_ok('SELECT wib.crm_connect(''hubspot'', ''https://app.example.test/cb'')', 'WB005', NULL,
                 'crm_connect: no organization in context');
SET ROLE wib_test_app;
SELECT throws_ok('SELECT wib.crm_provider_set(''hubspot'', ''{}'')', '42501', NULL, 'applications cannot set provider settings');
SELECT throws_ok('SELECT * FROM wib.crm_providers', '42501', NULL, 'applications cannot read provider settings');
SELECT throws_ok('SELECT wib.crm_sync(gen_random_uuid())', '42501', NULL, 'applications cannot run a sync themselves');
SELECT throws_ok('SELECT * FROM wib.crm_tokens', '42501', NULL, 'applications cannot read CRM tokens');
SELECT throws_ok('SELECT * FROM wib.crm_oauth_states', '42501', NULL, 'applications cannot read OAuth states');
SELECT throws_ok('SELECT * FROM wib.crm_webhook_events', '42501', NULL, 'applications cannot read webhook event ids');
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT throws_ok('SELECT wib.crm_connect(''hubspot'', ''https://app.example.test/cb'')', 'WB501', NULL,
                 'crm_connect: WB501 before the operator configured HubSpot');
RESET ROLE;
SET ROLE wib_test_admin;
SELECT throws_ok('SELECT wib.crm_provider_set(''zoho'', ''{}'')', '22023', 'invalid crm_type', 'crm_provider_set: unknown CRM');
SELECT throws_ok('SELECT wib.crm_provider_set(''pipedrive'', ''{}'')', 'WB508', NULL, 'crm_provider_set: a CRM without an adapter yet');
SELECT throws_ok('SELECT wib.crm_provider_set(''hubspot'', ''{"client_key": "x"}'')', '22023', 'unknown field "client_key" in settings',
                 'crm_provider_set: unknown setting');
SELECT throws_ok('SELECT wib.crm_provider_set(''hubspot'', NULL)', '22023', 'invalid settings', 'crm_provider_set: NULL settings');
SELECT throws_ok('SELECT wib.crm_provider_set(''hubspot'', ''{"client_id": ""}'')', '22023', 'invalid client_id',
                 'crm_provider_set: empty client_id');
SELECT throws_ok('SELECT wib.crm_provider_set(''hubspot'', ''{"client_secret": 42}'')', '22023', 'invalid client_secret',
                 'crm_provider_set: client_secret of the wrong type');
SELECT throws_ok('SELECT wib.crm_provider_set(''hubspot'', ''{"scopes": "oauth"}'')', '22023', 'invalid scopes',
                 'crm_provider_set: scopes not an array');
SELECT throws_ok('SELECT wib.crm_provider_set(''hubspot'', ''{"scopes": ["oauth", "no spaces"]}'')', '22023', 'invalid scopes',
                 'crm_provider_set: a scope with a space');
SELECT throws_ok('SELECT wib.crm_provider_set(''hubspot'', ''{"api_url": "ftp://api.example.test"}'')', '22023', 'invalid api_url',
                 'crm_provider_set: api_url not http(s)');
SELECT throws_ok('SELECT wib.crm_provider_set(''hubspot'', ''{"auth_url": "https://user:pw@app.example.test/a"}'')', '22023',
                 'invalid auth_url', 'crm_provider_set: auth_url with credentials');
SELECT lives_ok('SELECT wib.crm_provider_set(''hubspot'', ''{"client_id": "wib-app", "client_secret": "s3cret-value", "api_url": "https://api.example.test/"}'')',
                'operators set the HubSpot app');
SELECT is((SELECT row(client_id, client_secret_set, api_url, auth_url)::text FROM wib.crm_providers_show()),
          '(wib-app,t,https://api.example.test,https://app.hubspot.com/oauth/authorize)',
          'the settings read back without the secret; defaults fill what was left out');
RESET ROLE;
SELECT ok((SELECT position('s3cret-value' IN encode(client_secret, 'escape')) = 0 FROM wib.crm_providers),
          'the client secret is stored sealed');

-- ---------------------------------------------------------------------------
-- Plan gating.
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('starter'), 'u');
SELECT throws_ok('SELECT wib.crm_connect(''hubspot'', ''https://app.example.test/cb'')', 'WB001', NULL, 'crm_connect: hubspot needs pro');
SELECT throws_ok('SELECT wib.crm_callback(''hubspot'', ''c'', ''s'')', 'WB001', NULL, 'crm_callback: hubspot needs pro');
SELECT throws_ok('SELECT wib.crm_sync_now(''hubspot'')', 'WB001', NULL, 'crm_sync_now: hubspot needs pro');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''[]'')', 'WB001', NULL, 'crm_mappings_set: hubspot needs pro');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action LIKE 'crm:%'), 0::bigint, 'refused calls wrote no audit row');
SELECT wib.set_context(pg_temp.org('pro'), 'u');
SELECT throws_ok('SELECT wib.crm_connect(''pipedrive'', ''https://app.example.test/cb'')', 'WB508', NULL,
                 'crm_connect: pipedrive is not available yet');
SELECT throws_ok('SELECT wib.crm_connect(''zoho'', ''https://app.example.test/cb'')', '22023', 'invalid crm_type',
                 'crm_connect: unknown CRM');
SELECT throws_ok('SELECT wib.crm_connect(NULL, ''https://app.example.test/cb'')', '22023', 'invalid crm_type',
                 'crm_connect: NULL CRM');

-- ---------------------------------------------------------------------------
-- Connecting.
SELECT throws_ok('SELECT wib.crm_connect(''hubspot'', NULL)', '22023', 'invalid redirect_uri', 'crm_connect: NULL redirect_uri');
SELECT throws_ok('SELECT wib.crm_connect(''hubspot'', ''ftp://app.example.test/cb'')', '22023', 'invalid redirect_uri',
                 'crm_connect: redirect_uri not https');
SELECT throws_ok('SELECT wib.crm_connect(''hubspot'', ''http://app.example.test/cb'')', '22023', 'invalid redirect_uri',
                 'crm_connect: plain http only on localhost');
SELECT throws_ok(format('SELECT wib.crm_connect(''hubspot'', %L)', 'https://app.example.test/' || repeat('x', 2100)), '22023',
                 'invalid redirect_uri', 'crm_connect: oversized redirect_uri');
SELECT throws_ok('SELECT wib.crm_connect(''hubspot'', ''https://app.example.test/cb#frag'')', '22023', 'invalid redirect_uri',
                 'crm_connect: redirect_uri with a fragment');
SELECT matches(wib.crm_connect('hubspot', 'https://app.example.test/cb', 'connect-1'),
               '^https://app\.hubspot\.com/oauth/authorize\?client_id=wib-app&scope=oauth%20crm\.objects\.contacts\.read%20crm\.objects\.contacts\.write&redirect_uri=https%3A%2F%2Fapp\.example\.test%2Fcb&state=[A-Za-z0-9_-]{43}$',
               'crm_connect returns the authorize URL');
SELECT is(wib.crm_connect('hubspot', 'https://app.example.test/cb', 'connect-1'),
          (SELECT response #>> '{}' FROM wib.idempotency_keys WHERE key = 'connect-1'),
          'crm_connect with the same idempotency key replays its URL');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'crm:connect_initiated'), 1::bigint,
          'connecting is audited crm:connect_initiated once');
SELECT matches(wib.crm_connect('hubspot', 'http://localhost:3000/cb'), 'redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb',
               'plain http is accepted for localhost');
SELECT throws_ok('SELECT wib.crm_callback(''hubspot'', NULL, ''s'')', '22023', 'invalid code', 'crm_callback: NULL code');
SELECT throws_ok('SELECT wib.crm_callback(''hubspot'', ''c'', '''')', '22023', 'invalid state', 'crm_callback: empty state');
SELECT throws_ok(format('SELECT wib.crm_callback(''hubspot'', ''c'', %L)', repeat('s', 201)), '22023', 'invalid state',
                 'crm_callback: oversized state');
SELECT throws_ok('SELECT wib.crm_callback(''hubspot'', ''c'', ''forged'')', 'WB502', NULL, 'crm_callback: unknown state');
SELECT throws_ok(format('SELECT wib.crm_callback(''hubspot'', ''c'', %L)', 'fixture-state-' || pg_temp.org('a')), 'WB502', NULL,
                 'crm_callback: another organization''s state');
SELECT is((SELECT count(*) FROM wib.crm_integrations), 0::bigint, 'refused callbacks create no integration');
SELECT throws_ok('SELECT wib.crm_disconnect(''hubspot'')', 'WB505', NULL, 'crm_disconnect: nothing connected');
SELECT throws_ok('SELECT wib.crm_disconnect(NULL)', '22023', 'invalid crm_type', 'crm_disconnect: NULL CRM');
SELECT throws_ok('SELECT wib.crm_sync_now(''pipedrive'')', 'WB508', NULL, 'crm_sync_now: a CRM without an adapter');
SELECT throws_ok('SELECT wib.crm_mappings(''zoho'')', '22023', 'invalid crm_type', 'crm_mappings: unknown CRM');
SELECT throws_ok('SELECT wib.crm_mappings_set(NULL, ''[]'')', '22023', 'invalid crm_type', 'crm_mappings_set: NULL CRM');
SELECT throws_ok('SELECT wib.crm_sync_now(''hubspot'')', 'WB505', NULL, 'crm_sync_now: nothing connected');

-- ---------------------------------------------------------------------------
-- Sync now and the dashboard (tenant A's fixture integration is connected).
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT is((SELECT count(*) FROM wib.crm_integrations), 1::bigint, 'tenant A sees its integration only');
SELECT is((SELECT count(*) FROM wib.crm_contact_cache), 1::bigint, 'tenant A sees its cached contacts only');
SELECT is((SELECT count(*) FROM wib.crm_sync_log), 1::bigint, 'tenant A sees its sync runs only');
SELECT is((SELECT count(*) FROM wib.crm_call_pushes), 1::bigint, 'tenant A sees its call pushes only');
SELECT is((SELECT row(crm_type, status, last_sync_status, contacts, errors_24h)::text FROM wib.crm_status()),
          '(hubspot,connected,,0,0)', 'crm_status shows the integration');
CREATE TEMP TABLE run_ids (id uuid);
GRANT ALL ON run_ids TO PUBLIC;
INSERT INTO run_ids SELECT wib.crm_sync_now('hubspot', 'sync-1');
SELECT is(wib.crm_sync_now('hubspot'), (SELECT id FROM run_ids), 'a sync now while one runs returns the running one');
SELECT is(wib.crm_sync_now('hubspot', 'sync-1'), (SELECT id FROM run_ids), 'sync now replays its idempotency key');
SELECT is((SELECT status || '/' || trigger FROM wib.crm_sync_log WHERE id = (SELECT id FROM run_ids)), 'running/manual',
          'the run is logged running, started manually');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'crm:sync_started'), 1::bigint, 'the run is audited crm:sync_started');
SELECT ok((SELECT next_sync_at <= now() FROM wib.crm_status()), 'crm_status says the next sync is now while one runs');
RESET ROLE;
SELECT throws_ok(format('INSERT INTO wib.crm_sync_log (organization_id, integration_id, crm_type, trigger) SELECT organization_id, id, crm_type, ''manual'' FROM wib.crm_integrations WHERE organization_id = %L', pg_temp.org('a')),
                 '23505', NULL, 'never two running runs of one integration');
SET ROLE wib_test_app;

-- ---------------------------------------------------------------------------
-- Mappings.
SELECT wib.set_context(pg_temp.org('pro'), 'u');
SELECT is(jsonb_array_length(wib.crm_mappings('hubspot')), 15, 'without mappings of its own, an organization has HubSpot''s 15 defaults');
SELECT is((SELECT m FROM jsonb_array_elements(wib.crm_mappings('hubspot')) m WHERE m ->> 'crm_field' = 'hs_call_duration'),
          '{"wib_entity": "call", "wib_field": "duration_seconds", "crm_object": "calls", "crm_field": "hs_call_duration", "transform": "seconds_to_ms"}',
          'the call duration goes to hs_call_duration in milliseconds by default');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''{}'')', '22023', 'invalid mappings', 'crm_mappings_set: not an array');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', NULL)', '22023', 'invalid mappings', 'crm_mappings_set: NULL');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''[{"wib_entity": "call", "wib_field": "status", "crm_field": "hs_call_status", "color": "red"}]'')',
                 '22023', 'unknown field "color" in mappings[1]', 'crm_mappings_set: unknown key');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''[{"wib_entity": "deal", "wib_field": "status", "crm_field": "x"}]'')',
                 '22023', 'invalid wib_entity', 'crm_mappings_set: unknown entity');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''[{"wib_entity": "call", "wib_field": "mood", "crm_field": "x"}]'')',
                 '22023', 'invalid wib_field', 'crm_mappings_set: unknown wib field');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''[{"wib_entity": "call", "wib_field": "status", "crm_object": "deals", "crm_field": "x"}]'')',
                 '22023', 'invalid crm_object', 'crm_mappings_set: wrong CRM object');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''[{"wib_entity": "call", "wib_field": "status", "crm_field": "bad name"}]'')',
                 '22023', 'invalid crm_field', 'crm_mappings_set: bad CRM field name');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''[{"wib_entity": "call", "wib_field": "status", "crm_field": "x", "transform": "rot13"}]'')',
                 '22023', 'invalid transform', 'crm_mappings_set: unknown transform');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''[{"wib_entity": "contact", "wib_field": "email", "crm_field": "email", "transform": "seconds_to_ms"}]'')',
                 '22023', 'invalid transform', 'crm_mappings_set: a transform that does not fit the field');
SELECT throws_ok('SELECT wib.crm_mappings_set(''hubspot'', ''[{"wib_entity": "contact", "wib_field": "email", "crm_field": "email"}, {"wib_entity": "contact", "wib_field": "email", "crm_field": "work_email"}]'')',
                 '22023', 'invalid wib_field', 'crm_mappings_set: a contact field mapped twice');
SELECT throws_ok(format('SELECT wib.crm_mappings_set(''hubspot'', %L)',
                        (SELECT jsonb_agg(jsonb_build_object('wib_entity', 'call', 'wib_field', 'status', 'crm_field', 'f' || g)) FROM generate_series(1, 101) g)),
                 '22023', 'invalid mappings', 'crm_mappings_set: more than 100 entries');
SELECT is((SELECT count(*) FROM wib.crm_field_mappings), 0::bigint, 'refused mappings wrote nothing');
SELECT is(jsonb_array_length(wib.crm_mappings_set('hubspot',
          '[{"wib_entity": "call", "wib_field": "duration_seconds", "crm_field": "hs_call_duration", "transform": "seconds_to_minutes"}]')),
          7, 'mapping calls keeps the contact defaults and replaces the call defaults');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'crm:mapping_updated'), 1::bigint, 'mappings are audited crm:mapping_updated');
SELECT is(jsonb_array_length(wib.crm_mappings_set('hubspot', '[]')), 15, 'an empty array restores the defaults');
RESET ROLE;

SELECT is(wib.crm_transform('250', 'seconds_to_ms'), '250000', 'seconds_to_ms');
SELECT is(wib.crm_transform('250', 'seconds_to_minutes'), '4.17', 'seconds_to_minutes');
SELECT is(wib.crm_transform('inbound', 'uppercase') || wib.crm_transform('ADA@Example.COM', 'lowercase'), 'INBOUNDada@example.com',
          'uppercase and lowercase');
SELECT is(wib.crm_transform('(555) 123-4567', 'e164', 'US'), '+15551234567', 'e164 reads national numbers in the country');
SELECT is(wib.crm_transform('2026-11-29 10:15:00+00', 'iso8601') || ' ' || wib.crm_transform('2026-11-29T10:15:00Z', 'epoch_ms'),
          '2026-11-29T10:15:00.000Z 1795947300000', 'iso8601 and epoch_ms');
SELECT is(wib.crm_transform('soon', 'epoch_ms') || wib.crm_transform('ten', 'seconds_to_ms'), NULL,
          'a value a transform cannot read is NULL, not an error');
SELECT is(wib.crm_transform(NULL, 'uppercase'), NULL, 'NULL stays NULL');
SET ROLE wib_test_app;

-- ---------------------------------------------------------------------------
-- Caller lookup.
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT is((SELECT display_name FROM wib.crm_contact_lookup('(555) 010-0001')), 'Fixture Contact', 'a national spelling finds the contact');
SELECT is((SELECT count(*) FROM wib.crm_contact_lookup('+1 555-010-0001 ext. 9')), 1::bigint, 'an international spelling with an extension too');
SELECT is((SELECT count(*) FROM wib.crm_contact_lookup('5550100002')), 0::bigint, 'another tenant''s contact is not found');
SELECT is((SELECT count(*) FROM wib.crm_contact_lookup('call me maybe')), 0::bigint, 'what is not a number finds nothing');
SELECT throws_ok('SELECT * FROM wib.crm_contact_lookup(NULL)', '22023', 'invalid phone', 'crm_contact_lookup: NULL');
SELECT throws_ok('SELECT * FROM wib.crm_contact_lookup('' '')', '22023', 'invalid phone', 'crm_contact_lookup: blank');
SELECT throws_ok(format('SELECT * FROM wib.crm_contact_lookup(%L)', repeat('5', 65)), '22023', 'invalid phone',
                 'crm_contact_lookup: oversized');
RESET ROLE;
INSERT INTO wib.crm_contact_cache (organization_id, integration_id, crm_type, crm_contact_id, phone_number, phone_e164, display_name)
SELECT organization_id, id, 'hubspot', '85000000002', '020 7946 0958', wib.phone_e164('020 7946 0958', 'US'), 'London Contact'
  FROM wib.crm_integrations WHERE organization_id = pg_temp.org('a');
SET ROLE wib_test_app;
SELECT is((SELECT count(*) FROM wib.crm_contact_lookup('020 7946 0958')), 0::bigint, 'a British national number means nothing in the US');
RESET ROLE;
SELECT throws_ok(format('SELECT wib.organization_update(%L, ''{"default_country": "XX"}'')', pg_temp.org('a')), '22023',
                 'invalid default_country', 'organization_update: unknown country');
SELECT throws_ok(format('SELECT wib.organization_update(%L, ''{"default_country": "GBR"}'')', pg_temp.org('a')), '22023',
                 'invalid default_country', 'organization_update: not alpha-2');
SELECT lives_ok(format('SELECT wib.organization_update(%L, ''{"default_country": "gb"}'')', pg_temp.org('a')),
                'operators change an organization''s default country');
SELECT is((SELECT default_country FROM wib.organizations WHERE id = pg_temp.org('a')), 'GB', 'the country is stored upper case');
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT is((SELECT display_name FROM wib.crm_contact_lookup('020 7946 0958')), 'London Contact',
          'after the change, national numbers are read in the new country, cached ones included');

-- ---------------------------------------------------------------------------
-- Inbound webhooks: bad requests are refused before anything is read.
SELECT wib.clear_context();
SELECT throws_ok('SELECT wib.crm_webhook(NULL, ''POST'', ''https://x/h'', ''[]'', ''{}'')', '22023', 'invalid crm_type',
                 'crm_webhook: NULL CRM');
SELECT throws_ok('SELECT wib.crm_webhook(''hubspot'', NULL, ''https://x/h'', ''[]'', ''{}'')', '22023', 'invalid method',
                 'crm_webhook: NULL method');
SELECT throws_ok('SELECT wib.crm_webhook(''hubspot'', ''POST'', NULL, ''[]'', ''{}'')', '22023', 'invalid uri',
                 'crm_webhook: NULL uri');
SELECT throws_ok('SELECT wib.crm_webhook(''hubspot'', ''POST'', ''https://x/h'', NULL, ''{}'')', '22023', 'invalid raw_body',
                 'crm_webhook: NULL body');
SELECT throws_ok('SELECT wib.crm_webhook(''hubspot'', ''POST'', ''https://x/h'', ''[]'', ''[]'')', '22023', 'invalid headers',
                 'crm_webhook: headers not an object');
SELECT throws_ok('SELECT wib.crm_webhook(''hubspot'', ''POST'', ''https://x/h'', ''[]'', ''{}'')', 'WB007', NULL,
                 'crm_webhook: unsigned');
SELECT throws_ok(format('SELECT wib.crm_webhook(''hubspot'', ''POST'', ''https://x/h'', ''[]'', %L)',
                        jsonb_build_object('X-HubSpot-Signature-v3', 'AAAA', 'X-HubSpot-Request-Timestamp',
                                           (extract(epoch FROM now()) * 1000)::bigint::text)),
                 'WB007', NULL, 'crm_webhook: forged signature');
SELECT throws_ok(format('SELECT wib.crm_webhook(''hubspot'', ''POST'', ''https://x/h'', ''[]'', %L)',
                        jsonb_build_object('X-HubSpot-Signature-v3', 'AAAA', 'X-HubSpot-Request-Timestamp', '1000')),
                 'WB506', NULL, 'crm_webhook: stale timestamp');
RESET ROLE;
SELECT is((SELECT count(*) FROM wib.crm_webhook_events), 2::bigint, 'refused webhooks wrote nothing');

-- Operators' own sync: bad input.
SET ROLE wib_test_admin;
SELECT throws_ok('SELECT wib.crm_sync(NULL)', '22023', 'invalid integration', 'crm_sync: NULL');
SELECT throws_ok('SELECT wib.crm_sync(gen_random_uuid())', 'P0002', NULL, 'crm_sync: unknown integration');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
