-- Organizations (operators) and users (tenants): the core API that changes them, audited.

CREATE FUNCTION wib.set_context(org_id uuid, user_id text, is_local boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF org_id IS NULL THEN
        PERFORM wib.invalid_field('org_id', 'org_id must be the UUID of an organization.');
    END IF;
    PERFORM pg_catalog.set_config('wib.org_id', org_id::text, coalesce(is_local, false));
    PERFORM pg_catalog.set_config('wib.user_id', coalesce(user_id, ''), coalesce(is_local, false));
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

CREATE FUNCTION wib.clear_context() RETURNS void
    LANGUAGE sql
BEGIN ATOMIC
    SELECT pg_catalog.set_config('wib.org_id', '', false), pg_catalog.set_config('wib.user_id', '', false);
END;
COMMENT ON FUNCTION wib.clear_context() IS 'Forgets the organization and user in context.';

CREATE FUNCTION wib.organization_create(name text, plan text DEFAULT 'free') RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    new_org wib.organizations;
BEGIN
    PERFORM wib.require_text(name, 'name', 200);
    IF wib.plan_rank(plan) IS NULL THEN
        PERFORM wib.invalid_field('plan', 'plan must be one of free, starter, pro, business, enterprise.');
    END IF;
    INSERT INTO wib.organizations (name, plan) VALUES (btrim(name), plan) RETURNING * INTO new_org;
    PERFORM wib.audit('organization:created', 'organization', new_org.id::text,
                      NULL, to_jsonb(new_org), new_org.id);
    RETURN new_org.id;
END
$$;
COMMENT ON FUNCTION wib.organization_create(text, text) IS 'Operators: creates an organization on a plan; audited organization:created.';

CREATE FUNCTION wib.organization_update(id uuid, changes jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.organizations;
    new_row wib.organizations;
BEGIN
    PERFORM wib.check_fields(changes, ARRAY['name', 'plan'], 'changes');
    IF changes ? 'plan' AND wib.plan_rank(wib.field_text(changes, 'plan')) IS NULL THEN
        PERFORM wib.invalid_field('plan', 'plan must be one of free, starter, pro, business, enterprise.');
    END IF;
    IF changes ? 'name' THEN
        PERFORM wib.require_text(wib.field_text(changes, 'name', 200), 'name', 200);
    END IF;
    SELECT * INTO old_row FROM wib.organizations o WHERE o.id = organization_update.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('organization %s does not exist', id);
    END IF;
    UPDATE wib.organizations o
       SET name = coalesce(btrim(wib.field_text(changes, 'name')), o.name),
           plan = coalesce(wib.field_text(changes, 'plan'), o.plan)
     WHERE o.id = organization_update.id
    RETURNING * INTO new_row;
    PERFORM wib.audit('organization:updated', 'organization', id::text,
                      to_jsonb(old_row), to_jsonb(new_row), id);
END
$$;
COMMENT ON FUNCTION wib.organization_update(uuid, jsonb) IS
    'Operators: changes an organization''s name or plan ({"name": ..., "plan": ...}); audited organization:updated.';

CREATE FUNCTION wib.user_create(id text, name text, email text, role text DEFAULT 'agent') RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    new_user wib.users;
BEGIN
    PERFORM wib.require_text(id, 'id', 255);
    IF email IS NOT NULL AND email !~ '^[^@\s]+@[^@\s]+$' THEN
        PERFORM wib.invalid_field('email', 'email must look like name@example.com.');
    END IF;
    IF role IS NULL OR role NOT IN ('owner', 'admin', 'manager', 'agent', 'viewer') THEN
        PERFORM wib.invalid_field('role', 'role must be one of owner, admin, manager, agent, viewer.');
    END IF;
    INSERT INTO wib.users (organization_id, id, name, email, role)
    VALUES (wib.require_org(), user_create.id, name, email, role)
    RETURNING * INTO new_user;
    PERFORM wib.audit('user:created', 'user', new_user.id, NULL, to_jsonb(new_user));
    RETURN new_user.id;
END
$$;
COMMENT ON FUNCTION wib.user_create(text, text, text, text) IS 'Adds a user to the organization in context; audited user:created.';

CREATE FUNCTION wib.user_update(id text, changes jsonb) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.users;
    new_row wib.users;
BEGIN
    PERFORM wib.check_fields(changes, ARRAY['name', 'email', 'role'], 'changes');
    IF changes ? 'role' AND coalesce(wib.field_text(changes, 'role'), '') NOT IN ('owner', 'admin', 'manager', 'agent', 'viewer') THEN
        PERFORM wib.invalid_field('role', 'role must be one of owner, admin, manager, agent, viewer.');
    END IF;
    IF wib.field_text(changes, 'email', 320) !~ '^[^@\s]+@[^@\s]+$' THEN
        PERFORM wib.invalid_field('email', 'email must look like name@example.com.');
    END IF;
    SELECT * INTO old_row FROM wib.users u
     WHERE u.organization_id = wib.require_org() AND u.id = user_update.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('user "%s" does not exist', id);
    END IF;
    UPDATE wib.users u
       SET name = CASE WHEN changes ? 'name' THEN wib.field_text(changes, 'name', 200) ELSE u.name END,
           email = CASE WHEN changes ? 'email' THEN wib.field_text(changes, 'email', 320) ELSE u.email END,
           role = coalesce(wib.field_text(changes, 'role'), u.role)
     WHERE u.organization_id = old_row.organization_id AND u.id = old_row.id
    RETURNING * INTO new_row;
    PERFORM wib.audit('user:updated', 'user', id, to_jsonb(old_row), to_jsonb(new_row));
END
$$;
COMMENT ON FUNCTION wib.user_update(text, jsonb) IS
    'Changes a user''s name, email or role ({"role": "manager"}); audited user:updated.';

CREATE FUNCTION wib.user_delete(id text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.users;
BEGIN
    DELETE FROM wib.users u
     WHERE u.organization_id = wib.require_org() AND u.id = user_delete.id
    RETURNING * INTO old_row;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('user "%s" does not exist', id);
    END IF;
    PERFORM wib.audit('user:deleted', 'user', id, to_jsonb(old_row), NULL);
END
$$;
COMMENT ON FUNCTION wib.user_delete(text) IS 'Removes a user (their calls keep no agent); audited user:deleted.';
