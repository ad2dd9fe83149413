-- Export jobs: what was asked for and the file it produced.

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
    storage         text        NOT NULL DEFAULT 'local',
    r2_key          text,
    storage_endpoint text,
    storage_bucket  text,
    upload_id       text,
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
                                         AND sha256 IS NOT NULL AND expires_at IS NOT NULL)),
    CONSTRAINT export_jobs_storage_check CHECK (storage IN ('local', 's3')),
    CONSTRAINT export_jobs_object_check
        CHECK (storage = 'local' OR status NOT IN ('completed', 'expired')
               OR (r2_key IS NOT NULL AND storage_endpoint IS NOT NULL AND storage_bucket IS NOT NULL))
);
CREATE INDEX export_jobs_pending_idx ON wib.export_jobs (created_at) WHERE status IN ('pending', 'processing');
CREATE INDEX export_jobs_expiry_idx ON wib.export_jobs (expires_at) WHERE status = 'completed';
CREATE INDEX export_jobs_org_created_idx ON wib.export_jobs (organization_id, created_at);
COMMENT ON TABLE wib.export_jobs IS
    'Export requests of an organization and their files: status pending → completed (or failed), then expired after wib.export_ttl; progress, row count, size and SHA-256 of the file.';
SELECT wib.make_tenant_table('wib.export_jobs');
CREATE TRIGGER export_jobs_touch BEFORE UPDATE ON wib.export_jobs FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
