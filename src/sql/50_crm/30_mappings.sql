-- Field mappings: which CRM property fills each cached contact field, and
-- which call field fills each property of the call logged in the CRM, with a
-- transform from a documented set.  An organization's rows for an entity
-- replace the CRM's defaults for that entity.

-- The fields a mapping may name: contact fields are filled from the CRM,
-- call fields are sent to it.  kind decides which transforms apply.
CREATE OR REPLACE FUNCTION wib.crm_mapping_fields()
    RETURNS TABLE (wib_entity text, wib_field text, kind text, description text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    VALUES ('contact', 'phone_number',     'phone',   'The contact''s phone number (looked up in E.164).'),
           ('contact', 'mobile_number',    'phone',   'The contact''s mobile number (looked up in E.164).'),
           ('contact', 'email',            'text',    'The contact''s email address.'),
           ('contact', 'first_name',       'text',    'Given name (display_name is built from it when not mapped).'),
           ('contact', 'last_name',        'text',    'Family name.'),
           ('contact', 'display_name',     'text',    'The name shown in the caller popover.'),
           ('contact', 'company_name',     'text',    'The contact''s company.'),
           ('call',    'call_id',          'text',    'wib''s id of the call.'),
           ('call',    'title',            'text',    'A title such as "Inbound call with Ada Lovelace (agent Grace)".'),
           ('call',    'direction',        'text',    'inbound or outbound.'),
           ('call',    'status',           'text',    'The call''s status (completed, ...).'),
           ('call',    'disposition',      'text',    'The call''s disposition.'),
           ('call',    'from_number',      'phone',   'The calling number.'),
           ('call',    'to_number',        'phone',   'The called number.'),
           ('call',    'started_at',       'time',    'When the call started.'),
           ('call',    'ended_at',         'time',    'When the call ended.'),
           ('call',    'duration_seconds', 'seconds', 'The call''s duration in seconds.'),
           ('call',    'agent_id',         'text',    'The agent''s user id.'),
           ('call',    'agent_name',       'text',    'The agent''s name.'),
           ('call',    'recording_url',    'text',    'The recording''s URL, when ready.'),
           ('call',    'summary',          'text',    'The AI summary of the call.'),
           ('call',    'sentiment',        'text',    'The overall sentiment (positive, negative, neutral, mixed).'),
           ('call',    'outcome',          'text',    'The latest recorded outcome (sale, callback, ...).'),
           ('call',    'notes',            'text',    'The notes of the latest outcome.')
$$;
COMMENT ON FUNCTION wib.crm_mapping_fields() IS
    'The wib fields a CRM field mapping may name: contact fields are filled from the CRM, call fields are sent to it; kind (text, phone, time, seconds) decides the transforms that apply.';

CREATE OR REPLACE FUNCTION wib.crm_transforms()
    RETURNS TABLE (transform text, kind text, description text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    VALUES ('seconds_to_minutes', 'seconds', 'Seconds as minutes, to two decimals (250 -> 4.17).'),
           ('seconds_to_ms',      'seconds', 'Seconds as milliseconds (250 -> 250000).'),
           ('uppercase',          'text',    'Upper case (inbound -> INBOUND).'),
           ('lowercase',          'text',    'Lower case.'),
           ('e164',               'phone',   'A phone number in E.164, read in the organization''s default country ((555) 123-4567 -> +15551234567).'),
           ('iso8601',            'time',    'A time as ISO 8601 UTC with milliseconds (2026-11-29T10:15:00.000Z).'),
           ('epoch_ms',           'time',    'A time as Unix milliseconds (1764411300000).')
$$;
COMMENT ON FUNCTION wib.crm_transforms() IS
    'The transforms a CRM field mapping may apply, and the kind of field each applies to (text transforms apply to phone fields too).';

-- Applies a transform to a value; NULL when the value does not fit it.
CREATE OR REPLACE FUNCTION wib.crm_transform(value text, transform text, country text DEFAULT 'US') RETURNS text
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF value IS NULL OR transform IS NULL THEN
        RETURN value;
    END IF;
    CASE transform
        WHEN 'uppercase' THEN RETURN upper(value);
        WHEN 'lowercase' THEN RETURN lower(value);
        WHEN 'e164' THEN RETURN wib.phone_e164(value, coalesce(country, 'US'));
        WHEN 'seconds_to_ms' THEN
            RETURN CASE WHEN value ~ '^\s*[0-9]{1,12}(\.[0-9]+)?\s*$'
                        THEN round(value::numeric * 1000)::bigint::text END;
        WHEN 'seconds_to_minutes' THEN
            RETURN CASE WHEN value ~ '^\s*[0-9]{1,12}(\.[0-9]+)?\s*$'
                        THEN trim_scale(round(value::numeric / 60, 2))::text END;
        WHEN 'iso8601', 'epoch_ms' THEN
            DECLARE
                t timestamptz;
            BEGIN
                t := value::timestamptz;
                IF transform = 'iso8601' THEN
                    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
                END IF;
                RETURN floor(extract(epoch FROM t) * 1000)::bigint::text;
            EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_parameter_value THEN
                RETURN NULL;
            END;
        ELSE
            PERFORM wib.invalid_field('transform', 'transform must be one of wib.crm_transforms().');
    END CASE;
END
$$;
COMMENT ON FUNCTION wib.crm_transform(text, text, text) IS
    'Applies a mapping transform (see wib.crm_transforms()) to a value; NULL for NULL or for a value the transform cannot read; e164 reads national numbers in country.';

-- The CRM's default mappings, from its adapter (wib.crm_<crm>_default_mappings()).
CREATE OR REPLACE FUNCTION wib.crm_default_mappings(crm_type text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    result jsonb;
BEGIN
    PERFORM wib.crm_check_type(crm_type);
    EXECUTE format('SELECT wib.%I()', 'crm_' || crm_type || '_default_mappings') INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION wib.crm_default_mappings(text) IS
    'Internal: the default field mappings of a CRM (its adapter''s wib.crm_<crm>_default_mappings()).';

-- The mappings in effect for org: its own rows for an entity, else the defaults for that entity.
-- (PL/pgSQL: Citus cannot plan statements with parameters in SQL-language
-- functions.)
CREATE OR REPLACE FUNCTION wib.crm_mappings_effective(org uuid, crm_type text)
    RETURNS TABLE (wib_entity text, wib_field text, crm_object text, crm_field text, transform text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    own text[];
BEGIN
    own := ARRAY(SELECT DISTINCT m.wib_entity FROM wib.crm_field_mappings m
                  WHERE m.organization_id = crm_mappings_effective.org AND m.crm_type = crm_mappings_effective.crm_type);
    RETURN QUERY
    SELECT m.wib_entity, m.wib_field, m.crm_object, m.crm_field, m.transform
      FROM wib.crm_field_mappings m
     WHERE m.organization_id = crm_mappings_effective.org AND m.crm_type = crm_mappings_effective.crm_type;
    RETURN QUERY
    SELECT d ->> 'wib_entity', d ->> 'wib_field', d ->> 'crm_object', d ->> 'crm_field', d ->> 'transform'
      FROM jsonb_array_elements(wib.crm_default_mappings(crm_mappings_effective.crm_type)) d
     WHERE NOT ((d ->> 'wib_entity') = ANY (own));
END
$$;
COMMENT ON FUNCTION wib.crm_mappings_effective(uuid, text) IS
    'Internal: the mappings in effect for an organization and CRM: its own rows for an entity, the CRM''s defaults for an entity it has none for.';

-- The mappings as the API shows them: a JSON array ordered by entity and field.
CREATE OR REPLACE FUNCTION wib.crm_mappings_json(org uuid, crm_type text) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    SELECT coalesce(jsonb_agg(jsonb_build_object('wib_entity', e.wib_entity, 'wib_field', e.wib_field,
                                                 'crm_object', e.crm_object, 'crm_field', e.crm_field,
                                                 'transform', e.transform)
                              ORDER BY e.wib_entity DESC, e.wib_field, e.crm_field), '[]'::jsonb)
      FROM wib.crm_mappings_effective(crm_mappings_json.org, crm_mappings_json.crm_type) e;
END;
COMMENT ON FUNCTION wib.crm_mappings_json(uuid, text) IS 'Internal: the mappings in effect, as the API returns them.';

CREATE OR REPLACE FUNCTION wib.crm_mappings(crm_type text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    PERFORM wib.crm_check_type(crm_type);
    RETURN wib.crm_mappings_json(wib.require_org(), crm_type);
END
$$;
COMMENT ON FUNCTION wib.crm_mappings(text) IS
    'The field mappings in effect for a CRM in the organization in context: a JSON array of {"wib_entity", "wib_field", "crm_object", "crm_field", "transform"} (the organization''s own, or the CRM''s defaults for an entity it has not mapped).';

-- Checks a mappings document field by field; returns its rows.
CREATE OR REPLACE FUNCTION wib.crm_mappings_check(crm_type text, mappings jsonb)
    RETURNS TABLE (wib_entity text, wib_field text, crm_object text, crm_field text, transform text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    m       jsonb;
    n       integer := 0;
    kind    text;
    tkind   text;
    objects jsonb := wib.crm_default_mappings(crm_type);
    want    text;
    seen    text[] := '{}';
    key     text;
BEGIN
    IF mappings IS NULL OR jsonb_typeof(mappings) <> 'array' THEN
        PERFORM wib.invalid_field('mappings', 'mappings must be a JSON array of {"wib_entity", "wib_field", "crm_object", "crm_field", "transform"} objects.');
    END IF;
    IF jsonb_array_length(mappings) > 100 THEN
        PERFORM wib.invalid_field('mappings', 'mappings must have at most 100 entries.');
    END IF;
    FOR m IN SELECT e FROM jsonb_array_elements(mappings) e LOOP
        n := n + 1;
        PERFORM wib.check_fields(m, ARRAY['wib_entity', 'wib_field', 'crm_object', 'crm_field', 'transform'],
                                 format('mappings[%s]', n));
        wib_entity := wib.field_enum(m, 'wib_entity', ARRAY['contact', 'call']);
        IF wib_entity IS NULL THEN
            PERFORM wib.invalid_field('wib_entity', format('mappings[%s].wib_entity must be contact or call.', n));
        END IF;
        wib_field := wib.field_text(m, 'wib_field', 100);
        SELECT f.kind INTO kind FROM wib.crm_mapping_fields() f
         WHERE f.wib_entity = crm_mappings_check.wib_entity AND f.wib_field = crm_mappings_check.wib_field;
        IF kind IS NULL THEN
            PERFORM wib.invalid_field('wib_field',
                format('mappings[%s].wib_field "%s" is not a %s field; see wib.crm_mapping_fields().', n,
                       coalesce(wib_field, 'null'), wib_entity));
        END IF;
        -- The CRM object of an entity is the one its default mappings use.
        SELECT d ->> 'crm_object' INTO want FROM jsonb_array_elements(objects) d
         WHERE d ->> 'wib_entity' = crm_mappings_check.wib_entity LIMIT 1;
        crm_object := coalesce(wib.field_text(m, 'crm_object', 100), want);
        IF crm_object IS DISTINCT FROM want THEN
            PERFORM wib.invalid_field('crm_object',
                format('mappings[%s].crm_object must be "%s" for %s fields of %s.', n, want, wib_entity, crm_type));
        END IF;
        crm_field := wib.field_text(m, 'crm_field', 100);
        -- A property name; one relationship hop (Salesforce's Account.Name) is allowed.
        IF crm_field IS NULL OR crm_field !~ '^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$' THEN
            PERFORM wib.invalid_field('crm_field',
                format('mappings[%s].crm_field must be a CRM property name (a letter, then letters, digits or _; Salesforce also takes one relationship, such as Account.Name).', n));
        END IF;
        transform := wib.field_text(m, 'transform', 50);
        IF transform IS NOT NULL THEN
            SELECT t.kind INTO tkind FROM wib.crm_transforms() t WHERE t.transform = crm_mappings_check.transform;
            IF tkind IS NULL THEN
                PERFORM wib.invalid_field('transform',
                    format('mappings[%s].transform must be one of wib.crm_transforms() or null.', n));
            END IF;
            IF NOT (tkind = kind OR (tkind = 'text' AND kind = 'phone')) THEN
                PERFORM wib.invalid_field('transform',
                    format('mappings[%s].transform %s applies to %s fields; %s is a %s field.', n, transform, tkind,
                           wib_field, kind));
            END IF;
        END IF;
        -- A contact field is filled from one CRM property; a CRM property is filled from one call field.
        key := CASE wib_entity WHEN 'contact' THEN 'contact:' || wib_field ELSE 'call:' || crm_field END;
        IF key = ANY (seen) THEN
            PERFORM wib.invalid_field(CASE wib_entity WHEN 'contact' THEN 'wib_field' ELSE 'crm_field' END,
                format('mappings[%s] maps %s a second time.', n,
                       CASE wib_entity WHEN 'contact' THEN 'contact field ' || wib_field ELSE 'CRM property ' || crm_field END));
        END IF;
        seen := seen || key;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.crm_mappings_check(text, jsonb) IS
    'Internal: validates a mappings document field by field (22023 naming the field and the entry), returns its rows.';

CREATE OR REPLACE FUNCTION wib.crm_mappings_set(crm_type text, mappings jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org      uuid := wib.require_org();
    feature  text;
    old_json jsonb;
    new_json jsonb;
BEGIN
    PERFORM wib.crm_check_type(crm_type);
    SELECT a.feature INTO feature FROM wib.crm_adapters() a WHERE a.crm_type = crm_mappings_set.crm_type;
    PERFORM wib.require_feature(feature);
    old_json := wib.crm_mappings_json(org, crm_type);
    -- A bad entry raises inside the INSERT: the DELETE goes with it, nothing is half-written.
    DELETE FROM wib.crm_field_mappings m WHERE m.organization_id = org AND m.crm_type = crm_mappings_set.crm_type;
    INSERT INTO wib.crm_field_mappings (organization_id, crm_type, wib_entity, wib_field, crm_object, crm_field, transform)
    SELECT org, crm_mappings_set.crm_type, n.wib_entity, n.wib_field, n.crm_object, n.crm_field, n.transform
      FROM wib.crm_mappings_check(crm_type, mappings) n;
    new_json := wib.crm_mappings_json(org, crm_type);
    -- Contacts read with other mappings are read again, whole, at the next sync.
    IF (SELECT jsonb_agg(e ORDER BY e::text) FROM jsonb_array_elements(old_json) e WHERE e ->> 'wib_entity' = 'contact')
       IS DISTINCT FROM
       (SELECT jsonb_agg(e ORDER BY e::text) FROM jsonb_array_elements(new_json) e WHERE e ->> 'wib_entity' = 'contact') THEN
        UPDATE wib.crm_integrations i
           SET sync_cursor = i.sync_cursor - 'mode' - 'high',
               next_sync_at = CASE WHEN i.status = 'connected' THEN wib.clock_now() ELSE i.next_sync_at END
         WHERE i.organization_id = org AND i.crm_type = crm_mappings_set.crm_type AND i.current_sync_id IS NULL;
    END IF;
    PERFORM wib.audit('crm:mapping_updated', 'crm_mappings', crm_type, old_json, new_json);
    RETURN new_json;
END
$$;
COMMENT ON FUNCTION wib.crm_mappings_set(text, jsonb) IS
    'Replaces the organization''s field mappings of a CRM (plan-gated): a JSON array of {"wib_entity": "contact"|"call", "wib_field", "crm_object", "crm_field", "transform"}, validated field by field (known fields, one of wib.crm_transforms() fitting the field); an entity left out keeps the CRM''s defaults ([] restores them all); changed contact mappings make the next sync read every contact again. Returns the mappings in effect; audited crm:mapping_updated.';
