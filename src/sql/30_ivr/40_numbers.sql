-- Inbound numbers: provisioned, assigned a menu, released; routes kept by a trigger.

-- The statuses of a number in service: it holds quota, and calls to it are routed.
CREATE OR REPLACE FUNCTION wib.ivr_number_in_service(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN status IN ('ordering', 'active', 'suspended');
COMMENT ON FUNCTION wib.ivr_number_in_service(text) IS
    'Internal: true for the statuses of a number in service (ordering, active, suspended): it holds quota and is routed.';

-- Keeps inbound_number_routes in step with the numbers in service; a number
-- already routed to any organization is refused with WB303.  On a Citus
-- worker the routes (a reference table) are written on every node from this
-- shard's statement, which Citus cannot prepare for two-phase commit: such a
-- transaction is refused a PREPARE (docs/scale-out.md, "IVR").
CREATE OR REPLACE FUNCTION wib.inbound_numbers_route() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND wib.ivr_number_in_service(OLD.status)
        OR TG_OP <> 'DELETE' AND wib.ivr_number_in_service(NEW.status))
       AND wib.is_distributed('wib.inbound_number_routes') THEN
        PERFORM wib.refuse_prepare('The route of a number was written from its organization''s shard to every node, '
            'which Citus cannot commit with two-phase commit: add, release or delete numbers in a transaction '
            'that writes on that organization''s worker only.');
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND wib.ivr_number_in_service(OLD.status) THEN
        DELETE FROM wib.inbound_number_routes r
         WHERE r.phone_number = OLD.phone_number AND r.organization_id = OLD.organization_id AND r.number_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND wib.ivr_number_in_service(NEW.status) THEN
        BEGIN
            INSERT INTO wib.inbound_number_routes (phone_number, organization_id, number_id)
            VALUES (NEW.phone_number, NEW.organization_id, NEW.id);
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION USING ERRCODE = 'WB303',
                MESSAGE = format('phone number %s is already provisioned', NEW.phone_number),
                DETAIL = 'A number belongs to one organization at a time; release it there first.';
        END;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.inbound_numbers_route() IS
    'Trigger: keeps wib.inbound_number_routes in step with inbound_numbers; a number routed to another organization is refused (WB303) by the routes'' key, at any isolation level.';
CREATE OR REPLACE TRIGGER inbound_numbers_route AFTER INSERT OR DELETE OR UPDATE OF phone_number, status, organization_id
    ON wib.inbound_numbers FOR EACH ROW EXECUTE FUNCTION wib.inbound_numbers_route();

-- Numbers in use against the plan's inbound_numbers limit (see wib.quota_take).
CREATE OR REPLACE FUNCTION wib.quota_usage_inbound_numbers(org uuid) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    RETURN (SELECT count(*) FROM wib.inbound_numbers n
             WHERE n.organization_id = org AND n.status IN ('ordering', 'active', 'suspended'));
END
$$;
COMMENT ON FUNCTION wib.quota_usage_inbound_numbers(uuid) IS 'Internal: the numbers an organization holds or is ordering (in service), for its inbound_numbers limit.';

CREATE OR REPLACE FUNCTION wib.ivr_number_add(phone_number text, number_type text, display_name text,
                                   menu_id uuid DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org  uuid := wib.require_org();
    nrow wib.inbound_numbers;
BEGIN
    PERFORM wib.require_feature('inbound_ivr');
    IF number_type IS NULL OR number_type NOT IN ('local', 'toll_free') THEN
        PERFORM wib.invalid_field('number_type', 'number_type must be local or toll_free.');
    END IF;
    IF number_type = 'toll_free' THEN
        PERFORM wib.require_feature('toll_free_numbers');
    END IF;
    IF NOT coalesce(wib.is_e164(phone_number), false) THEN
        PERFORM wib.invalid_field('phone_number', 'phone_number must be an E.164 number such as +15551234567.');
    END IF;
    IF display_name IS NOT NULL AND length(display_name) > 100 THEN
        PERFORM wib.invalid_field('display_name', 'display_name must be at most 100 characters.');
    END IF;
    IF menu_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM wib.ivr_menus m
                                            WHERE m.organization_id = org AND m.id = ivr_number_add.menu_id) THEN
        PERFORM wib.invalid_field('menu_id', 'menu_id must be the id of a menu of this organization.');
    END IF;
    -- The quota is taken first: it serializes provisioning of one organization at any isolation level.
    PERFORM wib.quota_take('inbound_numbers', org);
    IF EXISTS (SELECT 1 FROM wib.inbound_numbers n
                WHERE n.organization_id = org AND n.phone_number = ivr_number_add.phone_number
                  AND wib.ivr_number_in_service(n.status)) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB303',
            MESSAGE = format('phone number %s is already provisioned', phone_number),
            DETAIL = 'The organization already has this number.';
    END IF;
    -- Recorded as given: a number held outside wib's Telnyx account, or ported
    -- (wib.ivr_number_order orders one through Telnyx's API).
    INSERT INTO wib.inbound_numbers (organization_id, phone_number, number_type, display_name, menu_id)
    VALUES (org, phone_number, number_type, nullif(btrim(display_name), ''), menu_id)
    RETURNING * INTO nrow;
    PERFORM wib.audit('ivr:number_provisioned', 'inbound_number', nrow.id::text, NULL, to_jsonb(nrow));
    RETURN nrow.id;
END
$$;
COMMENT ON FUNCTION wib.ivr_number_add(text, text, text, uuid) IS
    'Records an inbound number held outside wib''s Telnyx account (E.164, local or toll_free) for the organization in context, active at once; plan-gated (inbound_ivr, toll_free_numbers) and limited (inbound_numbers); audited ivr:number_provisioned. wib.ivr_number_order orders one from Telnyx.';

CREATE OR REPLACE FUNCTION wib.ivr_number_assign(number_id uuid, menu_id uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org     uuid := wib.require_org();
    old_row wib.inbound_numbers;
    new_row wib.inbound_numbers;
BEGIN
    PERFORM wib.require_feature('inbound_ivr');
    SELECT * INTO old_row FROM wib.inbound_numbers n
     WHERE n.organization_id = org AND n.id = number_id AND wib.ivr_number_in_service(n.status) FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('inbound number %s does not exist', number_id);
    END IF;
    IF menu_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM wib.ivr_menus m
                                            WHERE m.organization_id = org AND m.id = ivr_number_assign.menu_id) THEN
        PERFORM wib.invalid_field('menu_id', 'menu_id must be the id of a menu of this organization.');
    END IF;
    UPDATE wib.inbound_numbers n SET menu_id = ivr_number_assign.menu_id
     WHERE n.organization_id = org AND n.id = number_id
    RETURNING * INTO new_row;
    PERFORM wib.audit('ivr:number_updated', 'inbound_number', number_id::text, to_jsonb(old_row), to_jsonb(new_row));
END
$$;
COMMENT ON FUNCTION wib.ivr_number_assign(uuid, uuid) IS
    'Sets the menu a number answers with (NULL: none, calls are rejected); audited ivr:number_updated.';

CREATE OR REPLACE FUNCTION wib.ivr_number_release(number_id uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org     uuid := wib.require_org();
    old_row wib.inbound_numbers;
    new_row wib.inbound_numbers;
    job     wib.telnyx_jobs;
    new_status text := 'released';
BEGIN
    SELECT * INTO old_row FROM wib.inbound_numbers n
     WHERE n.organization_id = org AND n.id = number_id AND wib.ivr_number_in_service(n.status) FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('inbound number %s does not exist', number_id);
    END IF;
    -- At Telnyx too, through the deliverer (the number stops routing now).
    SELECT * INTO job FROM wib.telnyx_jobs j WHERE j.number_id = ivr_number_release.number_id FOR UPDATE;
    IF FOUND THEN
        IF job.step = 'order' THEN
            -- No order was sent (a claim moves the step on before sending, and a
            -- lookup that found none moves it back): nothing to release at Telnyx.
            DELETE FROM wib.telnyx_jobs j WHERE j.id = job.id;
        ELSE
            -- An order placed (or perhaps placed): its number is released once it is known.
            UPDATE wib.telnyx_jobs j
               SET kind = 'release',
                   due_at = CASE WHEN j.leased_until > now() THEN j.due_at ELSE now() END
             WHERE j.id = job.id;
            new_status := 'releasing';
        END IF;
    ELSIF old_row.telnyx_number_id IS NOT NULL OR old_row.telnyx_order_id IS NOT NULL THEN
        INSERT INTO wib.telnyx_jobs (kind, step, organization_ref, number_id, phone_number, telnyx_order_id, telnyx_number_id)
        VALUES ('release', CASE WHEN old_row.telnyx_number_id IS NOT NULL THEN 'release' ELSE 'poll' END,
                org, old_row.id, old_row.phone_number, old_row.telnyx_order_id, old_row.telnyx_number_id);
        new_status := 'releasing';
    END IF;
    UPDATE wib.inbound_numbers n
       SET status = new_status,
           released_at = CASE WHEN new_status = 'released' THEN now() END
     WHERE n.organization_id = org AND n.id = number_id
    RETURNING * INTO new_row;
    IF new_status = 'releasing' THEN
        PERFORM wib.wake('deliverer');
    END IF;
    PERFORM wib.audit('ivr:number_released', 'inbound_number', number_id::text, to_jsonb(old_row), to_jsonb(new_row));
END
$$;
COMMENT ON FUNCTION wib.ivr_number_release(uuid) IS
    'Releases a number: it stops routing calls and frees its plan quota at once (its call log stays); a number ordered through Telnyx becomes releasing until Telnyx confirms the release (the deliverer retries until it does); audited ivr:number_released.';
