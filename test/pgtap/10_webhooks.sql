-- Webhooks: subscriptions API, fanout, triggers, plan gating, tenancy, the
-- deliverer's claim/record logic (no network here; TAP tests send for real).
BEGIN;
SELECT plan(118);

SET LOCAL wib.webhook_retry_schedule = '10 s, 20 s, 40 s';
SET LOCAL wib.webhook_disable_after = 3;
SELECT wib.organization_create('Hooks A', 'pro') AS org_a \gset
SELECT wib.organization_create('Hooks B', 'business') AS org_b \gset
SELECT wib.organization_create('Hooks Free', 'free') AS org_free \gset
CREATE ROLE wib_hooks_app LOGIN;
GRANT wib_app TO wib_hooks_app;
SET ROLE wib_hooks_app;

-- Plan gating.
SELECT set_config('wib.org_id', :'org_free', true);
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', 'https://example.com/h', ARRAY['call.completed'])$$,
                 'WB001', NULL, 'webhook_subscribe_requires_the_webhooks_feature');

-- Subscribe.
SELECT set_config('wib.org_id', :'org_a', true);
SELECT set_config('wib.user_id', 'alice', true);
CREATE TEMP TABLE subs ON COMMIT DROP AS
    SELECT 'main'::text AS label, * FROM wib.webhook_subscribe('Main CRM', 'https://hooks.example.com/in', ARRAY['call.completed', 'recording.ready']);
INSERT INTO subs SELECT 'all', * FROM wib.webhook_subscribe('Everything', 'https://all.example.com/in', ARRAY['*'], 'linear', 2);
SELECT id AS sub_main, secret AS secret_main FROM subs WHERE label = 'main' \gset
SELECT id AS sub_all FROM subs WHERE label = 'all' \gset
SELECT ok(:'secret_main' ~ '^whsec_[A-Za-z0-9+/]{43}=$', 'webhook_subscribe_returns_a_whsec_secret');
SELECT is((SELECT count(*)::int FROM wib.webhook_subscriptions), 2, 'subscriptions_are_visible_to_their_org');
SELECT throws_ok($$SELECT secret FROM wib.webhook_subscriptions$$, '42501', NULL, 'secret_column_is_not_readable_by_the_app');
SELECT is((SELECT events FROM wib.webhook_subscriptions WHERE id = :'sub_main'),
          ARRAY['call.completed', 'recording.ready'], 'events_are_stored_sorted');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE action = 'webhook:created' AND resource_id = :'sub_main'),
          1, 'subscribe_is_audited_webhook_created');
SELECT ok((SELECT new_value::text FROM wib.audit_log WHERE action = 'webhook:created' AND resource_id = :'sub_main')
          NOT LIKE '%whsec_%', 'audit_never_holds_the_secret');
SELECT is((SELECT user_id FROM wib.audit_log WHERE action = 'webhook:created' AND resource_id = :'sub_main'),
          'alice', 'audit_names_the_user');

-- Bad input: nothing written.
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe(NULL, 'https://example.com/h', ARRAY['call.completed'])$$,
                 '22023', 'invalid name', 'subscribe_refuses_null_name');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('  ', 'https://example.com/h', ARRAY['call.completed'])$$,
                 '22023', 'invalid name', 'subscribe_refuses_blank_name');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe(repeat('n', 201), 'https://example.com/h', ARRAY['call.completed'])$$,
                 '22023', 'invalid name', 'subscribe_refuses_oversized_name');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('Main CRM', 'https://example.com/h', ARRAY['call.completed'])$$,
                 '22023', 'invalid name', 'subscribe_refuses_duplicate_name');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', NULL, ARRAY['call.completed'])$$,
                 '22023', 'invalid target_url', 'subscribe_refuses_null_url');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', 'http://example.com/h', ARRAY['call.completed'])$$,
                 '22023', 'invalid target_url', 'subscribe_refuses_plain_http');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', 'https://example.com/h', NULL)$$,
                 '22023', 'invalid events', 'subscribe_refuses_null_events');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', 'https://example.com/h', '{}')$$,
                 '22023', 'invalid events', 'subscribe_refuses_empty_events');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', 'https://example.com/h', ARRAY['call.exploded'])$$,
                 '22023', 'invalid events', 'subscribe_refuses_unknown_event');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', 'https://example.com/h', ARRAY['call.completed', NULL])$$,
                 '22023', 'invalid events', 'subscribe_refuses_null_event');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', 'https://example.com/h', ARRAY['call.completed'], 'sometimes')$$,
                 '22023', 'invalid retry_policy', 'subscribe_refuses_unknown_retry_policy');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', 'https://example.com/h', ARRAY['call.completed'], 'linear', 99)$$,
                 '22023', 'invalid max_retries', 'subscribe_refuses_too_many_retries');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('x', 'https://example.com/h', ARRAY['call.completed'], 'linear', -1)$$,
                 '22023', 'invalid max_retries', 'subscribe_refuses_negative_retries');
SELECT is((SELECT count(*)::int FROM wib.webhook_subscriptions), 2, 'refused_subscribes_wrote_nothing');

-- SSRF: every blocked range and odd spelling is refused on subscribe.
CREATE TEMP TABLE ssrf_urls ON COMMIT DROP AS SELECT u FROM unnest(ARRAY[
    'https://0.0.0.1/', 'https://10.1.2.3/', 'https://100.64.0.1/', 'https://127.0.0.1/', 'https://169.254.169.254/',
    'https://172.16.0.1/', 'https://192.0.0.1/', 'https://192.0.2.1/', 'https://192.88.99.1/', 'https://192.168.1.1/',
    'https://198.18.0.1/', 'https://198.51.100.1/', 'https://203.0.113.1/', 'https://224.0.0.1/', 'https://240.0.0.1/',
    'https://255.255.255.255/', 'https://[::]/', 'https://[::1]/', 'https://[::ffff:127.0.0.1]/', 'https://[64:ff9b::a00:1]/',
    'https://[100::1]/', 'https://[2001:db8::1]/', 'https://[fc00::1]/', 'https://[fe80::1]/', 'https://[ff02::1]/',
    'https://[2002:7f00:1::]/', 'https://0x7f.1/', 'https://2130706433/', 'https://127.1/', 'https://127.0.0.1./',
    'https://localhost/', 'https://good@127.0.0.1/', 'https://good@example.com/', 'https://0177.1/']) AS u;
GRANT SELECT ON ssrf_urls TO PUBLIC;
CREATE FUNCTION pg_temp.refused_count() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    u text;
    n integer := 0;
BEGIN
    FOR u IN SELECT * FROM ssrf_urls LOOP
        BEGIN
            PERFORM wib.webhook_subscribe('ssrf ' || u, u, ARRAY['call.completed']);
        EXCEPTION WHEN invalid_parameter_value THEN
            IF SQLERRM = 'invalid target_url' THEN n := n + 1; END IF;
        END;
    END LOOP;
    RETURN n;
END $$;
SELECT is(pg_temp.refused_count(), (SELECT count(*)::int FROM ssrf_urls), 'subscribe_refuses_every_blocked_range_and_odd_spelling');
SELECT throws_like($$SELECT * FROM wib.webhook_subscribe('x', 'https://10.0.0.5/', ARRAY['call.completed'])$$,
                   '%', 'refusal_is_22023');
SELECT is((SELECT count(*)::int FROM wib.webhook_subscriptions), 2, 'ssrf_refusals_wrote_nothing');

-- Plan limit: pro allows 5.
SELECT lives_ok($$SELECT * FROM wib.webhook_subscribe('s3', 'https://example.com/3', ARRAY['webhook.test'])$$, 'third_subscription');
SELECT lives_ok($$SELECT * FROM wib.webhook_subscribe('s4', 'https://example.com/4', ARRAY['webhook.test'])$$, 'fourth_subscription');
SELECT lives_ok($$SELECT * FROM wib.webhook_subscribe('s5', 'https://example.com/5', ARRAY['webhook.test'])$$, 'fifth_subscription');
SELECT throws_ok($$SELECT * FROM wib.webhook_subscribe('s6', 'https://example.com/6', ARRAY['webhook.test'])$$,
                 'WB002', NULL, 'subscribe_stops_at_the_plan_limit');
SELECT throws_ok(format($$INSERT INTO wib.webhook_subscriptions (organization_id, name, target_url, secret, events)
                          VALUES (%L, 's6', 'https://example.com/6', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', ARRAY['*'])$$,
                        :'org_a'),
                 '42501', NULL, 'an_application_cannot_insert_a_subscription_past_the_api');

-- Fanout.
SELECT ok(wib.emit_event('call.completed', '{"call_id": "c-1"}') IS NOT NULL, 'emit_event_returns_the_event_id');
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries WHERE event_type = 'call.completed'), 2,
          'emit_event_queues_one_delivery_per_matching_subscription');
SELECT is((SELECT count(DISTINCT event_id)::int FROM wib.webhook_deliveries WHERE event_type = 'call.completed'), 1,
          'fanout_shares_the_event_id');
SELECT ok((SELECT bool_and(message_id ~ '^msg_[0-9a-f]{32}$') FROM wib.webhook_deliveries), 'message_ids_are_msg_hex');
SELECT emit AS ignored FROM wib.emit_event('sentiment.analyzed', '{"x": 1}') AS emit;
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries WHERE event_type = 'sentiment.analyzed'), 1,
          'only_subscriptions_wanting_the_type_get_it');
SELECT lives_ok($$SELECT wib.emit_event('custom.order.shipped', '{}')$$, 'custom_event_types_are_accepted');
SELECT throws_ok($$SELECT wib.emit_event('call.exploded', '{}')$$, '22023', 'invalid event_type', 'emit_refuses_unknown_type');
SELECT throws_ok($$SELECT wib.emit_event(NULL, '{}')$$, '22023', 'invalid event_type', 'emit_refuses_null_type');
SELECT throws_ok($$SELECT wib.emit_event('call.completed', '[1,2]')$$, '22023', 'invalid payload', 'emit_refuses_non_object_payload');
SELECT throws_ok($$SELECT wib.emit_event('call.completed', NULL)$$, '22023', 'invalid payload', 'emit_refuses_null_payload');
SELECT throws_ok($$SELECT wib.emit_event('call.completed', jsonb_build_object('x', repeat(md5('a'), 10000)))$$,
                 '22023', 'invalid payload', 'emit_refuses_oversized_payload');

-- A rolled-back emit leaves nothing queued.
SAVEPOINT before_emit;
SELECT wib.emit_event('recording.ready', '{"recording_id": "r-1"}') IS NOT NULL AS emitted;
ROLLBACK TO SAVEPOINT before_emit;
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries WHERE event_type = 'recording.ready'), 0,
          'rolled_back_emit_queues_nothing');

-- Triggers on the core tables.
INSERT INTO wib.calls (organization_id, id, status) VALUES (:'org_a', '00000000-0000-4000-8000-000000000001', 'ringing');
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries WHERE event_type = 'call.started'), 1,
          'inserting_a_call_emits_call_started');
UPDATE wib.calls SET status = 'completed', ended_at = now() WHERE id = '00000000-0000-4000-8000-000000000001';
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries
            WHERE event_type = 'call.completed' AND payload ->> 'call_id' = '00000000-0000-4000-8000-000000000001'), 2,
          'completing_a_call_emits_call_completed');
UPDATE wib.calls SET status = 'completed' WHERE id = '00000000-0000-4000-8000-000000000001';
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries
            WHERE event_type = 'call.completed' AND payload ->> 'call_id' = '00000000-0000-4000-8000-000000000001'), 2,
          'an_unchanged_status_emits_nothing');
INSERT INTO wib.recordings (organization_id, call_id, status) VALUES (:'org_a', '00000000-0000-4000-8000-000000000001', 'ready');
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries WHERE event_type = 'recording.ready'), 2,
          'a_ready_recording_emits_recording_ready');
INSERT INTO wib.call_outcomes (organization_id, call_id, outcome) VALUES (:'org_a', '00000000-0000-4000-8000-000000000001', 'sale');
SELECT is((SELECT payload ->> 'is_success' FROM wib.webhook_deliveries WHERE event_type = 'outcome.recorded'), 'true',
          'an_outcome_emits_outcome_recorded');

-- Tenancy: org B sees nothing of A and cannot touch A's subscriptions.
SELECT set_config('wib.org_id', :'org_b', true);
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries), 0, 'other_org_sees_no_deliveries');
SELECT is((SELECT count(*)::int FROM wib.webhook_subscriptions), 0, 'other_org_sees_no_subscriptions');
SELECT throws_ok(format($$SELECT wib.webhook_update(%L, '{"name": "mine"}')$$, :'sub_main'), 'P0002', NULL,
                 'update_of_another_orgs_subscription_is_not_found');
SELECT throws_ok(format($$SELECT wib.webhook_unsubscribe(%L)$$, :'sub_main'), 'P0002', NULL,
                 'unsubscribe_of_another_orgs_subscription_is_not_found');
SELECT throws_ok(format($$SELECT wib.webhook_rotate_secret(%L)$$, :'sub_main'), 'P0002', NULL,
                 'rotate_of_another_orgs_subscription_is_not_found');
SELECT throws_ok(format($$SELECT wib.webhook_test(%L)$$, :'sub_main'), 'P0002', NULL,
                 'test_of_another_orgs_subscription_is_not_found');
INSERT INTO wib.calls (organization_id, status) VALUES (:'org_b', 'completed');
SELECT set_config('wib.org_id', :'org_a', true);
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries WHERE event_type = 'call.started'), 1,
          'another_orgs_call_emits_nothing_to_us');

-- Update, rotate, test.
SELECT throws_ok(format($$SELECT wib.webhook_update(%L, '{"colour": "red"}')$$, :'sub_main'), '22023', NULL,
                 'update_refuses_unknown_fields');
SELECT throws_ok(format($$SELECT wib.webhook_update(%L, '{"max_retries": "5"}')$$, :'sub_main'), '22023', 'invalid max_retries',
                 'update_refuses_wrong_json_types');
SELECT throws_ok(format($$SELECT wib.webhook_update(%L, '{"target_url": "https://192.168.0.1/"}')$$, :'sub_main'), '22023',
                 'invalid target_url', 'update_applies_the_ssrf_guard');
SELECT throws_ok(format($$SELECT wib.webhook_update(%L, NULL)$$, :'sub_main'), '22023', 'invalid changes', 'update_refuses_null_changes');
SELECT throws_ok($$SELECT wib.webhook_update(NULL, '{}')$$, '22023', 'invalid id', 'update_refuses_null_id');
SELECT throws_ok(format($$SELECT wib.webhook_update(%L, '{"events": "call.completed"}')$$, :'sub_main'), '22023', 'invalid events',
                 'update_refuses_events_that_are_not_an_array');
SELECT throws_ok(format($$SELECT wib.webhook_update(%L, '{"is_active": "yes"}')$$, :'sub_main'), '22023', 'invalid is_active',
                 'update_refuses_non_boolean_is_active');
SELECT throws_ok($$SELECT wib.webhook_unsubscribe(NULL)$$, '22023', 'invalid id', 'unsubscribe_refuses_null_id');
SELECT throws_ok($$SELECT wib.webhook_test('00000000-0000-4000-8000-00000000dead')$$, 'P0002', NULL, 'test_of_unknown_id_is_not_found');
SELECT lives_ok(format($$SELECT wib.webhook_update(%L, '{"name": "CRM", "events": ["call.completed"], "max_retries": 3}')$$, :'sub_main'),
                'update_changes_fields');
SELECT is((SELECT name || ':' || max_retries FROM wib.webhook_subscriptions WHERE id = :'sub_main'), 'CRM:3', 'update_is_stored');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE action = 'webhook:updated'), 1, 'update_is_audited');
SELECT wib.webhook_rotate_secret(:'sub_main') AS secret_rotated \gset
SELECT ok(:'secret_rotated' ~ '^whsec_[A-Za-z0-9+/]{43}=$' AND :'secret_rotated' <> :'secret_main', 'rotate_returns_a_new_secret');
SELECT ok((SELECT previous_secret_expires_at > now() + interval '23 hours' FROM wib.webhook_subscriptions WHERE id = :'sub_main'),
          'the_old_secret_stays_valid_for_a_day');
SELECT wib.webhook_test(:'sub_main') AS test_delivery \gset
SELECT is((SELECT event_type || ':' || subscription_id FROM wib.webhook_deliveries WHERE id = :'test_delivery'),
          'webhook.test:' || :'sub_main', 'webhook_test_queues_a_test_delivery');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE action IN ('webhook:tested', 'webhook:secret_rotated')), 2,
          'test_and_rotate_are_audited');

-- The deliverer's bookkeeping (as the worker runs it).
RESET ROLE;
SET LOCAL wib.org_id = '';
SELECT id AS d_ok FROM wib.webhook_deliveries WHERE organization_id = :'org_a' AND subscription_id = :'sub_main' AND event_type = 'webhook.test' \gset
SELECT is((SELECT count(*)::int FROM wib.webhook_claim(1000, interval '60 s')),
          (SELECT count(*)::int FROM wib.webhook_deliveries WHERE status = 'pending'), 'claim_takes_every_due_delivery');
SELECT is((SELECT count(*)::int FROM wib.webhook_claim(1000, interval '60 s')), 0, 'claimed_deliveries_are_leased');
-- A lease that ran out (its deliverer died and nothing released it) is claimed
-- again with the next attempt number; the claim writes leased_until only, so
-- next_retry_at (indexed) keeps its value; a late record of the earlier
-- attempt changes nothing.
SELECT next_retry_at AS d_ok_due FROM wib.webhook_deliveries WHERE id = :'d_ok' \gset
UPDATE wib.webhook_deliveries SET leased_until = now() - interval '1 s' WHERE id = :'d_ok';
SELECT is((SELECT string_agg(id || ':' || attempt_number, ',') FROM wib.webhook_claim(1000, interval '60 s')),
          :'d_ok' || ':2', 'an_expired_lease_is_claimed_again');
SELECT is((SELECT next_retry_at FROM wib.webhook_deliveries WHERE id = :'d_ok'), :'d_ok_due'::timestamptz,
          'the_claim_leaves_the_due_time_alone');
SELECT is(wib.webhook_record(ARRAY[:'org_a']::uuid[], ARRAY[:'d_ok']::uuid[], ARRAY[1], ARRAY[200], ARRAY[NULL]::text[],
                             ARRAY[5], ARRAY['ok'], ARRAY[NULL]::int[]),
          0, 'a_late_record_of_an_earlier_attempt_changes_nothing');
SELECT is((SELECT status || ':' || attempt_number FROM wib.webhook_deliveries WHERE id = :'d_ok'), 'pending:2',
          'the_new_attempt_stays_leased');
UPDATE wib.webhook_deliveries SET attempt_number = 1 WHERE id = :'d_ok';
SELECT organization_id AS o1, id AS d500 FROM wib.webhook_deliveries
 WHERE subscription_id = :'sub_all' AND event_type = 'call.started' \gset
SELECT id AS d410 FROM wib.webhook_deliveries WHERE subscription_id = :'sub_all' AND event_type = 'recording.ready' \gset
SELECT id AS d429 FROM wib.webhook_deliveries WHERE subscription_id = :'sub_all' AND event_type = 'outcome.recorded' \gset
SELECT is(wib.webhook_record(ARRAY[:'o1', :'o1', :'o1', :'o1']::uuid[], ARRAY[:'d_ok', :'d500', :'d410', :'d429']::uuid[],
                             ARRAY[1, 1, 1, 1], ARRAY[200, 500, 410, 429], ARRAY[NULL, NULL, NULL, NULL]::text[],
                             ARRAY[5, 6, 7, 8], ARRAY['ok', 'oops', 'gone', 'slow down'], ARRAY[NULL, NULL, NULL, 3600]),
          4, 'record_takes_a_batch');
SELECT is((SELECT status || ':' || response_status FROM wib.webhook_deliveries WHERE id = :'d_ok'), 'delivered:200', 'a_2xx_is_delivered');
SELECT is((SELECT status FROM wib.webhook_deliveries WHERE id = :'d500'), 'retrying', 'a_500_is_retried');
SELECT is((SELECT next_retry_at - now() FROM wib.webhook_deliveries WHERE id = :'d500'), interval '10 s',
          'linear_retry_waits_the_first_step');
SELECT is((SELECT status FROM wib.webhook_deliveries WHERE id = :'d410'), 'failed', 'a_410_stops_at_once');
SELECT is((SELECT next_retry_at - now() FROM wib.webhook_deliveries WHERE id = :'d429'), interval '1 hour',
          'retry_after_is_honoured_when_longer');
SELECT is(wib.webhook_retry_delay('exponential', 2), interval '20 s', 'exponential_takes_the_nth_step');
SELECT is(wib.webhook_retry_delay('exponential', 9), interval '40 s', 'exponential_repeats_the_last_step');

-- Retries spent → failed; failures in a row → subscription deactivated, audited, announced.
UPDATE wib.webhook_deliveries SET attempt_number = 3, status = 'retrying' WHERE id = :'d500';
SELECT wib.webhook_record(ARRAY[:'o1']::uuid[], ARRAY[:'d500']::uuid[], ARRAY[3], ARRAY[0], ARRAY['timeout'],
                          ARRAY[1], ARRAY[''], ARRAY[NULL]::int[]) AS recorded;
SELECT is((SELECT status || ':' || coalesce(response_status::text, 'none') || ':' || last_error
             FROM wib.webhook_deliveries WHERE id = :'d500'), 'failed:none:timeout', 'spent_retries_fail_the_delivery');
SELECT is((SELECT consecutive_failures FROM wib.webhook_subscriptions WHERE id = :'sub_all'), 2, 'failed_deliveries_are_counted');
UPDATE wib.webhook_deliveries SET attempt_number = 1, status = 'retrying'
 WHERE subscription_id = :'sub_all' AND status IN ('pending', 'retrying') AND id <> :'d429';
UPDATE wib.webhook_deliveries SET leased_until = now() + interval '1 minute' WHERE id = :'d429';
SELECT wib.webhook_record(array_agg(organization_id), array_agg(id), array_agg(1), array_agg(410), array_agg(NULL::text),
                          array_agg(1), array_agg(''::text), array_agg(NULL::int)) AS recorded
  FROM wib.webhook_deliveries WHERE subscription_id = :'sub_all' AND status = 'retrying' AND id <> :'d429';
SELECT is((SELECT is_active FROM wib.webhook_subscriptions WHERE id = :'sub_all'), false,
          'a_run_of_failures_deactivates_the_subscription');
SELECT is((SELECT status FROM wib.webhook_deliveries WHERE id = :'d429'), 'retrying',
          'a_leased_delivery_is_left_to_its_deliverer');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE action = 'webhook:disabled' AND resource_id = :'sub_all'), 1,
          'deactivation_is_audited');
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries WHERE event_type = 'webhook.disabled'), 0,
          'webhook_disabled_goes_only_to_subscriptions_wanting_it');
SELECT is((SELECT count(*)::int FROM wib.webhook_release_leases()), 1, 'release_leases_runs');

-- A plan downgrade stops the fanout.
SELECT wib.set_context(:'org_b', 'bob', true);
SELECT id AS sub_b FROM wib.webhook_subscribe('B hook', 'https://b.example.com/in', ARRAY['call.completed']) \gset
SELECT is(wib.webhook_fanout(:'org_b', 'call.completed', '{}'), 1, 'a_plan_with_webhooks_queues');
SELECT wib.organization_update(:'org_b', '{"plan": "starter"}');
SELECT is(wib.webhook_fanout(:'org_b', 'call.completed', '{}'), 0, 'a_plan_without_webhooks_queues_nothing');
SET LOCAL wib.org_id = '';

-- Operators run passes; the connect-time guard refuses an address even if it got into the table.
UPDATE wib.webhook_deliveries SET next_retry_at = now() + interval '1 hour' WHERE status IN ('pending', 'retrying');
SELECT throws_ok($$INSERT INTO wib.webhook_subscriptions (organization_id, name, target_url, secret, events)
                   VALUES ((SELECT id FROM wib.organizations WHERE name = 'Hooks A'), 'direct', 'https://10.0.0.1/',
                           'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', ARRAY['*'])$$,
                 '22023', 'invalid target_url', 'the_guard_holds_for_direct_writes_too');
ALTER TABLE wib.webhook_subscriptions DISABLE TRIGGER webhook_subscriptions_check;
INSERT INTO wib.webhook_subscriptions (organization_id, id, name, target_url, secret, events)
VALUES (:'org_a', '00000000-0000-4000-8000-0000000000aa', 'sneaky', 'https://192.0.2.1/hook',
        wib.vault_seal('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', :'org_a', 'webhook_subscriptions.secret',
                       '00000000-0000-4000-8000-0000000000aa'), ARRAY['custom.guard']);
ALTER TABLE wib.webhook_subscriptions ENABLE TRIGGER webhook_subscriptions_check;
SELECT wib.webhook_fanout(:'org_a', 'custom.guard', '{}') AS queued;
CREATE ROLE wib_hooks_admin LOGIN;
GRANT wib_admin TO wib_hooks_admin;
SET ROLE wib_hooks_admin;
SELECT is(wib.deliver_due(10), 1, 'operators_may_run_a_delivery_pass');
RESET ROLE;
SELECT alike((SELECT status || ': ' || last_error FROM wib.webhook_deliveries WHERE event_type = 'custom.guard'),
            'retrying: refused: address 192.0.2.1 is in the blocked range 192.0.2.0/24%',
            'the_guard_refuses_at_send_time_too');

-- Signing secrets are sealed by the vault, bound to their row and organization.
SELECT ok(NOT EXISTS (SELECT 1 FROM wib.webhook_subscriptions s
                       WHERE position(convert_to(:'secret_main', 'UTF8') IN s.secret) > 0
                          OR position(convert_to(:'secret_main', 'UTF8') IN coalesce(s.previous_secret, '')) > 0
                          OR position(convert_to(:'secret_rotated', 'UTF8') IN s.secret) > 0
                          OR position('whsec_'::bytea IN s.secret) > 0),
          'no_signing_secret_is_stored_in_plain_text');
SELECT ok((SELECT bool_and(wib.vault_key_id(s.secret) = wib.vault_current_key_id()) FROM wib.webhook_subscriptions s),
          'secrets_are_sealed_under_the_current_key');
SELECT is((SELECT wib.webhook_secrets(s) FROM wib.webhook_subscriptions s WHERE s.id = :'sub_main'),
          ARRAY[:'secret_rotated', :'secret_main'], 'during_a_rotation_the_claim_opens_the_new_and_the_old_secret');
SELECT is((SELECT wib.webhook_secrets(s) FROM wib.webhook_subscriptions s WHERE s.id = :'sub_all'),
          ARRAY[(SELECT secret FROM subs WHERE label = 'all')], 'otherwise_the_claim_opens_the_one_secret');
CREATE TEMP TABLE stolen ON COMMIT DROP AS
    SELECT s.secret, s.previous_secret FROM wib.webhook_subscriptions s WHERE s.id = :'sub_main';
UPDATE wib.webhook_subscriptions SET secret = (SELECT secret FROM stolen) WHERE id = '00000000-0000-4000-8000-0000000000aa';
SELECT throws_ok($$SELECT wib.vault_open(s.secret, s.organization_id, 'webhook_subscriptions.secret', s.id::text)
                     FROM wib.webhook_subscriptions s WHERE s.id = '00000000-0000-4000-8000-0000000000aa'$$,
                 'WB009', NULL, 'a_secret_copied_to_another_subscription_does_not_open');
UPDATE wib.webhook_subscriptions SET secret = (SELECT secret FROM stolen) WHERE id = :'sub_b';
SELECT throws_ok(format($$SELECT wib.vault_open(s.secret, s.organization_id, 'webhook_subscriptions.secret', s.id::text)
                            FROM wib.webhook_subscriptions s WHERE s.id = %L$$, :'sub_b'),
                 'WB009', NULL, 'a_secret_copied_to_another_tenants_subscription_does_not_open');
SELECT throws_ok(format($$SELECT wib.vault_open(s.secret, %L, 'webhook_subscriptions.secret', %L)
                            FROM wib.webhook_subscriptions s WHERE s.id = %L$$, :'org_b', :'sub_main', :'sub_b'),
                 'WB009', NULL, 'a_secret_opened_as_another_tenants_does_not_open');
SELECT throws_ok(format($$SELECT wib.vault_open(s.secret, s.organization_id, 'webhook_subscriptions.previous_secret', s.id::text)
                            FROM wib.webhook_subscriptions s WHERE s.id = %L$$, :'sub_main'),
                 'WB009', NULL, 'a_secret_moved_to_the_previous_secret_column_does_not_open');
SELECT is((SELECT wib.webhook_secrets(s) FROM wib.webhook_subscriptions s WHERE s.id = '00000000-0000-4000-8000-0000000000aa'),
          NULL, 'the_claim_opens_no_copied_secret');
UPDATE wib.webhook_subscriptions SET previous_secret = (SELECT secret FROM stolen), previous_secret_expires_at = now() + interval '1 hour'
 WHERE id = :'sub_all';
SELECT is((SELECT wib.webhook_secrets(s) FROM wib.webhook_subscriptions s WHERE s.id = :'sub_all'),
          ARRAY[(SELECT secret FROM subs WHERE label = 'all')], 'a_previous_secret_that_does_not_open_is_left_out');
-- The claim sends nothing unsigned: a delivery whose secret does not open waits, its attempts unspent.
SELECT wib.webhook_fanout(:'org_a', 'custom.guard', '{"n": 2}') AS queued;
SET LOCAL client_min_messages = error;
SELECT is(wib.deliver_due(10), 0, 'a_delivery_whose_secret_does_not_open_is_not_sent');
RESET client_min_messages;
SELECT is((SELECT status || ':' || attempt_number || ':' || last_error || ':' || (next_retry_at > now())
             FROM wib.webhook_deliveries WHERE event_type = 'custom.guard' AND payload = '{"n": 2}'),
          'pending:0:not sent: the subscription''s signing secret does not open:true',
          'it_waits_without_spending_an_attempt');
SELECT is(ARRAY(SELECT v.context FROM wib.vault_columns v WHERE v.table_name = 'webhook_subscriptions' ORDER BY 1),
          ARRAY['webhook_subscriptions.previous_secret', 'webhook_subscriptions.secret'],
          'both_secret_columns_are_in_the_vault_catalogue_for_rotation');

-- Rotation of the vault's key: nothing to do under one key; a value that does not open stops it, named.
SELECT is(wib.vault_rotate(), 0::bigint, 'vault_rotate_has_nothing_to_do_when_every_value_is_under_the_current_key');
UPDATE wib.webhook_subscriptions SET secret = overlay(secret placing '\x7ffffff0'::bytea from 2) WHERE id = :'sub_b';
SELECT throws_ok('SELECT wib.vault_rotate()', '42704', 'could not re-seal webhook_subscriptions.secret of row ' || :'sub_b',
                 'vault_rotate_stops_at_a_value_whose_key_is_not_in_the_ring_naming_its_row');
UPDATE wib.webhook_subscriptions SET secret = '\x02'::bytea WHERE id = :'sub_b';
SELECT throws_ok('SELECT wib.vault_rotate()', 'WB009', 'could not re-seal webhook_subscriptions.secret of row ' || :'sub_b',
                 'vault_rotate_stops_at_a_value_that_is_no_envelope_naming_its_row');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE action = 'vault:rotated'), 0, 'a_stopped_rotation_writes_nothing');

-- Retention: finished deliveries older than 7 days go.
UPDATE wib.webhook_deliveries SET created_at = now() - interval '8 days' WHERE id = :'d_ok';
SELECT is((SELECT removed FROM wib.purge_expired() WHERE policy = 'webhook_deliveries'), 1::bigint,
          'purge_expired_removes_finished_deliveries_older_than_7_days');
SELECT throws_ok($$SELECT wib.deliver_due(0)$$, '22023', 'invalid max_items', 'deliver_due_refuses_a_zero_batch');

-- Unsubscribe cascades.
SET ROLE wib_hooks_app;
SELECT set_config('wib.org_id', :'org_a', true);
SELECT lives_ok(format($$SELECT wib.webhook_unsubscribe(%L)$$, :'sub_main'), 'unsubscribe');
SELECT is((SELECT count(*)::int FROM wib.webhook_deliveries WHERE subscription_id = :'sub_main'), 0, 'unsubscribe_cascades_to_deliveries');
SELECT is((SELECT count(*)::int FROM wib.audit_log WHERE action = 'webhook:deleted'), 1, 'unsubscribe_is_audited_webhook_deleted');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
