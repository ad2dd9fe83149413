-- Privileges of exports: applications use the API; jobs are written only by it,
-- and the C helpers (files, tokens) stay closed.

GRANT EXECUTE ON FUNCTION
    wib.export_create(text, text, jsonb, text), wib.export_stream(text, text, jsonb),
    wib.export_prepare(text, text, jsonb), wib.export_status(uuid),
    wib.export_read(uuid, bigint, integer), wib.export_download_token(uuid, interval),
    wib.export_open(text), wib.export_allowed_filters(text)
TO wib_app;
GRANT SELECT ON wib.export_jobs TO wib_app;
GRANT EXECUTE ON FUNCTION wib.run_export_jobs(integer), wib.export_expire() TO wib_admin;
