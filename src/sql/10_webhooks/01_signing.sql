-- Standard Webhooks signatures (C).

CREATE OR REPLACE FUNCTION wib.sign_webhook(secret text, msg_id text, ts bigint, body text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_sign_webhook';
COMMENT ON FUNCTION wib.sign_webhook(text, text, bigint, text) IS
    'Standard Webhooks signature "v1,<base64 HMAC-SHA256>" of msg_id.ts.body under a whsec_ secret.';

CREATE OR REPLACE FUNCTION wib.verify_webhook(secret text, msg_id text, ts bigint, body text,
                                   signature_header text, tolerance_seconds integer DEFAULT 300) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_verify_webhook';
COMMENT ON FUNCTION wib.verify_webhook(text, text, bigint, text, text, integer) IS
    'True when ts is within tolerance_seconds of now and any "v1," entry of signature_header signs msg_id.ts.body under secret (constant-time compare).';

CREATE OR REPLACE FUNCTION wib.webhook_new_secret() RETURNS text
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_webhook_new_secret';
COMMENT ON FUNCTION wib.webhook_new_secret() IS
    'Internal: a new signing secret, "whsec_" + base64 of 32 random bytes.';
