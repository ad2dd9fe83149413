-- Mobile tables: registered devices, their Web Push subscriptions, the pushes
-- the deliverer drains, the platform's VAPID keys, the catalogue of event
-- notifications, and QR sign-in (nonces stored only as SHA-256 hashes).

-- The platform's VAPID key pairs (RFC 8292): one is current, older ones stay
-- for the subscriptions made with them (a browser subscription is bound to
-- the application server key it was made with).
CREATE TABLE wib.vapid_keys (
    id          integer     NOT NULL,
    public_key  bytea       NOT NULL,
    private_key bytea       NOT NULL,
    subject     text        NOT NULL,
    is_current  boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    CONSTRAINT vapid_keys_pkey PRIMARY KEY (id),
    CONSTRAINT vapid_keys_public_check CHECK (length(public_key) = 65),
    CONSTRAINT vapid_keys_subject_check CHECK (length(subject) <= 255
        AND subject ~ '^(mailto:[^@[:space:]]+@[^@[:space:]]+|https://[^[:space:]]+)$')
);
CREATE UNIQUE INDEX vapid_keys_current_key ON wib.vapid_keys (is_current) WHERE is_current;
COMMENT ON TABLE wib.vapid_keys IS
    'Internal: the platform''s VAPID key pairs (RFC 8292), the private key sealed by the vault; the current one signs for new subscriptions, older ones for the subscriptions made with them.';
SELECT pg_catalog.pg_extension_config_dump('wib.vapid_keys', '');

CREATE TABLE wib.mobile_devices (
    organization_id    uuid        NOT NULL,
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id            text        NOT NULL,
    device_name        text        NOT NULL,
    device_type        text        NOT NULL,
    device_fingerprint text,
    last_active_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mobile_devices_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT mobile_devices_user_fkey FOREIGN KEY (organization_id, user_id)
        REFERENCES wib.users (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT mobile_devices_name_check CHECK (length(btrim(device_name)) BETWEEN 1 AND 100),
    CONSTRAINT mobile_devices_type_check CHECK (device_type IN ('pwa', 'ios', 'android')),
    CONSTRAINT mobile_devices_fingerprint_check
        CHECK (device_fingerprint IS NULL OR length(device_fingerprint) BETWEEN 1 AND 255)
);
-- A device registered again (same user, same fingerprint) is the same device.
CREATE UNIQUE INDEX mobile_devices_fingerprint_key ON wib.mobile_devices (organization_id, user_id, device_fingerprint)
    WHERE revoked_at IS NULL AND device_fingerprint IS NOT NULL;
CREATE INDEX mobile_devices_user_idx ON wib.mobile_devices (organization_id, user_id);
COMMENT ON TABLE wib.mobile_devices IS
    'Devices (installed web app, iOS, Android) users sign in on; revoked_at is a soft delete that stops their pushes at once. Users see their own; owners and admins see the organization''s.';
SELECT wib.make_tenant_table('wib.mobile_devices');
CREATE POLICY own_or_admin ON wib.mobile_devices AS RESTRICTIVE FOR SELECT TO wib_app
    USING (user_id = wib.current_user_id() OR (SELECT wib.mobile_sees_all()));
CREATE TRIGGER mobile_devices_touch BEFORE UPDATE ON wib.mobile_devices
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.push_subscriptions (
    organization_id    uuid        NOT NULL,
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    device_id          uuid        NOT NULL,
    user_id            text        NOT NULL,
    endpoint           text        NOT NULL,
    p256dh_key         text        NOT NULL,
    auth_key           bytea       NOT NULL,
    push_type          text        NOT NULL DEFAULT 'web',
    active             boolean     NOT NULL DEFAULT true,
    events             text[]      NOT NULL,
    vapid_key_id       integer     NOT NULL,
    expiration_time    timestamptz,
    last_status        integer,
    last_error         text,
    failure_count      integer     NOT NULL DEFAULT 0,
    last_success_at    timestamptz,
    deactivated_at     timestamptz,
    deactivated_reason text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT push_subscriptions_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT push_subscriptions_endpoint_key UNIQUE (organization_id, endpoint),
    CONSTRAINT push_subscriptions_device_fkey FOREIGN KEY (organization_id, device_id)
        REFERENCES wib.mobile_devices (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT push_subscriptions_vapid_key_fkey FOREIGN KEY (vapid_key_id) REFERENCES wib.vapid_keys (id),
    CONSTRAINT push_subscriptions_type_check CHECK (push_type IN ('web', 'fcm', 'apns')),
    CONSTRAINT push_subscriptions_endpoint_check CHECK (length(endpoint) BETWEEN 1 AND 2048),
    CONSTRAINT push_subscriptions_p256dh_check CHECK (p256dh_key ~ '^[A-Za-z0-9_-]{87}$'),
    CONSTRAINT push_subscriptions_events_check CHECK (cardinality(events) BETWEEN 1 AND 50),
    CONSTRAINT push_subscriptions_failures_check CHECK (failure_count >= 0)
);
-- One live subscription per device: a browser that subscribes again replaces its old one.
CREATE UNIQUE INDEX push_subscriptions_device_active_key ON wib.push_subscriptions (organization_id, device_id)
    WHERE active;
CREATE INDEX push_subscriptions_user_idx ON wib.push_subscriptions (organization_id, user_id) WHERE active;
COMMENT ON TABLE wib.push_subscriptions IS
    'Web Push subscriptions of devices (the browser''s PushSubscription: endpoint, p256dh key, auth secret sealed by the vault and never readable by wib_app), the events each wants, and its delivery health.';
SELECT wib.make_tenant_table('wib.push_subscriptions');
CREATE POLICY own_or_admin ON wib.push_subscriptions AS RESTRICTIVE FOR SELECT TO wib_app
    USING (user_id = wib.current_user_id() OR (SELECT wib.mobile_sees_all()));
CREATE TRIGGER push_subscriptions_touch BEFORE UPDATE ON wib.push_subscriptions
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.push_deliveries (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    subscription_id uuid        NOT NULL,
    event_id        uuid,
    event_type      text,
    notification    jsonb       NOT NULL,
    urgency         text        NOT NULL DEFAULT 'normal',
    topic           text,
    status          text        NOT NULL DEFAULT 'pending',
    attempt_number  integer     NOT NULL DEFAULT 0,
    next_retry_at   timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    response_status integer,
    last_error      text,
    duration_ms     integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    CONSTRAINT push_deliveries_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT push_deliveries_subscription_fkey FOREIGN KEY (organization_id, subscription_id)
        REFERENCES wib.push_subscriptions (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT push_deliveries_status_check CHECK (status IN ('pending', 'retrying', 'delivered', 'failed')),
    CONSTRAINT push_deliveries_urgency_check CHECK (urgency IN ('very-low', 'low', 'normal', 'high')),
    CONSTRAINT push_deliveries_topic_check CHECK (topic ~ '^[A-Za-z0-9_-]{1,32}$'),
    CONSTRAINT push_deliveries_notification_check CHECK (jsonb_typeof(notification) = 'object'),
    CONSTRAINT push_deliveries_attempt_check CHECK (attempt_number >= 0),
    CONSTRAINT push_deliveries_error_check CHECK (length(last_error) <= 1024)
);
CREATE INDEX push_deliveries_due_idx ON wib.push_deliveries (next_retry_at)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX push_deliveries_subscription_idx ON wib.push_deliveries (organization_id, subscription_id, created_at);
-- A queue like webhook_deliveries: vacuum it often.
ALTER TABLE wib.push_deliveries SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
                                     autovacuum_analyze_scale_factor = 0.05, fillfactor = 80);
COMMENT ON TABLE wib.push_deliveries IS
    'One row per push to a subscription (an event''s notification, wib.push_send or wib.push_test): status, attempts, the push service''s last answer and the deliverer''s lease.';
SELECT wib.make_tenant_table('wib.push_deliveries');
CREATE POLICY own_or_admin ON wib.push_deliveries AS RESTRICTIVE FOR SELECT TO wib_app
    USING (EXISTS (SELECT 1 FROM wib.push_subscriptions s
                    WHERE s.organization_id = push_deliveries.organization_id AND s.id = push_deliveries.subscription_id));

-- What an event's push says: generic words and a link into the app, never
-- anything of the payload but the id of the resource the link opens.
CREATE TABLE wib.push_event_templates (
    event_type  text  NOT NULL,
    title       text  NOT NULL,
    body        text  NOT NULL,
    url         text  NOT NULL,
    id_field    text,
    tag         text,
    urgency     text  NOT NULL DEFAULT 'normal',
    only_when   jsonb,
    CONSTRAINT push_event_templates_pkey PRIMARY KEY (event_type),
    CONSTRAINT push_event_templates_url_check CHECK (url ~ '^/([^/]|$)'),
    CONSTRAINT push_event_templates_urgency_check CHECK (urgency IN ('very-low', 'low', 'normal', 'high')),
    CONSTRAINT push_event_templates_text_check CHECK (length(title) <= 100 AND length(body) <= 300
                                                     AND length(tag) <= 64)
);
COMMENT ON TABLE wib.push_event_templates IS
    'The push each event type sends (''*'' for the rest): title, body, a link into the app where {id} is the UUID in the payload''s id_field, tag, urgency, and only_when (a JSON the payload must contain, or no push).';

-- QR sign-in, first half: nonces created for a desktop that has no tenant
-- yet, keyed by the nonce's SHA-256 (the nonce itself is never stored), and
-- bound to an organization, user and device once a phone verifies them.
CREATE TABLE wib.qr_auth_nonces (
    nonce_hash            bytea       NOT NULL,
    client_key_hash       bytea       NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    expires_at            timestamptz NOT NULL,
    verified_at           timestamptz,
    claimed_at            timestamptz,
    bound_organization_id uuid,
    session_id            uuid,
    CONSTRAINT qr_auth_nonces_pkey PRIMARY KEY (nonce_hash),
    CONSTRAINT qr_auth_nonces_hash_check CHECK (length(nonce_hash) = 32)
);
CREATE INDEX qr_auth_nonces_expires_idx ON wib.qr_auth_nonces (expires_at);
COMMENT ON TABLE wib.qr_auth_nonces IS
    'Internal: QR sign-in nonces by SHA-256 (the nonce is never stored), single use, short-lived; bound to the organization, user and device that verified them. No role but the owner reads it.';

-- QR sign-in, second half: the sign-ins a tenant's devices approved.
CREATE TABLE wib.qr_auth_sessions (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    nonce_hash      bytea       NOT NULL,
    user_id         text        NOT NULL,
    device_id       uuid        NOT NULL,
    verified_at     timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    claimed_at      timestamptz,
    CONSTRAINT qr_auth_sessions_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT qr_auth_sessions_nonce_key UNIQUE (organization_id, nonce_hash),
    CONSTRAINT qr_auth_sessions_device_fkey FOREIGN KEY (organization_id, device_id)
        REFERENCES wib.mobile_devices (organization_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE wib.qr_auth_sessions IS
    'QR sign-ins a user approved on a device: when it was verified, and when the desktop claimed the identity (once).';
SELECT wib.make_tenant_table('wib.qr_auth_sessions');
CREATE POLICY own_or_admin ON wib.qr_auth_sessions AS RESTRICTIVE FOR SELECT TO wib_app
    USING (user_id = wib.current_user_id() OR (SELECT wib.mobile_sees_all()));
