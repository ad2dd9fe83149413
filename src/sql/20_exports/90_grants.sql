-- Privileges of exports: applications use the API; jobs are written only by it,
-- and the C helpers (files, tokens) stay closed.

GRANT EXECUTE ON FUNCTION
    wib.export_create(text, text, jsonb, text), wib.export_stream(text, text, jsonb),
    wib.export_prepare(text, text, jsonb), wib.export_status(uuid),
    wib.export_read(uuid, bigint, integer), wib.export_download_token(uuid, interval),
    wib.export_open(text), wib.export_allowed_filters(text), wib.export_download_url(uuid, interval)
TO wib_app;
GRANT SELECT ON wib.export_jobs TO wib_app;
GRANT EXECUTE ON FUNCTION wib.run_export_jobs(integer), wib.export_expire(),
    wib.export_storage_configure(jsonb), wib.export_uploads_sweep()
TO wib_admin;
-- Operators see where exports go; the sealed secret stays the owner's.
GRANT SELECT (name, kind, endpoint, region, bucket, prefix, addressing, access_key_id, updated_at)
    ON wib.export_storage TO wib_admin;
