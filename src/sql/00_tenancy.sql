-- Tenancy: roles, the tenant context, and the helper that makes a table a tenant table.

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

CREATE FUNCTION wib.current_org_id() RETURNS uuid
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_current_org_id';
COMMENT ON FUNCTION wib.current_org_id() IS
    'The organization in context (setting wib.org_id), or NULL. Every row-level security policy compares organization_id with it.';

CREATE FUNCTION wib.require_org() RETURNS uuid
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_require_org';
COMMENT ON FUNCTION wib.require_org() IS
    'The organization in context; raises WB005 when none is set.';

CREATE FUNCTION wib.current_user_id() RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_current_user_id';
COMMENT ON FUNCTION wib.current_user_id() IS
    'The platform user in context (setting wib.user_id), or NULL.';

-- Makes tbl a tenant table: row-level security on organization_id, enforced
-- for the owner too, one policy per command, and its rows kept by pg_dump.
CREATE FUNCTION wib.make_tenant_table(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY tenant_select ON %s FOR SELECT USING (organization_id = wib.current_org_id())', tbl);
    EXECUTE format('CREATE POLICY tenant_insert ON %s FOR INSERT WITH CHECK (organization_id = wib.current_org_id())', tbl);
    EXECUTE format('CREATE POLICY tenant_update ON %s FOR UPDATE USING (organization_id = wib.current_org_id()) WITH CHECK (organization_id = wib.current_org_id())', tbl);
    EXECUTE format('CREATE POLICY tenant_delete ON %s FOR DELETE USING (organization_id = wib.current_org_id())', tbl);
    PERFORM pg_catalog.pg_extension_config_dump(tbl, '');
END
$$;
COMMENT ON FUNCTION wib.make_tenant_table(regclass) IS
    'Internal: enables and forces row-level security on organization_id for a table of the extension.';
