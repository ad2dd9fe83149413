-- Contracts of the exports API: bad input, plan gating and row limits, rate limit,
-- idempotency, tenant isolation whatever the filters say, the job runner, chunked
-- reads, download tokens (forged, expired), streaming and expiry.
BEGIN;
\ir lib/fixtures.sql
SELECT plan(90);

CREATE FUNCTION pg_temp.jobs() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM wib.export_jobs';
GRANT EXECUTE ON FUNCTION pg_temp.jobs() TO PUBLIC;
-- The whole file of an export, as text.
CREATE FUNCTION pg_temp.file(job uuid) RETURNS text LANGUAGE sql AS
    $$SELECT convert_from(wib.export_read(job, 0, 8388608), 'UTF8')$$;
GRANT EXECUTE ON FUNCTION pg_temp.file(uuid) TO PUBLIC;
-- A download token with its payload replaced (re-encoded, the MAC kept).
CREATE FUNCTION pg_temp.token_with_payload(tok text, payload text) RETURNS text LANGUAGE sql AS
    $$SELECT concat_ws('.', split_part(tok, '.', 1), split_part(tok, '.', 2), split_part(tok, '.', 3),
                       rtrim(translate(encode(convert_to(payload, 'UTF8'), 'base64'), E'+/\n', '-_'), '='),
                       split_part(tok, '.', 5))$$;
GRANT EXECUTE ON FUNCTION pg_temp.token_with_payload(text, text) TO PUBLIC;

-- Each tenant has a call with a distinctive number.
SELECT wib.set_context(pg_temp.org('a'), 'agent-1', true);
INSERT INTO wib.calls (organization_id, agent_id, from_number, status, started_at)
VALUES (pg_temp.org('a'), 'agent-1', '+19990000001', 'completed', '2026-01-10T10:00:00Z');
SELECT wib.set_context(pg_temp.org('b'), 'agent-1', true);
INSERT INTO wib.calls (organization_id, agent_id, from_number, status, started_at)
VALUES (pg_temp.org('b'), 'agent-1', '+18880000002', 'completed', '2026-01-10T10:00:00Z');
RESET wib.org_id;

-- Bad input: 22023 naming the field or filter key, nothing written.
SET ROLE wib_test_app;
SELECT throws_ok($$SELECT wib.export_create('calls')$$, 'WB005', 'no organization in context', 'an export needs a tenant');
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT throws_ok($$SELECT wib.export_create(NULL)$$, '22023', 'invalid export_type', 'NULL export_type is refused');
SELECT throws_ok($$SELECT wib.export_create('invoices')$$, '22023', 'invalid export_type', 'an unknown export_type is refused');
SELECT throws_ok($$SELECT wib.export_create('calls', 'xml')$$, '22023', 'invalid format', 'an unknown format is refused');
SELECT throws_ok($$SELECT wib.export_create('calls', NULL)$$, '22023', 'invalid format', 'NULL format is refused');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', '[]')$$, '22023', 'invalid filters', 'filters must be an object');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', NULL)$$, '22023', 'invalid filters', 'NULL filters are refused');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', '{"campaign": "x"}')$$, '22023',
                 'unknown field "campaign" in filters', 'an unknown filter key is refused by name');
SELECT throws_ok($$SELECT wib.export_create('contacts', 'csv', '{"agent_id": "x"}')$$, '22023',
                 'unknown field "agent_id" in filters', 'filter keys are checked per export type');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', '{"date_from": "last tuesday-ish"}')$$, '22023',
                 'invalid date_from', 'a date_from that is not a timestamp is refused');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', '{"date_to": 20260101}')$$, '22023',
                 'invalid date_to', 'a date_to that is not a string is refused');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', '{"date_from": "2026-02-01", "date_to": "2026-01-01"}')$$, '22023',
                 'invalid date_to', 'a date range ending before it starts is refused');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', '{"status": "exploded"}')$$, '22023',
                 'invalid status', 'an unknown status is refused');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', '{"agent_id": ["a"]}')$$, '22023',
                 'invalid agent_id', 'an agent_id that is not a string is refused');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', '{"formula_guard": "no"}')$$, '22023',
                 'invalid formula_guard', 'formula_guard must be a boolean');
SELECT throws_ok($$SELECT wib.export_create('calls', 'csv', '{}', '')$$, '22023',
                 'invalid idempotency_key', 'an empty idempotency key is refused');
SELECT is(pg_temp.jobs(), 1::bigint, 'no job was written by any refused request (only the fixture''s)');

-- A job, idempotent by key.
SELECT wib.export_create('calls', 'csv', '{"agent_id": "agent-1"}', 'exp-1') AS job_a \gset
SELECT is(wib.export_create('calls', 'csv', '{"agent_id": "agent-1"}', 'exp-1'), :'job_a'::uuid,
          'replaying an idempotency key returns the same job');
SELECT is(pg_temp.jobs(), 2::bigint, 'the replay created no second job');
SELECT throws_ok($$SELECT wib.export_create('calls', 'json', '{}', 'exp-1')$$, 'WB004', NULL,
                 'the same key for a different request is refused');
SELECT is((SELECT status || '/' || estimated_rows FROM wib.export_jobs WHERE id = :'job_a'), 'pending/2',
          'the job is pending with the row count it will export');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'export:requested' AND resource_id = :'job_a'),
          1::bigint, 'the request is audited export:requested once');
SELECT throws_ok(format('SELECT wib.export_read(%L, 0, 100)', :'job_a'), 'WB203', NULL, 'a pending export cannot be read');
SELECT throws_ok(format('SELECT wib.export_download_token(%L)', :'job_a'), 'WB203', NULL, 'a pending export has no token');

-- Filters never leave the tenant: a value trying to break out of its literal matches nothing.
SELECT wib.export_create('calls', 'csv', $${"agent_id": "x' OR true OR '' = '"}$$) AS job_inject \gset
SELECT wib.export_create('calls', 'json') AS job_json \gset

-- The job runner (the scheduler's job) writes the files.
RESET ROLE;
SELECT cmp_ok(wib.run_export_jobs(), '>=', 3, 'the runner ran the pending jobs');
SELECT lives_ok($$SELECT wib.emit_event('export.completed', '{"export_id": "x"}')$$,
                'wib.emit_event accepts export.completed (it is in the webhook catalogue)');
SET ROLE wib_test_app;
SELECT is((SELECT status || '/' || total_rows || '/' || progress_rows FROM wib.export_jobs WHERE id = :'job_a'),
          'completed/2/2', 'the job completed with its row count and progress');
SELECT is((SELECT sha256 FROM wib.export_jobs WHERE id = :'job_a'),
          encode(sha256(wib.export_read(:'job_a', 0, 8388608)), 'hex'), 'the stored SHA-256 is that of the file');
SELECT is((SELECT file_size_bytes FROM wib.export_jobs WHERE id = :'job_a'),
          octet_length(wib.export_read(:'job_a', 0, 8388608))::bigint, 'the stored size is that of the file');
SELECT is((SELECT status || '/' || rows_written || '/' || total_rows || '/' || (bytes_written > 0) FROM wib.export_status(:'job_a')),
          'completed/2/2/true', 'export_status reports the completed job');
SELECT ok(pg_temp.file(:'job_a') ~ '\+19990000001', 'tenant A''s export holds its call');
SELECT ok(pg_temp.file(:'job_a') !~ '\+18880000002', 'tenant A''s export holds none of tenant B''s calls');
SELECT ok(pg_temp.file(:'job_json') !~ '\+18880000002' AND pg_temp.file(:'job_json') ~ '"from_number":"\+19990000001"',
          'the JSON export is scoped to the tenant too');
SELECT is((SELECT total_rows FROM wib.export_jobs WHERE id = :'job_inject'), 0::bigint,
          'a filter value with quotes is a literal: it matches no row');
SELECT is(split_part(pg_temp.file(:'job_a'), E'\r\n', 1),
          'id,agent_id,campaign_id,direction,from_number,to_number,status,disposition,telnyx_call_id,started_at,ended_at,duration_seconds,created_at',
          'the calls CSV has its header row');
SELECT ok(pg_temp.file(:'job_a') ~ ',''\+19990000001,', 'phone numbers starting with + are guarded by default');

-- Chunked reads.
SELECT is(wib.export_read(:'job_a', 0, 5) || wib.export_read(:'job_a', 5, 8388608), wib.export_read(:'job_a', 0, 8388608),
          'chunks concatenate to the file');
SELECT is(octet_length(wib.export_read(:'job_a', 1000000, 10)), 0, 'reading past the end returns nothing');
SELECT throws_ok(format('SELECT wib.export_read(%L, -1, 10)', :'job_a'), '22023', 'invalid offset', 'a negative offset is refused');
SELECT throws_ok(format('SELECT wib.export_read(%L, 0, 0)', :'job_a'), '22023', 'invalid length', 'a zero length is refused');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'export:downloaded' AND resource_id = :'job_a'),
          8::bigint, 'every read from offset 0 (a download) is audited, later chunks are not');

-- Another tenant's export does not exist for tenant B.
SELECT wib.set_context(pg_temp.org('b'), 'agent-1');
SELECT throws_ok(format('SELECT wib.export_read(%L, 0, 10)', :'job_a'), 'P0002', NULL, 'tenant B cannot read tenant A''s export');
SELECT throws_ok(format('SELECT wib.export_download_token(%L)', :'job_a'), 'P0002', NULL, 'tenant B cannot sign tenant A''s export');
SELECT throws_ok(format('SELECT * FROM wib.export_status(%L)', :'job_a'), 'P0002', NULL, 'tenant B cannot see tenant A''s export status');
SELECT is((SELECT count(*) FROM wib.export_jobs WHERE id = :'job_a'), 0::bigint, 'tenant B does not see tenant A''s job');

-- Download tokens: work without a session, refuse forgery and expiry.
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT wib.export_download_token(:'job_a') AS tok \gset
SELECT throws_ok(format('SELECT wib.export_download_token(%L, ''0'')', :'job_a'), '22023', 'invalid ttl', 'a zero ttl is refused');
SELECT throws_ok(format('SELECT wib.export_download_token(%L, ''30 days'')', :'job_a'), '22023', 'invalid ttl', 'a ttl over 7 days is refused');
SELECT wib.clear_context();
SELECT is(wib.export_open(:'tok'), :'job_a'::uuid, 'a token opens its export without a tenant context');
SELECT is(wib.export_read(:'job_a', 0, 8388608), (SELECT wib.export_read(:'job_a', 0, 8388608)),
          'the opened export is readable in the same transaction');
SELECT throws_ok(format('SELECT wib.export_read(%L, 0, 10)', :'job_inject'), 'WB005', NULL,
                 'a token opens only its own export');
SELECT throws_ok(format('SELECT wib.export_open(%L)', overlay(:'tok' placing (CASE WHEN right(:'tok', 1) = '0' THEN '1' ELSE '0' END) from length(:'tok'))),
                 'WB201', 'invalid download token', 'a token with a changed signature is refused');
SELECT is(pg_temp.token_with_payload(:'tok', :'job_a' || '.' || pg_temp.org('a')), :'tok',
          'a download token carries its job and organization');
SELECT throws_ok(format('SELECT wib.export_open(%L)', pg_temp.token_with_payload(:'tok', :'job_a' || '.' || pg_temp.org('b'))),
                 'WB201', 'invalid download token', 'a token moved to another tenant is refused');
SELECT throws_ok(format('SELECT wib.export_open(%L)', regexp_replace(:'tok', '^(v2\.\d+\.)\d+', '\19999999999')),
                 'WB201', 'invalid download token', 'a token with a later expiry is refused');
SELECT throws_ok('SELECT wib.export_open(''garbage'')', 'WB201', 'invalid download token', 'garbage is refused');
SELECT throws_ok('SELECT wib.export_open(NULL)', 'WB201', 'invalid download token', 'a NULL token is refused');
SELECT throws_ok(format('SELECT wib.export_open(%L)', 'v1.' || :'job_a' || '.' || pg_temp.org('a') || '.9999999999.' || repeat('ab', 32)),
                 'WB201', 'invalid download token', 'a token of the format of 0.1.0 is refused');
RESET ROLE;
SELECT wib.export_token_sign(:'job_a', pg_temp.org('a'), now() - interval '1 second') AS old_tok \gset
-- Purposes: a token signed for anything else, even carrying a download's payload, opens no export, and back.
SELECT wib.token_sign('qr-login', :'job_a' || '.' || pg_temp.org('a'), now() + interval '1 hour') AS qr_tok \gset
SELECT is(wib.token_verify('export-download', :'tok'), :'job_a' || '.' || pg_temp.org('a'),
          'a download token verifies for its purpose');
SELECT throws_ok(format('SELECT wib.token_verify(''qr-login'', %L)', :'tok'), 'WB010', 'invalid token',
                 'a download token is refused as a qr-login token');
SET ROLE wib_test_app;
SELECT throws_ok(format('SELECT wib.export_open(%L)', :'qr_tok'), 'WB201', 'invalid download token',
                 'a qr-login token is refused as a download token');
SELECT throws_ok(format('SELECT wib.export_open(%L)', :'old_tok'), 'WB202', 'download token expired', 'an expired token is refused');
SELECT ok(NOT has_function_privilege('wib_app', 'wib.export_token_sign(uuid, uuid, timestamptz)', 'EXECUTE'),
          'applications cannot sign tokens themselves');
SELECT ok(NOT has_function_privilege('wib_app', 'wib.export_file_read(text, bigint, integer)', 'EXECUTE'),
          'applications cannot read export files by key');

-- Streaming: the same bytes as the job's file, and scoped to the tenant.
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT is((SELECT string_agg(c, '') FROM wib.export_stream('calls', 'csv', '{"agent_id": "agent-1"}') c),
          pg_temp.file(:'job_a'), 'export_stream writes the very bytes of the job''s file');
SELECT ok((SELECT string_agg(c, '') FROM wib.export_stream('calls', 'json', '{"agent_id": "agent-1"}') c) !~ '18880000002',
          'the stream holds none of tenant B''s rows');
SELECT throws_ok($$SELECT count(*) FROM wib.export_stream('calls', 'csv', '{"nope": 1}')$$, '22023',
                 'unknown field "nope" in filters', 'export_stream checks filters');

-- Every export type: its header, and only the tenant's rows.
CREATE FUNCTION pg_temp.stream(export_type text, format text DEFAULT 'csv') RETURNS text LANGUAGE sql AS
    $$SELECT string_agg(c, '') FROM wib.export_stream(export_type, format) c$$;
GRANT EXECUTE ON FUNCTION pg_temp.stream(text, text) TO PUBLIC;
SELECT is(split_part(pg_temp.stream('recordings'), E'\r\n', 1),
          'id,call_id,agent_id,status,duration_seconds,recording_url,transcript,created_at', 'recordings export header');
SELECT is(split_part(pg_temp.stream('analytics'), E'\r\n', 1),
          'call_id,agent_id,started_at,duration_seconds,call_status,overall_sentiment,sentiment_score,positive_pct,negative_pct,neutral_pct,key_phrases,summary,model,analyzed_at',
          'analytics export header');
SELECT is(split_part(pg_temp.stream('contacts'), E'\r\n', 1), 'id,name,email,role,created_at,updated_at', 'contacts export header');
SELECT is(split_part(pg_temp.stream('audit_logs'), E'\r\n', 1),
          'id,created_at,user_id,action,resource_type,resource_id,old_value,new_value', 'audit_logs export header');
SELECT is(array_length(string_to_array(rtrim(pg_temp.stream(t, 'json'), E'\n'), E'\n'), 1),
          (SELECT count(*)::int FROM wib.calls WHERE organization_id = pg_temp.org('a')) / (CASE t WHEN 'calls' THEN 1 ELSE 2 END),
          t || ' JSON export has one line per row of the tenant')
  FROM unnest(ARRAY['calls', 'recordings']) t;
SELECT is((SELECT string_agg(l::jsonb ->> 'overall_sentiment' || ' ' || (l::jsonb -> 'key_phrases')::text, ';')
             FROM unnest(string_to_array(rtrim(pg_temp.stream('analytics', 'json'), E'\n'), E'\n')) l),
          'positive []', 'analytics JSON carries the sentiment and key phrases as a JSON array');
SELECT is((SELECT count(*) FROM unnest(string_to_array(rtrim(pg_temp.stream('audit_logs', 'json'), E'\n'), E'\n')) l
            WHERE (l::jsonb ->> 'id')::uuid NOT IN (SELECT id FROM wib.audit_log WHERE organization_id = pg_temp.org('a'))),
          0::bigint, 'the audit log export holds only the tenant''s entries');
SELECT throws_ok('SELECT wib.export_read(NULL, 0, 10)', '22023', 'invalid id', 'export_read refuses a NULL id');
SELECT throws_ok('SELECT wib.export_download_token(NULL)', '22023', 'invalid id', 'export_download_token refuses a NULL id');
SELECT throws_ok(format('SELECT wib.export_download_token(%L, NULL)', :'job_a'), '22023', 'invalid ttl', 'export_download_token refuses a NULL ttl');
SELECT throws_ok('SELECT * FROM wib.export_status(gen_random_uuid())', 'P0002', NULL, 'export_status of an unknown id');

-- Plans: features and row limits, checked up front with a clear error.
RESET ROLE;
INSERT INTO fx VALUES ('free', wib.organization_create('Free Org', 'free')),
                      ('starter', wib.organization_create('Starter Org', 'starter'));
SELECT wib.set_context(pg_temp.org('starter'), 'u', true);
INSERT INTO wib.calls (organization_id, status, started_at)
SELECT pg_temp.org('starter'), 'completed', '2026-01-01'::timestamptz + g * interval '1 second'
  FROM generate_series(1, 100001) g;
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('free'), 'u');
SELECT throws_ok($$SELECT wib.export_create('calls')$$, 'WB001', NULL, 'the free plan has no exports');
SELECT wib.set_context(pg_temp.org('starter'), 'u');
SELECT throws_ok($$SELECT wib.export_create('calls')$$, 'WB205',
                 'export of 100001 rows exceeds the row limit of 100000 on plan "starter"',
                 'a starter export over 100k rows fails up front naming the limit');
SELECT throws_ok($$SELECT wib.export_create('analytics')$$, 'WB001', NULL, 'analytics exports need analytics_export');
SELECT lives_ok($$SELECT wib.export_create('calls', 'csv', '{"date_to": "2026-01-01T12:00:00Z"}')$$,
                'narrowing the date range brings the export under the limit');
SET jit = on;
SELECT throws_ok($$SELECT count(*) FROM wib.export_stream('calls')$$, 'WB205', NULL,
                 'a stream past the row limit stops with an error instead of being cut');
-- The export query is planned with jit = off for that query only.
SELECT is(current_setting('jit'), 'on', 'an export stopped by an error leaves the session''s jit setting as it was');
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT is((SELECT count(*) FROM wib.export_stream('calls') c) || ' ' || current_setting('jit'), '1 on',
          'an export leaves the session''s jit setting as it was');

-- Rate limit per organization.
RESET ROLE;
SET LOCAL wib.export_rate_limit = 2;
SET ROLE wib_test_app;
SELECT throws_ok($$SELECT wib.export_create('contacts')$$, 'WB003', NULL, 'exports are rate-limited per organization');

-- Expiry: past expires_at the file is removed and the job marked expired.
RESET ROLE;
UPDATE wib.export_jobs SET expires_at = now() - interval '1 second' WHERE id = :'job_a';
SELECT is((SELECT removed FROM wib.purge_expired() WHERE policy = 'export_files'), 1::bigint,
          'the retention policy expires the export');
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT is((SELECT status FROM wib.export_jobs WHERE id = :'job_a'), 'expired', 'the job is marked expired');
SELECT throws_ok(format('SELECT wib.export_read(%L, 0, 10)', :'job_a'), 'WB204', NULL, 'an expired export cannot be read');
RESET ROLE;
SELECT throws_ok(format('SELECT wib.export_file_read(%L, 0, 10)', (SELECT storage_key FROM wib.export_jobs WHERE id = :'job_a')),
                 'WB204', 'export file is gone', 'the expired file was removed');

SELECT * FROM finish();
ROLLBACK;
