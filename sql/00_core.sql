-- The core SQL surface: tenant context, plans, validation, audit, jobs.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET timezone = 'UTC';
SET intervalstyle = 'postgres';

-- The tenant context is validated when it is set.
SET wib.org_id = 'not-a-uuid';
SET wib.org_id = '6F1C2A9E-4B1D-4C55-9A43-2F0D7D1E8A10';
SHOW wib.org_id;
SELECT wib.current_org_id();
RESET wib.org_id;
SELECT wib.current_org_id() IS NULL AS no_tenant;
SELECT wib.require_org();
SET wib.user_id = E'bad\nuser';

-- Organizations and plans.
SELECT wib.organization_create('', 'pro');
SELECT wib.organization_create('Acme', 'platinum');
CREATE TEMP TABLE orgs AS
SELECT wib.organization_create('Acme', 'pro') AS acme, wib.organization_create('Globex', 'starter') AS globex;
SELECT name, plan FROM wib.organizations ORDER BY name;
SELECT wib.set_context('00000000-0000-0000-0000-000000000000', 'u1');
SELECT wib.set_context(NULL, 'u1');
SELECT wib.set_context(acme, 'u-admin') FROM orgs;
SELECT wib.current_plan();
SELECT feature, wib.has_feature(feature) FROM wib.feature_plans ORDER BY feature;
SELECT wib.require_feature('crm_salesforce');
SELECT wib.require_feature('no_such_feature');
SELECT wib.plan_limit('webhooks'), wib.plan_limit('export_rows'), wib.plan_limit('inbound_numbers');
SELECT wib.require_limit('webhooks', 4);
SELECT wib.require_limit('webhooks', 5);
SELECT wib.require_limit('export_rows', 0, 100001);

-- Users through the API, each change audited.
SELECT wib.user_create('agent-1', 'Ada Agent', 'ada@acme.test');
SELECT wib.user_create('agent-2', 'Bob', 'not-an-email');
SELECT wib.user_create('agent-2', 'Bob', NULL, 'superuser');
SELECT wib.user_create('', 'Nobody', NULL);
SELECT wib.user_update('agent-1', '{"role": "manager"}');
SELECT wib.user_update('agent-1', '{"rank": 1}');
SELECT wib.user_update('agent-1', '{"name": 42}');
SELECT wib.user_update('agent-1', '[]');
SELECT wib.user_update('nobody', '{"name": "x"}');
SELECT wib.user_delete('agent-1');
SELECT action, resource_type, CASE WHEN resource_type = 'user' THEN resource_id END AS user_resource, old_value->>'role' AS old_role, new_value->>'role' AS new_role, user_id
  FROM wib.audit_log ORDER BY created_at, action;

-- Secrets never reach the audit log.
SELECT wib.redact('{"name": "hook", "secret": "whsec_abc", "nested": {"access_token": "t", "ok": 1},
                    "list": [{"password": "p"}, 2]}');

-- Validation helpers name the field.
SELECT wib.check_fields('{"a": 1, "zz": 2}', ARRAY['a'], 'menu');
SELECT wib.field_text('{"name": "x"}', 'name', 0);
SELECT wib.require_text('   ', 'display_name');

-- Job schedules: internal next-run times and their pg_cron spelling.
SELECT wib.job_next_run('1 hour', NULL, '2026-11-24 10:15:00+00');
SELECT wib.job_next_run('1 day', '02:30', '2026-11-24 01:00:00+00');
SELECT wib.job_next_run('1 day', '02:30', '2026-11-24 03:00:00+00');
SELECT e, wib.job_cron_expr(e::interval, NULL) FROM unnest(ARRAY['1 minute', '15 minutes', '1 hour', '6 hours', '1 day']) e;
SELECT wib.job_cron_expr('1 day', '02:30');
SELECT wib.job_cron_expr('7 minutes', NULL);
SELECT wib.cron_schedule();
SELECT name, run_every, command FROM wib.scheduled_jobs WHERE name = 'purge_expired';
SELECT * FROM wib.purge_expired() WHERE policy = 'idempotency_keys';
