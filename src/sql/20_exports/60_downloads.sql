-- Downloads: chunks of a completed export, and signed, expiring tokens.

-- Reads a chunk of a completed export of the organization in context, or of
-- the export whose download token was opened in this transaction.
CREATE OR REPLACE FUNCTION wib.export_file_chunk(id uuid, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
    IF job.storage = 's3' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB210', MESSAGE = format('export %s is kept in object storage', id),
            DETAIL = 'Its bytes are not served through SQL.',
            HINT = 'Hand out a presigned link from wib.export_download_url.';
    END IF;
    IF "offset" IS NULL OR "offset" < 0 THEN
        PERFORM wib.invalid_field('offset', 'offset must be zero or more.');
    END IF;
    IF length IS NULL OR length < 1 THEN
        PERFORM wib.invalid_field('length', 'length must be at least 1.');
    END IF;
    IF "offset" = 0 THEN
        PERFORM wib.audit_for(org, 'export:downloaded', 'export', job.id::text, NULL,
                              jsonb_build_object('file_size_bytes', job.file_size_bytes, 'sha256', job.sha256));
    END IF;
    IF "offset" >= job.file_size_bytes THEN
        RETURN '\x'::bytea;
    END IF;
    RETURN wib.export_file_read(job.storage_key, "offset", length);
END
$$;
COMMENT ON FUNCTION wib.export_file_chunk(uuid, bigint, integer) IS
    'Internal: bytes of a completed export of the organization in context (or opened by token); audits export:downloaded at offset 0.';

CREATE OR REPLACE FUNCTION wib.export_read(id uuid, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    RETURN wib.export_file_chunk(id, "offset", length);
COMMENT ON FUNCTION wib.export_read(uuid, bigint, integer) IS
    'Up to length bytes of a completed export from offset (empty past the end); reading offset 0 starts a download and is audited export:downloaded. WB203 not ready, WB204 expired, WB210 kept in object storage (use wib.export_download_url), P0002 unknown.';

CREATE OR REPLACE FUNCTION wib.export_sign(id uuid, ttl interval) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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

CREATE OR REPLACE FUNCTION wib.export_download_token(id uuid, ttl interval DEFAULT '1 hour') RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
    'A signed download token for a completed export, valid for ttl (at most until the file expires) and for nothing but downloads: the pre-signed link of the platform.';

CREATE OR REPLACE FUNCTION wib.export_open(token text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
    'Checks a download token (WB201 forged, altered, malformed or minted for another purpose; WB202 expired; WB204 export expired) and returns the export id; wib.export_read may then read that export in the same transaction without a tenant context.';

-- The link a user downloads an export from: a presigned GET of the object for
-- exports in object storage, the signed token link for local files.  Never
-- valid past the export's own expiry.
CREATE OR REPLACE FUNCTION wib.export_download_url(id uuid, ttl interval DEFAULT '1 hour') RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org     uuid := wib.require_org();
    job     wib.export_jobs;
    now_ts  timestamptz := wib.clock_now();
    until   timestamptz;
    target  jsonb;
    url     text;
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the UUID of an export.');
    END IF;
    IF ttl IS NULL OR ttl <= interval '0' OR ttl > interval '7 days' THEN
        PERFORM wib.invalid_field('ttl', 'ttl must be a positive interval of at most 7 days.');
    END IF;
    SELECT * INTO job FROM wib.export_jobs j WHERE j.organization_id = org AND j.id = export_download_url.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('export %s does not exist', id);
    END IF;
    IF job.status = 'expired' OR (job.status = 'completed' AND job.expires_at <= now_ts) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB204', MESSAGE = format('export %s has expired', id),
            DETAIL = format('Its file was kept until %s.', job.expires_at), HINT = 'Request the export again.';
    END IF;
    IF job.status <> 'completed' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB203', MESSAGE = format('export %s is not ready', id),
            DETAIL = format('Its status is %s.', job.status);
    END IF;
    until := least(now_ts + ttl, job.expires_at);
    IF job.storage = 's3' THEN
        target := wib.export_storage_target(job.storage_endpoint, job.storage_bucket);
        IF target IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'WB207', MESSAGE = 'object storage is not configured',
                HINT = 'An operator configures it with wib.export_storage_configure.';
        END IF;
        -- Whole seconds, rounded down: the link never outlives the export.
        url := wib.export_s3_presign(target, job.r2_key,
                                     greatest(1, floor(extract(epoch FROM until - now_ts)))::integer,
                                     job.export_type || '-' || job.id || CASE job.format WHEN 'csv' THEN '.csv' ELSE '.jsonl' END);
    ELSE
        url := current_setting('wib.export_download_base_url') || wib.export_download_token(id, until - now_ts);
    END IF;
    PERFORM wib.audit_for(org, 'export:downloaded', 'export', job.id::text, NULL,
                          jsonb_build_object('storage', job.storage, 'link_expires_at', until,
                                             'file_size_bytes', job.file_size_bytes, 'sha256', job.sha256));
    RETURN url;
END
$$;
COMMENT ON FUNCTION wib.export_download_url(uuid, interval) IS
    'A download link for a completed export of the organization in context, valid for ttl (at most 7 days and never past the export''s expiry): a SigV4 presigned GET for exports in object storage, the signed token link (wib.export_download_base_url || token) for local files. Audited export:downloaded.';
