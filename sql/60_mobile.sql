-- Web Push in SQL: RFC 8291 appendix A reproduced exactly (every intermediate
-- and the final message) with the RFC's fixed keys and salt, the browser's
-- side decrypting it, RFC 8292's example token verifying, the notifications
-- events send (generic words, no payload but UUIDs), and the checks of
-- subscriptions and notifications.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- SQLSTATE and message of a statement's error (detail too when asked).
CREATE FUNCTION pg_temp.err(q text, with_detail boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    det text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || msg || CASE WHEN with_detail AND det <> '' THEN ' / ' || det ELSE '' END;
END
$$;

-- RFC 8291 appendix A.
CREATE TEMP TABLE rfc8291 (name text PRIMARY KEY, value text NOT NULL);
INSERT INTO rfc8291 VALUES
    ('plaintext',   'When I grow up, I want to be a watermelon'),
    ('as_public',   'BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8'),
    ('as_private',  'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw'),
    ('ua_public',   'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4'),
    ('ua_private',  'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94'),
    ('salt',        'DGv6ra1nlYgDCS1FRnbzlw'),
    ('auth_secret', 'BTBZMqHH6r4Tts7J_aSIgg'),
    ('ecdh_secret', 'kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs'),
    ('IKM',         'S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg'),
    ('PRK',         '09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc'),
    ('CEK',         'oIhVW04MRdy2XN9CiKLxTg'),
    ('NONCE',       '4h_95klXJ5E_qnoN'),
    ('message',     'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN');
CREATE FUNCTION pg_temp.v(n text) RETURNS bytea LANGUAGE sql AS $$ SELECT wib.base64url_decode(value) FROM rfc8291 WHERE name = n $$;

CREATE TEMP TABLE trace AS
SELECT * FROM wib.webpush_encrypt_trace(pg_temp.v('ua_public'), pg_temp.v('auth_secret'),
                                        convert_to((SELECT value FROM rfc8291 WHERE name = 'plaintext'), 'UTF8'),
                                        pg_temp.v('as_private'), pg_temp.v('salt'));

-- Each intermediate as computed, and whether it is the RFC's (PRK_key, HMAC-SHA-256(auth_secret,
-- ecdh_secret), is not listed in the appendix; IKM, which depends on it, is).
SELECT x.name, wib.base64url_encode(x.got) AS computed, wib.base64url_encode(x.got) = r.value AS is_rfc8291
  FROM trace t,
       LATERAL (VALUES (1, 'as_public', t.as_public), (2, 'ecdh_secret', t.ecdh_secret), (3, 'PRK_key', t.prk_key),
                       (4, 'IKM', t.ikm), (5, 'PRK', t.prk), (6, 'CEK', t.cek), (7, 'NONCE', t.nonce),
                       (8, 'message', t.message)) AS x(n, name, got)
  LEFT JOIN rfc8291 r ON r.name = x.name
 ORDER BY x.n;

-- The general function gives the same message with the same key and salt.
SELECT wib.base64url_encode(wib.webpush_encrypt(pg_temp.v('ua_public'), pg_temp.v('auth_secret'),
                                                convert_to('When I grow up, I want to be a watermelon', 'UTF8'),
                                                pg_temp.v('as_private'), pg_temp.v('salt')))
       = (SELECT value FROM rfc8291 WHERE name = 'message') AS webpush_encrypt_gives_the_rfc_message;

-- The browser's side opens it.
SELECT convert_from(wib.webpush_decrypt(pg_temp.v('ua_private'), pg_temp.v('ua_public'), pg_temp.v('auth_secret'),
                                        pg_temp.v('message')), 'UTF8') AS decrypted;

-- Fresh keys: every message differs, each opens; padding lengthens it, not the text.
WITH m AS (SELECT wib.webpush_encrypt(pg_temp.v('ua_public'), pg_temp.v('auth_secret'), convert_to('{"title":"x"}', 'UTF8')) AS a,
                  wib.webpush_encrypt(pg_temp.v('ua_public'), pg_temp.v('auth_secret'), convert_to('{"title":"x"}', 'UTF8')) AS b,
                  wib.webpush_encrypt(pg_temp.v('ua_public'), pg_temp.v('auth_secret'), convert_to('{"title":"x"}', 'UTF8'),
                                      pad => 50) AS padded)
SELECT a <> b AS fresh_key_and_salt_each_time,
       substring(a FROM 1 FOR 16) <> substring(b FROM 1 FOR 16) AS fresh_salt,
       substring(a FROM 22 FOR 65) <> substring(b FROM 22 FOR 65) AS fresh_key,
       length(a) AS message_bytes, length(padded) AS padded_bytes,
       convert_from(wib.webpush_decrypt(pg_temp.v('ua_private'), pg_temp.v('ua_public'), pg_temp.v('auth_secret'), a), 'UTF8') AS a_opens_to,
       convert_from(wib.webpush_decrypt(pg_temp.v('ua_private'), pg_temp.v('ua_public'), pg_temp.v('auth_secret'), padded), 'UTF8') AS padded_opens_to
  FROM m;

-- Refusals.
SELECT pg_temp.err($$SELECT wib.webpush_decrypt(pg_temp.v('ua_private'), pg_temp.v('ua_public'), pg_temp.v('auth_secret'),
                                                overlay(pg_temp.v('message') PLACING '\x00'::bytea FROM 100))$$) AS altered_message;
SELECT pg_temp.err($$SELECT wib.webpush_decrypt(pg_temp.v('ua_private'), pg_temp.v('ua_public'), '\x00'::bytea, pg_temp.v('message'))$$) AS short_auth;
SELECT pg_temp.err($$SELECT wib.webpush_encrypt(overlay(pg_temp.v('ua_public') PLACING '\x00'::bytea FROM 40), pg_temp.v('auth_secret'), '\x41')$$) AS off_curve_key;
SELECT pg_temp.err($$SELECT wib.webpush_encrypt(pg_temp.v('ua_public'), pg_temp.v('auth_secret'), convert_to(repeat('x', 3994), 'UTF8'))$$) AS too_long;
SELECT pg_temp.err($$SELECT wib.webpush_encrypt(pg_temp.v('ua_public'), pg_temp.v('auth_secret'), '\x41', pg_temp.v('as_private'), NULL)$$) AS key_without_salt;
SELECT length(wib.webpush_encrypt(pg_temp.v('ua_public'), pg_temp.v('auth_secret'), convert_to(repeat('x', 3993), 'UTF8'))) AS longest_message_bytes;
SELECT wib.webpush_point_valid(pg_temp.v('ua_public')) AS p256dh_valid,
       wib.webpush_point_valid(overlay(pg_temp.v('ua_public') PLACING '\x00'::bytea FROM 40)) AS off_curve_valid,
       wib.webpush_point_valid(substring(pg_temp.v('ua_public') FROM 2)) AS short_valid,
       wib.webpush_point_valid('\x'::bytea) AS empty_valid;

-- RFC 8292 section 2.4's example token verifies under its key; one changed character does not.
CREATE TEMP TABLE rfc8292 AS SELECT
    'eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA'::text AS t,
    wib.base64url_decode('BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs') AS k;
SELECT wib.vapid_jwt_verify(k, t) AS rfc8292_token_verifies,
       wib.vapid_jwt_verify(k, overlay(t PLACING 'X' FROM 60)) AS altered_claims_verify,
       wib.vapid_jwt_verify(k, overlay(t PLACING CASE WHEN substr(t, length(t) - 3, 1) = 'A' THEN 'B' ELSE 'A' END FROM length(t) - 3)) AS altered_signature_verifies,
       wib.vapid_jwt_verify(pg_temp.v('ua_public'), t) AS other_key_verifies,
       wib.vapid_jwt_claims(t) AS claims
  FROM rfc8292;
-- A token signed here verifies under the signer's public key, with the claims given.
SELECT wib.vapid_jwt_verify(pg_temp.v('as_public'), tok) AS own_token_verifies, wib.vapid_jwt_claims(tok) AS claims
  FROM (SELECT wib.vapid_jwt_sign(pg_temp.v('as_private'), 'https://push.example.net', 1893456000, 'mailto:ops@example.com') AS tok) s;
SELECT pg_temp.err($$SELECT wib.vapid_jwt_claims('not.a.token')$$) AS malformed_token;

-- The pushes events send: generic words, a link into the app, nothing of the
-- payload but a UUID (the examples carry phone numbers, names, summaries).
SELECT t.event_type, wib.push_event_notification(t.event_type, t.example) AS push
  FROM wib.event_types t ORDER BY t.event_type;
SELECT wib.push_event_notification('ivr.call_ended', '{"call_id": "9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C6D", "final_action": "voicemail", "from": "+15550100"}') AS voicemail,
       wib.push_event_notification('call.completed', '{"call_id": "+15550100 Jane Doe"}') AS id_not_a_uuid,
       wib.push_event_notification('custom.anything', '{"name": "Jane Doe"}') AS custom_event,
       wib.push_event_notification('push.test', '{}') AS test_push;
SELECT wib.push_topic('voicemail') AS topic, length(wib.push_topic(repeat('x', 64))) AS topic_length,
       wib.push_topic(NULL) IS NULL AS no_tag_no_topic;

-- Notifications applications send: only title, body, url, tag, icon, in one push message.
SELECT wib.push_check_notification('{"title": "Callback due", "body": "Open the app.", "url": "/calls", "tag": "cb", "icon": "https://cdn.example.com/i.png"}') AS accepted;
SELECT pg_temp.err(q) AS refused FROM unnest(ARRAY[
    $$SELECT wib.push_check_notification(NULL)$$,
    $$SELECT wib.push_check_notification('[]')$$,
    $$SELECT wib.push_check_notification('{"body": "no title"}')$$,
    $$SELECT wib.push_check_notification('{"title": "x", "data": {"phone": "+15550100"}}')$$,
    $$SELECT wib.push_check_notification('{"title": 7}')$$,
    $$SELECT wib.push_check_notification('{"title": "x", "url": "javascript:alert(1)"}')$$,
    $$SELECT wib.push_check_notification('{"title": "x", "url": "//evil.example.com/"}')$$,
    $$SELECT wib.push_check_notification('{"title": "x", "icon": "http://cdn.example.com/i.png"}')$$,
    $$SELECT wib.push_check_notification(jsonb_build_object('title', 'x', 'tag', repeat('t', 65)))$$,
    $$SELECT wib.push_check_notification(jsonb_build_object('title', 'x', 'body', repeat('b', 2900), 'url', '/' || repeat('u', 1000)))$$,
    $$SELECT wib.push_check_notification(jsonb_build_object('title', repeat('é', 1500), 'body', repeat('b', 1000)))$$]) AS q;

-- Endpoints a subscription may name: a push service of wib.push_allowed_hosts, behind the SSRF guard.
SELECT u AS endpoint, coalesce(wib.push_endpoint_check(u), 'allowed') AS verdict
  FROM unnest(ARRAY['https://fcm.googleapis.com/fcm/send/dXJ9:APA91b',
                    'https://updates.push.services.mozilla.com/wpush/v2/gAAAAAB',
                    'https://wns2-by3p.notify.windows.com/w/?token=BQYAAA',
                    'https://web.push.apple.com/QGuQyavXutnMH',
                    'http://fcm.googleapis.com/fcm/send/x',
                    'https://evil.example.com/push',
                    'https://fcm.googleapis.com.evil.example.com/push',
                    'https://notify.windows.com/w/',
                    'https://10.0.0.1/push',
                    'https://127.0.0.1/push',
                    'https://user@fcm.googleapis.com/fcm/send/x']) AS u;
SET wib.push_allowed_hosts = 'push.example.net, *.example.org';
SELECT u AS endpoint, coalesce(wib.push_endpoint_check(u), 'allowed') AS verdict
  FROM unnest(ARRAY['https://push.example.net/x', 'https://a.b.example.org/x', 'https://example.org/x',
                    'https://fcm.googleapis.com/fcm/send/x']) AS u;
RESET wib.push_allowed_hosts;
SELECT pg_temp.err($$SET wib.push_allowed_hosts = 'good.example.com, bad host!'$$) AS bad_setting;
SELECT pg_temp.err($$SET wib.qr_auth_ttl = '121s'$$) AS qr_ttl_over_120s;

-- Encoding helpers.
SELECT wib.base64url_encode('\xfbff'::bytea) AS b64url, wib.base64url_decode('-_8') AS decoded,
       wib.base64url_decode('+/8=') IS NULL AS standard_alphabet_refused, length(wib.strong_random(32)) AS random_bytes;
SELECT pg_temp.err($$SELECT wib.strong_random(0)$$) AS zero_random_bytes;
