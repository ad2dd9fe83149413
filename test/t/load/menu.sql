-- Load test: an inbound call's IVR menu is rendered as TeXML.
\set t random(1, :tenants)
BEGIN;
SELECT set_config('wib.org_id', org::text, true), set_config('wib.user_id', 'app', true)
  FROM public.load_tenants WHERE n = :t;
SELECT length(wib.texml_render_menu(menu)) FROM public.load_tenants WHERE n = :t;
COMMIT;
