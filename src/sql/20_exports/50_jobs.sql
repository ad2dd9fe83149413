-- The job runner, expiry, and the event and jobs exports register.

-- Runs pending export jobs (the scheduler calls it; so can pg_cron or an operator).
-- Each job runs in a subtransaction: a failure marks it failed, a crash rolls
-- its claim back to pending, so it is picked up again and rewritten.
CREATE OR REPLACE FUNCTION wib.run_export_jobs(max_jobs integer DEFAULT 10) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    job       wib.export_jobs;
    done      integer := 0;
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

        PERFORM wib.act_as(job.organization_id, job.user_id);
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

-- Retention: removes the files of exports past expires_at and marks them expired.
CREATE OR REPLACE FUNCTION wib.export_expire() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
INSERT INTO wib.event_types (event_type, description, example) VALUES
    ('export.completed', 'An export job finished writing its file (feature exports).',
     '{"export_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10", "export_type": "calls", "format": "csv", "total_rows": 1000000, "file_size_bytes": 213909504, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "expires_at": "2026-11-25T12:00:00Z"}')
ON CONFLICT (event_type) DO UPDATE SET description = EXCLUDED.description, example = EXCLUDED.example;

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('export_files', 'SELECT wib.export_expire()',
     'Export files past expires_at (wib.export_ttl after completion): file removed, job marked expired.')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;

INSERT INTO wib.scheduled_jobs (name, command, run_every, description) VALUES
    ('export_jobs', 'SELECT wib.run_export_jobs(1)', interval '1 minute',
     'Runs pending export jobs into files, one per transaction (wib.export_create, and each run while jobs wait, make it due at once).')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;
