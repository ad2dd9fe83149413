-- QR sign-in: log in on a desktop by scanning a code with a phone that is
-- already signed in.
--   1. The desktop's sign-in page (no tenant yet) asks wib.qr_auth_create for
--      a nonce (32 bytes from pg_strong_random, base64url) and shows it as a
--      QR code; only its SHA-256 is stored; it lives wib.qr_auth_ttl.
--   2. The phone scans it and calls wib.qr_auth_verify with its tenant
--      context: its own active device binds the nonce to its organization,
--      user and device.
--   3. The desktop polls wib.qr_auth_claim: no row until verified, then the
--      identity exactly once; after that the nonce is dead.

-- Internal: the SHA-256 of a nonce as the tables key it, or 22023 naming nonce.
CREATE OR REPLACE FUNCTION wib.qr_nonce_hash(nonce text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    raw bytea;
BEGIN
    IF nonce IS NOT NULL AND length(nonce) = 43 THEN
        raw := wib.base64url_decode(nonce);
    END IF;
    IF raw IS NULL OR length(raw) <> 32 THEN
        PERFORM wib.invalid_field('nonce', 'nonce must be the 43-character base64url nonce of wib.qr_auth_create.');
    END IF;
    RETURN sha256(raw);
END
$$;
COMMENT ON FUNCTION wib.qr_nonce_hash(text) IS 'Internal: the SHA-256 of a QR sign-in nonce, or 22023 naming nonce when malformed.';

-- Internal: the nonce row for hash, locked, or WB605 (unknown), WB607 (used) per what is asked.
CREATE OR REPLACE FUNCTION wib.qr_nonce_get(hash bytea) RETURNS wib.qr_auth_nonces
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    r wib.qr_auth_nonces;
BEGIN
    SELECT * INTO r FROM wib.qr_auth_nonces n WHERE n.nonce_hash = hash FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'WB605', MESSAGE = 'QR sign-in nonce is unknown',
            HINT = 'Show a new code: wib.qr_auth_create.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION wib.qr_nonce_get(bytea) IS 'Internal: the QR nonce row of a hash, locked; WB605 when unknown.';

CREATE OR REPLACE FUNCTION wib.qr_auth_create(client_key text)
    RETURNS TABLE (nonce text, expires_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    raw     bytea;
    key     bytea;
    expires timestamptz := clock_timestamp() + current_setting('wib.qr_auth_ttl')::interval;
BEGIN
    PERFORM wib.require_text(client_key, 'client_key', 255);
    key := sha256(convert_to(client_key, 'UTF8'));
    -- wib's own limit, of no organization: a client cannot flood the table.
    PERFORM wib.rate_limit_internal(NULL, 'qr_auth:' || encode(key, 'hex'),
                                    current_setting('wib.qr_auth_rate_limit')::integer, interval '1 minute');
    raw := wib.strong_random(32);
    INSERT INTO wib.qr_auth_nonces (nonce_hash, client_key_hash, expires_at) VALUES (sha256(raw), key, expires);
    nonce := wib.base64url_encode(raw);
    expires_at := expires;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wib.qr_auth_create(text) IS
    'Starts a QR sign-in (no tenant needed): returns a single-use nonce (32 random bytes, base64url; only its hash is stored) to show as a QR code, and when it expires (wib.qr_auth_ttl). At most wib.qr_auth_rate_limit per client_key (an IP address, a browser id) per minute, then WB003.';

CREATE OR REPLACE FUNCTION wib.qr_auth_verify(nonce text, device_id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org  uuid := wib.require_org();
    hash bytea;
    r    wib.qr_auth_nonces;
    d    wib.mobile_devices;
    sid  uuid;
BEGIN
    PERFORM wib.require_feature('mobile_pwa');
    hash := wib.qr_nonce_hash(nonce);
    d := wib.mobile_device_get(device_id, false);       -- the user's own device
    r := wib.qr_nonce_get(hash);
    IF r.verified_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB607', MESSAGE = 'QR sign-in nonce was already used';
    END IF;
    IF r.expires_at <= clock_timestamp() THEN
        RAISE EXCEPTION USING ERRCODE = 'WB606', MESSAGE = 'QR sign-in nonce has expired',
            HINT = 'Show a new code: wib.qr_auth_create.';
    END IF;
    PERFORM wib.mobile_device_active(d);
    INSERT INTO wib.qr_auth_sessions (organization_id, nonce_hash, user_id, device_id, expires_at)
    VALUES (org, hash, d.user_id, d.id, r.expires_at)
    RETURNING id INTO sid;
    UPDATE wib.qr_auth_nonces n SET verified_at = clock_timestamp(), bound_organization_id = org, session_id = sid
     WHERE n.nonce_hash = hash;
    UPDATE wib.mobile_devices x SET last_active_at = now() WHERE x.organization_id = org AND x.id = d.id;
    PERFORM wib.audit('mobile:qr_auth_approved', 'qr_auth', sid::text, NULL, jsonb_build_object('device_id', d.id));
END
$$;
COMMENT ON FUNCTION wib.qr_auth_verify(text, uuid) IS
    'The phone''s side of a QR sign-in, with its tenant context: binds the nonce to the organization, the user and their own active device (WB602 revoked, P0002 not theirs). WB605 unknown nonce, WB606 expired, WB607 already used. Audited mobile:qr_auth_approved.';

CREATE OR REPLACE FUNCTION wib.qr_auth_claim(nonce text)
    RETURNS TABLE (organization_id uuid, user_id text, device_id uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = '' SET wib.user_id = ''
AS $$
DECLARE
    hash bytea := wib.qr_nonce_hash(nonce);
    r    wib.qr_auth_nonces := wib.qr_nonce_get(hash);
    s    wib.qr_auth_sessions;
    d    wib.mobile_devices;
BEGIN
    IF r.claimed_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB607', MESSAGE = 'QR sign-in nonce was already used';
    END IF;
    IF r.expires_at <= clock_timestamp() THEN
        RAISE EXCEPTION USING ERRCODE = 'WB606', MESSAGE = 'QR sign-in nonce has expired',
            HINT = 'Show a new code: wib.qr_auth_create.';
    END IF;
    IF r.verified_at IS NULL THEN
        RETURN;                 -- not scanned yet: the page polls again
    END IF;
    PERFORM wib.act_as(r.bound_organization_id);
    SELECT * INTO s FROM wib.qr_auth_sessions x
     WHERE x.organization_id = r.bound_organization_id AND x.id = r.session_id;
    SELECT * INTO d FROM wib.mobile_devices x WHERE x.organization_id = s.organization_id AND x.id = s.device_id;
    IF NOT FOUND OR d.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB602', MESSAGE = format('device %s is revoked', s.device_id),
            HINT = 'The device that approved this sign-in was revoked since: scan a new code.';
    END IF;
    PERFORM wib.act_as(s.organization_id, s.user_id);
    UPDATE wib.qr_auth_nonces n SET claimed_at = clock_timestamp() WHERE n.nonce_hash = hash;
    UPDATE wib.qr_auth_sessions x SET claimed_at = clock_timestamp()
     WHERE x.organization_id = s.organization_id AND x.id = s.id;
    PERFORM wib.audit_for(s.organization_id, 'mobile:qr_auth_used', 'qr_auth', s.id::text, NULL,
                          jsonb_build_object('device_id', s.device_id));
    organization_id := s.organization_id;
    user_id := s.user_id;
    device_id := s.device_id;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wib.qr_auth_claim(text) IS
    'The desktop''s side of a QR sign-in (no tenant needed), polled: no row until a phone verified the nonce, then the organization, user and device exactly once (audited mobile:qr_auth_used); after that WB607. WB605 unknown, WB606 expired, WB602 when the approving device was revoked since.';
