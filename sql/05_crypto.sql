-- Vault and signed tokens: round trips, refusals with their SQLSTATEs, purpose
-- separation, and the key settings' privacy.  Runs as a superuser after
-- CREATE EXTENSION wib; the output is the same under
-- any key ring (generated, wib.key_file or wib.keys; one key or several).
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

CREATE TEMP TABLE sealed AS
SELECT wib.vault_seal('whsec_c2VjcmV0', 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') AS c1,
       wib.vault_seal('whsec_c2VjcmV0', 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') AS c2,
       wib.vault_seal('', NULL, 'platform.empty', '') AS c_empty,
       wib.vault_seal(repeat('long secret ', 20000), 'a0000000-0000-4000-8000-000000000001', 'exports.s3_secret', 'r9') AS c_long,
       wib.vault_seal('ünïcødé ✓', 'a0000000-0000-4000-8000-000000000001', 'crm_connections.token', 'c1') AS c_utf8,
       wib.vault_seal_bytes(decode('00ff' || repeat('ab', 30), 'hex'), 'a0000000-0000-4000-8000-000000000001', 'push_keys.private_key', 'k1') AS c_bytes;

-- Layout: version 1, the current key id, 33 bytes of overhead, a fresh nonce each time.
SELECT get_byte(c1, 0) AS version,
       wib.vault_key_id(c1) = wib.vault_current_key_id() AS sealed_under_current_key,
       length(c1) - length('whsec_c2VjcmV0') AS overhead,
       length(c_empty) AS empty_envelope_length,
       c1 <> c2 AS two_seals_differ,
       substring(c1 from 6 for 12) <> substring(c2 from 6 for 12) AS nonces_differ,
       wib.vault_needs_rotation(c1) AS needs_rotation
FROM sealed;

-- Round trips.
SELECT wib.vault_open(c1, 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') AS c1,
       wib.vault_open(c2, 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') AS c2,
       wib.vault_open(c_empty, NULL, 'platform.empty', '') = '' AS empty_round_trip,
       wib.vault_open(c_long, 'a0000000-0000-4000-8000-000000000001', 'exports.s3_secret', 'r9') = repeat('long secret ', 20000) AS long_round_trip,
       wib.vault_open(c_utf8, 'a0000000-0000-4000-8000-000000000001', 'crm_connections.token', 'c1') AS utf8,
       encode(wib.vault_open_bytes(c_bytes, 'a0000000-0000-4000-8000-000000000001', 'push_keys.private_key', 'k1'), 'hex') = '00ff' || repeat('ab', 30) AS bytes_round_trip
FROM sealed;

-- NULL in, NULL out; context and row_id are required.
SELECT wib.vault_seal(NULL, NULL, 'x.y', '1') IS NULL AS seal_null,
       wib.vault_open(NULL, NULL, 'x.y', '1') IS NULL AS open_null,
       wib.vault_seal_bytes(NULL, NULL, 'x.y', '1') IS NULL AS seal_bytes_null,
       wib.vault_open_bytes(NULL, NULL, 'x.y', '1') IS NULL AS open_bytes_null,
       wib.vault_key_id(NULL) IS NULL AS key_id_null;
SELECT pg_temp.err($$SELECT wib.vault_seal('s', NULL, NULL, '1')$$);
SELECT pg_temp.err($$SELECT wib.vault_seal('s', NULL, '', '1')$$);
SELECT pg_temp.err($$SELECT wib.vault_seal('s', NULL, repeat('c', 1025), '1')$$);
SELECT pg_temp.err($$SELECT wib.vault_seal('s', NULL, 'x.y', NULL)$$);
SELECT pg_temp.err($$SELECT wib.vault_open(c1, 'a0000000-0000-4000-8000-000000000001', NULL, 'r1') FROM sealed$$);

-- Another owner: organization, row, context, or none at all.
SELECT pg_temp.err($$SELECT wib.vault_open(c1, 'b0000000-0000-4000-8000-000000000002', 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(c1, 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r2') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(c1, 'a0000000-0000-4000-8000-000000000001', 'crm_connections.token', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(c1, NULL, 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(c_empty, 'a0000000-0000-4000-8000-000000000001', 'platform.empty', '') FROM sealed$$);

-- Tampering: a flipped bit in the nonce, the ciphertext and the tag; truncation; an appended byte.
SELECT pg_temp.err($$SELECT wib.vault_open(set_byte(c1, 6, get_byte(c1, 6) # 1), 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(set_byte(c1, 20, get_byte(c1, 20) # 128), 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(set_byte(c1, length(c1) - 1, get_byte(c1, length(c1) - 1) # 2), 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(substring(c1 from 1 for 32), 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(substring(c1 from 1 for length(c1) - 1), 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(c1 || '\x00'::bytea, 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open(set_byte(c1, 0, 2), 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_open('\x'::bytea, NULL, 'webhook_subscriptions.secret', 'r1')$$);
-- A key id the ring does not hold (the detail lists the ring's ids, so it is left out here).
SELECT pg_temp.err($$SELECT wib.vault_open(overlay(c1 placing '\x7ffffff0'::bytea from 2), 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') FROM sealed$$, false);
SELECT wib.vault_key_id(overlay(c1 placing '\x7ffffff0'::bytea from 2)) AS relabelled_key_id,
       wib.vault_needs_rotation(overlay(c1 placing '\x7ffffff0'::bytea from 2)) AS relabelled_needs_rotation
FROM sealed;
SELECT pg_temp.err($$SELECT wib.vault_key_id('\x0100000001'::bytea)$$);
SELECT pg_temp.err($$SELECT wib.vault_key_id(overlay(c1 placing '\xfffffff0'::bytea from 2)) FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_needs_rotation('\x02'::bytea)$$);

-- A binary secret is not opened as text; text opens as bytes.
SELECT pg_temp.err($$SELECT wib.vault_open(c_bytes, 'a0000000-0000-4000-8000-000000000001', 'push_keys.private_key', 'k1') FROM sealed$$);
SELECT convert_from(wib.vault_open_bytes(c_utf8, 'a0000000-0000-4000-8000-000000000001', 'crm_connections.token', 'c1'), 'UTF8') AS text_as_bytes
FROM sealed;

-- Tokens.
CREATE TEMP TABLE tokens AS
SELECT wib.token_sign('export-download', '{"job":"6f1c"}', now() + interval '1 hour') AS t,
       wib.token_sign('export-download', '{"job":"6f1c"}', now() - interval '1 second') AS t_expired,
       wib.token_sign('qr-login', '', now() + interval '2 minutes') AS t_empty,
       floor(extract(epoch FROM now() + interval '1 hour'))::bigint AS t_expiry;  -- the same statement's now()
SELECT t ~ '^v2\.[0-9]+\.[0-9]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{43}$' AS token_shape,
       split_part(t, '.', 2)::integer = wib.vault_current_key_id() AS signed_with_current_key,
       split_part(t, '.', 3)::bigint = t_expiry AS expiry_in_seconds,
       wib.token_verify('export-download', t) AS payload,
       wib.token_verify('qr-login', t_empty) = '' AS empty_payload
FROM tokens;
SELECT pg_temp.err($$SELECT wib.token_verify('qr-login', t) FROM tokens$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download2', t) FROM tokens$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download', t_expired) FROM tokens$$);
SELECT pg_temp.err($$SELECT wib.token_verify('qr-login', t_expired) FROM tokens$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download', concat_ws('.', 'v2', split_part(t, '.', 2), split_part(t, '.', 3), 'eyJqb2IiOiI2ZjFkIn0', split_part(t, '.', 5))) FROM tokens$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download', concat_ws('.', 'v2', split_part(t, '.', 2), (split_part(t, '.', 3)::bigint + 60)::text, split_part(t, '.', 4), split_part(t, '.', 5))) FROM tokens$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download', regexp_replace(t, '^v2\.[0-9]+', 'v2.2147483000')) FROM tokens$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download', t || 'A') FROM tokens$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download', t || '.x') FROM tokens$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download', '')$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download', 'v1.1.1.a.b')$$);
SELECT pg_temp.err($$SELECT wib.token_verify('export-download', repeat('A', 100000))$$);
SELECT pg_temp.err($$SELECT wib.token_verify('', 'v2.1.1..x')$$);
SELECT pg_temp.err($$SELECT wib.token_sign('', 'p', now())$$);
SELECT pg_temp.err($$SELECT wib.token_sign(repeat('p', 256), 'p', now())$$);
SELECT pg_temp.err($$SELECT wib.token_sign('export-download', repeat('p', 4097), now())$$);
SELECT pg_temp.err($$SELECT wib.token_sign('export-download', 'p', 'infinity')$$);
SELECT pg_temp.err($$SELECT wib.token_sign('export-download', 'p', '1969-12-31 23:59:59+00')$$);
SELECT wib.token_sign(NULL, 'p', now()) IS NULL AS sign_null,
       wib.token_verify('export-download', NULL) IS NULL AS verify_null;

-- The key settings: not settable in a session, validated without echoing keys, hidden from applications.
SELECT pg_temp.err($$SET wib.keys = '1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='$$);
SELECT pg_temp.err($$SET wib.key_file = '/tmp/k'$$);
ALTER SYSTEM SET wib.keys = '1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==';
ALTER SYSTEM SET wib.keys = '1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
ALTER SYSTEM SET wib.keys = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
ALTER SYSTEM SET wib.key_file = 'relative/wib_keys';
SELECT name FROM pg_settings WHERE name LIKE 'wib.key%' ORDER BY name;
CREATE ROLE crypto_regress_app IN ROLE wib_app;	-- an application: wib's schema, none of these functions
GRANT SELECT ON sealed TO crypto_regress_app;
SET ROLE crypto_regress_app;
SELECT pg_temp.err($$SHOW wib.keys$$);
SELECT pg_temp.err($$SHOW wib.key_file$$);
SELECT pg_temp.err($$SELECT current_setting('wib.keys')$$);
SELECT count(*) AS visible_key_settings FROM pg_settings WHERE name LIKE 'wib.key%';
SELECT pg_temp.err($$SELECT wib.vault_open(c1, 'a0000000-0000-4000-8000-000000000001', 'webhook_subscriptions.secret', 'r1') FROM sealed$$);
SELECT pg_temp.err($$SELECT wib.vault_seal('x', NULL, 'x.y', '1')$$);
SELECT pg_temp.err($$SELECT wib.token_sign('export-download', 'p', now())$$);
SELECT pg_temp.err($$SELECT wib.vault_current_key_id()$$);
RESET ROLE;
DROP OWNED BY crypto_regress_app;
DROP ROLE crypto_regress_app;
