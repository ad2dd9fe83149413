-- Inbound IVR API: plan gating and limits, field-by-field validation, compliance,
-- cross-tenant ids, audit, and that a refused call leaves nothing behind.
BEGIN;
\ir lib/fixtures.sql
SELECT plan(148);

INSERT INTO fx VALUES ('starter', wib.organization_create('Starter Co', 'starter')),
                      ('pro', wib.organization_create('Pro Co', 'pro')),
                      ('biz', wib.organization_create('Business Co', 'business'));

SET ROLE wib_test_app;

-- Plan gating.
SELECT wib.set_context(pg_temp.org('starter'), 'u');
SELECT throws_ok('SELECT wib.ivr_menu_create(''{"name": "M", "greeting_text": "Hi."}'')', 'WB001', NULL,
                 'ivr_menu_create_requires_inbound_ivr_plan');
SELECT throws_ok('SELECT wib.ivr_number_add(''+15551110001'', ''local'', ''Main'')', 'WB001', NULL,
                 'ivr_number_add_requires_inbound_ivr_plan');
SELECT wib.set_context(pg_temp.org('pro'), 'u');
SELECT throws_ok('SELECT wib.ivr_number_add(''+15551110001'', ''toll_free'', ''Main'')', 'WB001', NULL,
                 'toll_free_number_requires_toll_free_plan');

-- Limits per plan: business has 5 numbers; released numbers free their quota.
SELECT wib.set_context(pg_temp.org('biz'), 'u');
SELECT lives_ok($$SELECT wib.ivr_number_add('+1555222000' || n, CASE WHEN n = 1 THEN 'toll_free' ELSE 'local' END, 'Line ' || n)
                    FROM generate_series(1, 5) n$$, 'business_plan_adds_five_numbers_including_toll_free');
SELECT throws_ok('SELECT wib.ivr_number_add(''+15552220006'', ''local'', ''Sixth'')', 'WB002', NULL,
                 'business_plan_refuses_a_sixth_number');
SELECT lives_ok($$SELECT wib.ivr_number_release((SELECT id FROM wib.inbound_numbers WHERE phone_number = '+15552220005'))$$,
                'a_number_can_be_released');
SELECT throws_ok($$SELECT wib.ivr_number_release((SELECT id FROM wib.inbound_numbers WHERE phone_number = '+15552220005'))$$,
                 'P0002', NULL, 'a_released_number_cannot_be_released_again');
SELECT lives_ok('SELECT wib.ivr_number_add(''+15552220006'', ''local'', ''Sixth'')', 'released_number_frees_its_quota');
SELECT is((SELECT count(*) FROM wib.inbound_numbers WHERE status <> 'released'), 5::bigint, 'five_numbers_in_service');
SELECT lives_ok('SELECT wib.ivr_number_add(''+15552220005'', ''local'', ''Back again'')', 'a_released_number_can_be_added_again_after_quota_frees')
  FROM (SELECT wib.ivr_number_release((SELECT id FROM wib.inbound_numbers WHERE phone_number = '+15552220006'))) x;

-- Number input.
SELECT throws_ok('SELECT wib.ivr_number_add(''5551234567'', ''local'', ''x'')', '22023', 'invalid phone_number', 'number_not_e164_refused');
SELECT throws_ok('SELECT wib.ivr_number_add(''+0551234567'', ''local'', ''x'')', '22023', 'invalid phone_number', 'number_starting_with_zero_refused');
SELECT throws_ok('SELECT wib.ivr_number_add(''+1555123456789012'', ''local'', ''x'')', '22023', 'invalid phone_number', 'number_longer_than_e164_refused');
SELECT throws_ok('SELECT wib.ivr_number_add(NULL, ''local'', ''x'')', '22023', 'invalid phone_number', 'null_number_refused');
SELECT throws_ok('SELECT wib.ivr_number_add(''+15551234567'', ''mobile'', ''x'')', '22023', 'invalid number_type', 'unknown_number_type_refused');
SELECT throws_ok('SELECT wib.ivr_number_add(''+15551234567'', NULL, ''x'')', '22023', 'invalid number_type', 'null_number_type_refused');
SELECT throws_ok('SELECT wib.ivr_number_add(''+15551234567'', ''local'', repeat(''x'', 101))', '22023', 'invalid display_name', 'oversized_display_name_refused');
SELECT wib.set_context(pg_temp.org('a'), 'u');
SELECT throws_ok('SELECT wib.ivr_number_add(''+15557770002'', ''local'', ''x'')', 'WB303',
                 'phone number +15557770002 is already provisioned', 'number_of_another_org_refused');
SELECT is((SELECT count(*) FROM wib.inbound_numbers WHERE phone_number = '+15557770002'), 0::bigint,
          'refused_number_wrote_nothing');
SELECT throws_ok('SELECT wib.ivr_number_add(''+15557770001'', ''local'', ''again'')', 'WB303',
                 'phone number +15557770001 is already provisioned', 'number_already_held_by_the_same_org_refused');
SELECT wib.set_context(pg_temp.org('biz'), 'u');

-- Menu validation, field by field.
CREATE TEMP TABLE bad_menus (doc text, field text, why text);
INSERT INTO bad_menus VALUES
    (NULL, 'invalid menu', 'null_menu_refused'),
    ('[]', 'invalid menu', 'menu_not_an_object_refused'),
    ('{"greeting_text": "Hi."}', 'invalid name', 'missing_name_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "color": "red"}', 'unknown field "color" in menu', 'unknown_field_refused'),
    ('{"name": "M"}', 'invalid greeting_text', 'tts_without_text_refused'),
    ('{"name": "M", "greeting_type": "audio_url", "greeting_audio_url": "ftp://x/y.mp3"}', 'invalid greeting_audio_url', 'audio_url_not_http_refused'),
    ('{"name": "M", "greeting_type": "video", "greeting_text": "Hi."}', 'invalid greeting_type', 'unknown_greeting_type_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "timeout_seconds": 0}', 'invalid timeout_seconds', 'timeout_below_1_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "timeout_seconds": 121}', 'invalid timeout_seconds', 'timeout_above_120_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "timeout_seconds": "5"}', 'invalid timeout_seconds', 'timeout_as_string_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "timeout_seconds": 5.5}', 'invalid timeout_seconds', 'fractional_timeout_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "max_retries": 11}', 'invalid max_retries', 'too_many_retries_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "voice": "robot"}', 'invalid voice', 'unknown_voice_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "fallback_action": "transfer"}', 'invalid fallback_target', 'fallback_transfer_without_target_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "fallback_action": "dance"}', 'invalid fallback_action', 'unknown_fallback_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "disclosure_text": "  "}', 'invalid disclosure_text', 'blank_disclosure_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": {}}', 'invalid options', 'options_not_an_array_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "A", "action_type": "hangup"}]}', 'invalid options[0].digit', 'bad_digit_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": 1, "action_type": "hangup"}]}', 'invalid digit', 'numeric_digit_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup"}, {"digit": "1", "action_type": "repeat"}]}',
     'invalid options[1].digit', 'duplicate_digit_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "fax"}]}', 'invalid options[0].action_type', 'unknown_action_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "transfer", "target": "555-1234"}]}',
     'invalid options[0].target', 'transfer_target_not_e164_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "submenu", "target": "not-a-uuid"}]}',
     'invalid options[0].target', 'submenu_target_not_a_uuid_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "survey", "target": "https://s.example.com/x"}]}',
     'invalid survey_disclaimer', 'survey_without_disclaimer_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup", "target": "+15551234567"}]}',
     'invalid options[0].target', 'target_on_hangup_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [1]}', 'invalid options[0]', 'option_not_an_object_refused'),
    ('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup", "extra": 1}]}',
     'unknown field "extra" in options[0]', 'unknown_option_field_refused');
SELECT throws_ok(format('SELECT wib.ivr_menu_create(%L)', doc), '22023', field, why) FROM bad_menus;
SELECT throws_ok(format('SELECT wib.ivr_menu_create(%L)', jsonb_build_object('name', 'M', 'greeting_text', 'Hi.',
                        'options', (SELECT jsonb_agg(jsonb_build_object('digit', d, 'action_type', 'hangup'))
                                      FROM unnest(ARRAY['0','1','2','3','4','5','6','7','8','9','*','#','0']) d))),
                 '22023', 'invalid options', 'more_than_twelve_options_refused');

-- A submenu of another organization is not a menu of this one.
SELECT wib.set_context(pg_temp.org('b'), 'u');
SELECT id AS b_menu FROM wib.ivr_menus LIMIT 1 \gset
SELECT wib.set_context(pg_temp.org('biz'), 'u');
SELECT throws_ok(format('SELECT wib.ivr_menu_create(%L)', jsonb_build_object('name', 'M', 'greeting_text', 'Hi.',
                        'options', jsonb_build_array(jsonb_build_object('digit', '1', 'action_type', 'submenu', 'target', :'b_menu')))),
                 '22023', 'invalid options[0].target', 'submenu_of_another_org_refused');

-- Compliance: prohibited phrases, case-insensitive, on word boundaries.
SELECT throws_ok('SELECT wib.ivr_menu_create(''{"name": "M", "greeting_text": "Satisfaction GUARANTEED!"}'')', 'WB302',
                 'prohibited phrase "guaranteed" in greeting_text', 'prohibited_phrase_in_greeting_refused');
SELECT throws_ok($$SELECT wib.ivr_menu_create('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup", "prompt": "You   should press 1."}]}')$$,
                 'WB302', 'prohibited phrase "you should" in options[0].prompt', 'prohibited_phrase_in_option_prompt_refused');
SELECT throws_ok('SELECT wib.ivr_menu_create(''{"name": "M", "greeting_text": "Hi.", "voicemail_prompt": "I promise to call back."}'')', 'WB302',
                 'prohibited phrase "I promise" in voicemail_prompt', 'prohibited_phrase_in_voicemail_prompt_refused');
SELECT throws_ok('SELECT wib.ivr_menu_create(''{"name": "M", "greeting_text": "Hi.", "survey_disclaimer": "Risk-free survey."}'')', 'WB302',
                 'prohibited phrase "risk-free" in survey_disclaimer', 'prohibited_phrase_in_survey_disclaimer_refused');
SELECT lives_ok('SELECT wib.ivr_menu_create(''{"name": "Words", "greeting_text": "Our unguaranteedly odd youshould words are fine."}'')',
                'phrases_inside_longer_words_are_allowed');
SELECT throws_ok('INSERT INTO wib.ivr_prohibited_phrases (phrase) VALUES (''free money'')', '42501', NULL,
                 'applications_cannot_edit_prohibited_phrases');
SELECT is((SELECT count(*) FROM wib.ivr_menus WHERE name = 'M'), 0::bigint, 'refused_menus_wrote_no_menu');
SELECT is((SELECT count(*) FROM wib.ivr_menu_options), 0::bigint, 'refused_menus_wrote_no_option');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'ivr:menu_created'), 1::bigint, 'refused_menus_wrote_no_audit_row');
RESET ROLE;
SET ROLE wib_test_admin;
SELECT lives_ok('INSERT INTO wib.ivr_prohibited_phrases (phrase) VALUES (''free money'')', 'operators_add_prohibited_phrases');
RESET ROLE;
SET ROLE wib_test_app;
SELECT throws_ok('SELECT wib.ivr_menu_create(''{"name": "M", "greeting_text": "Get FREE   money today."}'')', 'WB302',
                 'prohibited phrase "free money" in greeting_text', 'an_added_phrase_is_enforced_at_once');

-- A menu with every action, updated partially, assigned, refused deletion while in use.
SELECT wib.ivr_menu_create('{"name": "Support", "greeting_text": "Support."}') AS sub \gset
SELECT wib.ivr_menu_create(jsonb_build_object('name', 'Main', 'greeting_text', 'Welcome.',
    'survey_disclaimer', 'The survey is optional.',
    'options', jsonb_build_array(
        jsonb_build_object('digit', '1', 'action_type', 'transfer', 'target', '+15551230001', 'prompt', 'Sales, 1.'),
        jsonb_build_object('digit', '2', 'action_type', 'submenu', 'target', :'sub'),
        jsonb_build_object('digit', '3', 'action_type', 'voicemail'),
        jsonb_build_object('digit', '4', 'action_type', 'survey', 'target', 'https://s.example.com/t'),
        jsonb_build_object('digit', '*', 'action_type', 'repeat'),
        jsonb_build_object('digit', '#', 'action_type', 'hangup')))) AS main \gset
SELECT is((SELECT count(*) FROM wib.ivr_menu_options WHERE menu_id = :'main'), 6::bigint, 'menu_with_every_action_created');
SELECT lives_ok(format('SELECT wib.ivr_menu_update(%L, ''{"name": "Main line", "timeout_seconds": 9}'')', :'main'),
                'menu_updated_partially');
SELECT is((SELECT (name, timeout_seconds, greeting_text)::text FROM wib.ivr_menus WHERE id = :'main'),
          '("Main line",9,Welcome.)', 'partial_update_changes_given_fields_only');
SELECT is((SELECT count(*) FROM wib.ivr_menu_options WHERE menu_id = :'main'), 6::bigint, 'partial_update_keeps_options');
SELECT throws_ok(format('SELECT wib.ivr_menu_update(%L, ''{"survey_disclaimer": null}'')', :'main'), '22023',
                 'invalid survey_disclaimer', 'update_cannot_drop_disclaimer_of_a_survey_menu');
SELECT throws_ok(format('SELECT wib.ivr_menu_update(%L, ''{"timeout_seconds": 500}'')', :'main'), '22023',
                 'invalid timeout_seconds', 'update_validates_like_create');
SELECT is((SELECT timeout_seconds FROM wib.ivr_menus WHERE id = :'main'), 9, 'refused_update_changed_nothing');
SELECT lives_ok(format('SELECT wib.ivr_number_assign((SELECT id FROM wib.inbound_numbers WHERE phone_number = %L), %L)',
                       '+15552220001', :'main'), 'menu_assigned_to_number');
SELECT throws_ok(format('SELECT wib.ivr_menu_delete(%L)', :'main'), 'WB304', NULL, 'menu_in_use_by_number_not_deleted');
SELECT throws_ok(format('SELECT wib.ivr_menu_delete(%L)', :'sub'), 'WB304', NULL, 'submenu_in_use_not_deleted');
SELECT lives_ok(format('SELECT wib.ivr_menu_update(%L, ''{"options": [{"digit": "1", "action_type": "hangup"}]}'')', :'main'),
                'options_replaced_on_update');
SELECT lives_ok(format('SELECT wib.ivr_menu_delete(%L)', :'sub'), 'unused_submenu_deleted');
SELECT is((SELECT array_agg(action ORDER BY created_at, action) FROM wib.audit_log WHERE resource_type = 'ivr_menu' AND resource_id IN (:'main', :'sub')),
          ARRAY['ivr:menu_created', 'ivr:menu_created', 'ivr:menu_deleted', 'ivr:menu_updated', 'ivr:menu_updated'],
          'menu_changes_audited');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'ivr:number_provisioned'), 7::bigint, 'numbers_provisioned_audited');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'ivr:number_released'), 2::bigint, 'numbers_released_audited');

-- The platform's option fields round-trip: created under their names (or the
-- aliases prompt and target), stored in their columns, read back under their names.
SELECT wib.ivr_menu_create(jsonb_build_object('name', 'Builder', 'greeting_text', 'Welcome.',
    'options', jsonb_build_array(
        jsonb_build_object('digit', '1', 'action_type', 'transfer', 'label', 'Sales', 'action_target', '+15551230001',
                           'tts_text', 'Connecting you to sales.', 'sort_order', 5),
        jsonb_build_object('digit', '2', 'action_type', 'hangup', 'prompt', 'Goodbye', 'sort_order', 1)))) AS builder \gset
SELECT is((SELECT array_agg(format('%s|%s|%s|%s|%s', digit, label, action_target, tts_text, sort_order) ORDER BY digit)
             FROM wib.ivr_menu_options WHERE menu_id = :'builder'),
          ARRAY['1|Sales|+15551230001|Connecting you to sales.|5', '2|Goodbye|||1'],
          'option_fields_stored_in_their_columns');
SELECT is(wib.ivr_menu_json(:'builder') -> 'options',
          '[{"digit": "2", "label": "Goodbye", "sort_order": 1, "action_type": "hangup"},
            {"digit": "1", "label": "Sales", "tts_text": "Connecting you to sales.", "sort_order": 5,
             "action_type": "transfer", "action_target": "+15551230001"}]'::jsonb,
          'option_fields_read_back_under_the_platforms_names_in_menu_order');
SELECT lives_ok(format('SELECT wib.ivr_menu_update(%L, wib.ivr_menu_json(%L))', :'builder', :'builder'),
                'a_menu_read_back_is_accepted_as_written');
SELECT is(wib.ivr_menu_json(:'builder') -> 'options' -> 1 ->> 'tts_text', 'Connecting you to sales.',
          'rewriting_a_menu_read_back_keeps_its_option_fields');
SELECT throws_ok($$SELECT wib.ivr_menu_create('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup", "label": "a", "prompt": "b"}]}')$$,
                 '22023', 'invalid options[0].prompt', 'a_name_and_its_alias_together_refused');
SELECT throws_ok($$SELECT wib.ivr_menu_create('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup", "tts_text": "We can negotiate."}]}')$$,
                 'WB302', 'prohibited phrase "we can negotiate" in options[0].tts_text', 'prohibited_phrase_in_tts_text_refused');
SELECT throws_ok(format('SELECT wib.ivr_menu_create(%L)', jsonb_build_object('name', 'M', 'greeting_text', 'Hi.',
                        'options', jsonb_build_array(jsonb_build_object('digit', '1', 'action_type', 'hangup', 'tts_text', repeat('x', 1001))))),
                 '22023', 'invalid tts_text', 'oversized_tts_text_refused');
SELECT throws_ok($$SELECT wib.ivr_menu_create('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup", "sort_order": 1001}]}')$$,
                 '22023', 'invalid sort_order', 'sort_order_out_of_range_refused');

-- Another organization's ids look like missing ones.
SELECT wib.set_context(pg_temp.org('b'), 'u');
SELECT id AS b_number FROM wib.inbound_numbers LIMIT 1 \gset
SELECT wib.set_context(pg_temp.org('biz'), 'u');
SELECT throws_ok(format('SELECT wib.ivr_menu_update(%L, ''{"name": "x"}'')', :'b_menu'), 'P0002', NULL, 'other_orgs_menu_not_updated');
SELECT throws_ok(format('SELECT wib.ivr_menu_delete(%L)', :'b_menu'), 'P0002', NULL, 'other_orgs_menu_not_deleted');
SELECT throws_ok(format('SELECT wib.texml_render_menu(%L)', :'b_menu'), 'P0002', NULL, 'other_orgs_menu_not_rendered');
SELECT throws_ok(format('SELECT wib.ivr_number_release(%L)', :'b_number'), 'P0002', NULL, 'other_orgs_number_not_released');
SELECT throws_ok(format('SELECT wib.ivr_number_assign(%L, NULL)', :'b_number'), 'P0002', NULL, 'other_orgs_number_not_assigned');
SELECT throws_ok(format('SELECT wib.ivr_number_assign((SELECT id FROM wib.inbound_numbers WHERE phone_number = %L), %L)',
                        '+15552220001', :'b_menu'), '22023', 'invalid menu_id', 'other_orgs_menu_not_assignable');
SELECT is((SELECT count(*) FROM wib.inbound_call_log), 0::bigint, 'call_logs_of_other_orgs_invisible');
RESET ROLE;
SELECT is((SELECT name FROM wib.ivr_menus WHERE id = :'b_menu'), 'Fixture', 'tenant_b_menu_untouched');
SELECT is((SELECT status FROM wib.inbound_numbers WHERE id = :'b_number'), 'active', 'tenant_b_number_untouched');

-- Numbers through Telnyx: inputs, plans, offers, the account, quota, idempotency,
-- releases and an organization's deletion (the requests themselves: test/t/031).
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('starter'), 'u');
SELECT throws_ok('SELECT * FROM wib.ivr_number_search(''local'')', 'WB001', NULL, 'number_search_requires_inbound_ivr');
SELECT throws_ok('SELECT wib.ivr_number_order(''+15558880001'', ''x'')', 'WB001', NULL, 'number_order_requires_inbound_ivr');
SELECT wib.set_context(pg_temp.org('pro'), 'u');
SELECT throws_ok('SELECT * FROM wib.ivr_number_search(''toll_free'')', 'WB001', NULL, 'toll_free_search_requires_toll_free_plan');
SELECT wib.set_context(pg_temp.org('biz'), 'u');
SELECT throws_ok('SELECT * FROM wib.ivr_number_search(''mobile'')', '22023', 'invalid number_type', 'number_search_unknown_type_refused');
SELECT throws_ok('SELECT * FROM wib.ivr_number_search(NULL)', '22023', 'invalid number_type', 'number_search_null_type_refused');
SELECT throws_ok('SELECT * FROM wib.ivr_number_search(''local'', ''15'')', '22023', 'invalid area_code', 'number_search_short_area_code_refused');
SELECT throws_ok('SELECT * FROM wib.ivr_number_search(''local'', ''115'')', '22023', 'invalid area_code', 'number_search_area_code_starting_with_1_refused');
SELECT throws_ok('SELECT * FROM wib.ivr_number_search(''local'', NULL, 0)', '22023', 'invalid max_rows', 'number_search_zero_rows_refused');
SELECT throws_ok('SELECT * FROM wib.ivr_number_search(''local'', NULL, NULL)', '22023', 'invalid max_rows', 'number_search_null_rows_refused');
SELECT throws_ok('SELECT * FROM wib.ivr_number_search(''local'', ''415'')', 'WB307', 'the Telnyx API is not configured',
                 'number_search_refused_while_telnyx_is_not_configured');
SELECT throws_ok('SELECT wib.ivr_number_order(''5558880001'', ''x'')', '22023', 'invalid phone_number', 'number_order_not_e164_refused');
SELECT throws_ok('SELECT wib.ivr_number_order(''+15558880009'', repeat(''x'', 101))', '22023', 'invalid display_name', 'number_order_oversized_name_refused');
SELECT throws_ok(format('SELECT wib.ivr_number_order(''+15558880009'', ''x'', %L)', :'b_menu'), '22023', 'invalid menu_id',
                 'number_order_with_another_orgs_menu_refused');
SELECT throws_ok('SELECT wib.ivr_number_order(''+15558880009'', ''x'')', 'WB309',
                 'phone number +15558880009 was not offered to this organization', 'number_order_refuses_a_number_not_offered');
SELECT throws_ok('SELECT wib.ivr_number_order(''+15558880002'', ''x'')', 'WB309', NULL, 'number_order_refuses_another_orgs_offer');
SELECT throws_ok('SELECT wib.telnyx_configure(''{"api_key": "k-12345678"}'')', '42501', NULL, 'applications_cannot_configure_telnyx');
RESET ROLE;
INSERT INTO fx VALUES ('ord', wib.organization_create('Order Co', 'business'));
INSERT INTO wib.ivr_number_offers (organization_id, phone_number, number_type, monthly_cost_cents, currency, offered_at)
VALUES (pg_temp.org('ord'), '+15558880010', 'local', 100, 'USD', now()),
       (pg_temp.org('ord'), '+15558880011', 'local', 100, 'USD', now() - interval '2 hours');
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('ord'), 'u');
SELECT throws_ok('SELECT wib.ivr_number_order(''+15558880010'', ''x'')', 'WB307', NULL, 'number_order_refused_while_telnyx_is_not_configured');
RESET ROLE;
SET ROLE wib_test_admin;
SELECT throws_ok('SELECT wib.telnyx_configure(''{"api_key": "k-12345678", "region": "eu"}'')', '22023',
                 'unknown field "region" in settings', 'telnyx_configure_refuses_an_unknown_key_naming_it');
SELECT throws_ok('SELECT wib.telnyx_configure(''{"api_key": "short"}'')', '22023', 'invalid api_key', 'telnyx_configure_refuses_a_short_key');
SELECT throws_ok('SELECT wib.telnyx_configure(''{"api_url": "https://user:pw@api.example.com"}'')', '22023', 'invalid api_url',
                 'telnyx_configure_refuses_credentials_in_the_url');
SELECT throws_ok('SELECT wib.telnyx_configure(''{"connection_id": "a b"}'')', '22023', 'invalid connection_id',
                 'telnyx_configure_refuses_a_bad_connection_id');
SELECT is(wib.telnyx_configure('{"api_key": "KEY-for-pgtap", "connection_id": "conn-1"}') - 'updated_at',
          '{"api_url": "https://api.telnyx.com", "api_key_set": true, "connection_id": "conn-1"}'::jsonb,
          'operators_configure_telnyx_and_get_no_key_back');
SELECT throws_ok('SELECT api_key FROM wib.telnyx_config', '42501', NULL, 'operators_cannot_read_the_sealed_key');
RESET ROLE;
SELECT is(wib.vault_open(api_key, NULL, 'telnyx_config.api_key', 'telnyx'), 'KEY-for-pgtap', 'the_key_is_sealed_as_a_platform_secret')
  FROM wib.telnyx_config;
SELECT is((SELECT organization_column IS NULL AND row_id_column = 'id' FROM wib.vault_columns WHERE context = 'telnyx_config.api_key'),
          true, 'the_sealed_key_is_in_the_vaults_catalogue');
SELECT lives_ok('SELECT wib.vault_rotate()', 'vault_rotate_passes_over_the_telnyx_key');
SELECT is(wib.vault_open(api_key, NULL, 'telnyx_config.api_key', id), 'KEY-for-pgtap', 'the_key_opens_after_a_rotation')
  FROM wib.telnyx_config;
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('ord'), 'u');
SELECT throws_ok('SELECT wib.ivr_number_order(''+15558880011'', ''x'')', 'WB309', NULL, 'an_offer_older_than_an_hour_is_refused');
SELECT wib.ivr_number_order('+15558880010', 'Ordered', NULL, 'ord-1') AS ordered \gset
SELECT is(wib.ivr_number_order('+15558880010', 'Ordered', NULL, 'ord-1'), :'ordered'::uuid, 'a_retried_order_answers_the_same_number');
SELECT throws_ok('SELECT wib.ivr_number_order(''+15558880010'', ''Other name'', NULL, ''ord-1'')', 'WB004', NULL,
                 'an_idempotency_key_reused_for_another_order_is_refused');
SELECT is((SELECT status || ' ' || monthly_cost_cents || ' ' || number_type FROM wib.inbound_numbers WHERE id = :'ordered'),
          'ordering 100 local', 'an_order_is_recorded_as_ordering_with_the_offers_cost_and_type');
SELECT throws_ok('SELECT wib.telnyx_claim(1, ''1 minute'')', '42501', NULL, 'applications_cannot_claim_telnyx_work');
RESET ROLE;
SELECT is(wib.quota_usage_inbound_numbers(pg_temp.org('ord')), 1::bigint, 'a_number_being_ordered_counts_against_the_plan');
SET ROLE wib_test_app;
SELECT lives_ok(format('SELECT wib.ivr_number_release(%L)', :'ordered'), 'an_order_not_sent_yet_is_released_at_once');
RESET ROLE;
SELECT is((SELECT status FROM wib.inbound_numbers WHERE id = :'ordered') || ' ' || (SELECT count(*) FROM wib.telnyx_jobs WHERE number_id = :'ordered'),
          'released 0', 'releasing_an_order_not_sent_leaves_nothing_to_do_at_telnyx');
-- A number Telnyx holds (as an order that succeeded leaves it): its release
-- goes to Telnyx, and deleting the organization releases the others.
INSERT INTO fx VALUES ('gone', wib.organization_create('Gone Co', 'enterprise'));
SELECT wib.set_context(pg_temp.org('gone'), 'u');
SELECT wib.ivr_number_add('+1555999000' || n, 'local', 'Line ' || n) FROM generate_series(1, 3) n;
UPDATE wib.inbound_numbers SET telnyx_number_id = '129338426107573' || right(phone_number, 1), telnyx_order_id = 'ord-' || right(phone_number, 1)
 WHERE organization_id = pg_temp.org('gone') AND phone_number IN ('+15559990001', '+15559990002');
SELECT wib.ivr_number_release(id) FROM wib.inbound_numbers WHERE phone_number = '+15559990001';
SELECT is((SELECT status FROM wib.inbound_numbers WHERE phone_number = '+15559990001') || ' ' ||
          (SELECT kind || ' ' || step || ' ' || telnyx_number_id FROM wib.telnyx_jobs WHERE phone_number = '+15559990001'),
          'releasing release release 1293384261075731', 'releasing_a_telnyx_number_queues_its_release');
SELECT is(wib.quota_usage_inbound_numbers(pg_temp.org('gone')), 2::bigint, 'a_releasing_number_frees_its_quota_at_once');
DELETE FROM wib.organizations WHERE id = pg_temp.org('gone');
SELECT is((SELECT array_agg(phone_number || ' ' || kind || ' ' || step ORDER BY phone_number) FROM wib.telnyx_jobs
            WHERE organization_ref = pg_temp.org('gone')),
          ARRAY['+15559990001 release release', '+15559990002 release release'],
          'deleting_an_organization_leaves_the_releases_of_its_telnyx_numbers');

-- The call log API: newest first, a page at a time, calls with the same start
-- time neither skipped nor repeated.
INSERT INTO fx VALUES ('log', wib.organization_create('Log Co', 'business'));
SELECT wib.set_context(pg_temp.org('log'), 'u');
SELECT wib.ivr_number_add('+15556660001', 'local', 'Logged') AS log_number \gset
INSERT INTO wib.inbound_call_log (organization_id, number_id, call_sid, to_number, started_at, status)
SELECT pg_temp.org('log'), :'log_number', 'v3:log-' || n, '+15556660001',
       timestamptz '2026-11-01 12:00:00+00' + (n / 3) * interval '1 minute', 'completed'
  FROM generate_series(1, 11) n;
-- The call log names menus without keys: a menu that answered calls can go.
SELECT wib.ivr_menu_create('{"name": "Answered", "greeting_text": "Hi."}') AS answered_menu \gset
UPDATE wib.inbound_call_log SET menu_id = :'answered_menu', current_menu_id = :'answered_menu'
 WHERE organization_id = pg_temp.org('log') AND call_sid = 'v3:log-1';
SELECT lives_ok(format('SELECT wib.ivr_menu_delete(%L)', :'answered_menu'), 'a_menu_that_answered_calls_can_be_deleted');
SELECT is((SELECT (menu_id, current_menu_id)::text FROM wib.inbound_call_log
            WHERE organization_id = pg_temp.org('log') AND call_sid = 'v3:log-1'),
          '(,)', 'the_calls_of_a_deleted_menu_keep_no_menu');
SELECT id AS other_call FROM wib.inbound_call_log WHERE organization_id = pg_temp.org('b') LIMIT 1 \gset
CREATE TEMP TABLE pages (page integer, call_sid text, started_at timestamptz, id uuid);
GRANT SELECT, INSERT ON pages TO PUBLIC;
SET ROLE wib_test_app;
DO $$
DECLARE
    last uuid;
    p    integer := 0;
BEGIN
    LOOP
        p := p + 1;
        INSERT INTO pages SELECT p, c.call_sid, c.started_at, c.id FROM wib.ivr_calls(NULL, NULL, 4, last) c;
        SELECT id INTO last FROM pages WHERE page = p ORDER BY started_at, id LIMIT 1;
        EXIT WHEN last IS NULL OR p > 10;
    END LOOP;
END
$$;
SELECT is((SELECT count(*) || ' calls, ' || count(DISTINCT call_sid) || ' distinct, ' || max(page) || ' pages' FROM pages),
          '11 calls, 11 distinct, 3 pages', 'pages_of_the_call_log_cover_every_call_once');
SELECT ok((SELECT bool_and(ordered) FROM (SELECT (started_at, id) < lag((started_at, id)) OVER (ORDER BY page, started_at DESC, id DESC)
                                                 OR lag(id) OVER (ORDER BY page, started_at DESC, id DESC) IS NULL AS ordered
                                            FROM pages) x),
          'the_call_log_comes_newest_first_across_pages');
SELECT is((SELECT array_agg(call_sid ORDER BY started_at DESC, id DESC)
             FROM wib.ivr_calls('2026-11-01 12:01:00+00', '2026-11-01 12:02:00+00')),
          (SELECT array_agg(call_sid ORDER BY started_at DESC, id DESC) FROM pages
            WHERE started_at >= '2026-11-01 12:01:00+00' AND started_at < '2026-11-01 12:02:00+00'),
          'the_call_log_takes_a_time_range');
SELECT is((SELECT count(*) FROM wib.ivr_calls('2026-11-01 12:01:00+00', '2026-11-01 12:02:00+00')), 3::bigint,
          'the_time_range_includes_its_start_and_excludes_its_end');
SELECT throws_ok('SELECT * FROM wib.ivr_calls(NULL, NULL, 0)', '22023', 'invalid max_rows', 'call_log_zero_rows_refused');
SELECT throws_ok('SELECT * FROM wib.ivr_calls(now(), now() - interval ''1 day'')', '22023', 'invalid to_ts',
                 'call_log_range_ending_before_it_starts_refused');
SELECT throws_ok(format('SELECT * FROM wib.ivr_calls(NULL, NULL, 5, %L)', :'other_call'), '22023', 'invalid after_id',
                 'call_log_after_a_call_of_another_organization_refused');
SELECT wib.set_context(pg_temp.org('b'), 'u');
SELECT is((SELECT array_agg(call_sid) FROM wib.ivr_calls(NULL, NULL, 1000)), ARRAY['v3:fixture-+15557770002'],
          'the_call_log_shows_only_the_organizations_calls');
RESET ROLE;

-- Replay guards are purged once no callback they guard can verify again: an
-- hour plus wib.telnyx_timestamp_tolerance after acceptance, whatever the
-- tolerance was when they were accepted (at most an hour).
DELETE FROM wib.ivr_callback_signatures;
INSERT INTO wib.ivr_callback_signatures (signature_hash, accepted_at)
VALUES ('\x01', now() - interval '66 minutes'), ('\x02', now() - interval '64 minutes'), ('\x03', now());
SELECT is((SELECT removed FROM wib.purge_expired() WHERE policy = 'ivr_callback_signatures'), 1::bigint,
          'purge_removes_replay_guards_past_an_hour_plus_the_tolerance');
SELECT is((SELECT array_agg(signature_hash ORDER BY signature_hash) FROM wib.ivr_callback_signatures),
          ARRAY['\x02', '\x03']::bytea[], 'replay_guards_still_needed_are_kept');
SET LOCAL wib.telnyx_timestamp_tolerance = 3600;
SELECT is((SELECT removed FROM wib.purge_expired() WHERE policy = 'ivr_callback_signatures'), 0::bigint,
          'a_longer_tolerance_keeps_replay_guards_longer');

-- The nightly run judges each number's calls against its own past: a planted
-- spike on one number is found, a busy number and a quiet one at their usual
-- rates are not.
INSERT INTO fx VALUES ('spiky', wib.organization_create('Spiky Co', 'business'));
SELECT wib.set_context(pg_temp.org('spiky'), 'u');
SELECT id FROM wib.webhook_subscribe('anomalies', 'https://hooks.example.test/a', ARRAY['anomaly.detected']);
SELECT wib.ivr_number_add('+1555333000' || n, 'local', 'Line ' || n) FROM generate_series(1, 3) n;
UPDATE wib.inbound_numbers SET created_at = now() - interval '40 days' WHERE organization_id = pg_temp.org('spiky');
SELECT ((now() AT TIME ZONE 'UTC')::date - 1) AS spike_day \gset
-- Per day d (0 = the day judged): busy 91-109 calls, then 108; quiet 0 or 1, then 2; target 4-6, then 200.
INSERT INTO wib.inbound_call_log (organization_id, number_id, call_sid, to_number, started_at, status)
SELECT n.organization_id, n.id, format('v3:hist-%s-%s-%s', n.phone_number, d, i), n.phone_number,
       (:'spike_day'::date - d)::timestamp AT TIME ZONE 'UTC' + make_interval(mins => i), 'completed'
  FROM wib.inbound_numbers n
 CROSS JOIN generate_series(0, 30) d
 CROSS JOIN LATERAL generate_series(1, CASE n.phone_number
                                        WHEN '+15553330001' THEN CASE WHEN d = 0 THEN 108 ELSE 91 + (d % 7) * 3 END
                                        WHEN '+15553330002' THEN CASE WHEN d = 0 THEN 2 ELSE (d % 5 = 0)::int END
                                        ELSE CASE WHEN d = 0 THEN 200 ELSE 4 + d % 3 END END) i
 WHERE n.organization_id = pg_temp.org('spiky');
SELECT lives_ok(format('SELECT wib.run_nightly(%L)', :'spike_day'), 'nightly_run_with_ivr_spikes');
SELECT is((SELECT array_agg(subject ORDER BY subject) FROM wib.ml_predictions
            WHERE organization_id = pg_temp.org('spiky') AND model_version = 'wib-zscore-ivr-1'),
          ARRAY['inbound_calls:+15553330003'], 'nightly_finds_the_planted_spike_and_only_it');
SELECT ok((SELECT score > 10 AND prediction_type = 'volume_anomaly' AND target_date = :'spike_day'
                  AND features ->> 'value' = '200' AND explanation ~ '^Calls to \+15553330003 rose to 200 '
             FROM wib.ml_predictions WHERE organization_id = pg_temp.org('spiky') AND model_version = 'wib-zscore-ivr-1'),
          'the_spike_prediction_says_what_and_how_much');
SELECT is((SELECT count(*) FROM wib.webhook_deliveries
            WHERE organization_id = pg_temp.org('spiky') AND event_type = 'anomaly.detected'
              AND payload ->> 'metric' = 'inbound_calls' AND payload ->> 'phone_number' = '+15553330003'),
          1::bigint, 'the_spike_is_announced_as_anomaly_detected');
SELECT wib.run_nightly(:'spike_day') IS NOT NULL AS again;
SELECT is((SELECT count(*) FROM wib.webhook_deliveries
            WHERE organization_id = pg_temp.org('spiky') AND event_type = 'anomaly.detected'),
          1::bigint, 'running_the_night_again_announces_nothing_new');

SELECT * FROM finish();
ROLLBACK;
