-- Load test: an application requests a CSV export of the tenant's calls of the last hour.
\set t random(1, :tenants)
BEGIN;
SELECT set_config('wib.org_id', org::text, true), set_config('wib.user_id', 'app', true)
  FROM public.load_tenants WHERE n = :t;
SELECT wib.export_create('calls', 'csv', jsonb_build_object('date_from', to_char(now() - interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
COMMIT;
