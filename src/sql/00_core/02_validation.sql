-- Input validation: every API function reports a bad field the same way, SQLSTATE 22023
-- with the field named in the message and what was expected in the detail.

CREATE OR REPLACE FUNCTION wib.invalid_field(field text, expected text) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('invalid %s', field),
        DETAIL = expected;
END
$$;
COMMENT ON FUNCTION wib.invalid_field(text, text) IS
    'Internal: raises 22023 naming the field, with what was expected as the detail.';

-- Refuses anything but a JSON object whose keys are all in allowed.
CREATE OR REPLACE FUNCTION wib.check_fields(doc jsonb, allowed text[], what text) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    unknown text;
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        PERFORM wib.invalid_field(what, format('%s must be a JSON object.', what));
    END IF;
    SELECT k INTO unknown FROM jsonb_object_keys(doc) AS k WHERE k <> ALL (allowed) ORDER BY k LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('unknown field "%s" in %s', unknown, what),
            DETAIL = format('Allowed fields: %s.', array_to_string(allowed, ', '));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.check_fields(jsonb, text[], text) IS
    'Internal: raises 22023 unless doc is a JSON object with only the allowed keys.';

-- The text value of doc->key, checked to be a string of at most max_len characters (NULL when absent).
CREATE OR REPLACE FUNCTION wib.field_text(doc jsonb, key text, max_len integer DEFAULT 1000) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v jsonb := doc -> key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM wib.invalid_field(key, format('%s must be a string, not %s.', key, jsonb_typeof(v)));
    END IF;
    IF length(v #>> '{}') > max_len THEN
        PERFORM wib.invalid_field(key, format('%s must be at most %s characters.', key, max_len));
    END IF;
    RETURN v #>> '{}';
END
$$;
COMMENT ON FUNCTION wib.field_text(jsonb, text, integer) IS
    'Internal: doc->>key after checking it is a string of bounded length; NULL when absent.';

-- Refuses a NULL or blank required text argument.
CREATE OR REPLACE FUNCTION wib.require_text(value text, field text, max_len integer DEFAULT 1000) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF value IS NULL OR btrim(value) = '' THEN
        PERFORM wib.invalid_field(field, format('%s must be a non-empty string.', field));
    END IF;
    IF length(value) > max_len THEN
        PERFORM wib.invalid_field(field, format('%s must be at most %s characters.', field, max_len));
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION wib.require_text(text, text, integer) IS
    'Internal: returns value, or raises 22023 naming the field when it is NULL, blank or too long.';

CREATE OR REPLACE FUNCTION wib.plan_rank(plan text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_position(ARRAY['free', 'starter', 'pro', 'business', 'enterprise'], plan);
COMMENT ON FUNCTION wib.plan_rank(text) IS 'Order of the plans, free = 1 to enterprise = 5; NULL for an unknown plan.';

-- Shared value sets: each list lives here once; checks and validators read it.
CREATE OR REPLACE FUNCTION wib.is_e164(number text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN number ~ '^\+[1-9][0-9]{1,14}$';
COMMENT ON FUNCTION wib.is_e164(text) IS 'True for an E.164 number: +, a non-zero digit, then 1 to 14 digits.';

CREATE OR REPLACE FUNCTION wib.user_roles() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['owner', 'admin', 'manager', 'agent', 'viewer'];
COMMENT ON FUNCTION wib.user_roles() IS 'The roles of platform users, highest first.';

CREATE OR REPLACE FUNCTION wib.call_statuses() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['queued', 'ringing', 'in_progress', 'completed', 'failed', 'busy', 'no_answer', 'canceled'];
COMMENT ON FUNCTION wib.call_statuses() IS 'The statuses of a call.';

-- Typed readers of JSON input: each returns doc->key checked, the default when
-- absent or null, and raises 22023 naming the field otherwise.

-- An integer in [lo, hi].
CREATE OR REPLACE FUNCTION wib.field_int(doc jsonb, key text, lo integer, hi integer, dflt integer DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v jsonb := doc -> key;
    n numeric;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN dflt;
    END IF;
    IF jsonb_typeof(v) <> 'number' THEN
        PERFORM wib.invalid_field(key, format('%s must be an integer, not %s.', key, jsonb_typeof(v)));
    END IF;
    n := v::numeric;
    IF n <> trunc(n) OR n < lo OR n > hi THEN
        PERFORM wib.invalid_field(key, format('%s must be an integer between %s and %s.', key, lo, hi));
    END IF;
    RETURN n::integer;
END
$$;
COMMENT ON FUNCTION wib.field_int(jsonb, text, integer, integer, integer) IS
    'Internal: doc->key as an integer within [lo, hi] (22023 naming the field otherwise), dflt when absent.';

-- A string that is one of allowed.
CREATE OR REPLACE FUNCTION wib.field_enum(doc jsonb, key text, allowed text[], dflt text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text := wib.field_text(doc, key, 100);
BEGIN
    IF v IS NULL THEN
        RETURN dflt;
    END IF;
    IF v <> ALL (allowed) THEN
        PERFORM wib.invalid_field(key, format('%s must be one of %s, not "%s".', key, array_to_string(allowed, ', '), v));
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION wib.field_enum(jsonb, text, text[], text) IS
    'Internal: doc->>key when it is one of allowed (22023 naming the field otherwise), dflt when absent.';

-- true or false.
CREATE OR REPLACE FUNCTION wib.field_bool(doc jsonb, key text, dflt boolean DEFAULT NULL) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v jsonb := doc -> key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN dflt;
    END IF;
    IF jsonb_typeof(v) <> 'boolean' THEN
        PERFORM wib.invalid_field(key, format('%s must be true or false, not %s.', key, jsonb_typeof(v)));
    END IF;
    RETURN v::boolean;
END
$$;
COMMENT ON FUNCTION wib.field_bool(jsonb, text, boolean) IS
    'Internal: doc->key as a boolean (22023 naming the field otherwise), dflt when absent.';

-- An ISO 8601 timestamp (read in the session's time zone when it carries no offset).
CREATE OR REPLACE FUNCTION wib.field_time(doc jsonb, key text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v text := wib.field_text(doc, key, 64);
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        RETURN v::timestamptz;
    EXCEPTION WHEN others THEN
        PERFORM wib.invalid_field(key, format('%s must be an ISO 8601 timestamp such as 2026-01-31T00:00:00Z, not "%s".', key, v));
    END;
END
$$;
COMMENT ON FUNCTION wib.field_time(jsonb, text) IS
    'Internal: doc->>key as a timestamp (22023 naming the field when it is not ISO 8601), NULL when absent.';

-- A URL a tenant may make wib call: https, and refused by nothing in the SSRF guard.
CREATE OR REPLACE FUNCTION wib.field_url(doc jsonb, key text, max_len integer DEFAULT 2048) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    v      text := wib.field_text(doc, key, max_len);
    reason text;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    reason := wib.url_check(v);
    IF reason IS NOT NULL THEN
        PERFORM wib.invalid_field(key, format('%s is refused: %s.', key, reason));
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION wib.field_url(jsonb, text, integer) IS
    'Internal: doc->>key when the SSRF guard allows it (https, no private or reserved address however spelt); 22023 naming the field otherwise, NULL when absent.';

-- An E.164 number.
CREATE OR REPLACE FUNCTION wib.field_e164(doc jsonb, key text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text := wib.field_text(doc, key, 20);
BEGIN
    IF v IS NOT NULL AND NOT wib.is_e164(v) THEN
        PERFORM wib.invalid_field(key, format('%s must be an E.164 number such as +15551234567.', key));
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION wib.field_e164(jsonb, text) IS
    'Internal: doc->>key when it is an E.164 number (22023 naming the field otherwise), NULL when absent.';
