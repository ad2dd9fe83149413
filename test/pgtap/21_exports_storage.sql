-- Object storage of exports without a store (the TAP suite 022_exports_s3.pl
-- talks to the S3 peer): configuration and its bad input, who may configure
-- and read what, the secret kept sealed and out of every error, presigned
-- links (signed locally) capped by the export's expiry and refused to other
-- tenants, plan gating unchanged, expiry and deletion queueing the object's
-- delete, the sweep and the restart release queueing aborts.
BEGIN;
\ir lib/fixtures.sql
SELECT plan(90);

-- Runs a statement and returns 'SQLSTATE: message / detail / hint' of its error ('ok' when none).
CREATE FUNCTION pg_temp.error_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m text; d text; h text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || m || ' / ' || coalesce(d, '') || ' / ' || coalesce(h, '');
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.error_of(text) TO PUBLIC;

CREATE TEMP TABLE s3 AS SELECT jsonb_build_object(
    'kind', 's3', 'endpoint', 'HTTPS://Acct.R2.CloudflareStorage.com:443/', 'region', 'auto', 'bucket', 'wib-exports',
    'prefix', 'exports/', 'access_key_id', '0123456789abcdef0123456789abcdef',
    'secret_access_key', 'tOpS3cret/never+shown-anywhere-9f8e7d6c5b4a') AS v;
GRANT SELECT ON s3 TO PUBLIC;

-- Roles.
SET ROLE wib_test_app;
SELECT throws_ok($$SELECT wib.export_storage_configure('{"kind": "local"}')$$, '42501', NULL,
                 'applications cannot configure export storage');
SELECT throws_ok($$SELECT 1 FROM wib.export_storage$$, '42501', NULL, 'applications cannot read the storage settings');
RESET ROLE;
SET ROLE wib_test_admin;
SELECT is(wib.export_storage_configure('{}'), '{"kind": "local", "prefix": "", "addressing": "path"}'::jsonb,
          'operators configure local files, the default');
SELECT is(wib.export_storage_configure((SELECT v FROM s3)),
          '{"kind": "s3", "endpoint": "https://acct.r2.cloudflarestorage.com", "region": "auto", "bucket": "wib-exports", "prefix": "exports/", "addressing": "path", "access_key_id": "0123456789abcdef0123456789abcdef", "secret_access_key": "sealed"}'::jsonb,
          'configure stores s3 settings, the endpoint normalized, and shows the secret only as sealed');
SELECT is((SELECT kind || ' ' || endpoint || ' ' || bucket FROM wib.export_storage),
          's3 https://acct.r2.cloudflarestorage.com wib-exports', 'operators read the settings');
SELECT throws_ok($$SELECT secret_access_key FROM wib.export_storage$$, '42501', NULL, 'operators cannot read the sealed secret');
SELECT ok(NOT has_function_privilege('wib_admin', f, 'EXECUTE') AND NOT has_function_privilege('wib_app', f, 'EXECUTE'),
          f || ' is granted to no role')
  FROM unnest(ARRAY['wib.export_storage_target(text, text)', 'wib.export_s3_begin(jsonb, text, text)',
                    'wib.export_s3_write(text, text, boolean, bigint, text, jsonb, text, text)',
                    'wib.export_s3_presign(jsonb, text, integer, text)', 'wib.export_s3_list_uploads(jsonb, text)',
                    'wib.export_storage_claim(integer, interval)', 'wib.export_storage_release()',
                    'wib.export_upload_drop(uuid, uuid)']) f;
RESET ROLE;
SELECT is(position(convert_to((SELECT v ->> 'secret_access_key' FROM s3), 'UTF8') IN secret_access_key), 0,
          'the secret is stored sealed')
  FROM wib.export_storage;
SELECT is(wib.export_storage_target() ->> 'secret_access_key', (SELECT v ->> 'secret_access_key' FROM s3),
          'the vault opens it for the C side');
SELECT is((SELECT table_name || '.' || column_name || ' ' || coalesce(organization_column, 'platform') || ' ' || row_id_column
             FROM wib.vault_columns WHERE context = 'export_storage.secret_access_key'),
          'export_storage.secret_access_key platform name', 'the sealed secret is listed in the vault''s catalogue');
SELECT lives_ok('SELECT wib.vault_rotate()', 'the vault''s rotation goes through it');
SELECT is(wib.export_storage_target() ->> 'secret_access_key', (SELECT v ->> 'secret_access_key' FROM s3),
          'the secret still opens after a rotation');

-- Bad input: 22023 naming the key, the secret never echoed, nothing changed.
SET ROLE wib_test_admin;
CREATE FUNCTION pg_temp.bad(change jsonb) RETURNS text LANGUAGE sql AS
    $$SELECT pg_temp.error_of(format('SELECT wib.export_storage_configure(%L)', (SELECT v FROM s3) || change))$$;
SELECT ok(pg_temp.error_of(stmt) ~ ('^22023: ' || msg), msg)
  FROM (VALUES ('SELECT wib.export_storage_configure(NULL)', 'invalid settings'),
               ('SELECT wib.export_storage_configure(''[]'')', 'invalid settings'),
               ('SELECT wib.export_storage_configure(''{"kind": "gcs"}'')', 'invalid kind'),
               ('SELECT wib.export_storage_configure(''{"kind": "local", "bucket": "x"}'')', 'unknown field "bucket" in settings'),
               ('SELECT wib.export_storage_configure(''{"kind": "s3"}'')', 'invalid endpoint')) t(stmt, msg);
SELECT ok(pg_temp.bad(change) ~ ('^22023: ' || msg), msg || ' for ' || change::text)
  FROM (VALUES ('{"colour": "blue"}'::jsonb, 'unknown field "colour" in settings'),
               ('{"endpoint": "ftp://s3.example.test"}', 'invalid endpoint'),
               ('{"endpoint": "https://s3.example.test/bucket"}', 'invalid endpoint'),
               ('{"endpoint": "https://user:pw@s3.example.test"}', 'invalid endpoint'),
               ('{"endpoint": "http://s3.example.test"}', 'invalid endpoint'),
               ('{"endpoint": 443}', 'invalid endpoint'),
               ('{"region": null}', 'invalid region'),
               ('{"region": "Auto Region"}', 'invalid region'),
               ('{"bucket": "Wib_Exports"}', 'invalid bucket'),
               ('{"bucket": "ab"}', 'invalid bucket'),
               ('{"bucket": "a..b"}', 'invalid bucket'),
               ('{"addressing": "dns"}', 'invalid addressing'),
               ('{"addressing": "virtual", "bucket": "wib.exports"}', 'invalid addressing'),
               ('{"prefix": "/exports/"}', 'invalid prefix'),
               ('{"prefix": "a\u0001b"}', 'invalid prefix'),
               ('{"prefix": 7}', 'invalid prefix'),
               ('{"access_key_id": ""}', 'invalid access_key_id'),
               ('{"access_key_id": "AKIA/SLASH"}', 'invalid access_key_id'),
               ('{"secret_access_key": null}', 'invalid secret_access_key'),
               ('{"secret_access_key": 12345}', 'invalid secret_access_key'),
               ('{"secret_access_key": "has a space-9f8e7d6c5b4a"}', 'invalid secret_access_key'),
               ('{"secret_access_key": ""}', 'invalid secret_access_key')) t(change, msg);
SELECT ok(strpos(pg_temp.bad(change), 'never+shown') = 0 AND strpos(pg_temp.bad(change), '9f8e7d6c5b4a') = 0,
          'the error for ' || change::text || ' does not echo the secret')
  FROM (VALUES ('{"colour": "blue"}'::jsonb), ('{"endpoint": "ftp://x"}'), ('{"bucket": "B"}'),
               ('{"secret_access_key": "has a space-9f8e7d6c5b4a"}'), ('{"secret_access_key": ["9f8e7d6c5b4a"]}')) t(change);
SELECT is((SELECT endpoint || ' ' || bucket || ' ' || prefix FROM wib.export_storage),
          'https://acct.r2.cloudflarestorage.com wib-exports exports/', 'refused settings change nothing');
SELECT is(wib.export_storage_configure((SELECT v FROM s3) || '{"endpoint": "https://127.0.0.1:9443", "prefix": "", "addressing": "virtual"}') ->> 'endpoint',
          'https://127.0.0.1:9443', 'an address with a port is an endpoint too');
SELECT lives_ok(format('SELECT wib.export_storage_configure(%L)', (SELECT v FROM s3)), 'configure again');
RESET ROLE;

-- Links: a completed export in object storage (no store needed to sign).
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SET ROLE wib_test_app;
SELECT wib.export_create('calls', 'csv') AS s3_job \gset
RESET ROLE;
UPDATE wib.export_jobs SET status = 'completed', storage = 's3', total_rows = 1, file_size_bytes = 10, sha256 = repeat('0', 64),
       completed_at = now(), expires_at = now() + interval '30 minutes',
       r2_key = 'exports/' || organization_id || '/' || id || '.csv',
       storage_endpoint = 'https://acct.r2.cloudflarestorage.com', storage_bucket = 'wib-exports', upload_id = 'u-1'
 WHERE id = :'s3_job';
SET ROLE wib_test_app;
SELECT wib.export_download_url(:'s3_job') AS url \gset
SELECT ok(:'url' LIKE 'https://acct.r2.cloudflarestorage.com/wib-exports/exports/' || pg_temp.org('a') || '/' || :'s3_job' || '.csv?%',
          'the link is a path-style URL of the object');
SELECT ok(:'url' ~ 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=0123456789abcdef0123456789abcdef%2F\d{8}%2Fauto%2Fs3%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=\d+&X-Amz-SignedHeaders=host&',
          'the link carries SigV4 query authentication for region auto');
SELECT ok(:'url' ~ 'X-Amz-Signature=[0-9a-f]{64}$', 'the link ends with its signature');
SELECT ok(:'url' ~ ('response-content-disposition=attachment%3B%20filename%3D%22calls-' || :'s3_job' || '\.csv%22'),
          'the link downloads as an attachment named after the export');
-- The export ends 30 minutes after this transaction began; the link, minted a
-- moment later (seconds later under valgrind), ends with it.
SELECT ok(substring(:'url' FROM 'X-Amz-Expires=(\d+)')::int
              BETWEEN floor(extract(epoch FROM now() + interval '30 minutes' - clock_timestamp())) - 1 AND 1800,
          'an hour asked, the link ends with the export (30 minutes)');
SELECT ok(e BETWEEN 299 AND 300, 'a shorter ttl is kept')
  FROM (SELECT substring(wib.export_download_url(:'s3_job', '5 minutes') FROM 'X-Amz-Expires=(\d+)')::int AS e) s;
SELECT ok(strpos(:'url', 'never+shown') = 0 AND strpos(:'url', 'tOpS3cret') = 0, 'the link does not carry the secret');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'export:downloaded' AND resource_id = :'s3_job'), 2::bigint,
          'each link minted is audited export:downloaded');
SELECT throws_ok(format('SELECT wib.export_read(%L, 0, 10)', :'s3_job'), 'WB210', NULL,
                 'an export in object storage is not read through SQL');
SELECT throws_ok('SELECT wib.export_download_url(NULL)', '22023', 'invalid id', 'export_download_url refuses a NULL id');
SELECT throws_ok(format('SELECT wib.export_download_url(%L, NULL)', :'s3_job'), '22023', 'invalid ttl', 'a NULL ttl is refused');
SELECT throws_ok(format('SELECT wib.export_download_url(%L, ''0'')', :'s3_job'), '22023', 'invalid ttl', 'a zero ttl is refused');
SELECT throws_ok(format('SELECT wib.export_download_url(%L, ''8 days'')', :'s3_job'), '22023', 'invalid ttl', 'a ttl past 7 days is refused');
SELECT throws_ok('SELECT wib.export_download_url(gen_random_uuid())', 'P0002', NULL, 'an unknown export has no link');
SELECT wib.export_create('calls', 'json') AS pending_job \gset
SELECT throws_ok(format('SELECT wib.export_download_url(%L)', :'pending_job'), 'WB203', NULL, 'a pending export has no link');
SELECT wib.set_context(pg_temp.org('b'), 'agent-1');
SELECT throws_ok(format('SELECT wib.export_download_url(%L)', :'s3_job'), 'P0002', NULL,
                 'another organization cannot mint a link to the export');
SELECT wib.clear_context();
SELECT throws_ok(format('SELECT wib.export_download_url(%L)', :'s3_job'), 'WB005', NULL, 'a link needs a tenant');
RESET ROLE;

-- A local export gets the signed token link, opened by wib.export_open.
SELECT wib.export_storage_configure('{"kind": "local"}') ->> 'kind' AS kind \gset
SELECT is(:'kind'::text, 'local', 'storage back to local files keeps the bucket settings for the objects already there');
SELECT is((SELECT bucket FROM wib.export_storage), 'wib-exports', 'the s3 settings are kept');
SELECT cmp_ok(wib.run_export_jobs(), '>=', 1, 'local jobs still run');
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT wib.export_download_url(:'pending_job', '10 minutes') AS tok \gset
SELECT wib.clear_context();
SELECT is(wib.export_open(:'tok'), :'pending_job'::uuid, 'a local export''s link is a token export_open accepts');
RESET ROLE;

-- Plans apply as before: refused up front, nothing begun at the store.
SELECT wib.export_storage_configure((SELECT v FROM s3)) IS NOT NULL AS s3_again \gset
INSERT INTO fx VALUES ('free', wib.organization_create('Free Storage Org', 'free'));
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('free'), 'u');
SELECT throws_ok($$SELECT wib.export_create('calls')$$, 'WB001', NULL, 'object storage does not lift plan gating');
RESET ROLE;
SELECT is((SELECT count(*) FROM wib.export_uploads WHERE organization_id = pg_temp.org('free')), 0::bigint,
          'a refused export begins no upload');

-- Expiry queues the delete of the object; the job is marked expired at once.
UPDATE wib.export_jobs SET expires_at = now() - interval '1 second' WHERE id = :'s3_job';
SELECT cmp_ok(wib.export_expire(), '>=', 1::bigint, 'the expired export is expired');
SELECT is((SELECT status FROM wib.export_jobs WHERE id = :'s3_job'), 'expired', 'the job is marked expired');
SELECT is((SELECT op || ' ' || endpoint || ' ' || bucket || ' ' || object_key FROM wib.export_storage_queue WHERE job_id = :'s3_job'),
          'delete_object https://acct.r2.cloudflarestorage.com wib-exports exports/' || pg_temp.org('a') || '/' || :'s3_job' || '.csv',
          'the object''s delete is queued for the deliverer, at the bucket it was written to');
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT throws_ok(format('SELECT wib.export_download_url(%L)', :'s3_job'), 'WB204', NULL, 'an expired export has no link');
RESET ROLE;

-- The deliverer records: done items leave the queue, others back off.
SELECT is(wib.export_storage_record(ARRAY[organization_id], ARRAY[id], ARRAY[false], ARRAY['DeleteObject: 503 SlowDown']), 0,
          'a failed delete is not removed')
  FROM wib.export_storage_queue WHERE job_id = :'s3_job';
SELECT ok((SELECT attempts = 1 AND last_error = 'DeleteObject: 503 SlowDown' AND next_attempt_at > now() + interval '4 seconds'
             FROM wib.export_storage_queue WHERE job_id = :'s3_job'), 'a failed delete stays queued with its error and a backoff');
SELECT is(wib.export_storage_record(ARRAY[organization_id], ARRAY[id], ARRAY[true], ARRAY[NULL::text]), 1,
          'a confirmed delete is removed')
  FROM wib.export_storage_queue WHERE job_id = :'s3_job';
SELECT is((SELECT count(*) FROM wib.export_storage_queue WHERE job_id = :'s3_job'), 0::bigint, 'a confirmed delete leaves the queue');

-- Deleting a completed export (its organization deleted) queues its object's delete too.
UPDATE wib.export_jobs SET status = 'completed', expires_at = now() + interval '1 hour' WHERE id = :'s3_job';
DELETE FROM wib.export_jobs WHERE id = :'s3_job';
SELECT is((SELECT count(*) FROM wib.export_storage_queue WHERE job_id = :'s3_job' AND op = 'delete_object'), 1::bigint,
          'a deleted export''s object is queued for delete');

-- Uploads left behind: recorded for jobs that are gone (the fixture's) are swept;
-- on restart, every recorded upload whose job nobody holds is aborted.
SELECT wib.export_storage_configure('{"kind": "local"}') IS NOT NULL AS local_again \gset
SELECT is(wib.export_uploads_sweep(), 2,
          'the sweep queues the aborts of the uploads of jobs that are gone (with local storage the store is not listed)');
SELECT is((SELECT count(*) FROM wib.export_storage_queue WHERE op = 'abort_upload' AND upload_id = 'fixture-upload'), 2::bigint,
          'their aborts are queued');
INSERT INTO wib.export_uploads (organization_id, job_id, endpoint, bucket, r2_key, upload_id)
VALUES (pg_temp.org('a'), :'pending_job', 'https://acct.r2.cloudflarestorage.com', 'wib-exports', 'exports/x.jsonl', 'u-2');
SELECT is(wib.export_storage_release(), 1, 'on restart, an upload whose job nobody holds is queued for abort');
SELECT is((SELECT count(*) FROM wib.export_uploads), 0::bigint, 'no recorded upload is left');

SELECT * FROM finish();
ROLLBACK;
