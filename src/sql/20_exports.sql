-- Exports: CSV (RFC 4180) and JSON Lines written by the C writers of src/export/,
-- as jobs the scheduler runs into files (downloaded in chunks or through signed,
-- expiring tokens) or streamed straight to the caller.  Gated by plan, limited in
-- rows per plan, rate-limited, idempotent, audited.

CREATE TABLE wib.export_jobs (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         text,
    export_type     text        NOT NULL,
    format          text        NOT NULL DEFAULT 'csv',
    filters         jsonb       NOT NULL DEFAULT '{}',
    status          text        NOT NULL DEFAULT 'pending',
    estimated_rows  bigint,
    progress_rows   bigint      NOT NULL DEFAULT 0,
    total_rows      bigint,
    file_size_bytes bigint,
    sha256          text,
    storage_key     text        NOT NULL GENERATED ALWAYS AS
                    (organization_id::text || '/' || id::text ||
                     CASE format WHEN 'csv' THEN '.csv' ELSE '.jsonl' END) STORED,
    attempts        integer     NOT NULL DEFAULT 0,
    error_detail    text,
    expires_at      timestamptz,
    started_at      timestamptz,
    completed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT export_jobs_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT export_jobs_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT export_jobs_type_check
        CHECK (export_type IN ('calls', 'recordings', 'analytics', 'contacts', 'audit_logs')),
    CONSTRAINT export_jobs_format_check CHECK (format IN ('csv', 'json')),
    CONSTRAINT export_jobs_status_check
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'expired')),
    CONSTRAINT export_jobs_filters_check CHECK (jsonb_typeof(filters) = 'object'),
    CONSTRAINT export_jobs_completed_check
        CHECK (status <> 'completed' OR (total_rows IS NOT NULL AND file_size_bytes IS NOT NULL
                                         AND sha256 IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE INDEX export_jobs_pending_idx ON wib.export_jobs (created_at) WHERE status IN ('pending', 'processing');
CREATE INDEX export_jobs_expiry_idx ON wib.export_jobs (expires_at) WHERE status = 'completed';
CREATE INDEX export_jobs_org_created_idx ON wib.export_jobs (organization_id, created_at);
COMMENT ON TABLE wib.export_jobs IS
    'Export requests of an organization and their files: status pending → completed (or failed), then expired after wib.export_ttl; progress, row count, size and SHA-256 of the file.';
SELECT wib.make_tenant_table('wib.export_jobs');
CREATE TRIGGER export_jobs_touch BEFORE UPDATE ON wib.export_jobs FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- The C side: writers, files and tokens.  None of these is granted to applications.
CREATE FUNCTION wib.export_render(query text, format text, formula_guard boolean DEFAULT true, max_rows bigint DEFAULT 0)
    RETURNS SETOF text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_render';
COMMENT ON FUNCTION wib.export_render(text, text, boolean, bigint) IS
    'Internal: the rows of a read-only query as chunks of whole CSV or JSON lines (the writer of every export); max_rows > 0 raises WB205 past that many rows.';

CREATE FUNCTION wib.export_write_file(query text, format text, formula_guard boolean, max_rows bigint, storage_key text,
                                      OUT rows bigint, OUT bytes bigint, OUT sha256 text)
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_write_file';
COMMENT ON FUNCTION wib.export_write_file(text, text, boolean, bigint, text) IS
    'Internal: writes the rows of a query to the export file of storage_key (via a .part file renamed when complete); returns rows, bytes and SHA-256.';

CREATE FUNCTION wib.export_file_read(storage_key text, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_file_read';
COMMENT ON FUNCTION wib.export_file_read(text, bigint, integer) IS 'Internal: bytes of an export file.';

CREATE FUNCTION wib.export_file_remove(storage_key text) RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_file_remove';
COMMENT ON FUNCTION wib.export_file_remove(text) IS 'Internal: removes an export file; false when it was already gone.';

CREATE FUNCTION wib.export_token_sign(job_id uuid, organization_id uuid, expires_at timestamptz) RETURNS text
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_token_sign';
COMMENT ON FUNCTION wib.export_token_sign(uuid, uuid, timestamptz) IS
    'Internal: an HMAC-SHA256 signed download token for a job, valid until expires_at.';

CREATE FUNCTION wib.export_token_verify(token text, OUT job_id uuid, OUT organization_id uuid, OUT expires_at timestamptz)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_token_verify';
COMMENT ON FUNCTION wib.export_token_verify(text) IS
    'Internal: checks a download token (WB201 forged or malformed, WB202 expired) and opens it for the rest of the transaction.';

CREATE FUNCTION wib.export_token_org(job_id uuid) RETURNS uuid
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_token_org';
COMMENT ON FUNCTION wib.export_token_org(uuid) IS
    'Internal: the organization of job_id when a token for it was opened in this transaction, else NULL.';

-- Which filters each export type takes.
CREATE FUNCTION wib.export_allowed_filters(export_type text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE export_type
        WHEN 'calls'      THEN ARRAY['date_from', 'date_to', 'agent_id', 'status', 'direction', 'formula_guard']
        WHEN 'recordings' THEN ARRAY['date_from', 'date_to', 'agent_id', 'status', 'formula_guard']
        WHEN 'analytics'  THEN ARRAY['date_from', 'date_to', 'agent_id', 'sentiment', 'formula_guard']
        WHEN 'contacts'   THEN ARRAY['date_from', 'date_to', 'role', 'formula_guard']
        WHEN 'audit_logs' THEN ARRAY['date_from', 'date_to', 'user_id', 'action', 'resource_type', 'formula_guard']
    END;
COMMENT ON FUNCTION wib.export_allowed_filters(text) IS 'Internal: the filter keys an export type accepts.';

-- A timestamp filter, or 22023 naming the key.
CREATE FUNCTION wib.export_filter_time(filters jsonb, key text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v text := wib.field_text(filters, key, 64);
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
COMMENT ON FUNCTION wib.export_filter_time(jsonb, text) IS 'Internal: a timestamp filter, checked.';

-- A filter that must be one of a list, or 22023 naming the key.
CREATE FUNCTION wib.export_filter_choice(filters jsonb, key text, allowed text[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text := wib.field_text(filters, key, 100);
BEGIN
    IF v IS NOT NULL AND v <> ALL (allowed) THEN
        PERFORM wib.invalid_field(key, format('%s must be one of %s, not "%s".', key, array_to_string(allowed, ', '), v));
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION wib.export_filter_choice(jsonb, text, text[]) IS 'Internal: a filter taking one of a list of values, checked.';

-- Checks export_type, format and filters (22023 naming the bad field or key).
CREATE FUNCTION wib.export_check_request(export_type text, format text, filters jsonb) RETURNS void
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
    date_from := wib.export_filter_time(filters, 'date_from');
    date_to := wib.export_filter_time(filters, 'date_to');
    IF date_from IS NOT NULL AND date_to IS NOT NULL AND date_to <= date_from THEN
        PERFORM wib.invalid_field('date_to', 'date_to must be after date_from.');
    END IF;
    PERFORM wib.field_text(filters, 'agent_id', 255), wib.field_text(filters, 'user_id', 255),
            wib.field_text(filters, 'action', 100), wib.field_text(filters, 'resource_type', 100);
    PERFORM wib.export_filter_choice(filters, 'status',
        CASE export_type WHEN 'recordings' THEN ARRAY['processing', 'ready', 'failed']
                         ELSE ARRAY['queued', 'ringing', 'in_progress', 'completed', 'failed', 'busy', 'no_answer', 'canceled'] END);
    PERFORM wib.export_filter_choice(filters, 'direction', ARRAY['inbound', 'outbound']);
    PERFORM wib.export_filter_choice(filters, 'sentiment', ARRAY['positive', 'negative', 'neutral', 'mixed']);
    PERFORM wib.export_filter_choice(filters, 'role', ARRAY['owner', 'admin', 'manager', 'agent', 'viewer']);
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
CREATE FUNCTION wib.export_query(export_type text, filters jsonb, org uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
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
    IF wib.export_filter_time(filters, 'date_from') IS NOT NULL THEN
        conds := conds || (time_col || ' >= ' || quote_literal(wib.export_filter_time(filters, 'date_from')) || '::timestamptz');
    END IF;
    IF wib.export_filter_time(filters, 'date_to') IS NOT NULL THEN
        conds := conds || (time_col || ' < ' || quote_literal(wib.export_filter_time(filters, 'date_to')) || '::timestamptz');
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
CREATE FUNCTION wib.export_check_plan(export_type text, rows bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
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

-- Moves the export job runner ahead and wakes the scheduler at commit.
CREATE FUNCTION wib.export_kick() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    -- SKIP LOCKED: a concurrent request that holds the row makes it due at its commit anyway,
    -- so requests never queue behind each other here.
    UPDATE wib.scheduled_jobs j SET next_run_at = now()
     WHERE j.name = (SELECT s.name FROM wib.scheduled_jobs s
                      WHERE s.name = 'export_jobs' AND s.enabled AND s.next_run_at > now()
                      FOR UPDATE SKIP LOCKED);
    PERFORM wib.wake('scheduler');
END
$$;
COMMENT ON FUNCTION wib.export_kick() IS 'Internal: makes the export job runner due now and wakes the scheduler when the transaction commits.';

CREATE FUNCTION wib.export_create(export_type text, format text DEFAULT 'csv', filters jsonb DEFAULT '{}',
                                  idempotency_key text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org    uuid := wib.require_org();
    replay jsonb;
    n      bigint;
    job    wib.export_jobs;
BEGIN
    PERFORM wib.export_check_request(export_type, format, filters);
    IF idempotency_key IS NOT NULL THEN
        replay := wib.idempotency_begin(idempotency_key,
                      jsonb_build_object('op', 'export_create', 'export_type', export_type,
                                         'format', format, 'filters', filters));
        IF replay IS NOT NULL THEN
            RETURN (replay ->> 'id')::uuid;
        END IF;
    END IF;
    PERFORM wib.export_check_plan(export_type);
    PERFORM wib.rate_limit_check('export_create:' || org, current_setting('wib.export_rate_limit')::integer, interval '1 hour');
    EXECUTE 'SELECT count(*) FROM (' || wib.export_query(export_type, filters, org) || ') s' INTO n;
    PERFORM wib.export_check_plan(export_type, n);

    INSERT INTO wib.export_jobs (organization_id, user_id, export_type, format, filters, estimated_rows)
    VALUES (org, wib.current_user_id(), export_type, format, filters, n)
    RETURNING * INTO job;
    PERFORM wib.audit('export:requested', 'export', job.id::text, NULL,
                      jsonb_build_object('export_type', export_type, 'format', format,
                                         'filters', filters, 'estimated_rows', n));
    IF idempotency_key IS NOT NULL THEN
        PERFORM wib.idempotency_finish(idempotency_key, jsonb_build_object('id', job.id));
    END IF;
    PERFORM wib.export_kick();
    RETURN job.id;
END
$$;
COMMENT ON FUNCTION wib.export_create(text, text, jsonb, text) IS
    'Requests an export (calls, recordings, analytics, contacts, audit_logs) as csv or json with filters; plan-gated, refused up front past the plan''s row limit (WB205), rate-limited, idempotent with idempotency_key; audited export:requested. Returns the job id.';

-- Validates a streaming request and returns what wib.export_stream needs.
CREATE FUNCTION wib.export_prepare(export_type text, format text, filters jsonb,
                                   OUT query text, OUT fmt text, OUT formula_guard boolean, OUT max_rows bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    f jsonb := coalesce(filters, '{}'::jsonb);
BEGIN
    PERFORM wib.export_check_request(export_prepare.export_type, export_prepare.format, f);
    max_rows := wib.export_check_plan(export_prepare.export_type);
    query := wib.export_query(export_prepare.export_type, f, wib.require_org());
    fmt := export_prepare.format;
    formula_guard := coalesce((f ->> 'formula_guard')::boolean, true);
    PERFORM wib.audit('export:streamed', 'export', NULL, NULL,
                      jsonb_build_object('export_type', export_prepare.export_type, 'format', export_prepare.format,
                                         'filters', f));
END
$$;
COMMENT ON FUNCTION wib.export_prepare(text, text, jsonb) IS
    'Internal: checks a streaming export request against the plan and builds its query; audited export:streamed.';

CREATE FUNCTION wib.export_stream(export_type text, format text DEFAULT 'csv', filters jsonb DEFAULT '{}')
    RETURNS SETOF text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_stream';
COMMENT ON FUNCTION wib.export_stream(text, text, jsonb) IS
    'Streams an export to the caller as chunks of whole lines (about 64 kB each; concatenate them in order), with the same checks as wib.export_create; stops with WB205 past the plan''s row limit.';

-- Runs pending export jobs (the scheduler calls it; so can pg_cron or an operator).
-- Each job runs in a subtransaction: a failure marks it failed, a crash rolls
-- its claim back to pending, so it is picked up again and rewritten.
CREATE FUNCTION wib.run_export_jobs(max_jobs integer DEFAULT 10) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    job       wib.export_jobs;
    done      integer := 0;
    prev_org  text := coalesce(current_setting('wib.org_id', true), '');
    prev_user text := coalesce(current_setting('wib.user_id', true), '');
    max_rows  bigint;
    res       record;
    detail    text;
BEGIN
    LOOP
        EXIT WHEN done >= coalesce(max_jobs, 10);
        SELECT * INTO job FROM wib.export_jobs j
         WHERE j.status = 'pending'
            OR (j.status = 'processing' AND j.started_at < now() - interval '1 hour')
         ORDER BY j.created_at
         LIMIT 1
         FOR UPDATE SKIP LOCKED;
        EXIT WHEN NOT FOUND;

        PERFORM set_config('wib.org_id', job.organization_id::text, true);
        PERFORM set_config('wib.user_id', coalesce(job.user_id, ''), true);
        UPDATE wib.export_jobs j
           SET status = 'processing', started_at = clock_timestamp(), attempts = j.attempts + 1,
               progress_rows = 0, error_detail = NULL
         WHERE j.organization_id = job.organization_id AND j.id = job.id;
        BEGIN
            max_rows := wib.export_check_plan(job.export_type);
            SELECT * INTO res
              FROM wib.export_write_file(wib.export_query(job.export_type, job.filters, job.organization_id),
                                         job.format, coalesce((job.filters ->> 'formula_guard')::boolean, true),
                                         max_rows, job.storage_key);
            UPDATE wib.export_jobs j
               SET status = 'completed', total_rows = res.rows, progress_rows = res.rows,
                   file_size_bytes = res.bytes, sha256 = res.sha256, completed_at = clock_timestamp(),
                   expires_at = clock_timestamp() + current_setting('wib.export_ttl')::interval
             WHERE j.organization_id = job.organization_id AND j.id = job.id
            RETURNING * INTO job;
        EXCEPTION WHEN others THEN
            GET STACKED DIAGNOSTICS detail = MESSAGE_TEXT;
            UPDATE wib.export_jobs j
               SET status = 'failed', error_detail = detail, completed_at = clock_timestamp()
             WHERE j.organization_id = job.organization_id AND j.id = job.id
            RETURNING * INTO job;
        END;
        IF job.status = 'completed' THEN
            BEGIN
                PERFORM wib.emit_event('export.completed',
                        jsonb_build_object('export_id', job.id, 'export_type', job.export_type,
                                           'format', job.format, 'total_rows', job.total_rows,
                                           'file_size_bytes', job.file_size_bytes, 'sha256', job.sha256,
                                           'expires_at', job.expires_at));
            EXCEPTION WHEN others THEN
                GET STACKED DIAGNOSTICS detail = MESSAGE_TEXT;
                RAISE WARNING 'export.completed event of export % was not emitted: %', job.id, detail;
            END;
        END IF;
        done := done + 1;
    END LOOP;
    PERFORM set_config('wib.org_id', prev_org, true);
    PERFORM set_config('wib.user_id', prev_user, true);
    -- More waiting that nobody is writing: make the scheduler's job due again at once (it runs
    -- one job per transaction).  Jobs another runner holds do not count, so nothing spins.
    IF done > 0 THEN
        PERFORM 1 FROM wib.export_jobs j WHERE j.status = 'pending' LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            PERFORM wib.export_kick();
        END IF;
    END IF;
    RETURN done;
END
$$;
COMMENT ON FUNCTION wib.run_export_jobs(integer) IS
    'Runs up to max_jobs pending export jobs into files under wib.export_directory, in the caller''s transaction; returns how many ran. The scheduler runs it with max_jobs 1 (job export_jobs) and comes back at once while jobs wait.';

-- Status of an export with live progress: a job being written is still pending
-- in the table (its claim commits with its result), so the backend writing it
-- is found by its activity and its progress read from pg_stat_progress_copy.
CREATE FUNCTION wib.export_status(id uuid)
    RETURNS TABLE (status text, rows_written bigint, bytes_written bigint, total_rows bigint,
                   started_at timestamptz, completed_at timestamptz, expires_at timestamptz, error_detail text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    job wib.export_jobs;
BEGIN
    SELECT * INTO job FROM wib.export_jobs j WHERE j.organization_id = wib.require_org() AND j.id = export_status.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('export %s does not exist', id);
    END IF;
    status := job.status;
    rows_written := job.progress_rows;
    bytes_written := coalesce(job.file_size_bytes, 0);
    total_rows := job.total_rows;
    started_at := job.started_at;
    completed_at := job.completed_at;
    expires_at := job.expires_at;
    error_detail := job.error_detail;
    IF job.status IN ('pending', 'processing') THEN
        SELECT 'processing', p.tuples_processed, p.bytes_processed, a.query_start
          INTO status, rows_written, bytes_written, started_at
          FROM pg_catalog.pg_stat_activity a
          JOIN pg_catalog.pg_stat_progress_copy p ON p.pid = a.pid
         WHERE a.query = 'wib export ' || job.storage_key
         LIMIT 1;
        IF NOT FOUND THEN
            status := job.status;
        END IF;
    END IF;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wib.export_status(uuid) IS
    'Status of an export of the organization in context, with live rows_written and bytes_written while the job runner writes it (status processing).';

-- Reads a chunk of a completed export of the organization in context, or of
-- the export whose download token was opened in this transaction.
CREATE FUNCTION wib.export_file_chunk(id uuid, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org uuid := coalesce(wib.export_token_org(export_file_chunk.id), wib.require_org());
    job wib.export_jobs;
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the UUID of an export.');
    END IF;
    SELECT * INTO job FROM wib.export_jobs j WHERE j.organization_id = org AND j.id = export_file_chunk.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('export %s does not exist', id);
    END IF;
    IF job.status = 'expired' OR (job.status = 'completed' AND job.expires_at <= now()) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB204', MESSAGE = format('export %s has expired', id),
            DETAIL = format('Its file was kept until %s.', job.expires_at), HINT = 'Request the export again.';
    END IF;
    IF job.status <> 'completed' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB203', MESSAGE = format('export %s is not ready', id),
            DETAIL = format('Its status is %s.', job.status);
    END IF;
    IF "offset" IS NULL OR "offset" < 0 THEN
        PERFORM wib.invalid_field('offset', 'offset must be zero or more.');
    END IF;
    IF length IS NULL OR length < 1 THEN
        PERFORM wib.invalid_field('length', 'length must be at least 1.');
    END IF;
    IF "offset" = 0 THEN
        PERFORM wib.audit('export:downloaded', 'export', job.id::text, NULL,
                          jsonb_build_object('file_size_bytes', job.file_size_bytes, 'sha256', job.sha256), org);
    END IF;
    IF "offset" >= job.file_size_bytes THEN
        RETURN '\x'::bytea;
    END IF;
    RETURN wib.export_file_read(job.storage_key, "offset", length);
END
$$;
COMMENT ON FUNCTION wib.export_file_chunk(uuid, bigint, integer) IS
    'Internal: bytes of a completed export of the organization in context (or opened by token); audits export:downloaded at offset 0.';

CREATE FUNCTION wib.export_read(id uuid, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE sql VOLATILE
    RETURN wib.export_file_chunk(id, "offset", length);
COMMENT ON FUNCTION wib.export_read(uuid, bigint, integer) IS
    'Up to length bytes of a completed export from offset (empty past the end); reading offset 0 starts a download and is audited export:downloaded. WB203 not ready, WB204 expired, P0002 unknown.';

CREATE FUNCTION wib.export_sign(id uuid, ttl interval) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org uuid := wib.require_org();
    job wib.export_jobs;
BEGIN
    SELECT * INTO job FROM wib.export_jobs j WHERE j.organization_id = org AND j.id = export_sign.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('export %s does not exist', id);
    END IF;
    IF job.status = 'expired' OR (job.status = 'completed' AND job.expires_at <= now()) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB204', MESSAGE = format('export %s has expired', id);
    END IF;
    IF job.status <> 'completed' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB203', MESSAGE = format('export %s is not ready', id),
            DETAIL = format('Its status is %s.', job.status);
    END IF;
    RETURN wib.export_token_sign(job.id, org, least(now() + ttl, job.expires_at));
END
$$;
COMMENT ON FUNCTION wib.export_sign(uuid, interval) IS 'Internal: signs a download token for a completed export of the organization in context.';

CREATE FUNCTION wib.export_download_token(id uuid, ttl interval DEFAULT '1 hour') RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the UUID of an export.');
    END IF;
    IF ttl IS NULL OR ttl <= interval '0' OR ttl > interval '7 days' THEN
        PERFORM wib.invalid_field('ttl', 'ttl must be a positive interval of at most 7 days.');
    END IF;
    RETURN wib.export_sign(id, ttl);
END
$$;
COMMENT ON FUNCTION wib.export_download_token(uuid, interval) IS
    'An HMAC-signed download token for a completed export, valid for ttl (at most until the file expires): the pre-signed link of the platform.';

CREATE FUNCTION wib.export_open(token text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    t   record;
    job wib.export_jobs;
BEGIN
    SELECT * INTO t FROM wib.export_token_verify(token);
    SELECT * INTO job FROM wib.export_jobs j WHERE j.organization_id = t.organization_id AND j.id = t.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('export %s does not exist', t.job_id);
    END IF;
    IF job.status <> 'completed' OR job.expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'WB204', MESSAGE = format('export %s has expired', t.job_id),
            HINT = 'Request the export again.';
    END IF;
    RETURN job.id;
END
$$;
COMMENT ON FUNCTION wib.export_open(text) IS
    'Checks a download token (WB201 forged or malformed, WB202 expired, WB204 export expired) and returns the export id; wib.export_read may then read that export in the same transaction without a tenant context.';

-- Retention: removes the files of exports past expires_at and marks them expired.
CREATE FUNCTION wib.export_expire() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    job wib.export_jobs;
    n   bigint := 0;
BEGIN
    FOR job IN SELECT * FROM wib.export_jobs j
                WHERE j.status = 'completed' AND j.expires_at <= now()
                ORDER BY j.expires_at
                FOR UPDATE SKIP LOCKED LOOP
        PERFORM wib.export_file_remove(job.storage_key);
        UPDATE wib.export_jobs j SET status = 'expired'
         WHERE j.organization_id = job.organization_id AND j.id = job.id;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.export_expire() IS
    'Removes the files of completed exports past expires_at and marks them expired; returns how many (retention policy export_files).';

-- The event a completed job emits, in the webhooks catalogue so that wib.emit_event
-- accepts it and subscriptions can ask for it.
INSERT INTO wib.webhook_event_types (event_type, description, example) VALUES
    ('export.completed', 'An export job finished writing its file (feature exports).',
     '{"export_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10", "export_type": "calls", "format": "csv", "total_rows": 1000000, "file_size_bytes": 213909504, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "expires_at": "2026-11-25T12:00:00Z"}');

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('export_files', 'SELECT wib.export_expire()',
     'Export files past expires_at (wib.export_ttl after completion): file removed, job marked expired.');

INSERT INTO wib.scheduled_jobs (name, command, run_every, description) VALUES
    ('export_jobs', 'SELECT wib.run_export_jobs(1)', interval '1 minute',
     'Runs pending export jobs into files, one per transaction (wib.export_create, and each run while jobs wait, make it due at once).');

-- Privileges: applications call the API as themselves; the C helpers stay closed.
GRANT EXECUTE ON FUNCTION
    wib.export_create(text, text, jsonb, text), wib.export_stream(text, text, jsonb),
    wib.export_read(uuid, bigint, integer), wib.export_download_token(uuid, interval),
    wib.export_open(text), wib.export_status(uuid),
    wib.export_allowed_filters(text), wib.export_filter_time(jsonb, text),
    wib.export_filter_choice(jsonb, text, text[]), wib.export_check_request(text, text, jsonb),
    wib.export_query(text, jsonb, uuid), wib.export_check_plan(text, bigint),
    wib.export_kick(), wib.export_prepare(text, text, jsonb),
    wib.export_file_chunk(uuid, bigint, integer), wib.export_sign(uuid, interval)
TO wib_app;
GRANT SELECT ON wib.export_jobs TO wib_app;
GRANT INSERT (organization_id, user_id, export_type, format, filters, estimated_rows) ON wib.export_jobs TO wib_app;
GRANT EXECUTE ON FUNCTION wib.run_export_jobs(integer), wib.export_expire() TO wib_admin;
