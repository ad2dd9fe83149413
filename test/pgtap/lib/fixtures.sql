-- Shared fixture for the pgTAP suites (included with \ir, inside the suite's transaction):
-- two organizations, an application login for each side, and at least one row of every
-- tenant table for both, so the generic isolation checks have something to hide.
SET client_min_messages = warning;
CREATE ROLE wib_test_app LOGIN;
GRANT wib_app TO wib_test_app;
CREATE ROLE wib_test_admin LOGIN;
GRANT wib_admin TO wib_test_admin;

CREATE TEMP TABLE fx (name text PRIMARY KEY, id uuid NOT NULL);
GRANT SELECT ON fx TO PUBLIC;
INSERT INTO fx VALUES ('a', wib.organization_create('Tenant A', 'enterprise')),
                      ('b', wib.organization_create('Tenant B', 'enterprise'));

CREATE FUNCTION pg_temp.org(name text) RETURNS uuid
    LANGUAGE sql STABLE RETURN (SELECT id FROM fx WHERE fx.name = org.name);

-- Core rows for both tenants, written as each tenant through row-level security.
CREATE FUNCTION pg_temp.seed_core(org uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    call uuid;
BEGIN
    PERFORM wib.set_context(org, 'fixture', true);
    INSERT INTO wib.users (organization_id, id, name, email, role)
    VALUES (org, 'agent-1', 'Agent One', 'one@example.test', 'agent');
    INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status, ended_at, duration_seconds)
    VALUES (org, 'agent-1', 'outbound', '+15550000001', '+15550000002', 'completed', now() + interval '1 minute', 60)
    RETURNING id INTO call;
    INSERT INTO wib.recordings (organization_id, call_id, recording_url, status) VALUES (org, call, 'https://rec.example.test/1.mp3', 'ready');
    INSERT INTO wib.ai_summaries (organization_id, call_id, summary, overall_sentiment, sentiment_score, positive_pct, negative_pct, neutral_pct)
    VALUES (org, call, 'Friendly call', 'positive', 0.6, 70, 10, 20);
    INSERT INTO wib.call_outcomes (organization_id, call_id, outcome) VALUES (org, call, 'sale');
    INSERT INTO wib.scorecards (organization_id, call_id, agent_id, total_score) VALUES (org, call, 'agent-1', 88);
    PERFORM wib.idempotency_begin('fixture-key', '{}');
    PERFORM wib.idempotency_finish('fixture-key', '{"ok": true}');
    PERFORM wib.audit('fixture:created', 'fixture', 'x', NULL, '{}');
END
$$;
SELECT pg_temp.seed_core(pg_temp.org('a')), pg_temp.seed_core(pg_temp.org('b'));

-- Webhooks: a subscription and a queued delivery for both tenants.
CREATE FUNCTION pg_temp.seed_webhooks(org uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wib.set_context(org, 'fixture', true);
    PERFORM wib.webhook_subscribe('fixture', 'https://hooks.example.test/in', ARRAY['*']);
    PERFORM wib.emit_event('webhook.test', '{"fixture": true}');
END
$$;
SELECT pg_temp.seed_webhooks(pg_temp.org('a')), pg_temp.seed_webhooks(pg_temp.org('b'));

-- Inbound IVR rows (a menu with an option, a number, a call) for both tenants.
CREATE FUNCTION pg_temp.seed_ivr(org uuid, phone text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    menu   uuid;
    number uuid;
BEGIN
    PERFORM wib.set_context(org, 'fixture', true);
    menu := wib.ivr_menu_create('{"name": "Fixture", "greeting_text": "Hello.",
                                  "options": [{"digit": "1", "action_type": "hangup"}]}');
    number := wib.ivr_number_add(phone, 'local', 'Fixture line', menu);
    INSERT INTO wib.inbound_call_log (organization_id, number_id, call_sid, from_number, to_number, menu_id)
    VALUES (org, number, 'v3:fixture-' || phone, '+15550000009', phone, menu);
END
$$;
SELECT pg_temp.seed_ivr(pg_temp.org('a'), '+15557770001'), pg_temp.seed_ivr(pg_temp.org('b'), '+15557770002');
-- A number search's offer for both tenants.
INSERT INTO wib.ivr_number_offers (organization_id, phone_number, number_type, monthly_cost_cents, currency)
SELECT id, CASE name WHEN 'a' THEN '+15558880001' ELSE '+15558880002' END, 'local', 100, 'USD' FROM fx;

-- Analytics: a nightly run for today gives both tenants a snapshot; one prediction each.
SELECT wib.run_nightly((now() AT TIME ZONE 'UTC')::date) IS NOT NULL AS analytics_fixture \gset
INSERT INTO wib.ml_predictions (organization_id, prediction_type, subject, target_date, score, confidence,
                                explanation, model_version, expires_at)
SELECT id, 'churn_risk', 'contact-1', current_date, 0.2, 0.5, 'Fixture prediction', 'fixture', now() + interval '1 day'
  FROM fx;
-- A change not yet taken in by a nightly run, for both tenants.
INSERT INTO wib.analytics_changes (organization_id, day) SELECT id, current_date FROM fx;
-- Contact models: the nightly run above recorded a training of each model for
-- both tenants (too little history: insufficient_data); one more, on demand.
SELECT count(*) AS ml_fixture FROM fx, wib.ml_train_org(fx.id, 'deal_probability') \gset
-- Exports: one export job each, and an upload in flight and a queued object delete
-- (never due: the deliverer would send it) in object storage.
INSERT INTO wib.export_jobs (organization_id, user_id, export_type) SELECT id, 'fixture', 'calls' FROM fx;
INSERT INTO wib.export_uploads (organization_id, job_id, endpoint, bucket, r2_key, upload_id)
SELECT id, gen_random_uuid(), 'https://s3.example.test', 'fixture', 'exports/fixture.csv', 'fixture-upload' FROM fx;
INSERT INTO wib.export_storage_queue (organization_id, op, endpoint, bucket, object_key, next_attempt_at)
SELECT id, 'delete_object', 'https://s3.example.test', 'fixture', 'exports/fixture.csv', 'infinity' FROM fx;
-- Mobile: the platform's VAPID key, then for both tenants agent-1's device, its
-- push subscription (to a push service on a reserved name), a queued push and
-- an approved QR sign-in.
SELECT wib.vapid_configure('mailto:fixture@example.test') IS NOT NULL AS vapid_fixture \gset
SET LOCAL wib.push_allowed_hosts = 'push.example.test';
CREATE FUNCTION pg_temp.seed_mobile(org uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    dev uuid;
    qr  record;
BEGIN
    PERFORM wib.set_context(org, 'agent-1', true);
    dev := wib.device_register('Fixture phone', 'pwa', 'fixture-fingerprint');
    PERFORM wib.push_subscribe(dev, jsonb_build_object(
        'endpoint', 'https://push.example.test/push/' || org,
        'keys', jsonb_build_object('p256dh', 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
                                   'auth', 'BTBZMqHH6r4Tts7J_aSIgg')), ARRAY['*']);
    PERFORM wib.push_send('agent-1', '{"title": "Fixture", "body": "A fixture push."}');
    SELECT * INTO qr FROM wib.qr_auth_create('fixture-' || org);
    PERFORM wib.qr_auth_verify(qr.nonce, dev);
END
$$;
SELECT pg_temp.seed_mobile(pg_temp.org('a')), pg_temp.seed_mobile(pg_temp.org('b'));
-- CRM: a connected HubSpot integration with its tokens, an OAuth state, a run, a
-- mapping, a cached contact, a call push and an applied webhook event, for both tenants.
CREATE FUNCTION pg_temp.seed_crm(org uuid, portal text, phone text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    integ uuid;
    tok   uuid := gen_random_uuid();
BEGIN
    PERFORM wib.set_context(org, 'fixture', true);
    INSERT INTO wib.crm_integrations (organization_id, crm_type, status, external_account_id, next_sync_at)
    VALUES (org, 'hubspot', 'connected', portal, now() + interval '1 day') RETURNING id INTO integ;
    INSERT INTO wib.crm_tokens (organization_id, id, integration_id, access_token, refresh_token, expires_at, lifetime_seconds)
    VALUES (org, tok, integ, wib.vault_seal('fixture-access-token', org, 'crm_tokens.access_token', tok::text),
            wib.vault_seal('fixture-refresh-token', org, 'crm_tokens.refresh_token', tok::text),
            now() + interval '30 minutes', 1800);
    INSERT INTO wib.crm_oauth_states (organization_id, crm_type, state_hash, user_id, redirect_uri, expires_at, used_at, integration_id)
    VALUES (org, 'hubspot', sha256(convert_to('fixture-state-' || org, 'UTF8')), 'fixture', 'https://app.example.test/cb',
            now() + interval '10 minutes', now(), integ);
    INSERT INTO wib.crm_sync_log (organization_id, integration_id, crm_type, trigger, status, finished_at, records_synced)
    VALUES (org, integ, 'hubspot', 'schedule', 'success', now(), 1);
    INSERT INTO wib.crm_field_mappings (organization_id, crm_type, wib_entity, wib_field, crm_object, crm_field)
    VALUES (org, 'hubspot', 'contact', 'phone_number', 'contacts', 'phone');
    INSERT INTO wib.crm_contact_cache (organization_id, integration_id, crm_type, crm_contact_id, phone_number, phone_e164,
                                       display_name, crm_modified_at)
    VALUES (org, integ, 'hubspot', '85000000001', phone, phone, 'Fixture Contact', now());
    INSERT INTO wib.crm_call_pushes (organization_id, integration_id, call_id, status, crm_object_id)
    SELECT org, integ, c.id, 'pushed', '170000000001' FROM wib.calls c WHERE c.organization_id = org LIMIT 1;
    INSERT INTO wib.crm_webhook_events (organization_id, crm_type, event_id, integration_id) VALUES (org, 'hubspot', '1', integ);
    PERFORM wib.crm_webhook_secret_new(org, integ, NULL);
END
$$;
SELECT pg_temp.seed_crm(pg_temp.org('a'), '1001', '+15550100001'), pg_temp.seed_crm(pg_temp.org('b'), '1002', '+15550100002');
RESET wib.org_id;
RESET wib.user_id;
RESET client_min_messages;
