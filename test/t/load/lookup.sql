-- Load test: an application looks up its recent webhook deliveries and exports.
\set t random(1, :tenants)
BEGIN;
SELECT set_config('wib.org_id', org::text, true), set_config('wib.user_id', 'app', true)
  FROM public.load_tenants WHERE n = :t;
SELECT count(*) FROM (SELECT d.status FROM wib.webhook_deliveries d
                       WHERE d.organization_id = wib.current_org_id() ORDER BY d.created_at DESC LIMIT 20) s;
SELECT count(*) FROM (SELECT j.status FROM wib.export_jobs j
                       WHERE j.organization_id = wib.current_org_id() ORDER BY j.created_at DESC LIMIT 5) s;
COMMIT;
