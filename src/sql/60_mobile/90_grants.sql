-- Privileges of mobile devices and Web Push.  Applications register devices,
-- subscribe, send and sign in through the API (definer-rights functions that
-- check every rule) and read their devices, subscriptions, pushes and QR
-- sign-ins through row-level security (own rows; all for owners and admins),
-- never the sealed auth secrets, nonce hashes or VAPID keys.

GRANT EXECUTE ON FUNCTION
    wib.device_register(text, text, text),
    wib.device_revoke(uuid),
    wib.vapid_public_key(),
    wib.push_subscribe(uuid, jsonb, text[]),
    wib.push_unsubscribe(uuid),
    wib.push_test(uuid),
    wib.push_send(text, jsonb),
    wib.push_default_events(),
    wib.push_event_notification(text, jsonb),
    wib.qr_auth_create(text),
    wib.qr_auth_verify(text, uuid),
    wib.qr_auth_claim(text),
    -- the row-level security policies call it as the querying role
    wib.mobile_sees_all()
TO wib_app;

-- Operators create and rotate the platform's VAPID key.
GRANT EXECUTE ON FUNCTION wib.vapid_configure(text, boolean) TO wib_admin;

GRANT SELECT ON wib.mobile_devices, wib.push_deliveries, wib.push_event_templates TO wib_app;
GRANT SELECT (organization_id, id, device_id, user_id, endpoint, p256dh_key, push_type, active, events, vapid_key_id,
              expiration_time, last_status, last_error, failure_count, last_success_at, deactivated_at,
              deactivated_reason, created_at, updated_at)
    ON wib.push_subscriptions TO wib_app;
GRANT SELECT (organization_id, id, user_id, device_id, verified_at, expires_at, claimed_at)
    ON wib.qr_auth_sessions TO wib_app;
