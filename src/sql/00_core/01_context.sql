-- The tenant context (settings wib.org_id and wib.user_id) and what makes a table a tenant table.

CREATE OR REPLACE FUNCTION wib.current_org_id() RETURNS uuid
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_current_org_id';
COMMENT ON FUNCTION wib.current_org_id() IS
    'The organization in context (setting wib.org_id), or NULL. Every row-level security policy compares organization_id with it.';

CREATE OR REPLACE FUNCTION wib.require_org() RETURNS uuid
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_require_org';
COMMENT ON FUNCTION wib.require_org() IS
    'The organization in context; raises WB005 when none is set.';

CREATE OR REPLACE FUNCTION wib.current_user_id() RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_current_user_id';
COMMENT ON FUNCTION wib.current_user_id() IS
    'The platform user in context (setting wib.user_id), or NULL.';

-- Makes tbl a tenant table: row-level security on organization_id, enforced
-- for the owner too, one policy per command, and its rows kept by pg_dump.
CREATE OR REPLACE FUNCTION wib.make_tenant_table(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
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

CREATE OR REPLACE FUNCTION wib.set_context(org_id uuid, user_id text, is_local boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    IF org_id IS NULL THEN
        PERFORM wib.invalid_field('org_id', 'org_id must be the UUID of an organization.');
    END IF;
    IF is_local THEN
        -- As SET LOCAL statements: on a Citus cluster with
        -- citus.propagate_set_commands = 'local' these reach the workers, whose
        -- row-level security reads them (see docs/scale-out.md).
        EXECUTE format('SET LOCAL wib.org_id = %L', org_id::text);
        EXECUTE format('SET LOCAL wib.user_id = %L', coalesce(user_id, ''));
    ELSE
        PERFORM pg_catalog.set_config('wib.org_id', org_id::text, false);
        PERFORM pg_catalog.set_config('wib.user_id', coalesce(user_id, ''), false);
    END IF;
    -- Checked after setting, so row-level security lets the caller see its own organization;
    -- an error rolls the settings back with the statement.
    IF NOT EXISTS (SELECT 1 FROM wib.organizations o WHERE o.id = org_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002',
            MESSAGE = format('organization %s does not exist', org_id);
    END IF;
END
$$;
COMMENT ON FUNCTION wib.set_context(uuid, text, boolean) IS
    'Sets the organization and user the session acts for (is_local: for the current transaction only, as pooled connections need).';

CREATE OR REPLACE FUNCTION wib.clear_context() RETURNS void
    LANGUAGE sql
BEGIN ATOMIC
    SELECT pg_catalog.set_config('wib.org_id', '', false), pg_catalog.set_config('wib.user_id', '', false);
END;
COMMENT ON FUNCTION wib.clear_context() IS 'Forgets the organization and user in context.';

-- Acts for org (and user) for the rest of the calling function.  Every wib
-- function that acts for a tenant other than the caller's declares
-- SET wib.org_id = '' SET wib.user_id = '', so the caller gets its own context
-- back when the function returns or fails (a catalog test holds them to it).
-- (No SET clause of its own: one would undo its settings as it returns.)
CREATE OR REPLACE FUNCTION wib.act_as(org uuid, user_id text DEFAULT NULL) RETURNS void
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT pg_catalog.set_config('wib.org_id', coalesce(act_as.org::text, ''), true),
           pg_catalog.set_config('wib.user_id', coalesce(act_as.user_id, ''), true);
END;
COMMENT ON FUNCTION wib.act_as(uuid, text) IS
    'Internal: acts for org (and user) until the calling function returns; callers restore the context with SET wib.org_id =  SET wib.user_id =  clauses.';
