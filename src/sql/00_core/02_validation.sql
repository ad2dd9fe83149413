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
