-- Secrets and signed tokens (src/crypto/): the vault seals secrets with
-- AES-256-GCM bound to their owner, tokens are HMAC-signed for one purpose.
-- Keys come from wib.keys, wib.key_file or the generated data-directory
-- file (see docs/security.md).  Every function here is internal:
-- closed to PUBLIC and granted to no application role; the features'
-- SECURITY DEFINER functions call them and never hand plaintext back to
-- wib_app.

CREATE OR REPLACE FUNCTION wib.vault_seal(plaintext text, organization_id uuid, context text, row_id text)
    RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vault_seal';
COMMENT ON FUNCTION wib.vault_seal(text, uuid, text, text) IS
    'Internal: seals plaintext under the current key with a fresh nonce, bound to organization_id (NULL for platform secrets), context (table.column) and row_id; NULL for NULL.';

CREATE OR REPLACE FUNCTION wib.vault_seal_bytes(plaintext bytea, organization_id uuid, context text, row_id text)
    RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vault_seal_bytes';
COMMENT ON FUNCTION wib.vault_seal_bytes(bytea, uuid, text, text) IS
    'Internal: wib.vault_seal for binary secrets such as private keys.';

CREATE OR REPLACE FUNCTION wib.vault_open(ciphertext bytea, organization_id uuid, context text, row_id text)
    RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vault_open';
COMMENT ON FUNCTION wib.vault_open(bytea, uuid, text, text) IS
    'Internal: the text sealed for exactly this organization, context and row, under whichever key of the ring sealed it; WB009 when altered or opened for another owner; NULL for NULL.';

CREATE OR REPLACE FUNCTION wib.vault_open_bytes(ciphertext bytea, organization_id uuid, context text, row_id text)
    RETURNS bytea
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vault_open_bytes';
COMMENT ON FUNCTION wib.vault_open_bytes(bytea, uuid, text, text) IS
    'Internal: wib.vault_open for binary secrets.';

CREATE OR REPLACE FUNCTION wib.vault_key_id(ciphertext bytea) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vault_key_id';
COMMENT ON FUNCTION wib.vault_key_id(bytea) IS
    'Internal: the id of the key a sealed value names (authenticated only when it opens).';

CREATE OR REPLACE FUNCTION wib.vault_current_key_id() RETURNS integer
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vault_current_key_id';
COMMENT ON FUNCTION wib.vault_current_key_id() IS
    'Internal: the id of the key new values are sealed and tokens signed under (the highest of the ring).';

CREATE OR REPLACE FUNCTION wib.vault_needs_rotation(ciphertext bytea) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_vault_needs_rotation';
COMMENT ON FUNCTION wib.vault_needs_rotation(bytea) IS
    'Internal: true when a value was sealed under a key other than the current one and should be re-sealed.';

CREATE OR REPLACE FUNCTION wib.token_sign(purpose text, payload text, expires_at timestamptz) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_token_sign';
COMMENT ON FUNCTION wib.token_sign(text, text, timestamptz) IS
    'Internal: a token carrying payload (signed, not encrypted) that verifies only for purpose and only before expires_at (whole seconds).';

CREATE OR REPLACE FUNCTION wib.token_verify(purpose text, token text) RETURNS text
    LANGUAGE c VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_token_verify';
COMMENT ON FUNCTION wib.token_verify(text, text) IS
    'Internal: the payload of a genuine token minted for purpose; WB010 when malformed, altered or minted for another purpose, WB011 when expired.';

