-- The job runner, expiry, and the event and jobs exports register.

-- The oldest export job to run (pending; unless pending_only, also processing
-- for over an hour: its runner died) that is not in skip, locked with SKIP
-- LOCKED, on a Citus cluster: the candidates are listed first (a multi-shard
-- read, oldest first, no lock), then each is locked by a statement routed to
-- its organization's shard, its state checked again under the lock; the first
-- one locked is returned (no row: none).
CREATE OR REPLACE FUNCTION wib.export_job_claim_by_org(skip uuid[], pending_only boolean)
    RETURNS SETOF wib.export_jobs
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    cand record;
BEGIN
    FOR cand IN
        SELECT j.organization_id AS org, j.id AS job_id
          FROM wib.export_jobs j
         WHERE (j.status = 'pending'
                OR (NOT pending_only AND j.status = 'processing' AND j.started_at < now() - interval '1 hour'))
           AND j.id <> ALL (skip)
         ORDER BY j.created_at
    LOOP
        RETURN QUERY
        SELECT * FROM wib.export_jobs j
         WHERE j.organization_id = cand.org AND j.id = cand.job_id
           AND (j.status = 'pending'
                OR (NOT pending_only AND j.status = 'processing' AND j.started_at < now() - interval '1 hour'))
           FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            RETURN;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.export_job_claim_by_org(uuid[], boolean) IS
    'Internal (export runner, on a Citus cluster): the oldest runnable export job not in skip (pending_only: pending ones), locked with SKIP LOCKED by a statement routed to its organization''s shard; no row when none.';

-- Runs pending export jobs (the scheduler calls it; so can pg_cron or an operator).
-- Each job runs in a subtransaction: a failure marks it failed, a crash rolls
-- its claim back to pending, so it is picked up again and rewritten.
--
-- With object storage a job takes two runs: the first begins the multipart
-- upload and records its id (committed with that run's transaction, so a
-- crash later still knows what to abort); the next streams the rows into it
-- and completes it.  A failure queues the abort of the upload.
CREATE OR REPLACE FUNCTION wib.run_export_jobs(max_jobs integer DEFAULT 10) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    job       wib.export_jobs;
    store     wib.export_storage;
    up        wib.export_uploads;
    done      integer := 0;
    max_rows  bigint;
    res       record;
    detail    text;
    more      text;
    state     text;
    obj_key   text;
    begun     uuid[] := '{}';
    cluster   boolean := wib.is_distributed('wib.export_jobs');
BEGIN
    SELECT * INTO store FROM wib.export_storage s WHERE s.name = 'default';
    LOOP
        EXIT WHEN done >= coalesce(max_jobs, 10);
        IF cluster THEN
            -- Citus runs FOR UPDATE only in statements routed to one shard.
            SELECT * INTO job FROM wib.export_job_claim_by_org(begun, false);
        ELSE
            SELECT * INTO job FROM wib.export_jobs j
             WHERE (j.status = 'pending'
                    OR (j.status = 'processing' AND j.started_at < now() - interval '1 hour'))
               AND j.id <> ALL (begun)
             ORDER BY j.created_at
             LIMIT 1
             FOR UPDATE SKIP LOCKED;
        END IF;
        EXIT WHEN NOT FOUND;

        PERFORM wib.act_as(job.organization_id, job.user_id);
        SELECT * INTO up FROM wib.export_uploads u WHERE u.organization_id = job.organization_id AND u.job_id = job.id;
        IF store.kind = 's3' THEN
            obj_key := store.prefix || job.storage_key;
            -- An upload begun for other settings (endpoint, bucket or prefix changed) is not reused.
            IF up.upload_id IS NOT NULL
               AND (up.endpoint, up.bucket, up.r2_key) IS DISTINCT FROM (store.endpoint, store.bucket, obj_key) THEN
                PERFORM wib.export_upload_drop(job.organization_id, job.id);
                up := NULL;
            END IF;
            IF up.upload_id IS NULL THEN
                -- First run: begin the upload; its id commits before any part is sent.
                BEGIN
                    INSERT INTO wib.export_uploads (organization_id, job_id, endpoint, bucket, r2_key, upload_id)
                    VALUES (job.organization_id, job.id, store.endpoint, store.bucket, obj_key,
                            wib.export_s3_begin(wib.export_storage_target(), obj_key,
                                                CASE job.format WHEN 'csv' THEN 'text/csv; charset=utf-8'
                                                                ELSE 'application/x-ndjson' END));
                EXCEPTION WHEN others THEN
                    GET STACKED DIAGNOSTICS detail = MESSAGE_TEXT, more = PG_EXCEPTION_DETAIL, state = RETURNED_SQLSTATE;
                    UPDATE wib.export_jobs j
                       SET status = 'failed', attempts = j.attempts + 1, started_at = wib.clock_now(),
                           completed_at = wib.clock_now(),
                           error_detail = detail || CASE WHEN state LIKE 'WB2%' AND more <> '' THEN ': ' || more ELSE '' END
                     WHERE j.organization_id = job.organization_id AND j.id = job.id;
                END;
                begun := begun || job.id;
                done := done + 1;
                CONTINUE;
            END IF;
        ELSIF up.upload_id IS NOT NULL THEN
            -- Storage went back to local files: the upload begun earlier is not needed.
            PERFORM wib.export_upload_drop(job.organization_id, job.id);
            up := NULL;
        END IF;

        UPDATE wib.export_jobs j
           SET status = 'processing', started_at = wib.clock_now(), attempts = j.attempts + 1,
               progress_rows = 0, error_detail = NULL
         WHERE j.organization_id = job.organization_id AND j.id = job.id;
        BEGIN
            max_rows := wib.export_check_plan(job.export_type);
            IF up.upload_id IS NOT NULL THEN
                SELECT * INTO res
                  FROM wib.export_s3_write(wib.export_query(job.export_type, job.filters, job.organization_id),
                                           job.format, coalesce((job.filters ->> 'formula_guard')::boolean, true),
                                           max_rows, job.storage_key,
                                           wib.export_storage_target(up.endpoint, up.bucket), up.r2_key, up.upload_id);
                DELETE FROM wib.export_uploads u WHERE u.organization_id = job.organization_id AND u.job_id = job.id;
            ELSE
                SELECT * INTO res
                  FROM wib.export_write_file(wib.export_query(job.export_type, job.filters, job.organization_id),
                                             job.format, coalesce((job.filters ->> 'formula_guard')::boolean, true),
                                             max_rows, job.storage_key);
            END IF;
            UPDATE wib.export_jobs j
               SET status = 'completed', total_rows = res.rows, progress_rows = res.rows,
                   file_size_bytes = res.bytes, sha256 = res.sha256, completed_at = wib.clock_now(),
                   expires_at = wib.clock_now() + current_setting('wib.export_ttl')::interval,
                   storage = CASE WHEN up.upload_id IS NULL THEN 'local' ELSE 's3' END,
                   r2_key = up.r2_key, storage_endpoint = up.endpoint, storage_bucket = up.bucket,
                   upload_id = up.upload_id
             WHERE j.organization_id = job.organization_id AND j.id = job.id
            RETURNING * INTO job;
        EXCEPTION WHEN others THEN
            GET STACKED DIAGNOSTICS detail = MESSAGE_TEXT, more = PG_EXCEPTION_DETAIL, state = RETURNED_SQLSTATE;
            -- Nothing of the attempt is kept; an upload begun for it is aborted.
            PERFORM wib.export_upload_drop(job.organization_id, job.id);
            UPDATE wib.export_jobs j
               SET status = 'failed', completed_at = wib.clock_now(),
                   error_detail = detail || CASE WHEN state LIKE 'WB2%' AND more <> '' THEN ': ' || more ELSE '' END
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
    -- More waiting that nobody is writing (or an upload begun here, to be written in
    -- the next run): make the scheduler's job due again at once (it runs one job per
    -- transaction).  Jobs another runner holds do not count, so nothing spins.
    IF done > 0 THEN
        IF cluster THEN
            PERFORM 1 FROM wib.export_job_claim_by_org('{}', true);
        ELSE
            PERFORM 1 FROM wib.export_jobs j WHERE j.status = 'pending' LIMIT 1 FOR UPDATE SKIP LOCKED;
        END IF;
        IF FOUND THEN
            PERFORM wib.export_kick();
        END IF;
    END IF;
    RETURN done;
END
$$;
COMMENT ON FUNCTION wib.run_export_jobs(integer) IS
    'Runs up to max_jobs pending export jobs, in the caller''s transaction, into files under wib.export_directory or into object storage (a job in object storage takes two runs: one begins its upload, the next writes it); returns how many ran or began. The scheduler runs it with max_jobs 1 (job export_jobs) and comes back at once while jobs wait.';

-- Expires one locked export job: its file removed (an object in object
-- storage: its delete queued for the deliverer, true), the job marked expired.
CREATE OR REPLACE FUNCTION wib.export_expire_job(job wib.export_jobs) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    IF job.storage = 's3' THEN
        INSERT INTO wib.export_storage_queue (organization_id, job_id, op, endpoint, bucket, object_key)
        VALUES (job.organization_id, job.id, 'delete_object', job.storage_endpoint, job.storage_bucket, job.r2_key);
    ELSE
        PERFORM wib.export_file_remove(job.storage_key);
    END IF;
    UPDATE wib.export_jobs j SET status = 'expired'
     WHERE j.organization_id = job.organization_id AND j.id = job.id;
    RETURN job.storage = 's3';
END
$$;
COMMENT ON FUNCTION wib.export_expire_job(wib.export_jobs) IS
    'Internal (wib.export_expire): removes a locked job''s file, or queues the delete of its object (then true), and marks the job expired.';

-- Retention: removes the files of exports past expires_at and marks them expired;
-- objects in object storage are queued for the deliverer to delete (retried until
-- the store confirms).
CREATE OR REPLACE FUNCTION wib.export_expire() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    job    wib.export_jobs;
    cand   record;
    n      bigint := 0;
    queued boolean := false;
BEGIN
    IF wib.is_distributed('wib.export_jobs') THEN
        -- On a Citus cluster FOR UPDATE runs only in statements routed to one
        -- shard: the expired jobs are listed first, then each is locked on its
        -- organization's shard and checked again.
        FOR cand IN SELECT j.organization_id AS org, j.id AS job_id FROM wib.export_jobs j
                     WHERE j.status = 'completed' AND j.expires_at <= now()
                     ORDER BY j.expires_at LOOP
            SELECT * INTO job FROM wib.export_jobs j
             WHERE j.organization_id = cand.org AND j.id = cand.job_id
               AND j.status = 'completed' AND j.expires_at <= now()
               FOR UPDATE SKIP LOCKED;
            CONTINUE WHEN NOT FOUND;
            queued := wib.export_expire_job(job) OR queued;
            n := n + 1;
        END LOOP;
    ELSE
        FOR job IN SELECT * FROM wib.export_jobs j
                    WHERE j.status = 'completed' AND j.expires_at <= now()
                    ORDER BY j.expires_at
                    FOR UPDATE SKIP LOCKED LOOP
            queued := wib.export_expire_job(job) OR queued;
            n := n + 1;
        END LOOP;
    END IF;
    IF queued THEN
        PERFORM wib.wake('deliverer');
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.export_expire() IS
    'Removes the files of completed exports past expires_at (objects in object storage: queued for the deliverer to delete, retried until it succeeds) and marks them expired; returns how many (retention policy export_files).';

-- The event a completed job emits, in the webhooks catalogue so that wib.emit_event
-- accepts it and subscriptions can ask for it.
INSERT INTO wib.event_types (event_type, description, example) VALUES
    ('export.completed', 'An export job finished writing its file (feature exports).',
     '{"export_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10", "export_type": "calls", "format": "csv", "total_rows": 1000000, "file_size_bytes": 213909504, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "expires_at": "2026-11-25T12:00:00Z"}')
ON CONFLICT (event_type) DO UPDATE SET description = EXCLUDED.description, example = EXCLUDED.example;

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('export_files', 'SELECT wib.export_expire()',
     'Export files past expires_at (wib.export_ttl after completion): file removed (or object delete queued), job marked expired.')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;

INSERT INTO wib.scheduled_jobs (name, command, run_every, description) VALUES
    ('export_jobs', 'SELECT wib.run_export_jobs(1)', interval '1 minute',
     'Runs pending export jobs into files or object storage, one per transaction (wib.export_create, and each run while jobs wait, make it due at once).')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;

INSERT INTO wib.scheduled_jobs (name, command, run_every, description) VALUES
    ('export_uploads_sweep', 'SELECT wib.export_uploads_sweep()', interval '1 hour',
     'Queues the abort of stale multipart uploads of exports (recorded for jobs that are over, or at the store without a running job).')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;
