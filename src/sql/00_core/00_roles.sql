-- The roles applications and operators are granted, and the schema.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'wib_app') THEN
        CREATE ROLE wib_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'wib_admin') THEN
        CREATE ROLE wib_admin NOLOGIN;
    END IF;
END
$roles$;

COMMENT ON SCHEMA wib IS 'Word Is Bond integration engine: webhooks, exports, CRM sync, inbound IVR, analytics, mobile push.';
