-- Privileges of exports: applications call the API as themselves; the C helpers stay closed.

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
