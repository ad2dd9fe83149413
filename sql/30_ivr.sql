-- Inbound IVR: the TeXML documents, byte for byte.
\set VERBOSITY terse
\pset format unaligned
\pset tuples_only on
SET wib.ivr_callback_url = 'https://app.example.com/api/telnyx/ivr';
SELECT wib.set_context(wib.organization_create('IVR Regress', 'business'), 'user-1');

-- A main menu with every action type, a submenu and a survey.
SELECT wib.ivr_menu_create('{"name": "Support", "greeting_text": "Thanks for calling.",
    "options": [{"digit": "1", "action_type": "transfer", "prompt": "Press 1 for sales.", "target": "+15550000001"}]}') AS support \gset
SELECT wib.ivr_menu_create(jsonb_build_object(
    'name', 'Main', 'greeting_text', 'Welcome to Acme.', 'voice', 'Polly.Joanna-Neural', 'language', 'en-US',
    'timeout_seconds', 7, 'max_retries', 2, 'fallback_action', 'voicemail',
    'survey_disclaimer', 'This short survey is optional and anonymous.',
    'options', jsonb_build_array(
        jsonb_build_object('digit', '1', 'action_type', 'transfer', 'prompt', 'For sales, press 1.', 'target', '+15551230001'),
        jsonb_build_object('digit', '2', 'action_type', 'submenu', 'prompt', 'For support, press 2.', 'target', :'support'),
        jsonb_build_object('digit', '3', 'action_type', 'voicemail', 'prompt', 'To leave a message, press 3.'),
        jsonb_build_object('digit', '4', 'action_type', 'survey', 'prompt', 'For our survey, press 4.', 'target', 'https://survey.example.com/texml?id=7&lang=en'),
        jsonb_build_object('digit', '9', 'action_type', 'repeat', 'prompt', 'To hear this again, press 9.'),
        jsonb_build_object('digit', '#', 'action_type', 'hangup', 'prompt', 'To end the call, press pound.')))) AS main \gset

-- First answer: the disclosure first, then the Gather with greeting and prompts, then the Redirect.
SELECT wib.texml_render_menu(:'main');
-- A retry: no disclosure, the invalid-choice prompt first.
SELECT wib.texml_render_menu(:'main', 1);
-- The flow's view: a submenu entered mid-call has no disclosure.
SELECT wib.ivr_menu_texml(:'support', 0, false);
-- An audio greeting.
SELECT wib.ivr_menu_create('{"name": "Audio", "greeting_type": "audio_url",
    "greeting_audio_url": "https://cdn.example.com/greet.mp3?a=1&b=2", "voice": "man", "language": "de-DE",
    "disclosure_text": "Dieses Gespräch kann aufgezeichnet werden.", "timeout_seconds": 120}') AS audio \gset
SELECT wib.texml_render_menu(:'audio');

-- Actions: transfer, voicemail (prompt then Record), survey (disclaimer first), hangup, reject, empty.
SELECT wib.texml_action('transfer', NULL, '+15551230001');
SELECT wib.texml_action('voicemail', 'Please leave a message after the tone.', NULL, 'alice', 'en-GB');
SELECT wib.texml_action('survey', 'This short survey is optional.', 'https://survey.example.com/texml?id=7&lang=en');
SELECT wib.texml_action('hangup', NULL, NULL);
SELECT wib.texml_action('hangup', 'Goodbye.', NULL);
SELECT wib.texml_action('reject', NULL, 'busy');
SELECT wib.texml_action('empty', NULL, NULL);
-- Relative callbacks when no base URL is set.
RESET wib.ivr_callback_url;
SELECT wib.texml_action('transfer', NULL, '+15551230001');
SET wib.ivr_callback_url = 'https://app.example.com/api/telnyx/ivr/';
SELECT wib.texml_action('transfer', NULL, '+15551230001');

-- Refused: attributes outside Telnyx's ranges, bad kinds and targets.
SELECT wib.texml_action('transfer', NULL, '5551230001');
SELECT wib.texml_action('survey', NULL, 'https://survey.example.com/');
SELECT wib.texml_action('survey', 'Optional survey.', 'javascript:alert(1)');
SELECT wib.texml_action('reject', NULL, 'nope');
SELECT wib.texml_action('dance', NULL, NULL);
SELECT wib.texml_action('hangup', NULL, NULL, 'robot');
SELECT wib.texml_action('hangup', NULL, NULL, 'woman', 'english');
SELECT wib.texml_render_menu(:'main', -1);
SELECT wib.texml_render_menu(NULL);
SELECT wib.texml_render_menu('00000000-0000-0000-0000-000000000000');
SET wib.ivr_callback_url = 'ftp://x';

-- Hostile texts: markup, entities, quotes, CDATA end, emoji, control characters.
SELECT wib.ivr_menu_create(jsonb_build_object('name', 'Hostile',
    'greeting_text', E'<Hangup/> & "quotes" ''single'' ]]> \U0001F600 tab\there\u0001bell\u0007 del\u007f c1\u0085 end',
    'disclosure_text', E'Calls are recorded <b>&amp;</b>\r\nline two',
    'options', jsonb_build_array(jsonb_build_object('digit', '*', 'action_type', 'hangup', 'prompt', E'Press star ]]><![CDATA[ x')))) AS hostile \gset
SELECT wib.texml_render_menu(:'hostile');

-- The escaper alone: invalid UTF-8 becomes U+FFFD (one per bad byte), controls a space.
SELECT wib.texml_escape('\x41c328e282ff42'::bytea);
SELECT wib.texml_escape('\x7475f09f9880'::bytea) = E'tu\U0001F600' AS emoji_kept;
SELECT wib.texml_escape('\xf09f98'::bytea);
SELECT wib.texml_escape('\x01090a0d1f7f'::bytea);
SELECT wib.texml_escape('\x01090a0d1f7f'::bytea, true);
SELECT wib.texml_escape(convert_to('a"b''c<d>e&f', 'UTF8'), true);
SELECT wib.texml_escape('\xefbfbeefbfbf'::bytea);
SELECT wib.texml_escape('\xeda080'::bytea);

-- Form bodies.
SELECT wib.form_value(convert_to('CallSid=v3%3Aabc&To=%2B15551230000&Digits=&SpeechResult=hello+world', 'UTF8'), 'To'),
       wib.form_value(convert_to('CallSid=v3%3Aabc&To=%2B15551230000&Digits=&SpeechResult=hello+world', 'UTF8'), 'CallSid'),
       wib.form_value(convert_to('CallSid=v3%3Aabc&To=%2B15551230000&Digits=&SpeechResult=hello+world', 'UTF8'), 'Digits') = '' AS empty_digits,
       wib.form_value(convert_to('CallSid=v3%3Aabc&To=%2B15551230000&Digits=&SpeechResult=hello+world', 'UTF8'), 'SpeechResult'),
       wib.form_value(convert_to('CallSid=v3%3Aabc', 'UTF8'), 'From') IS NULL AS absent;
SELECT wib.form_value(convert_to('To=%2', 'UTF8'), 'To');
SELECT wib.form_value(convert_to('To=%ff', 'UTF8'), 'To');

-- Every menu of this organization, on every attempt, is a well-formed document (libxml's view).
SELECT count(*) AS documents,
       bool_and(xml_is_well_formed_document(wib.texml_render_menu(m.id, a))) AS all_well_formed
  FROM wib.ivr_menus m, generate_series(0, 3) AS a;

-- The platform's option fields: label (spoken in the Gather), action_target,
-- tts_text (said before the action), sort_order (the order in the menu).
SET wib.ivr_callback_url = 'https://app.example.com/api/telnyx/ivr';
SELECT wib.ivr_menu_create(jsonb_build_object('name', 'Builder', 'greeting_text', 'Welcome.',
    'options', jsonb_build_array(
        jsonb_build_object('digit', '2', 'action_type', 'transfer', 'label', 'Support, press 2.', 'action_target', '+15551230002',
                           'tts_text', 'Connecting you to support.', 'sort_order', 20),
        jsonb_build_object('digit', '1', 'action_type', 'transfer', 'label', 'Sales, press 1.', 'action_target', '+15551230001',
                           'sort_order', 10),
        jsonb_build_object('digit', '0', 'action_type', 'hangup', 'prompt', 'To hang up, press 0.', 'tts_text', 'Goodbye.')))) AS builder \gset
-- Read back: the platform's names, in menu order.
SELECT jsonb_pretty(wib.ivr_menu_json(:'builder') -> 'options');
-- The Gather says the labels in sort order (0 first: its sort order is its index, 2).
SELECT wib.texml_render_menu(:'builder');
-- What the caller hears after pressing 2, then 0: the option's tts_text first.
SELECT wib.texml_announce(wib.texml_action('transfer', NULL, '+15551230002'), 'Connecting you to support.');
SELECT wib.texml_announce(wib.texml_action('hangup', NULL, NULL), 'Goodbye.', 'Polly.Joanna-Neural', 'en-US');
SELECT wib.texml_announce(wib.texml_action('empty', NULL, NULL), 'Nothing <else> & done.');
SELECT wib.texml_announce(wib.texml_action('hangup', NULL, NULL), NULL) = wib.texml_action('hangup', NULL, NULL) AS no_announcement;
SELECT wib.texml_announce('<Response/>', 'x');
-- Both a name and its alias, or a bad sort order: refused, naming the field.
SELECT wib.ivr_menu_create('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup", "label": "a", "prompt": "b"}]}');
SELECT wib.ivr_menu_create('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "transfer", "target": "+15551230001", "action_target": "+15551230001"}]}');
SELECT wib.ivr_menu_create('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup", "sort_order": -1}]}');
SELECT wib.ivr_menu_create('{"name": "M", "greeting_text": "Hi.", "options": [{"digit": "1", "action_type": "hangup", "tts_text": "Satisfaction guaranteed."}]}');
