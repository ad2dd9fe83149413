-- Bad input to each core function fails with the documented error and leaves nothing behind.
BEGIN;
\ir lib/fixtures.sql
SELECT plan(30);

SELECT throws_ok('SELECT wib.organization_create(NULL)', '22023', 'invalid name', 'organization_create: NULL name');
SELECT throws_ok('SELECT wib.organization_create(repeat(''x'', 201))', '22023', 'invalid name', 'organization_create: oversized name');
SELECT throws_ok('SELECT wib.organization_create(''X'', NULL)', '22023', 'invalid plan', 'organization_create: NULL plan');
SELECT throws_ok(format('SELECT wib.organization_update(%L, ''{"plan": "gold"}'')', pg_temp.org('a')), '22023', 'invalid plan',
                 'organization_update: unknown plan');
SELECT throws_ok(format('SELECT wib.organization_update(%L, ''{"plan": 3}'')', pg_temp.org('a')), '22023', 'invalid plan',
                 'organization_update: plan of the wrong JSON type');
SELECT throws_ok(format('SELECT wib.organization_update(%L, ''{"owner": "x"}'')', pg_temp.org('a')), '22023',
                 'unknown field "owner" in changes', 'organization_update: unknown field');
SELECT throws_ok(format('SELECT wib.organization_update(%L, NULL)', pg_temp.org('a')), '22023', 'invalid changes',
                 'organization_update: NULL changes');
SELECT throws_ok('SELECT wib.organization_update(gen_random_uuid(), ''{"plan": "pro"}'')', 'P0002', NULL,
                 'organization_update: unknown organization');
SELECT is((SELECT plan FROM wib.organizations WHERE id = pg_temp.org('a')), 'enterprise', 'refused updates changed nothing');

SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('a'), 'u');
SELECT throws_ok('SELECT wib.user_create(NULL, ''n'', NULL)', '22023', 'invalid id', 'user_create: NULL id');
SELECT throws_ok('SELECT wib.user_create(repeat(''u'', 256), ''n'', NULL)', '22023', 'invalid id', 'user_create: oversized id');
SELECT throws_ok('SELECT wib.user_create(''agent-1'', ''Dup'', NULL)', '23505', NULL, 'user_create: duplicate id');
SELECT throws_ok('SELECT wib.user_update(''agent-1'', ''{"email": "nope"}'')', '22023', 'invalid email', 'user_update: bad email');
SELECT throws_ok('SELECT wib.user_update(''agent-1'', ''{"role": null}'')', '22023', 'invalid role', 'user_update: null role');
SELECT throws_ok('SELECT wib.user_delete(NULL)', 'P0002', NULL, 'user_delete: NULL id');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE resource_type = 'user'), 0::bigint, 'refused user calls wrote no audit row');
SELECT is((SELECT count(*) FROM wib.users), 1::bigint, 'refused user calls wrote no user');

-- Another tenant's ids look exactly like missing ones.
SELECT wib.set_context(pg_temp.org('b'), 'u');
SELECT wib.user_create('agent-b-only', 'B', NULL);
SELECT wib.set_context(pg_temp.org('a'), 'u');
SELECT throws_ok('SELECT wib.user_update(''agent-b-only'', ''{"name": "hijacked"}'')', 'P0002',
                 'user "agent-b-only" does not exist', 'another tenant''s user cannot be updated');
SELECT throws_ok('SELECT wib.user_delete(''agent-b-only'')', 'P0002', NULL, 'another tenant''s user cannot be deleted');
RESET ROLE;
SELECT is((SELECT name FROM wib.users WHERE id = 'agent-b-only'), 'B', 'tenant B''s user is untouched');

SELECT wib.set_context(pg_temp.org('a'), 'u');
SELECT throws_ok('SELECT wib.require_limit(''webhooks'', NULL)', '22023', 'invalid used', 'require_limit: NULL used');
SELECT throws_ok('SELECT wib.require_limit(''webhooks'', 1, -5)', '22023', 'invalid adding', 'require_limit: negative adding');
SELECT throws_ok('SELECT wib.has_feature(NULL)', '22023', 'invalid feature', 'has_feature: NULL feature');
SELECT throws_ok('SELECT wib.require_feature('''')', '22023', 'invalid feature', 'require_feature: empty feature');
SELECT throws_ok('SELECT wib.plan_limit(NULL)', '22023', 'invalid limit_name', 'plan_limit: NULL limit');
SELECT throws_ok('SELECT wib.audit(NULL, ''user'', ''x'')', '23502', NULL, 'audit: NULL action');
SELECT throws_ok('SELECT wib.wake(''nope'')', '22023', 'worker "nope" does not exist', 'wake: unknown worker');
SELECT throws_ok('SELECT wib.wake(NULL)', '22023', 'worker must not be null', 'wake: NULL worker');
SELECT throws_ok('SELECT wib.set_context(gen_random_uuid(), ''u'')', 'P0002', NULL, 'set_context: unknown organization');
SELECT is(wib.current_org_id(), pg_temp.org('a'), 'a refused set_context leaves the context as it was');

SELECT * FROM finish();
ROLLBACK;
