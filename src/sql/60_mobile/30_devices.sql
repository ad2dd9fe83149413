-- Devices: registered by the user in context, revoked by them or an admin,
-- listed through the table (row-level security: own devices, or all for
-- owners and admins).

-- Internal: the user in context, who must be a user of the organization in
-- context (WB601 without one, P0002 when unknown).
CREATE OR REPLACE FUNCTION wib.mobile_require_user() RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org uuid := wib.require_org();
    usr text := wib.current_user_id();
BEGIN
    IF usr IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB601',
            MESSAGE = 'no user in context',
            HINT = 'Devices belong to a user: set wib.user_id (wib.set_context(org, user)).';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM wib.users u WHERE u.organization_id = org AND u.id = usr) THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('user "%s" does not exist', usr);
    END IF;
    RETURN usr;
END
$$;
COMMENT ON FUNCTION wib.mobile_require_user() IS
    'Internal: the user in context, a user of the organization in context; WB601 when none is set, P0002 when unknown.';

-- Internal: a device of the organization in context the caller may act on:
-- their own, or (allow_admin) any when they are an owner or admin; P0002
-- otherwise, as for a missing one.
CREATE OR REPLACE FUNCTION wib.mobile_device_get(id uuid, allow_admin boolean) RETURNS wib.mobile_devices
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    usr text := wib.mobile_require_user();
    d   wib.mobile_devices;
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('device_id', 'device_id must be the UUID of a registered device.');
    END IF;
    SELECT * INTO d FROM wib.mobile_devices x
     WHERE x.organization_id = wib.require_org() AND x.id = mobile_device_get.id
       AND (x.user_id = usr OR (allow_admin AND wib.mobile_sees_all()));
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('device %s does not exist', id);
    END IF;
    RETURN d;
END
$$;
COMMENT ON FUNCTION wib.mobile_device_get(uuid, boolean) IS
    'Internal: a device of the organization in context that is the user''s own (or any, for an owner or admin when allow_admin); P0002 otherwise.';

-- Internal: WB602 when the device is revoked.
CREATE OR REPLACE FUNCTION wib.mobile_device_active(d wib.mobile_devices) RETURNS wib.mobile_devices
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF d.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB602',
            MESSAGE = format('device %s is revoked', d.id),
            HINT = 'Register the device again with wib.device_register.';
    END IF;
    RETURN d;
END
$$;
COMMENT ON FUNCTION wib.mobile_device_active(wib.mobile_devices) IS 'Internal: the device, or WB602 when it is revoked.';

-- The device as the audit log shows it.
CREATE OR REPLACE FUNCTION wib.mobile_device_public(d wib.mobile_devices) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    RETURN jsonb_build_object('id', d.id, 'user_id', d.user_id, 'device_name', d.device_name,
                              'device_type', d.device_type, 'has_fingerprint', d.device_fingerprint IS NOT NULL,
                              'revoked_at', d.revoked_at);
COMMENT ON FUNCTION wib.mobile_device_public(wib.mobile_devices) IS 'Internal: a device for the audit log.';

CREATE OR REPLACE FUNCTION wib.device_register(device_name text, device_type text, fingerprint text DEFAULT NULL)
    RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org uuid := wib.require_org();
    usr text;
    d   wib.mobile_devices;
BEGIN
    IF device_type IS NULL OR device_type NOT IN ('pwa', 'ios', 'android') THEN
        PERFORM wib.invalid_field('device_type', 'device_type must be pwa, ios or android.');
    END IF;
    PERFORM wib.require_feature(CASE WHEN device_type = 'pwa' THEN 'mobile_pwa' ELSE 'mobile_native' END);
    usr := wib.mobile_require_user();
    PERFORM wib.require_text(device_name, 'device_name', 100);
    IF fingerprint IS NOT NULL THEN
        PERFORM wib.require_text(fingerprint, 'fingerprint', 255);
    END IF;

    -- The same device registering again (same user and fingerprint) keeps its id.
    IF fingerprint IS NOT NULL THEN
        SELECT * INTO d FROM wib.mobile_devices x
         WHERE x.organization_id = org AND x.user_id = usr AND x.device_fingerprint = fingerprint
           AND x.revoked_at IS NULL
           FOR UPDATE;
        IF FOUND THEN
            UPDATE wib.mobile_devices x
               SET device_name = btrim(device_register.device_name), device_type = device_register.device_type,
                   last_active_at = now()
             WHERE x.organization_id = org AND x.id = d.id;
            RETURN d.id;
        END IF;
    END IF;
    INSERT INTO wib.mobile_devices AS x (organization_id, user_id, device_name, device_type, device_fingerprint)
    VALUES (org, usr, btrim(device_name), device_type, fingerprint)
    RETURNING * INTO d;
    PERFORM wib.audit('mobile:device_registered', 'mobile_device', d.id::text, NULL, wib.mobile_device_public(d));
    RETURN d.id;
END
$$;
COMMENT ON FUNCTION wib.device_register(text, text, text) IS
    'Registers a device of the user in context (device_type pwa needs plan feature mobile_pwa, ios and android mobile_native) and returns its id; the same fingerprint again returns the same device. Audited mobile:device_registered.';

CREATE OR REPLACE FUNCTION wib.device_revoke(id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    d       wib.mobile_devices := wib.mobile_device_get(id, true);
    revoked wib.mobile_devices;
BEGIN
    IF d.revoked_at IS NOT NULL THEN
        RETURN;
    END IF;
    UPDATE wib.mobile_devices x SET revoked_at = now()
     WHERE x.organization_id = d.organization_id AND x.id = d.id
    RETURNING * INTO revoked;
    -- Its pushes stop at once: subscriptions off, queued pushes dropped.
    PERFORM wib.push_deactivate(s.organization_id, s.id, 'device revoked')
       FROM wib.push_subscriptions s
      WHERE s.organization_id = d.organization_id AND s.device_id = d.id AND s.active;
    PERFORM wib.audit('mobile:device_revoked', 'mobile_device', d.id::text,
                      wib.mobile_device_public(d), wib.mobile_device_public(revoked));
END
$$;
COMMENT ON FUNCTION wib.device_revoke(uuid) IS
    'Revokes a device (soft delete): its push subscriptions stop and its queued pushes are dropped at once. The user''s own device, or any for an owner or admin. Audited mobile:device_revoked.';
