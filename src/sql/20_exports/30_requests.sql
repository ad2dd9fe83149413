-- What an export may ask for: types, filters, the query built from them, and the plan's limits.

-- Which filters each export type takes.
CREATE OR REPLACE FUNCTION wib.export_allowed_filters(export_type text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE export_type
        WHEN 'calls'      THEN ARRAY['date_from', 'date_to', 'agent_id', 'status', 'direction', 'formula_guard']
        WHEN 'recordings' THEN ARRAY['date_from', 'date_to', 'agent_id', 'status', 'formula_guard']
        WHEN 'analytics'  THEN ARRAY['date_from', 'date_to', 'agent_id', 'sentiment', 'formula_guard']
        WHEN 'contacts'   THEN ARRAY['date_from', 'date_to', 'role', 'formula_guard']
        WHEN 'audit_logs' THEN ARRAY['date_from', 'date_to', 'user_id', 'action', 'resource_type', 'formula_guard']
    END;
COMMENT ON FUNCTION wib.export_allowed_filters(text) IS 'Internal: the filter keys an export type accepts.';

-- Checks export_type, format and filters (22023 naming the bad field or key).
CREATE OR REPLACE FUNCTION wib.export_check_request(export_type text, format text, filters jsonb) RETURNS void
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    date_from timestamptz;
    date_to   timestamptz;
BEGIN
    IF export_type IS NULL OR wib.export_allowed_filters(export_type) IS NULL THEN
        PERFORM wib.invalid_field('export_type',
            format('export_type must be one of calls, recordings, analytics, contacts, audit_logs, not %s.',
                   coalesce('"' || export_type || '"', 'NULL')));
    END IF;
    IF format IS NULL OR format NOT IN ('csv', 'json') THEN
        PERFORM wib.invalid_field('format', format('format must be csv or json, not %s.', coalesce('"' || format || '"', 'NULL')));
    END IF;
    PERFORM wib.check_fields(filters, wib.export_allowed_filters(export_type), 'filters');
    date_from := wib.field_time(filters, 'date_from');
    date_to := wib.field_time(filters, 'date_to');
    IF date_from IS NOT NULL AND date_to IS NOT NULL AND date_to <= date_from THEN
        PERFORM wib.invalid_field('date_to', 'date_to must be after date_from.');
    END IF;
    PERFORM wib.field_text(filters, 'agent_id', 255), wib.field_text(filters, 'user_id', 255),
            wib.field_text(filters, 'action', 100), wib.field_text(filters, 'resource_type', 100);
    PERFORM wib.field_enum(filters, 'status',
        CASE export_type WHEN 'recordings' THEN ARRAY['processing', 'ready', 'failed']
                         ELSE wib.call_statuses() END);
    PERFORM wib.field_enum(filters, 'direction', ARRAY['inbound', 'outbound']);
    PERFORM wib.field_enum(filters, 'sentiment', ARRAY['positive', 'negative', 'neutral', 'mixed']);
    PERFORM wib.field_enum(filters, 'role', wib.user_roles());
    IF filters ? 'formula_guard' AND jsonb_typeof(filters -> 'formula_guard') <> 'boolean' THEN
        PERFORM wib.invalid_field('formula_guard',
            format('formula_guard must be true or false, not %s.', jsonb_typeof(filters -> 'formula_guard')));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.export_check_request(text, text, jsonb) IS
    'Internal: raises 22023 naming the field or filter key when an export request is not valid.';

-- The query of an export: always scoped to org, whatever the filters say; every
-- filter value is quoted as a literal.  date_from is inclusive, date_to exclusive.
CREATE OR REPLACE FUNCTION wib.export_query(export_type text, filters jsonb, org uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    q text;
    time_col text;
    agent_col text;
    conds text[] := '{}';
BEGIN
    PERFORM wib.export_check_request(export_type, 'csv', filters);
    IF org IS NULL THEN
        PERFORM wib.invalid_field('org', 'An export needs an organization.');
    END IF;
    CASE export_type
    WHEN 'calls' THEN
        q := 'SELECT c.id, c.agent_id, c.campaign_id, c.direction, c.from_number, c.to_number, c.status,'
             ' c.disposition, c.telnyx_call_id, c.started_at, c.ended_at, c.duration_seconds, c.created_at'
             ' FROM wib.calls c WHERE c.organization_id = ' || quote_literal(org);
        time_col := 'c.started_at';
        agent_col := 'c.agent_id';
        IF filters ? 'status' THEN conds := conds || ('c.status = ' || quote_literal(filters ->> 'status')); END IF;
        IF filters ? 'direction' THEN conds := conds || ('c.direction = ' || quote_literal(filters ->> 'direction')); END IF;
    WHEN 'recordings' THEN
        q := 'SELECT r.id, r.call_id, c.agent_id, r.status, r.duration_seconds, r.recording_url, r.transcript,'
             ' r.created_at FROM wib.recordings r'
             ' JOIN wib.calls c ON c.organization_id = r.organization_id AND c.id = r.call_id'
             ' WHERE r.organization_id = ' || quote_literal(org);
        time_col := 'r.created_at';
        agent_col := 'c.agent_id';
        IF filters ? 'status' THEN conds := conds || ('r.status = ' || quote_literal(filters ->> 'status')); END IF;
    WHEN 'analytics' THEN
        q := 'SELECT c.id AS call_id, c.agent_id, c.started_at, c.duration_seconds, c.status AS call_status,'
             ' s.overall_sentiment, s.sentiment_score, s.positive_pct, s.negative_pct, s.neutral_pct,'
             ' to_jsonb(s.key_phrases) AS key_phrases, s.summary, s.model, s.created_at AS analyzed_at'
             ' FROM wib.ai_summaries s'
             ' JOIN wib.calls c ON c.organization_id = s.organization_id AND c.id = s.call_id'
             ' WHERE s.organization_id = ' || quote_literal(org);
        time_col := 'c.started_at';
        agent_col := 'c.agent_id';
        IF filters ? 'sentiment' THEN conds := conds || ('s.overall_sentiment = ' || quote_literal(filters ->> 'sentiment')); END IF;
    WHEN 'contacts' THEN
        q := 'SELECT u.id, u.name, u.email, u.role, u.created_at, u.updated_at'
             ' FROM wib.users u WHERE u.organization_id = ' || quote_literal(org);
        time_col := 'u.created_at';
        IF filters ? 'role' THEN conds := conds || ('u.role = ' || quote_literal(filters ->> 'role')); END IF;
    WHEN 'audit_logs' THEN
        q := 'SELECT a.id, a.created_at, a.user_id, a.action, a.resource_type, a.resource_id, a.old_value, a.new_value'
             ' FROM wib.audit_log a WHERE a.organization_id = ' || quote_literal(org);
        time_col := 'a.created_at';
        agent_col := 'a.user_id';
        IF filters ? 'action' THEN conds := conds || ('a.action = ' || quote_literal(filters ->> 'action')); END IF;
        IF filters ? 'resource_type' THEN conds := conds || ('a.resource_type = ' || quote_literal(filters ->> 'resource_type')); END IF;
        IF filters ? 'user_id' THEN conds := conds || ('a.user_id = ' || quote_literal(filters ->> 'user_id')); END IF;
    END CASE;
    IF filters ? 'agent_id' AND agent_col IS NOT NULL THEN
        conds := conds || (agent_col || ' = ' || quote_literal(filters ->> 'agent_id'));
    END IF;
    IF wib.field_time(filters, 'date_from') IS NOT NULL THEN
        conds := conds || (time_col || ' >= ' || quote_literal(wib.field_time(filters, 'date_from')) || '::timestamptz');
    END IF;
    IF wib.field_time(filters, 'date_to') IS NOT NULL THEN
        conds := conds || (time_col || ' < ' || quote_literal(wib.field_time(filters, 'date_to')) || '::timestamptz');
    END IF;
    IF cardinality(conds) > 0 THEN
        q := q || ' AND ' || array_to_string(conds, ' AND ');
    END IF;
    RETURN q || ' ORDER BY ' || time_col;
END
$$;
COMMENT ON FUNCTION wib.export_query(text, jsonb, uuid) IS
    'Internal: the SELECT of an export type for one organization with its filters applied (values quoted as literals).';

-- The largest export the plan of the organization in context allows, checking
-- the features first (WB001); rows, when known, is checked against it (WB205).
-- Returns the row limit to enforce while writing (0 = unlimited).
CREATE OR REPLACE FUNCTION wib.export_check_plan(export_type text, rows bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    quota   bigint;
    starter bigint := (SELECT l.value FROM wib.plan_limits l WHERE l.plan = 'starter' AND l.limit_name = 'export_rows');
    bulk    boolean;
    allowed bigint;
BEGIN
    PERFORM wib.require_feature('csv_export');
    IF export_type = 'analytics' THEN
        PERFORM wib.require_feature('analytics_export');
    END IF;
    quota := wib.plan_limit('export_rows');
    bulk := wib.has_feature('bulk_export');
    allowed := CASE WHEN bulk THEN quota ELSE least(quota, coalesce(starter, 0)) END;
    IF rows IS NOT NULL AND quota IS NOT NULL AND rows > quota THEN
        RAISE EXCEPTION USING ERRCODE = 'WB205',
            MESSAGE = format('export of %s rows exceeds the row limit of %s on plan "%s"', rows, quota, wib.current_plan()),
            DETAIL = 'Exports are refused rather than cut short.',
            HINT = 'Narrow the filters (for example date_from and date_to) or upgrade the plan.';
    END IF;
    IF rows IS NOT NULL AND rows > coalesce(starter, 0) THEN
        PERFORM wib.require_feature('bulk_export');
    END IF;
    IF allowed = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'WB205',
            MESSAGE = format('plan "%s" allows no export rows', wib.current_plan()),
            HINT = 'Upgrade the plan.';
    END IF;
    RETURN coalesce(allowed, 0);
END
$$;
COMMENT ON FUNCTION wib.export_check_plan(text, bigint) IS
    'Internal: checks the plan allows an export (csv_export, analytics_export, bulk_export above the starter row limit, the export_rows limit) and returns the row limit to enforce.';
