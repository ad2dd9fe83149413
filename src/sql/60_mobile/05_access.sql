-- Who sees which devices.  Row-level security keeps tenants apart on every
-- mobile table; within a tenant, the platform's roles decide: owners and
-- admins see every device of the organization (and its subscriptions,
-- pushes and QR sign-ins), managers, agents and viewers only their own.
-- The policies (src/sql/60_mobile/10_schema.sql) call this function, so it
-- exists before them.

-- PL/pgSQL with the organization as a value: on a Citus cluster the policy
-- calls it on a shard, and the user's row is then read by a statement routed
-- to the organization's shard (the same worker).
CREATE OR REPLACE FUNCTION wib.mobile_sees_all() RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org uuid := wib.current_org_id();
BEGIN
    RETURN EXISTS (SELECT 1 FROM wib.users u
                    WHERE u.organization_id = org AND u.id = wib.current_user_id() AND u.role IN ('owner', 'admin'));
END
$$;
COMMENT ON FUNCTION wib.mobile_sees_all() IS
    'True when the user in context is an owner or admin of the organization in context, who see all its devices; other roles see their own (row-level security of the mobile tables).';
