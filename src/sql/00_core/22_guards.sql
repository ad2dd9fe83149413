-- Guards the API uses: rate limits (shared memory, in C) and idempotency keys.

CREATE OR REPLACE FUNCTION wib.rate_limit(key text, max_hits integer, per interval) RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_rate_limit';
COMMENT ON FUNCTION wib.rate_limit(text, integer, interval) IS
    'Counts one hit for key in the key space of the organization in context and returns true while at most max_hits hits fall in the current window of length per (windows aligned to the epoch, shared by all sessions); WB005 without an organization.';

CREATE OR REPLACE FUNCTION wib.rate_limit_check(key text, max_hits integer, per interval) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_rate_limit_check';
COMMENT ON FUNCTION wib.rate_limit_check(text, integer, interval) IS
    'Like wib.rate_limit, but raises WB003 (with the seconds to wait) instead of returning false.';

-- wib's own limits live in a key space of their own, which no application call reaches.
CREATE OR REPLACE FUNCTION wib.rate_limit_internal(org uuid, key text, max_hits integer, per interval,
                                                   raise boolean DEFAULT true) RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_rate_limit_internal';
COMMENT ON FUNCTION wib.rate_limit_internal(uuid, text, integer, interval, boolean) IS
    'Internal: counts one hit for one of wib''s own keys (of org, or of no organization when NULL), in a key space apart from applications''; raises WB003 when refused and raise, else returns false.';

-- Starts an idempotent request.  NULL: first time, go ahead (then call
-- idempotency_finish in the same transaction).  Otherwise the first answer to
-- replay.  A concurrent request with the same key waits for the first to end.
CREATE OR REPLACE FUNCTION wib.idempotency_begin(key text, request jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org    uuid := wib.require_org();
    hash   bytea := sha256(convert_to(coalesce(request, 'null'::jsonb)::text, 'UTF8'));
    stored wib.idempotency_keys;
BEGIN
    PERFORM wib.require_text(key, 'idempotency_key', 255);
    INSERT INTO wib.idempotency_keys AS k (organization_id, key, request_hash)
    VALUES (org, idempotency_begin.key, hash)
    ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO stored FROM wib.idempotency_keys k
     WHERE k.organization_id = org AND k.key = idempotency_begin.key;
    IF stored.request_hash <> hash THEN
        RAISE EXCEPTION USING ERRCODE = 'WB004',
            MESSAGE = format('idempotency key "%s" was already used for a different request', key),
            HINT = 'Use a new idempotency key for a new request.';
    END IF;
    IF stored.response IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB004',
            MESSAGE = format('idempotency key "%s" is in use by a request that has not finished', key);
    END IF;
    RETURN stored.response;
END
$$;
COMMENT ON FUNCTION wib.idempotency_begin(text, jsonb) IS
    'Starts an idempotent request: NULL means proceed, otherwise the stored first answer; raises WB004 when the key was used for another request.';

CREATE OR REPLACE FUNCTION wib.idempotency_finish(key text, response jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    UPDATE wib.idempotency_keys k SET response = coalesce(idempotency_finish.response, 'null'::jsonb)
     WHERE k.organization_id = wib.require_org() AND k.key = idempotency_finish.key AND k.response IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = format('idempotency key "%s" was not started in this transaction', key),
            HINT = 'Call wib.idempotency_begin first.';
    END IF;
    RETURN response;
END
$$;
COMMENT ON FUNCTION wib.idempotency_finish(text, jsonb) IS
    'Stores the answer of an idempotent request started with wib.idempotency_begin, and returns it.';
