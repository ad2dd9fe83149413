-- Object storage of exports: configuration, the storage target handed to the
-- C side, the queue of deletes and aborts (the deliverer's storage channel),
-- and the cleanup of uploads an interrupted job left behind.

COMMENT ON COLUMN wib.export_jobs.storage IS 'Where the export was written: local (a file under wib.export_directory) or s3 (an object in the configured bucket).';
COMMENT ON COLUMN wib.export_jobs.r2_key IS 'The object key of an export kept in object storage, prefix included.';
COMMENT ON COLUMN wib.export_jobs.storage_endpoint IS 'The object storage endpoint the export was written to.';
COMMENT ON COLUMN wib.export_jobs.storage_bucket IS 'The bucket the export was written to.';
COMMENT ON COLUMN wib.export_jobs.upload_id IS 'The multipart upload that wrote the object.';

-- Operators choose where exports go.  The secret is sealed at once and never
-- returned, logged by wib or echoed in an error.
CREATE OR REPLACE FUNCTION wib.export_storage_configure(settings jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    s3_keys    text[] := ARRAY['kind', 'endpoint', 'region', 'bucket', 'prefix', 'access_key_id',
                               'secret_access_key', 'addressing'];
    kind       text;
    endpoint   text;
    region     text;
    bucket     text;
    prefix     text;
    addressing text;
    key_id     text;
    secret     text;
    saved      wib.export_storage;
BEGIN
    PERFORM wib.check_fields(settings, s3_keys, 'settings');
    kind := wib.field_enum(settings, 'kind', ARRAY['local', 's3'], 'local');
    IF kind = 'local' THEN
        -- Local files: the object storage settings are kept (exports already in the
        -- bucket stay downloadable and are still deleted when they expire).
        PERFORM wib.check_fields(settings, ARRAY['kind'], 'settings');
        INSERT INTO wib.export_storage (name, kind) VALUES ('default', 'local')
        ON CONFLICT (name) DO UPDATE SET kind = 'local', updated_at = now()
        RETURNING * INTO saved;
    ELSE
        endpoint := wib.field_text(settings, 'endpoint', 300);
        region := wib.field_text(settings, 'region', 64);
        bucket := wib.field_text(settings, 'bucket', 63);
        prefix := coalesce(wib.field_text(settings, 'prefix', 512), '');
        addressing := wib.field_enum(settings, 'addressing', ARRAY['path', 'virtual'], 'path');
        key_id := wib.field_text(settings, 'access_key_id', 128);
        IF settings ? 'secret_access_key' AND jsonb_typeof(settings -> 'secret_access_key') = 'string' THEN
            secret := settings ->> 'secret_access_key';
        END IF;

        IF endpoint IS NULL THEN
            PERFORM wib.invalid_field('endpoint', 'endpoint is required for s3 storage: https://<host>[:<port>], for R2 https://<account>.r2.cloudflarestorage.com.');
        END IF;
        endpoint := wib.export_s3_endpoint(endpoint);
        IF endpoint LIKE 'http:%' AND NOT current_setting('wib.http_allow_http')::boolean THEN
            PERFORM wib.invalid_field('endpoint', 'endpoint must use https (plain http needs wib.http_allow_http).');
        END IF;
        IF region IS NULL OR region !~ '^[a-z0-9][a-z0-9-]{0,63}$' THEN
            PERFORM wib.invalid_field('region', 'region is required: auto for R2, the bucket''s region for AWS (us-east-1, ...), us-east-1 for MinIO unless set otherwise.');
        END IF;
        IF bucket IS NULL OR bucket !~ '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' OR bucket LIKE '%..%' THEN
            PERFORM wib.invalid_field('bucket', 'bucket is required: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit.');
        END IF;
        IF addressing = 'virtual' AND bucket LIKE '%.%' AND endpoint LIKE 'https:%' THEN
            PERFORM wib.invalid_field('addressing', 'virtual addressing needs a bucket name without dots over https (the certificate would not match); use path.');
        END IF;
        IF octet_length(prefix) > 512 OR prefix ~ '[[:cntrl:]]' OR prefix LIKE '/%' THEN
            PERFORM wib.invalid_field('prefix', 'prefix must be at most 512 bytes, without control characters, and not start with /.');
        END IF;
        IF key_id IS NULL OR key_id !~ '^[A-Za-z0-9._~+=@-]{1,128}$' THEN
            PERFORM wib.invalid_field('access_key_id', 'access_key_id is required: 1 to 128 letters, digits or ._~+=@-.');
        END IF;
        -- Checked without ever quoting the value.
        IF secret IS NULL OR octet_length(secret) NOT BETWEEN 1 AND 255 OR secret !~ '^[!-~]+$' THEN
            PERFORM wib.invalid_field('secret_access_key', 'secret_access_key is required: 1 to 255 printable ASCII characters without spaces.');
        END IF;

        INSERT INTO wib.export_storage (name, kind, endpoint, region, bucket, prefix, addressing,
                                             access_key_id, secret_access_key, updated_at)
        VALUES ('default', 's3', endpoint, region, bucket, prefix, addressing, key_id,
                wib.vault_seal(secret, NULL, 'export_storage.secret_access_key', 'default'), now())
        ON CONFLICT (name) DO UPDATE
           SET kind = EXCLUDED.kind, endpoint = EXCLUDED.endpoint, region = EXCLUDED.region,
               bucket = EXCLUDED.bucket, prefix = EXCLUDED.prefix, addressing = EXCLUDED.addressing,
               access_key_id = EXCLUDED.access_key_id, secret_access_key = EXCLUDED.secret_access_key,
               updated_at = EXCLUDED.updated_at
        RETURNING * INTO saved;
        secret := NULL;
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'kind', saved.kind, 'endpoint', saved.endpoint, 'region', saved.region, 'bucket', saved.bucket,
        'prefix', saved.prefix, 'addressing', saved.addressing, 'access_key_id', saved.access_key_id,
        'secret_access_key', CASE WHEN saved.secret_access_key IS NOT NULL THEN 'sealed' END));
END
$$;
COMMENT ON FUNCTION wib.export_storage_configure(jsonb) IS
    'Operators: where exports are kept. {"kind": "local"} (the default) or {"kind": "s3", "endpoint", "region", "bucket", "prefix", "access_key_id", "secret_access_key", "addressing": "path"|"virtual"}; unknown keys refused by name; the secret is sealed in the vault and never returned. Returns the settings, the secret shown as "sealed".';

-- The target the C side signs requests for: the configured region and
-- credentials, at the given endpoint and bucket (an export's own), or the
-- configured ones.  NULL when no object storage credentials are configured.
CREATE OR REPLACE FUNCTION wib.export_storage_target(endpoint text DEFAULT NULL, bucket text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    s wib.export_storage;
BEGIN
    SELECT * INTO s FROM wib.export_storage x WHERE x.name = 'default';
    IF NOT FOUND OR s.secret_access_key IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object(
        'endpoint', coalesce(export_storage_target.endpoint, s.endpoint),
        'bucket', coalesce(export_storage_target.bucket, s.bucket),
        'region', s.region, 'addressing', s.addressing, 'access_key_id', s.access_key_id,
        'secret_access_key', wib.vault_open(s.secret_access_key, NULL, 'export_storage.secret_access_key', 'default'));
END
$$;
COMMENT ON FUNCTION wib.export_storage_target(text, text) IS
    'Internal: endpoint, bucket, region, addressing and credentials (the secret opened from the vault) for the C side of object storage; NULL when none are configured.';

-- Queues the abort of the upload recorded for a job and forgets it.
CREATE OR REPLACE FUNCTION wib.export_upload_drop(org uuid, job uuid) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    WITH gone AS (
        DELETE FROM wib.export_uploads u WHERE u.organization_id = org AND u.job_id = job RETURNING u.*)
    INSERT INTO wib.export_storage_queue (organization_id, job_id, op, endpoint, bucket, object_key, upload_id)
    SELECT g.organization_id, g.job_id, 'abort_upload', g.endpoint, g.bucket, g.r2_key, g.upload_id FROM gone g;
    IF FOUND THEN
        PERFORM wib.wake('deliverer');
    END IF;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION wib.export_upload_drop(uuid, uuid) IS
    'Internal: moves the multipart upload recorded for a job to the abort queue (the deliverer aborts it); false when none was recorded.';

-- The deliverer's storage channel: claim, record, release.
CREATE OR REPLACE FUNCTION wib.export_storage_claim(max_items integer, lease interval)
    RETURNS TABLE (organization_id uuid, id uuid, op text, target jsonb, object_key text, upload_id text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org   uuid;
    r     record;
    taken integer := 0;
BEGIN
    -- On a Citus cluster FOR UPDATE SKIP LOCKED runs only in statements routed
    -- to one shard: one organization at a time (oldest due first), and the
    -- storage target (the coordinator's settings and key ring) looked up here.
    IF wib.is_distributed('wib.export_storage_queue') THEN
        FOR org IN SELECT q.organization_id FROM wib.export_storage_queue q
                    WHERE q.next_attempt_at <= now()
                    GROUP BY q.organization_id ORDER BY min(q.next_attempt_at) LIMIT max_items
        LOOP
            FOR r IN
                WITH due AS (
                    SELECT q.organization_id, q.id FROM wib.export_storage_queue q
                     WHERE q.organization_id = org AND q.next_attempt_at <= now()
                     ORDER BY q.next_attempt_at
                     LIMIT max_items - taken
                       FOR UPDATE SKIP LOCKED)
                UPDATE wib.export_storage_queue q
                   SET next_attempt_at = now() + lease, leased_until = now() + lease
                  FROM due
                 WHERE q.organization_id = org AND q.organization_id = due.organization_id AND q.id = due.id
                RETURNING q.organization_id, q.id, q.op, q.endpoint, q.bucket, q.object_key, q.upload_id
            LOOP
                organization_id := r.organization_id;
                id := r.id;
                op := r.op;
                target := wib.export_storage_target(r.endpoint, r.bucket);
                object_key := r.object_key;
                upload_id := r.upload_id;
                RETURN NEXT;
                taken := taken + 1;
            END LOOP;
            EXIT WHEN taken >= max_items;
        END LOOP;
        RETURN;
    END IF;
    RETURN QUERY
    WITH due AS (
        SELECT q.organization_id, q.id FROM wib.export_storage_queue q
         WHERE q.next_attempt_at <= now()
         ORDER BY q.next_attempt_at
         LIMIT max_items
           FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE wib.export_storage_queue q
           SET next_attempt_at = now() + lease, leased_until = now() + lease
          FROM due
         WHERE q.organization_id = due.organization_id AND q.id = due.id
        RETURNING q.*)
    SELECT c.organization_id, c.id, c.op, wib.export_storage_target(c.endpoint, c.bucket), c.object_key, c.upload_id
      FROM claimed c;
END
$$;
COMMENT ON FUNCTION wib.export_storage_claim(integer, interval) IS
    'Internal (deliverer): leases due object deletes and upload aborts with the storage target of each; on a Citus cluster one organization at a time.';

CREATE OR REPLACE FUNCTION wib.export_storage_record(org_ids uuid[], ids uuid[], done boolean[], errors text[])
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM wib.export_storage_queue q
     USING unnest(org_ids, ids, done) AS r(organization_id, id, done)
     WHERE r.done AND q.organization_id = r.organization_id AND q.id = r.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- Retried until the store confirms: 5 s, 10 s, 20 s, ... then hourly.
    UPDATE wib.export_storage_queue q
       SET attempts = q.attempts + 1, last_error = left(r.error, 1000), leased_until = NULL,
           next_attempt_at = now() + least(interval '1 hour', interval '5 seconds' * power(2, least(q.attempts, 10)))
      FROM unnest(org_ids, ids, done, errors) AS r(organization_id, id, done, error)
     WHERE NOT r.done AND q.organization_id = r.organization_id AND q.id = r.id;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.export_storage_record(uuid[], uuid[], boolean[], text[]) IS
    'Internal (deliverer): removes the deletes and aborts the store confirmed, schedules the others again with backoff (5 s doubling, at most 1 hour).';

-- When the deliverer starts (after a crash, too): its predecessor's leases end,
-- and the uploads a dead runner left recorded (their job held by nobody) are
-- queued for abort; the job then runs again from a new upload.
CREATE OR REPLACE FUNCTION wib.export_storage_release() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    u record;
    n integer := 0;
BEGIN
    IF wib.is_distributed('wib.export_storage_queue') THEN
        -- Citus locks rows across shards only by statements routed to one.
        UPDATE wib.export_storage_queue q SET next_attempt_at = now(), leased_until = NULL
         WHERE q.leased_until > now();
    ELSE
        UPDATE wib.export_storage_queue q SET next_attempt_at = now(), leased_until = NULL
         WHERE (q.organization_id, q.id) IN (SELECT x.organization_id, x.id FROM wib.export_storage_queue x
                                              WHERE x.leased_until > now() FOR UPDATE SKIP LOCKED);
    END IF;
    FOR u IN SELECT x.organization_id, x.job_id FROM wib.export_uploads x LOOP
        PERFORM 1 FROM wib.export_jobs j
         WHERE j.organization_id = u.organization_id AND j.id = u.job_id FOR UPDATE SKIP LOCKED;
        -- A job someone holds is being written right now: its upload is alive.
        CONTINUE WHEN NOT FOUND AND EXISTS (SELECT 1 FROM wib.export_jobs j
                                             WHERE j.organization_id = u.organization_id AND j.id = u.job_id);
        PERFORM wib.export_upload_drop(u.organization_id, u.job_id);
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        PERFORM wib.export_kick();
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.export_storage_release() IS
    'Internal (deliverer, on start): makes leased deletes and aborts due at once and queues the abort of every recorded upload whose job no runner holds.';

-- The sweep of stale uploads: recorded uploads of jobs that are gone or over,
-- and uploads at the store under the prefix that are this database's but that
-- nothing records (begun by a transaction that never committed).
CREATE OR REPLACE FUNCTION wib.export_uploads_sweep() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    s     wib.export_storage;
    u     record;
    m     text[];
    org   uuid;
    job   uuid;
    n     integer := 0;
BEGIN
    FOR u IN SELECT x.organization_id, x.job_id FROM wib.export_uploads x
               LEFT JOIN wib.export_jobs j ON j.organization_id = x.organization_id AND j.id = x.job_id
              WHERE j.id IS NULL OR j.status NOT IN ('pending', 'processing') LOOP
        IF wib.export_upload_drop(u.organization_id, u.job_id) THEN
            n := n + 1;
        END IF;
    END LOOP;

    SELECT * INTO s FROM wib.export_storage x WHERE x.name = 'default';
    IF NOT FOUND OR s.kind <> 's3' THEN
        RETURN n;
    END IF;
    FOR u IN SELECT * FROM wib.export_s3_list_uploads(wib.export_storage_target(), s.prefix) LOOP
        CONTINUE WHEN left(u.key, length(s.prefix)) <> s.prefix;
        m := regexp_match(substr(u.key, length(s.prefix) + 1),
                          '^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(csv|jsonl)$');
        CONTINUE WHEN m IS NULL;
        org := m[1]::uuid;
        job := m[2]::uuid;
        -- Keys of organizations this database does not hold belong to someone else.
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM wib.organizations o WHERE o.id = org);
        -- A job some runner holds is being begun or written right now.
        PERFORM 1 FROM wib.export_jobs j WHERE j.organization_id = org AND j.id = job FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND AND EXISTS (SELECT 1 FROM wib.export_jobs j WHERE j.organization_id = org AND j.id = job);
        CONTINUE WHEN EXISTS (SELECT 1 FROM wib.export_uploads x
                               WHERE x.organization_id = org AND x.job_id = job AND x.upload_id = u.upload_id);
        CONTINUE WHEN EXISTS (SELECT 1 FROM wib.export_storage_queue q
                               WHERE q.organization_id = org AND q.upload_id = u.upload_id);
        INSERT INTO wib.export_storage_queue (organization_id, job_id, op, endpoint, bucket, object_key, upload_id)
        VALUES (org, job, 'abort_upload', s.endpoint, s.bucket, u.key, u.upload_id);
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        PERFORM wib.wake('deliverer');
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.export_uploads_sweep() IS
    'Operators (scheduled hourly as export_uploads_sweep): queues the abort of stale multipart uploads: recorded ones whose job is gone or finished, and those listed at the store under the prefix for this database''s organizations that no running job owns. Returns how many.';

-- An export deleted with its organization leaves no object or upload behind.
CREATE OR REPLACE FUNCTION wib.export_jobs_forget() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    IF OLD.storage = 's3' AND OLD.status = 'completed' THEN
        INSERT INTO wib.export_storage_queue (organization_id, job_id, op, endpoint, bucket, object_key)
        VALUES (OLD.organization_id, OLD.id, 'delete_object', OLD.storage_endpoint, OLD.storage_bucket, OLD.r2_key);
        PERFORM wib.wake('deliverer');
    END IF;
    PERFORM wib.export_upload_drop(OLD.organization_id, OLD.id);
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION wib.export_jobs_forget() IS
    'Internal (trigger): queues the delete of a deleted job''s object and the abort of its upload.';
CREATE OR REPLACE TRIGGER export_jobs_forget AFTER DELETE ON wib.export_jobs
    FOR EACH ROW EXECUTE FUNCTION wib.export_jobs_forget();

-- What object storage seals, for wib.vault_rotate.
INSERT INTO wib.vault_columns (context, table_name, column_name, organization_column, row_id_column, description) VALUES
    ('export_storage.secret_access_key', 'export_storage', 'secret_access_key', NULL, 'name',
     'The secret access key of the object storage exports are written to (a platform secret).')
ON CONFLICT (context) DO UPDATE SET table_name = EXCLUDED.table_name, column_name = EXCLUDED.column_name,
    organization_column = EXCLUDED.organization_column, row_id_column = EXCLUDED.row_id_column,
    description = EXCLUDED.description;
