-- Load test (test/t/099_load.pl): an application emits a custom event for a tenant.
\set t random(1, :tenants)
BEGIN;
SELECT set_config('wib.org_id', org::text, true), set_config('wib.user_id', 'app', true)
  FROM public.load_tenants WHERE n = :t;
SELECT wib.emit_event('custom.load', jsonb_build_object('tenant', :t, 'client', :client_id, 'note', 'mixed traffic'));
COMMIT;
