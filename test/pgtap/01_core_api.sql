-- Contracts of the core API: plan gating per plan, quotas, audit, rate limits,
-- idempotency, roles, and bad input to every function.
BEGIN;
\ir lib/fixtures.sql
SELECT plan(47);

-- Plan gating: each plan has exactly the features at or below its rank.
CREATE TEMP TABLE plan_orgs AS
SELECT p AS plan, wib.organization_create('Plan ' || p, p) AS id
  FROM unnest(ARRAY['free', 'starter', 'pro', 'business', 'enterprise']) p;
GRANT SELECT ON plan_orgs TO PUBLIC;
CREATE FUNCTION pg_temp.features_of(org uuid) RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wib.set_context(org, 'u', true);
    RETURN ARRAY(SELECT feature FROM wib.feature_plans WHERE wib.has_feature(feature) ORDER BY feature);
END
$$;
SELECT is(pg_temp.features_of(id),
          ARRAY(SELECT feature FROM wib.feature_plans f WHERE wib.plan_rank(f.min_plan) <= wib.plan_rank(o.plan) ORDER BY feature),
          'plan ' || plan || ' includes exactly the features of its rank and below')
  FROM plan_orgs o ORDER BY wib.plan_rank(plan);
SELECT is((SELECT count(*) FROM wib.feature_plans), 16::bigint, 'all 16 platform features are gated (the platform''s 15 and analytics snapshots)');

SELECT wib.set_context((SELECT id FROM plan_orgs WHERE plan = 'starter'), 'u');
SELECT throws_ok('SELECT wib.require_feature(''webhooks'')', 'WB001',
                 'feature "webhooks" requires plan "pro" or higher; the organization is on plan "starter"',
                 'require_feature names the feature, the plan needed and the current plan');
SELECT lives_ok('SELECT wib.require_feature(''csv_export'')', 'require_feature passes for an included feature');
SELECT is(wib.plan_limit('webhooks'), 0::bigint, 'starter may have no webhooks');
SELECT throws_ok('SELECT wib.require_limit(''webhooks'', 0)', 'WB002', NULL, 'a quota of 0 refuses the first one');
SELECT wib.set_context((SELECT id FROM plan_orgs WHERE plan = 'enterprise'), 'u');
SELECT is(wib.plan_limit('webhooks'), NULL::bigint, 'enterprise webhooks are unlimited');
SELECT lives_ok('SELECT wib.require_limit(''webhooks'', 1000000)', 'an unlimited quota never refuses');
SELECT is(wib.plan_limit('inbound_numbers'), 25::bigint, 'enterprise may have 25 inbound numbers');
SELECT throws_ok('SELECT wib.plan_limit(''bogus'')', '22023', 'invalid limit_name', 'an unknown limit is refused');
SELECT wib.clear_context();
SELECT throws_ok('SELECT wib.has_feature(''webhooks'')', 'WB005', 'no organization in context', 'plan checks need a tenant');

-- Audit: old and new values, the acting user, secrets redacted, append-only.
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('a'), 'manager-7');
SELECT wib.user_create('agent-9', 'Nine', 'nine@example.test');
SELECT wib.user_update('agent-9', '{"role": "manager", "name": "Nine Nine"}');
SELECT results_eq(
    $$SELECT action, user_id, old_value->>'role', new_value->>'role', new_value->>'name'
        FROM wib.audit_log WHERE resource_type = 'user' AND resource_id = 'agent-9' ORDER BY created_at, action$$,
    $$VALUES ('user:created', 'manager-7', NULL, 'agent', 'Nine'),
             ('user:updated', 'manager-7', 'agent', 'manager', 'Nine Nine')$$,
    'user changes are audited with old and new values and the acting user');
SELECT wib.audit('token:rotated', 'integration', 'i-1', '{"access_token": "old-secret"}', '{"access_token": "new-secret", "expires_in": 1800}');
SELECT is((SELECT new_value FROM wib.audit_log WHERE action = 'token:rotated'),
          '{"access_token": "[redacted]", "expires_in": 1800}'::jsonb, 'secrets are redacted in audit values');
SELECT ok(NOT EXISTS (SELECT 1 FROM wib.audit_log WHERE old_value::text LIKE '%secret%' OR new_value::text LIKE '%secret%'),
          'no secret value reaches the audit log');
SELECT throws_ok('UPDATE wib.audit_log SET action = ''user:deleted''', '42501', NULL, 'the application cannot update the audit log');
SELECT throws_ok('DELETE FROM wib.audit_log', '42501', NULL, 'the application cannot delete from the audit log');
RESET ROLE;
SET ROLE wib_test_admin;
SELECT throws_ok('DELETE FROM wib.audit_log', '42501', NULL, 'operators cannot delete from the audit log either');
RESET ROLE;
SET ROLE wib_test_app;
SELECT throws_ok('TRUNCATE wib.audit_log', '42501', NULL, 'the application cannot truncate the audit log');
RESET ROLE;
SELECT throws_ok('SELECT wib.audit(''Bad Action'', ''x'', ''y'')', '23514', NULL, 'audit actions follow resource:verb');

-- Roles: applications get the API, not the operators' functions.
SET ROLE wib_test_app;
SELECT throws_ok('SELECT wib.organization_create(''Evil'', ''enterprise'')', '42501', NULL, 'applications cannot create organizations');
SELECT throws_ok('SELECT * FROM wib.worker_status', '42501', NULL, 'applications cannot read worker status');
SELECT throws_ok('UPDATE wib.feature_plans SET min_plan = ''free''', '42501', NULL, 'applications cannot change plan gating');
SELECT throws_ok('SELECT wib.make_tenant_table(''wib.calls'')', '42501', NULL, 'internal helpers are not granted');
RESET ROLE;

-- Rate limiter: exactly max_hits per window, keys independent, bad input refused.
SELECT is((SELECT count(*) FILTER (WHERE wib.rate_limit('pgtap:key-1', 5, '1 hour')) FROM generate_series(1, 20)),
          5::bigint, 'a key is admitted exactly max_hits times per window');
SELECT ok(wib.rate_limit('pgtap:key-2', 5, '1 hour'), 'another key has its own count');
SELECT ok(wib.rate_limit('pgtap:key-1', 5, '2 hours'), 'the same key with another window length is counted apart');
SELECT throws_like('SELECT wib.rate_limit_check(''pgtap:key-1'', 5, ''1 hour'')', 'rate limit exceeded for "pgtap:key-1"',
                   'rate_limit_check raises when the window is full');
SELECT throws_ok('SELECT wib.rate_limit_check(''pgtap:key-1'', 5, ''1 hour'')', 'WB003', NULL, 'with SQLSTATE WB003');
SELECT ok(wib.rate_limit('pgtap:short', 1, '200 milliseconds') AND NOT wib.rate_limit('pgtap:short', 1, '200 milliseconds'),
          'a 200 ms window admits one hit');
SELECT pg_sleep(0.25);
SELECT ok(wib.rate_limit('pgtap:short', 1, '200 milliseconds'), 'and admits again once the window has passed');
SELECT throws_ok('SELECT wib.rate_limit(NULL, 1, ''1 minute'')', '22023', 'key must not be null', 'NULL key refused');
SELECT throws_ok('SELECT wib.rate_limit('''', 1, ''1 minute'')', '22023', 'key must be between 1 and 512 bytes long', 'empty key refused');
SELECT throws_ok('SELECT wib.rate_limit(repeat(''k'', 513), 1, ''1 minute'')', '22023', 'key must be between 1 and 512 bytes long', 'oversized key refused');
SELECT throws_ok('SELECT wib.rate_limit(''k'', 0, ''1 minute'')', '22023', 'max_hits must be at least 1', 'max_hits below 1 refused');
SELECT throws_ok('SELECT wib.rate_limit(''k'', 1, ''1 month'')', '22023', NULL, 'a window in months is refused');
SELECT throws_ok('SELECT wib.rate_limit(''k'', 1, ''-1 minute'')', '22023', NULL, 'a negative window is refused');

-- Idempotency: replay the first answer, refuse a different request, per tenant.
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('a'), 'u');
SELECT is(wib.idempotency_begin('req-1', '{"export": "calls"}'), NULL, 'a new key says proceed');
SELECT is(wib.idempotency_finish('req-1', '{"job": 42}'), '{"job": 42}'::jsonb, 'finish stores and returns the answer');
SELECT is(wib.idempotency_begin('req-1', '{"export": "calls"}'), '{"job": 42}'::jsonb, 'the same key and request replay the first answer');
SELECT throws_ok('SELECT wib.idempotency_begin(''req-1'', ''{"export": "contacts"}'')', 'WB004',
                 'idempotency key "req-1" was already used for a different request', 'a different request with the same key is refused');
SELECT throws_ok('SELECT wib.idempotency_finish(''never-begun'', ''{}'')', '55000', NULL, 'finish without begin is refused');
SELECT throws_ok('SELECT wib.idempotency_begin('''', ''{}'')', '22023', 'invalid idempotency_key', 'an empty key is refused');
SELECT wib.set_context(pg_temp.org('b'), 'u');
SELECT is(wib.idempotency_begin('req-1', '{"export": "calls"}'), NULL, 'keys are per tenant: tenant B starts afresh');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
