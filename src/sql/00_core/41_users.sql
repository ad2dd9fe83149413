-- Users of the organization in context, audited.

CREATE OR REPLACE FUNCTION wib.user_create(id text, name text, email text, role text DEFAULT 'agent') RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    new_user wib.users;
BEGIN
    PERFORM wib.require_text(id, 'id', 255);
    IF email IS NOT NULL AND email !~ '^[^@\s]+@[^@\s]+$' THEN
        PERFORM wib.invalid_field('email', 'email must look like name@example.com.');
    END IF;
    IF role IS NULL OR role <> ALL (wib.user_roles()) THEN
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

CREATE OR REPLACE FUNCTION wib.user_update(id text, changes jsonb) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    old_row wib.users;
    new_row wib.users;
BEGIN
    PERFORM wib.check_fields(changes, ARRAY['name', 'email', 'role'], 'changes');
    IF changes ? 'role' AND coalesce(wib.field_text(changes, 'role'), '') <> ALL (wib.user_roles()) THEN
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

-- Before a user goes, however deleted: their calls and scorecards keep no
-- agent.  A trigger rather than the foreign keys' ON DELETE SET NULL
-- (agent_id), which a Citus cluster refuses (the keys include the
-- distribution column); there it runs on the user's shard and writes the
-- co-located calls and scorecards.  Invoker rights: whoever may delete the
-- user may clear the agent of the organization's calls.
CREATE OR REPLACE FUNCTION wib.users_clear_agent() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    UPDATE wib.calls c SET agent_id = NULL
     WHERE c.organization_id = OLD.organization_id AND c.agent_id = OLD.id;
    UPDATE wib.scorecards s SET agent_id = NULL
     WHERE s.organization_id = OLD.organization_id AND s.agent_id = OLD.id;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION wib.users_clear_agent() IS
    'Trigger: before a user is deleted, their calls and scorecards keep no agent (the foreign keys do not set it NULL, for Citus).';
CREATE OR REPLACE TRIGGER users_clear_agent BEFORE DELETE ON wib.users
    FOR EACH ROW EXECUTE FUNCTION wib.users_clear_agent();

CREATE OR REPLACE FUNCTION wib.user_delete(id text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
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
