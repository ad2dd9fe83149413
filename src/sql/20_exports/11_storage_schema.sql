-- Object storage of exports: the operator's settings, the multipart uploads in
-- flight, and the queue of deletes and aborts the deliverer sends.

-- One row (name 'default') once an operator configured storage; no row means
-- local files.  The secret is sealed in the vault as a platform secret.
CREATE TABLE wib.export_storage (
    name              text        NOT NULL DEFAULT 'default',
    kind              text        NOT NULL DEFAULT 'local',
    endpoint          text,
    region            text,
    bucket            text,
    prefix            text        NOT NULL DEFAULT '',
    addressing        text        NOT NULL DEFAULT 'path',
    access_key_id     text,
    secret_access_key bytea,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT export_storage_pkey PRIMARY KEY (name),
    CONSTRAINT export_storage_name_check CHECK (name = 'default'),
    CONSTRAINT export_storage_kind_check CHECK (kind IN ('local', 's3')),
    CONSTRAINT export_storage_addressing_check CHECK (addressing IN ('path', 'virtual')),
    CONSTRAINT export_storage_s3_check
        CHECK (kind = 'local' OR (endpoint IS NOT NULL AND region IS NOT NULL AND bucket IS NOT NULL
                                  AND access_key_id IS NOT NULL AND secret_access_key IS NOT NULL))
);
COMMENT ON TABLE wib.export_storage IS
    'Where exports are kept (wib.export_storage_configure): local files, or an S3-compatible bucket (R2, AWS S3, MinIO) with its endpoint, region, prefix and credentials; the secret access key is sealed in the vault.';
SELECT pg_catalog.pg_extension_config_dump('wib.export_storage', '');

-- A multipart upload begun for a job, committed before its first part is
-- sent: the runner writes into it in its next transaction, and an upload
-- whose runner died is aborted from here (the deliverer's start, the sweep).
CREATE TABLE wib.export_uploads (
    organization_id uuid        NOT NULL,
    job_id          uuid        NOT NULL,
    endpoint        text        NOT NULL,
    bucket          text        NOT NULL,
    r2_key          text        NOT NULL,
    upload_id       text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT export_uploads_pkey PRIMARY KEY (organization_id, job_id)
);
COMMENT ON TABLE wib.export_uploads IS
    'Internal: the multipart upload begun for each export job being written to object storage; removed when the job completes, and queued for abort when it fails or its runner died.';
SELECT wib.make_tenant_table('wib.export_uploads');

-- Deletes of expired objects and aborts of unfinished uploads, retried by the
-- deliverer's storage channel until the store confirms them.
CREATE TABLE wib.export_storage_queue (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    job_id          uuid,
    op              text        NOT NULL,
    endpoint        text        NOT NULL,
    bucket          text        NOT NULL,
    object_key      text        NOT NULL,
    upload_id       text,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT export_storage_queue_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT export_storage_queue_op_check CHECK (op IN ('delete_object', 'abort_upload')),
    CONSTRAINT export_storage_queue_upload_check CHECK ((op = 'abort_upload') = (upload_id IS NOT NULL))
);
CREATE INDEX export_storage_queue_due_idx ON wib.export_storage_queue (next_attempt_at);
COMMENT ON TABLE wib.export_storage_queue IS
    'Internal: object deletes (expired exports) and multipart upload aborts (failed or interrupted jobs) that the deliverer sends and retries with backoff until the store answers 2xx or 404.';
SELECT wib.make_tenant_table('wib.export_storage_queue');
