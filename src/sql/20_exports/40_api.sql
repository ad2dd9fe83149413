-- Export requests: jobs, streams and their status.

-- Moves the export job runner ahead and wakes the scheduler at commit.
CREATE OR REPLACE FUNCTION wib.export_kick() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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

CREATE OR REPLACE FUNCTION wib.export_create(export_type text, format text DEFAULT 'csv', filters jsonb DEFAULT '{}',
                                  idempotency_key text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
    PERFORM wib.rate_limit_internal(org, 'export_create', current_setting('wib.export_rate_limit')::integer, interval '1 hour');
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
CREATE OR REPLACE FUNCTION wib.export_prepare(export_type text, format text, filters jsonb,
                                   OUT query text, OUT fmt text, OUT formula_guard boolean, OUT max_rows bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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

CREATE OR REPLACE FUNCTION wib.export_stream(export_type text, format text DEFAULT 'csv', filters jsonb DEFAULT '{}')
    RETURNS SETOF text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_stream';
COMMENT ON FUNCTION wib.export_stream(text, text, jsonb) IS
    'Streams an export to the caller as chunks of whole lines (about 64 kB each; concatenate them in order), with the same checks as wib.export_create; stops with WB205 past the plan''s row limit.';

-- Status of an export with live progress: a job being written is still pending
-- in the table (its claim commits with its result), so the backend writing it
-- is found by its activity and its progress read from pg_stat_progress_copy.
CREATE OR REPLACE FUNCTION wib.export_status(id uuid)
    RETURNS TABLE (status text, rows_written bigint, bytes_written bigint, total_rows bigint,
                   started_at timestamptz, completed_at timestamptz, expires_at timestamptz, error_detail text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
