-- Webhook tables: subscriptions, and the deliveries the deliverer drains.

CREATE TABLE wib.webhook_subscriptions (
    organization_id            uuid        NOT NULL,
    id                         uuid        NOT NULL DEFAULT gen_random_uuid(),
    name                       text        NOT NULL,
    target_url                 text        NOT NULL,
    previous_secret_expires_at timestamptz,
    events                     text[]      NOT NULL,
    is_active                  boolean     NOT NULL DEFAULT true,
    retry_policy               text        NOT NULL DEFAULT 'exponential',
    max_retries                integer     NOT NULL DEFAULT 5,
    consecutive_failures       integer     NOT NULL DEFAULT 0,
    disabled_at                timestamptz,
    disabled_reason            text,
    created_by                 text,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    -- Sealed by the vault (wib.vault_seal), bound to the organization, the
    -- column and the subscription id; last, where 0.2.0 added them.
    secret                     bytea       NOT NULL,
    previous_secret            bytea,
    CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT webhook_subscriptions_name_key UNIQUE (organization_id, name),
    CONSTRAINT webhook_subscriptions_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT webhook_subscriptions_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT webhook_subscriptions_url_check CHECK (length(target_url) BETWEEN 1 AND 2048),
    CONSTRAINT webhook_subscriptions_events_check CHECK (cardinality(events) BETWEEN 1 AND 50),
    CONSTRAINT webhook_subscriptions_policy_check CHECK (retry_policy IN ('none', 'linear', 'exponential')),
    CONSTRAINT webhook_subscriptions_retries_check CHECK (max_retries BETWEEN 0 AND 20)
);
COMMENT ON TABLE wib.webhook_subscriptions IS
    'Endpoints an organization receives events at, with the events wanted, the retry policy and the signing secret (sealed by the vault, never readable by wib_app).';
SELECT wib.make_tenant_table('wib.webhook_subscriptions');
CREATE TRIGGER webhook_subscriptions_touch BEFORE UPDATE ON wib.webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.webhook_deliveries (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    subscription_id uuid        NOT NULL,
    event_id        uuid        NOT NULL,
    message_id      text        NOT NULL GENERATED ALWAYS AS ('msg_' || replace(id::text, '-', '')) STORED,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    attempt_number  integer     NOT NULL DEFAULT 0,
    next_retry_at   timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    response_status integer,
    response_body   text,
    last_error      text,
    duration_ms     integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT webhook_deliveries_subscription_fkey FOREIGN KEY (organization_id, subscription_id)
        REFERENCES wib.webhook_subscriptions (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed', 'retrying')),
    CONSTRAINT webhook_deliveries_attempt_check CHECK (attempt_number >= 0),
    CONSTRAINT webhook_deliveries_payload_check CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT webhook_deliveries_body_check CHECK (length(response_body) <= 1024)
);
CREATE INDEX webhook_deliveries_due_idx ON wib.webhook_deliveries (next_retry_at)
    WHERE status IN ('pending', 'retrying');
-- A queue: rows are updated twice within seconds of their insert, so vacuum it often.
ALTER TABLE wib.webhook_deliveries SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
                                        autovacuum_analyze_scale_factor = 0.05, fillfactor = 80);
CREATE INDEX webhook_deliveries_subscription_idx ON wib.webhook_deliveries (organization_id, subscription_id, created_at);
COMMENT ON TABLE wib.webhook_deliveries IS
    'One row per event per subscription: status, attempts, the last response (first 1 KB), and the lease of the deliverer sending it. message_id (webhook-id) is stable across retries.';
SELECT wib.make_tenant_table('wib.webhook_deliveries');
