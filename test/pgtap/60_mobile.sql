-- Mobile devices, Web Push and QR sign-in: plan gating per plan, who sees which
-- devices (row-level security by role), bad input to every function, event
-- pushes, QR sign-in (single use, expiry, replay, wrong tenant, revoked
-- device, rate limit), and the deliverer's claim and record logic (no network
-- here; test/t/060_mobile_push.pl sends for real).
BEGIN;
SELECT plan(153);

SET LOCAL wib.push_allowed_hosts = 'push.example.test';
SET LOCAL wib.push_retry_base = '30s';
SET LOCAL wib.push_max_attempts = 3;
SELECT wib.vapid_configure('mailto:ops@example.test') AS vapid_key \gset
SELECT wib.organization_create('Mobile Free', 'free') AS org_free \gset
SELECT wib.organization_create('Mobile Starter', 'starter') AS org_starter \gset
SELECT wib.organization_create('Mobile Pro', 'pro') AS org_pro \gset
SELECT wib.organization_create('Mobile Business', 'business') AS org_biz \gset
SELECT wib.organization_create('Mobile Other', 'business') AS org_other \gset
INSERT INTO wib.users (organization_id, id, name, role)
SELECT o, u.id, u.name, u.role
  FROM unnest(ARRAY[:'org_free', :'org_starter', :'org_pro', :'org_biz', :'org_other']::uuid[]) o,
       (VALUES ('alice', 'Alice Agent', 'agent'), ('bob', 'Bob Manager', 'manager'), ('carol', 'Carol Admin', 'admin')) u(id, name, role);
CREATE ROLE wib_mobile_app LOGIN;
GRANT wib_app TO wib_mobile_app;

-- A browser's PushSubscription JSON for an endpoint under the test push service.
CREATE FUNCTION pg_temp.sub(path text, p256dh text DEFAULT 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
                            auth text DEFAULT 'BTBZMqHH6r4Tts7J_aSIgg') RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    RETURN jsonb_build_object('endpoint', 'https://push.example.test/push/' || path, 'expirationTime', NULL,
                              'keys', jsonb_build_object('p256dh', p256dh, 'auth', auth));
CREATE FUNCTION pg_temp.as_user(org uuid, usr text) RETURNS void
    LANGUAGE sql RETURN wib.set_context(org, usr, true);
GRANT EXECUTE ON FUNCTION pg_temp.sub(text, text, text), pg_temp.as_user(uuid, text) TO PUBLIC;
SET ROLE wib_mobile_app;

-- Plan gating: pwa on starter, push on pro, native apps on business.
SELECT pg_temp.as_user(:'org_free', 'alice');
SELECT throws_ok($$SELECT wib.device_register('Phone', 'pwa')$$, 'WB001', NULL, 'free_plan_cannot_register_a_device');
SELECT pg_temp.as_user(:'org_starter', 'alice');
SELECT wib.device_register('Starter phone', 'pwa') AS dev_starter \gset
SELECT ok(:'dev_starter' IS NOT NULL, 'starter_plan_registers_a_pwa_device');
SELECT throws_ok($$SELECT wib.device_register('iPhone', 'ios')$$, 'WB001', NULL, 'starter_plan_cannot_register_an_ios_device');
SELECT throws_ok(format($$SELECT wib.push_subscribe(%L, pg_temp.sub('starter'))$$, :'dev_starter'), 'WB001', NULL,
                 'starter_plan_cannot_subscribe_to_push');
SELECT throws_ok($$SELECT wib.push_send('alice', '{"title": "x"}')$$, 'WB001', NULL, 'starter_plan_cannot_send_pushes');
SELECT throws_ok(format($$SELECT wib.push_test(%L)$$, :'dev_starter'), 'WB001', NULL, 'starter_plan_cannot_test_pushes');
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT wib.device_register('Alice phone', 'pwa', 'fp-alice') AS dev_alice \gset
SELECT throws_ok($$SELECT wib.device_register('Pixel', 'android')$$, 'WB001', NULL, 'pro_plan_cannot_register_an_android_device');
SELECT wib.push_subscribe(:'dev_alice', pg_temp.sub('alice')) AS sub_alice \gset
SELECT ok(:'sub_alice' IS NOT NULL, 'pro_plan_subscribes_to_push');
SELECT pg_temp.as_user(:'org_biz', 'alice');
SELECT lives_ok($$SELECT wib.device_register('iPhone', 'ios')$$, 'business_plan_registers_an_ios_device');
SELECT lives_ok($$SELECT wib.device_register('Pixel', 'android')$$, 'business_plan_registers_an_android_device');

-- Devices.
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT is(wib.device_register('Alice phone (renamed)', 'pwa', 'fp-alice'), :'dev_alice'::uuid,
          'the_same_fingerprint_registers_the_same_device');
SELECT is((SELECT device_name FROM wib.mobile_devices WHERE id = :'dev_alice'), 'Alice phone (renamed)',
          're_registering_updates_the_name');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE action = 'mobile:device_registered' AND resource_id = :'dev_alice'), 1,
          'device_register_is_audited_mobile_device_registered');
SELECT throws_ok($$SELECT wib.device_register(NULL, 'pwa')$$, '22023', 'invalid device_name', 'device_register_refuses_null_name');
SELECT throws_ok($$SELECT wib.device_register('  ', 'pwa')$$, '22023', 'invalid device_name', 'device_register_refuses_blank_name');
SELECT throws_ok($$SELECT wib.device_register(repeat('n', 101), 'pwa')$$, '22023', 'invalid device_name',
                 'device_register_refuses_oversized_name');
SELECT throws_ok($$SELECT wib.device_register('x', NULL)$$, '22023', 'invalid device_type', 'device_register_refuses_null_type');
SELECT throws_ok($$SELECT wib.device_register('x', 'windows')$$, '22023', 'invalid device_type', 'device_register_refuses_unknown_type');
SELECT throws_ok($$SELECT wib.device_register('x', 'pwa', '')$$, '22023', 'invalid fingerprint', 'device_register_refuses_blank_fingerprint');
SELECT throws_ok($$SELECT wib.device_register('x', 'pwa', repeat('f', 256))$$, '22023', 'invalid fingerprint',
                 'device_register_refuses_oversized_fingerprint');
SELECT set_config('wib.user_id', '', true);
SELECT throws_ok($$SELECT wib.device_register('x', 'pwa')$$, 'WB601', 'no user in context', 'device_register_needs_a_user');
SELECT set_config('wib.user_id', 'mallory', true);
SELECT throws_ok($$SELECT wib.device_register('x', 'pwa')$$, 'P0002', 'user "mallory" does not exist',
                 'device_register_needs_a_user_of_the_organization');
SELECT set_config('wib.org_id', '', true);
SELECT throws_ok($$SELECT wib.device_register('x', 'pwa')$$, 'WB005', NULL, 'device_register_needs_a_tenant');
SELECT pg_temp.as_user(:'org_pro', 'bob');
SELECT wib.device_register('Bob tablet', 'pwa') AS dev_bob \gset
SELECT wib.push_subscribe(:'dev_bob', pg_temp.sub('bob'), ARRAY['call.completed', 'export.completed']) AS sub_bob \gset
SELECT pg_temp.as_user(:'org_pro', 'carol');
SELECT wib.device_register('Carol laptop', 'pwa') AS dev_carol \gset
SELECT pg_temp.as_user(:'org_other', 'alice');
SELECT wib.device_register('Other tenant phone', 'pwa') AS dev_other \gset

-- Who sees which devices: their own; owners and admins all of the organization's.
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT is(ARRAY(SELECT device_name FROM wib.mobile_devices ORDER BY 1), ARRAY['Alice phone (renamed)'],
          'an_agent_sees_only_their_own_devices');
SELECT is((SELECT count(*)::int FROM wib.push_subscriptions), 1, 'an_agent_sees_only_their_own_subscriptions');
SELECT throws_ok($$SELECT auth_key FROM wib.push_subscriptions$$, '42501', NULL, 'the_auth_secret_is_not_readable');
SELECT pg_temp.as_user(:'org_pro', 'bob');
SELECT is(ARRAY(SELECT device_name FROM wib.mobile_devices ORDER BY 1), ARRAY['Bob tablet'], 'a_manager_sees_only_their_own_devices');
SELECT pg_temp.as_user(:'org_pro', 'carol');
SELECT is(ARRAY(SELECT device_name FROM wib.mobile_devices ORDER BY 1),
          ARRAY['Alice phone (renamed)', 'Bob tablet', 'Carol laptop'], 'an_admin_sees_every_device_of_the_organization');
SELECT is((SELECT count(*)::int FROM wib.push_subscriptions), 2, 'an_admin_sees_every_subscription');
-- The same rule as the push deliveries' policy on a Citus cluster asks it
-- (a definer-rights function wib_app may call): it answers for the user and
-- organization in context only.
SELECT ok(wib.push_subscription_visible(:'org_pro', :'sub_bob'), 'an_admin_is_told_a_subscription_of_the_organization_is_visible');
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT ok(NOT wib.push_subscription_visible(:'org_pro', :'sub_bob'), 'an_agent_is_told_a_colleagues_subscription_is_not_visible');
SELECT pg_temp.as_user(:'org_other', 'alice');
SELECT ok(NOT wib.push_subscription_visible(:'org_pro', :'sub_bob'), 'another_tenant_is_told_nothing_of_a_subscription');
SELECT pg_temp.as_user(:'org_pro', 'carol');
SELECT is((SELECT count(*)::int FROM wib.mobile_devices WHERE organization_id = :'org_other'), 0,
          'an_admin_sees_no_device_of_another_tenant');
SELECT throws_ok(format($$INSERT INTO wib.mobile_devices (organization_id, user_id, device_name, device_type)
                          VALUES (%L, 'alice', 'direct', 'pwa')$$, :'org_pro'),
                 '42501', NULL, 'an_application_cannot_insert_a_device_past_the_api');
SELECT throws_ok(format($$UPDATE wib.push_subscriptions SET active = true WHERE id = %L$$, :'sub_alice'),
                 '42501', NULL, 'an_application_cannot_update_a_subscription_past_the_api');

-- Subscriptions: the browser's JSON as is, validated.
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT is((SELECT events FROM wib.push_subscriptions WHERE id = :'sub_alice'), wib.push_default_events(),
          'a_subscription_without_events_gets_the_defaults');
SELECT ok(wib.push_default_events() @> ARRAY['anomaly.detected', 'export.completed', 'ivr.call_ended'],
          'the_defaults_include_anomalies_exports_and_voicemails');
SELECT is((SELECT p256dh_key FROM wib.push_subscriptions WHERE id = :'sub_alice'),
          'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4', 'p256dh_is_stored_as_given');
SELECT ok((SELECT new_value::text FROM wib.audit_log WHERE action = 'mobile:push_subscribed' AND resource_id = :'sub_alice')
          !~ '(BTBZMqHH|/push/alice)', 'the_audit_log_holds_neither_the_auth_secret_nor_the_endpoint');
SELECT is(wib.push_subscribe(:'dev_alice', pg_temp.sub('alice'), ARRAY['*']), :'sub_alice'::uuid,
          'the_same_endpoint_again_is_the_same_subscription');
SELECT throws_ok(format($$SELECT wib.push_subscribe(%L, %L)$$, :'dev_alice', s), '22023', msg, 'push_subscribe_refuses_' || what)
  FROM (VALUES ('null_subscription', NULL::jsonb, 'invalid subscription'),
               ('an_array', '[]', 'invalid subscription'),
               ('unknown_fields', pg_temp.sub('x') || '{"extra": 1}', 'unknown field "extra" in subscription'),
               ('a_missing_endpoint', pg_temp.sub('x') - 'endpoint', 'invalid endpoint'),
               ('an_http_endpoint', jsonb_set(pg_temp.sub('x'), '{endpoint}', '"http://push.example.test/push/x"'), 'invalid endpoint'),
               ('a_private_address', jsonb_set(pg_temp.sub('x'), '{endpoint}', '"https://10.1.2.3/push/x"'), 'invalid endpoint'),
               ('a_loopback_address', jsonb_set(pg_temp.sub('x'), '{endpoint}', '"https://[::1]/push/x"'), 'invalid endpoint'),
               ('a_host_not_a_push_service', jsonb_set(pg_temp.sub('x'), '{endpoint}', '"https://evil.example.com/push/x"'), 'invalid endpoint'),
               ('an_oversized_endpoint', jsonb_set(pg_temp.sub('x'), '{endpoint}', to_jsonb('https://push.example.test/' || repeat('x', 2040))), 'invalid endpoint'),
               ('missing_keys', pg_temp.sub('x') - 'keys', 'invalid keys'),
               ('a_p256dh_of_bad_base64url', pg_temp.sub('x', 'not base64!'), 'invalid p256dh'),
               ('a_p256dh_off_the_curve', pg_temp.sub('x', 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw5'), 'invalid p256dh'),
               ('a_compressed_p256dh', pg_temp.sub('x', 'AiVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcx'), 'invalid p256dh'),
               ('an_auth_of_15_bytes', pg_temp.sub('x', auth => 'BTBZMqHH6r4Tts7J_aSI'), 'invalid auth'),
               ('an_auth_of_bad_base64url', pg_temp.sub('x', auth => 'BTBZMqHH6r4Tts7J+aSIgg'), 'invalid auth'),
               ('a_string_expiration', jsonb_set(pg_temp.sub('x'), '{expirationTime}', '"soon"'), 'invalid expirationTime')) AS t(what, s, msg);
SELECT throws_ok(format($$SELECT wib.push_subscribe(%L, pg_temp.sub('x'), ARRAY['call.exploded'])$$, :'dev_alice'),
                 '22023', 'invalid events', 'push_subscribe_refuses_unknown_events');
SELECT throws_ok(format($$SELECT wib.push_subscribe(%L, pg_temp.sub('x'), '{}')$$, :'dev_alice'),
                 '22023', 'invalid events', 'push_subscribe_refuses_empty_events');
SELECT throws_ok($$SELECT wib.push_subscribe(NULL, pg_temp.sub('x'))$$, '22023', 'invalid device_id', 'push_subscribe_refuses_a_null_device');
SELECT throws_ok(format($$SELECT wib.push_subscribe(%L, pg_temp.sub('x'))$$, :'dev_bob'), 'P0002', NULL,
                 'push_subscribe_refuses_another_users_device');
SELECT throws_ok(format($$SELECT wib.push_subscribe(%L, pg_temp.sub('x'))$$, :'dev_other'), 'P0002', NULL,
                 'push_subscribe_refuses_another_tenants_device');
SELECT is((SELECT count(*)::int FROM wib.push_subscriptions WHERE endpoint LIKE '%/push/x%'), 0, 'refused_subscribes_wrote_nothing');
RESET ROLE;
UPDATE wib.vapid_keys SET is_current = false;
SET ROLE wib_mobile_app;
SELECT throws_ok(format($$SELECT wib.push_subscribe(%L, pg_temp.sub('nokey'))$$, :'dev_alice'), 'WB603', NULL,
                 'push_subscribe_needs_a_vapid_key');
SELECT throws_ok($$SELECT wib.vapid_public_key()$$, 'WB603', NULL, 'vapid_public_key_needs_a_vapid_key');
RESET ROLE;
UPDATE wib.vapid_keys SET is_current = true WHERE id = (SELECT max(id) FROM wib.vapid_keys);
SET ROLE wib_mobile_app;
SELECT is(wib.vapid_public_key(), :'vapid_key', 'vapid_public_key_returns_the_configured_key');
SELECT ok(length(wib.vapid_public_key()) = 87, 'the_vapid_public_key_is_87_base64url_characters');
SELECT throws_ok($$SELECT wib.vapid_configure('mailto:x@example.test')$$, '42501', NULL, 'applications_cannot_configure_vapid');

-- A device subscribing anew replaces its old subscription.
SELECT wib.push_subscribe(:'dev_alice', pg_temp.sub('alice-2')) AS sub_alice2 \gset
SELECT is((SELECT array_agg(active ORDER BY endpoint) FROM wib.push_subscriptions WHERE device_id = :'dev_alice'),
          ARRAY[false, true], 'a_new_subscription_of_a_device_replaces_the_old_one');

-- Pushes an application sends.
SELECT is(wib.push_send('alice', '{"title": "Callback due", "url": "/calls"}'), 1, 'push_send_queues_one_push_per_active_device');
SELECT is(wib.push_send('carol', '{"title": "Hi"}'), 0, 'push_send_to_a_user_without_subscriptions_queues_nothing');
SELECT throws_ok($$SELECT wib.push_send(NULL, '{"title": "x"}')$$, '22023', 'invalid user_id', 'push_send_refuses_a_null_user');
SELECT throws_ok($$SELECT wib.push_send('mallory', '{"title": "x"}')$$, 'P0002', NULL, 'push_send_refuses_an_unknown_user');
SELECT throws_ok($$SELECT wib.push_send('alice', NULL)$$, '22023', 'invalid notification', 'push_send_refuses_a_null_notification');
SELECT throws_ok($$SELECT wib.push_send('alice', '{"title": "x", "phone": "+15550100"}')$$, '22023',
                 'unknown field "phone" in notification', 'push_send_refuses_unknown_fields');
SELECT throws_ok($$SELECT wib.push_send('alice', jsonb_build_object('title', 'x', 'body', repeat('b', 3900)))$$, '22023',
                 'invalid body', 'push_send_refuses_an_oversized_notification_naming_the_field');
SELECT throws_ok($$SELECT wib.push_send('alice', '{"title": "x", "url": "javascript:alert(1)"}')$$, '22023', 'invalid url',
                 'push_send_refuses_a_script_url');
SELECT is((SELECT count(*)::int FROM wib.push_deliveries WHERE event_type IS NULL), 1, 'refused_sends_queued_nothing');
SELECT ok(wib.push_test(:'dev_alice') IS NOT NULL, 'push_test_queues_a_test_push');
SELECT pg_temp.as_user(:'org_pro', 'carol');
SELECT throws_ok(format($$SELECT wib.push_test(%L)$$, :'dev_carol'), 'WB604', NULL, 'push_test_needs_an_active_subscription');
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT throws_ok($$SELECT wib.push_test(gen_random_uuid())$$, 'P0002', NULL, 'push_test_refuses_an_unknown_device');

-- Event pushes: only subscriptions that want the event, never a revoked device, never below the plan.
SELECT pg_temp.as_user(:'org_pro', 'carol');
SELECT lives_ok($$SELECT wib.emit_event('export.completed', '{"export_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10", "requested_by": "Jane Doe"}')$$,
                'emit_event_runs_the_push_channel');
SELECT is((SELECT count(*)::int FROM wib.push_deliveries WHERE event_type = 'export.completed'), 2,
          'an_event_queues_a_push_for_each_subscription_that_wants_it');
SELECT lives_ok($$SELECT wib.emit_event('call.completed', '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11"}')$$, 'a_call_event');
SELECT is((SELECT array_agg(s.user_id) FROM wib.push_deliveries d JOIN wib.push_subscriptions s ON s.id = d.subscription_id
            WHERE d.event_type = 'call.completed'), ARRAY['bob'], 'only_subscriptions_wanting_the_type_get_it');
SELECT ok((SELECT bool_and(d.notification::text !~ 'Jane') FROM wib.push_deliveries d), 'no_push_carries_payload_text');
SELECT lives_ok($$SELECT wib.emit_event('ivr.call_ended', '{"call_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "final_action": "transfer"}')$$, 'an_answered_ivr_call');
SELECT lives_ok($$SELECT wib.emit_event('ivr.call_ended', '{"call_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "final_action": "voicemail"}')$$, 'a_voicemail');
SELECT is((SELECT array_agg(d.notification ->> 'title') FROM wib.push_deliveries d WHERE d.event_type = 'ivr.call_ended'),
          ARRAY['New voicemail'], 'ivr_calls_push_only_for_voicemails');
SELECT lives_ok(format($$SELECT wib.device_revoke(%L)$$, :'dev_bob'), 'an_admin_revokes_another_users_device');
SELECT is((SELECT count(*)::int FROM wib.push_deliveries d WHERE d.subscription_id = :'sub_bob' AND d.status IN ('pending', 'retrying')), 0,
          'revoking_a_device_drops_its_queued_pushes');
SELECT is((SELECT active FROM wib.push_subscriptions WHERE id = :'sub_bob'), false, 'revoking_a_device_stops_its_subscription');
SELECT lives_ok($$SELECT wib.emit_event('call.completed', '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11"}')$$, 'another_call_event');
SELECT is((SELECT count(*)::int FROM wib.push_deliveries WHERE event_type = 'call.completed'), 1, 'a_revoked_device_gets_nothing');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE action = 'mobile:device_revoked' AND resource_id = :'dev_bob'), 1,
          'device_revoke_is_audited');
SELECT lives_ok(format($$SELECT wib.device_revoke(%L)$$, :'dev_bob'), 'revoking_twice_is_harmless');
SELECT throws_ok(format($$SELECT wib.push_test(%L)$$, :'dev_bob'), 'WB602', NULL, 'push_test_refuses_a_revoked_device');
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT throws_ok(format($$SELECT wib.device_revoke(%L)$$, :'dev_carol'), 'P0002', NULL, 'an_agent_cannot_revoke_another_users_device');
SELECT throws_ok(format($$SELECT wib.device_revoke(%L)$$, :'dev_other'), 'P0002', NULL, 'nobody_revokes_another_tenants_device');
SELECT throws_ok($$SELECT wib.device_revoke(NULL)$$, '22023', 'invalid device_id', 'device_revoke_refuses_null');
SELECT throws_ok(format($$SELECT wib.push_subscribe(%L, pg_temp.sub('bob-again'))$$, :'dev_bob'), 'P0002', NULL,
                 'a_user_cannot_subscribe_a_device_they_do_not_own');
SELECT throws_ok(format($$SELECT wib.push_unsubscribe(%L)$$, :'sub_bob'), 'P0002', NULL, 'an_agent_cannot_unsubscribe_another_users_subscription');
SELECT throws_ok($$SELECT wib.push_unsubscribe(NULL)$$, '22023', 'invalid id', 'push_unsubscribe_refuses_null');
RESET ROLE;
SELECT wib.organization_update(:'org_pro', '{"plan": "starter"}');
SET ROLE wib_mobile_app;
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT wib.emit_event('export.completed', '{"export_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10"}') AS ignored \gset
SELECT is((SELECT count(*)::int FROM wib.push_deliveries WHERE event_type = 'export.completed'), 1, 'a_downgraded_plan_stops_event_pushes');
RESET ROLE;
SELECT wib.organization_update(:'org_pro', '{"plan": "pro"}');
SET ROLE wib_mobile_app;
SELECT pg_temp.as_user(:'org_pro', 'alice');

-- QR sign-in.
CREATE TEMP TABLE qr ON COMMIT DROP AS SELECT * FROM wib.qr_auth_create('desktop-1');
SELECT nonce AS qr_nonce, expires_at AS qr_expires FROM qr \gset
SELECT ok(:'qr_nonce' ~ '^[A-Za-z0-9_-]{43}$', 'qr_auth_create_returns_32_bytes_of_base64url');
SELECT ok(:'qr_expires'::timestamptz BETWEEN clock_timestamp() + interval '50 s' AND clock_timestamp() + interval '61 s',
          'a_nonce_expires_after_wib_qr_auth_ttl');
SELECT is((SELECT count(*)::int FROM wib.qr_auth_claim(:'qr_nonce')), 0, 'claim_before_verification_returns_nothing');
SELECT lives_ok(format($$SELECT wib.qr_auth_verify(%L, %L)$$, :'qr_nonce', :'dev_alice'), 'the_phone_verifies_the_nonce');
SELECT throws_ok(format($$SELECT wib.qr_auth_verify(%L, %L)$$, :'qr_nonce', :'dev_alice'), 'WB607', NULL, 'a_nonce_is_verified_once');
SELECT set_config('wib.org_id', '', true), set_config('wib.user_id', '', true);
SELECT results_eq(format($$SELECT * FROM wib.qr_auth_claim(%L)$$, :'qr_nonce'),
                  format($$VALUES (%L::uuid, 'alice'::text, %L::uuid)$$, :'org_pro', :'dev_alice'),
                  'the_desktop_claims_the_identity_without_a_tenant');
SELECT throws_ok(format($$SELECT * FROM wib.qr_auth_claim(%L)$$, :'qr_nonce'), 'WB607', NULL, 'the_identity_is_claimed_once');
SELECT is(wib.current_org_id(), NULL, 'claim_leaves_the_callers_context_as_it_was');
SELECT throws_ok($$SELECT * FROM wib.qr_auth_claim('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$, 'WB605', NULL, 'an_unknown_nonce_is_refused');
SELECT throws_ok($$SELECT * FROM wib.qr_auth_claim('short')$$, '22023', 'invalid nonce', 'a_malformed_nonce_is_refused');
SELECT throws_ok($$SELECT * FROM wib.qr_auth_claim(NULL)$$, '22023', 'invalid nonce', 'a_null_nonce_is_refused');
SELECT throws_ok($$SELECT * FROM wib.qr_auth_create(NULL)$$, '22023', 'invalid client_key', 'qr_auth_create_refuses_a_null_client_key');
SELECT throws_ok($$SELECT * FROM wib.qr_auth_create(repeat('k', 256))$$, '22023', 'invalid client_key',
                 'qr_auth_create_refuses_an_oversized_client_key');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM wib.qr_auth_nonces n
            WHERE n.nonce_hash = sha256(wib.base64url_decode(:'qr_nonce'))
              AND position(convert_to(:'qr_nonce', 'UTF8') IN n.nonce_hash || n.client_key_hash) = 0), 1,
          'only_the_hash_of_the_nonce_is_stored');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE organization_id = :'org_pro' AND action = 'mobile:qr_auth_used'
             AND user_id = 'alice'), 1, 'the_claim_is_audited_mobile_qr_auth_used');
SET ROLE wib_mobile_app;
-- Expiry: a nonce past its time can be neither verified nor claimed.
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT nonce AS qr_old FROM wib.qr_auth_create('desktop-2') \gset
SELECT nonce AS qr_late FROM wib.qr_auth_create('desktop-2') \gset
SELECT wib.qr_auth_verify(:'qr_late', :'dev_alice');
RESET ROLE;
UPDATE wib.qr_auth_nonces SET expires_at = clock_timestamp() - interval '1 s'
 WHERE nonce_hash IN (sha256(wib.base64url_decode(:'qr_old')), sha256(wib.base64url_decode(:'qr_late')));
SET ROLE wib_mobile_app;
SELECT throws_ok(format($$SELECT wib.qr_auth_verify(%L, %L)$$, :'qr_old', :'dev_alice'), 'WB606', NULL, 'an_expired_nonce_cannot_be_verified');
SELECT throws_ok(format($$SELECT * FROM wib.qr_auth_claim(%L)$$, :'qr_late'), 'WB606', NULL, 'an_expired_nonce_cannot_be_claimed');
-- Wrong tenant, another user's device, revoked devices.
SELECT nonce AS qr_t FROM wib.qr_auth_create('desktop-3') \gset
SELECT pg_temp.as_user(:'org_other', 'alice');
SELECT throws_ok(format($$SELECT wib.qr_auth_verify(%L, %L)$$, :'qr_t', :'dev_alice'), 'P0002', NULL,
                 'a_device_of_another_tenant_cannot_verify');
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT throws_ok(format($$SELECT wib.qr_auth_verify(%L, %L)$$, :'qr_t', :'dev_carol'), 'P0002', NULL,
                 'another_users_device_cannot_verify');
SELECT wib.qr_auth_verify(:'qr_t', :'dev_alice');
SELECT pg_temp.as_user(:'org_other', 'alice');
SELECT throws_ok(format($$SELECT wib.qr_auth_verify(%L, %L)$$, :'qr_t', :'dev_other'), 'WB607', NULL,
                 'another_tenant_cannot_take_over_a_verified_nonce');
SELECT pg_temp.as_user(:'org_pro', 'bob');
SELECT nonce AS qr_r FROM wib.qr_auth_create('desktop-4') \gset
SELECT throws_ok(format($$SELECT wib.qr_auth_verify(%L, %L)$$, :'qr_r', :'dev_bob'), 'WB602', NULL, 'a_revoked_device_cannot_verify');
SELECT pg_temp.as_user(:'org_pro', 'alice');
SELECT wib.device_revoke(:'dev_alice');
SELECT throws_ok(format($$SELECT * FROM wib.qr_auth_claim(%L)$$, :'qr_t'), 'WB602', NULL,
                 'a_sign_in_approved_by_a_device_revoked_since_cannot_be_claimed');
-- Rate limit per client_key.
RESET ROLE;
SET LOCAL wib.qr_auth_rate_limit = 3;
SET ROLE wib_mobile_app;
SELECT lives_ok($$SELECT wib.qr_auth_create('rate-' || txid_current()) FROM generate_series(1, 3)$$, 'three_nonces_a_minute_are_allowed');
SELECT throws_ok($$SELECT * FROM wib.qr_auth_create('rate-' || txid_current())$$, 'WB003', NULL, 'the_fourth_is_rate_limited');
SELECT lives_ok($$SELECT * FROM wib.qr_auth_create('other-' || txid_current())$$, 'another_client_key_has_its_own_limit');

-- The deliverer's side, without the network: claim, then record the push service's answers.
RESET ROLE;
SELECT wib.set_context(:'org_pro', 'carol');
SELECT wib.device_register('Dana phone', 'pwa') AS dev_d \gset
SELECT wib.push_subscribe(:'dev_d', pg_temp.sub('dana'), ARRAY['*']) AS sub_d \gset
UPDATE wib.push_deliveries SET status = 'failed' WHERE status IN ('pending', 'retrying');
SELECT wib.push_send('carol', jsonb_build_object('title', 'n' || g)) FROM generate_series(1, 6) g;
CREATE TEMP TABLE claimed ON COMMIT DROP AS SELECT * FROM wib.push_claim(100, interval '60 s');
SELECT is((SELECT count(*)::int FROM claimed), 6, 'push_claim_leases_the_due_pushes');
SELECT is((SELECT count(*)::int FROM wib.push_claim(100, interval '60 s')), 0, 'leased_pushes_are_not_claimed_twice');
SELECT ok((SELECT bool_and(auth = wib.base64url_decode('BTBZMqHH6r4Tts7J_aSIgg') AND vapid_key_id IS NOT NULL
                           AND (payload::jsonb ->> 'id')::uuid = id AND payload::jsonb ->> 'type' = 'notification')
             FROM claimed), 'a_claim_opens_the_auth_secret_and_adds_the_push_id_to_the_payload');
CREATE TEMP TABLE answers ON COMMIT DROP AS
SELECT c.organization_id, c.id, c.attempt_number, a.status, a.retry_after, a.n
  FROM (SELECT *, row_number() OVER (ORDER BY payload::jsonb ->> 'title') AS n FROM claimed) c
  JOIN (VALUES (1, 201, NULL), (2, 413, NULL), (3, 429, 120), (4, 500, NULL), (5, 401, NULL), (6, 0, NULL))
       AS a(n, status, retry_after) USING (n);
SELECT wib.push_record(array_agg(organization_id), array_agg(id), array_agg(attempt_number), array_agg(status),
                       array_agg(CASE WHEN status = 0 THEN 'Connection refused' END), array_agg(''::text),
                       array_agg(5), array_agg(retry_after))
  FROM answers;
SELECT results_eq($$SELECT d.status, d.response_status FROM answers a JOIN wib.push_deliveries d ON d.id = a.id ORDER BY a.n$$,
                  $$VALUES ('delivered', 201), ('failed', 413), ('retrying', 429), ('retrying', 500), ('failed', 401), ('retrying', NULL::int)$$,
                  'results_201_delivered_413_failed_429_5xx_no_answer_retried_401_failed');
SELECT alike((SELECT d.last_error FROM answers a JOIN wib.push_deliveries d ON d.id = a.id WHERE a.n = 2), '%too large%',
            'a_413_says_the_message_is_too_large');
SELECT ok((SELECT d.next_retry_at BETWEEN now() + interval '119 s' AND now() + interval '121 s'
             FROM answers a JOIN wib.push_deliveries d ON d.id = a.id WHERE a.n = 3), 'a_429_honours_retry_after');
SELECT ok((SELECT d.next_retry_at BETWEEN now() + interval '29 s' AND now() + interval '31 s'
             FROM answers a JOIN wib.push_deliveries d ON d.id = a.id WHERE a.n = 4), 'a_500_waits_the_retry_base');
SELECT is((SELECT failure_count FROM wib.push_subscriptions WHERE id = :'sub_d'), 0, 'a_delivery_in_the_batch_resets_the_failure_count');
-- Retries double, up to wib.push_max_attempts; then failed.
UPDATE wib.push_deliveries SET next_retry_at = now() WHERE status = 'retrying';
CREATE TEMP TABLE again ON COMMIT DROP AS SELECT * FROM wib.push_claim(100, interval '60 s');
SELECT wib.push_record(array_agg(organization_id), array_agg(id), array_agg(attempt_number), array_agg(500),
                       array_agg(NULL::text), array_agg(''::text), array_agg(5), array_agg(NULL::int)) FROM again;
SELECT ok((SELECT bool_and(d.status = 'retrying' AND d.next_retry_at BETWEEN now() + interval '59 s' AND now() + interval '61 s')
             FROM again a JOIN wib.push_deliveries d ON d.id = a.id), 'the_second_retry_waits_twice_as_long');
UPDATE wib.push_deliveries SET next_retry_at = now() WHERE status = 'retrying';
CREATE TEMP TABLE third ON COMMIT DROP AS SELECT * FROM wib.push_claim(100, interval '60 s');
SELECT wib.push_record(array_agg(organization_id), array_agg(id), array_agg(attempt_number), array_agg(503),
                       array_agg(NULL::text), array_agg(''::text), array_agg(5), array_agg(NULL::int)) FROM third;
SELECT ok((SELECT bool_and(d.status = 'failed') FROM third a JOIN wib.push_deliveries d ON d.id = a.id),
          'a_push_failing_wib_push_max_attempts_times_is_given_up');
SELECT is((SELECT failure_count FROM wib.push_subscriptions WHERE id = :'sub_d'), 6, 'failures_in_a_row_are_counted');
-- 410: the subscription is gone at once, its queued pushes with it.
SELECT wib.push_send('carol', jsonb_build_object('title', 'g' || g)) FROM generate_series(1, 3) g;
CREATE TEMP TABLE gone ON COMMIT DROP AS SELECT * FROM wib.push_claim(1, interval '60 s');
SELECT wib.push_record(array_agg(organization_id), array_agg(id), array_agg(attempt_number), array_agg(410),
                       array_agg(NULL::text), array_agg('Gone'::text), array_agg(5), array_agg(NULL::int)) FROM gone;
SELECT is((SELECT active FROM wib.push_subscriptions WHERE id = :'sub_d'), false, 'a_410_deactivates_the_subscription');
SELECT is((SELECT count(*)::int FROM wib.push_deliveries WHERE subscription_id = :'sub_d' AND status IN ('pending', 'retrying')), 0,
          'a_410_drops_the_subscriptions_queued_pushes');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE action = 'mobile:push_subscription_expired' AND resource_id = :'sub_d'), 1,
          'a_410_is_audited_mobile_push_subscription_expired');
SELECT is((SELECT count(*)::int FROM wib.push_claim(100, interval '60 s')), 0, 'nothing_is_claimed_for_a_gone_subscription');
-- A lease left by a dead deliverer is released.
SELECT wib.push_subscribe(:'dev_d', pg_temp.sub('dana-2'), ARRAY['*']) AS sub_d2 \gset
SELECT wib.push_send('carol', '{"title": "lease"}');
SELECT count(*) FROM wib.push_claim(100, interval '600 s');
SELECT is(wib.push_release_leases(), 1, 'push_release_leases_makes_leased_pushes_due');
SELECT is((SELECT count(*)::int FROM wib.push_claim(100, interval '60 s')), 1, 'a_released_push_is_claimed_again');
SELECT is((SELECT attempt_number FROM wib.push_deliveries WHERE subscription_id = :'sub_d2'), 2, 'the_second_claim_is_the_second_attempt');
-- Rotation keeps old subscriptions on their key.
SELECT isnt(wib.vapid_configure('mailto:ops@example.test', rotate => true), :'vapid_key', 'rotate_makes_a_new_key');
SELECT is((SELECT count(DISTINCT vapid_key_id)::int FROM wib.push_subscriptions WHERE id IN (:'sub_d2', :'sub_alice2')), 1,
          'existing_subscriptions_keep_the_key_they_were_made_with');
SELECT is(wib.vapid_configure('https://example.test/contact'), wib.vapid_public_key(), 'changing_the_subject_keeps_the_key');
SELECT throws_ok($$SELECT wib.vapid_configure('ops@example.test')$$, '22023', 'invalid subject', 'vapid_configure_refuses_a_bare_address');
SELECT throws_ok($$SELECT wib.vapid_configure(NULL)$$, '22023', 'invalid subject', 'vapid_configure_refuses_null');
SELECT throws_ok($$SELECT wib.vapid_configure('http://example.test/contact')$$, '22023', 'invalid subject', 'vapid_configure_refuses_http');
SELECT ok((SELECT bool_and(private_key <> '' AND position(wib.base64url_decode(:'vapid_key') IN private_key) = 0
                           AND wib.vault_key_id(private_key) IS NOT NULL) FROM wib.vapid_keys),
          'vapid_private_keys_are_sealed_by_the_vault');

SELECT * FROM finish();
ROLLBACK;
