-- Web Push and VAPID in C (src/push/): the checks a subscription gets, the
-- VAPID key pair sealed by the vault, and the encryption, decryption and
-- token functions the regression suite reproduces RFC 8291 and RFC 8292
-- with.  All internal: closed to PUBLIC and granted to no role.

CREATE OR REPLACE FUNCTION wib.base64url_encode(data bytea) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_base64url_encode';
COMMENT ON FUNCTION wib.base64url_encode(bytea) IS
    'Internal: unpadded base64url (RFC 4648 section 5), the spelling of Web Push keys and VAPID tokens.';

CREATE OR REPLACE FUNCTION wib.base64url_decode(data text) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_base64url_decode';
COMMENT ON FUNCTION wib.base64url_decode(text) IS
    'Internal: the bytes of base64url text (padding optional), NULL when it is not base64url.';

CREATE OR REPLACE FUNCTION wib.strong_random(n integer) RETURNS bytea
    LANGUAGE c VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_strong_random';
COMMENT ON FUNCTION wib.strong_random(integer) IS
    'Internal: n (1 to 1024) bytes from pg_strong_random, the operating system''s cryptographic generator.';

CREATE OR REPLACE FUNCTION wib.webpush_point_valid(key bytea) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_webpush_point_valid';
COMMENT ON FUNCTION wib.webpush_point_valid(bytea) IS
    'Internal: true for a 65-byte uncompressed point on P-256, what a browser''s p256dh key must be.';

CREATE OR REPLACE FUNCTION wib.webpush_encrypt(ua_public bytea, auth_secret bytea, plaintext bytea,
                                               as_private bytea DEFAULT NULL, salt bytea DEFAULT NULL,
                                               pad integer DEFAULT 0) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_webpush_encrypt';
COMMENT ON FUNCTION wib.webpush_encrypt(bytea, bytea, bytea, bytea, bytea, integer) IS
    'Internal: the RFC 8291 aes128gcm message of plaintext for a subscription (ua_public, auth_secret), padded with pad zero bytes; a fresh key and salt unless as_private and salt are given (tests reproduce the RFC''s vector with them).';

CREATE OR REPLACE FUNCTION wib.webpush_encrypt_trace(ua_public bytea, auth_secret bytea, plaintext bytea,
                                                     as_private bytea, salt bytea,
                                                     OUT ecdh_secret bytea, OUT prk_key bytea, OUT ikm bytea,
                                                     OUT prk bytea, OUT cek bytea, OUT nonce bytea,
                                                     OUT as_public bytea, OUT message bytea)
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_webpush_encrypt_trace';
COMMENT ON FUNCTION wib.webpush_encrypt_trace(bytea, bytea, bytea, bytea, bytea) IS
    'Internal (tests): wib.webpush_encrypt with every intermediate RFC 8291 appendix A lists: the ECDH secret, PRK_key, IKM, PRK, CEK, NONCE, the application server''s public key and the message.';

CREATE OR REPLACE FUNCTION wib.webpush_decrypt(ua_private bytea, ua_public bytea, auth_secret bytea, message bytea)
    RETURNS bytea
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_webpush_decrypt';
COMMENT ON FUNCTION wib.webpush_decrypt(bytea, bytea, bytea, bytea) IS
    'Internal (tests): the browser''s side, the plaintext of a push message for the subscription''s private key; 22023 with the reason a browser would refuse it.';

CREATE OR REPLACE FUNCTION wib.vapid_generate_key(row_id text, OUT public_key bytea, OUT private_key bytea)
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_vapid_generate_key';
COMMENT ON FUNCTION wib.vapid_generate_key(text) IS
    'Internal: a fresh P-256 VAPID key pair: the public point, and the private key sealed by the vault for no organization, context vapid_keys.private_key and row_id (it never appears unsealed in SQL).';

CREATE OR REPLACE FUNCTION wib.vapid_jwt_sign(private_key bytea, aud text, exp bigint, sub text) RETURNS text
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vapid_jwt_sign';
COMMENT ON FUNCTION wib.vapid_jwt_sign(bytea, text, bigint, text) IS
    'Internal (tests): an ES256 VAPID token (RFC 8292) for a push service''s origin aud, expiring at exp (Unix seconds), naming the contact sub.';

CREATE OR REPLACE FUNCTION wib.vapid_jwt_verify(public_key bytea, jwt text) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vapid_jwt_verify';
COMMENT ON FUNCTION wib.vapid_jwt_verify(bytea, text) IS
    'Internal (tests): true when the token is a compact ES256 JWT whose raw r||s signature verifies under the P-256 public key.';

CREATE OR REPLACE FUNCTION wib.vapid_jwt_claims(jwt text) RETURNS jsonb
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vapid_jwt_claims';
COMMENT ON FUNCTION wib.vapid_jwt_claims(text) IS
    'Internal (tests): aud, sub and exp of a VAPID token, its signature not checked; 22023 when malformed.';

CREATE OR REPLACE FUNCTION wib.push_endpoint_check(endpoint text) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_push_endpoint_check';
COMMENT ON FUNCTION wib.push_endpoint_check(text) IS
    'Internal: NULL when a push subscription may name the endpoint (the SSRF guard allows it and its host is one of wib.push_allowed_hosts), else the reason.';
