-- CRM sync tables: the operator's provider settings, each organization's
-- integration (status, cursor, counters), its OAuth tokens and states (vault
-- ciphertext, in tables applications cannot read at all), the sync log, field
-- mappings, the contact cache that phone lookups read, the queue of calls
-- pushed back to the CRM, and the inbound webhook events already applied.

-- One HTTP request of the CRM worker, as the SQL side of a sync describes it
-- to the C side that sends it (src/crm/sync.c); ctx comes back with the answer.
CREATE TYPE wib.crm_request AS (
    kind       text,
    method     text,
    url        text,
    query      text[],
    form       text[],
    json_body  text,
    bearer     text,
    account    text,
    search     boolean,
    retry_safe boolean,
    ctx        jsonb
);
COMMENT ON TYPE wib.crm_request IS
    'Internal: one request of the CRM worker: its kind (exchange, refresh, account, revoke, setup, push_call, find_call, sync; done when there is nothing to send), method, URL, query and form as name/value pairs, JSON body, bearer token, the account whose rate limit it counts against (search: the search limit too), whether it may be resent after a failure, and context echoed back with its answer.';

CREATE TABLE wib.crm_providers (
    crm_type      text        NOT NULL,
    client_id     text,
    client_secret bytea,
    scopes        text[]      NOT NULL DEFAULT '{}',
    api_url       text        NOT NULL,
    auth_url      text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT crm_providers_pkey PRIMARY KEY (crm_type),
    CONSTRAINT crm_providers_type_check CHECK (crm_type IN ('hubspot', 'salesforce', 'pipedrive')),
    CONSTRAINT crm_providers_url_check CHECK (api_url ~ '^https?://' AND auth_url ~ '^https?://')
);
COMMENT ON TABLE wib.crm_providers IS
    'Operator settings of each CRM (wib.crm_provider_set): the OAuth app''s client id and secret (vault ciphertext), the scopes asked for and the base URLs. Applications cannot read it.';

CREATE TABLE wib.crm_integrations (
    organization_id     uuid        NOT NULL,
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    crm_type            text        NOT NULL,
    status              text        NOT NULL DEFAULT 'pending',
    config              jsonb       NOT NULL DEFAULT '{}',
    external_account_id text,
    last_sync_at        timestamptz,
    last_sync_status    text,
    sync_cursor         jsonb,
    records_synced      bigint      NOT NULL DEFAULT 0,
    records_failed      bigint      NOT NULL DEFAULT 0,
    error_detail        text,
    contact_count       bigint      NOT NULL DEFAULT 0,
    next_sync_at        timestamptz,
    calls_due_at        timestamptz,
    current_sync_id     uuid,
    lease_id            uuid,
    leased_until        timestamptz,
    leased_by           text,
    worker_state        jsonb       NOT NULL DEFAULT '{}',
    connected_by        text,
    connected_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT crm_integrations_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT crm_integrations_type_key UNIQUE (organization_id, crm_type),
    CONSTRAINT crm_integrations_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT crm_integrations_type_check CHECK (crm_type IN ('hubspot', 'salesforce', 'pipedrive')),
    CONSTRAINT crm_integrations_status_check CHECK (status IN ('pending', 'connected', 'error', 'disconnected')),
    CONSTRAINT crm_integrations_sync_status_check
        CHECK (last_sync_status IN ('running', 'success', 'partial', 'failed')),
    CONSTRAINT crm_integrations_config_check CHECK (jsonb_typeof(config) = 'object'),
    CONSTRAINT crm_integrations_error_check CHECK (length(error_detail) <= 2000)
);
-- Inbound webhooks name the CRM account (HubSpot's portal id), never the organization.
CREATE INDEX crm_integrations_account_idx ON wib.crm_integrations (crm_type, external_account_id)
    WHERE external_account_id IS NOT NULL;
CREATE INDEX crm_integrations_due_idx ON wib.crm_integrations (next_sync_at) WHERE status IN ('pending', 'connected');
COMMENT ON TABLE wib.crm_integrations IS
    'One CRM connection per organization and CRM: status (pending, connected, error, disconnected), the CRM account it reads (external_account_id, HubSpot''s portal id), the sync cursor committed with the rows it covers, counters, and the CRM worker''s lease.';
COMMENT ON COLUMN wib.crm_integrations.worker_state IS
    'What the CRM worker keeps between runs besides the cursor: a refresh asked for by a 401, whether the CRM account is set up for call logging, when archived records were last listed.';
COMMENT ON COLUMN wib.crm_integrations.sync_cursor IS
    'Where the next sync resumes: the mode (full listing or delta), the high-water mark of the CRM''s modification time, and the position of a run in progress.';
SELECT wib.make_tenant_table('wib.crm_integrations');
CREATE TRIGGER crm_integrations_touch BEFORE UPDATE ON wib.crm_integrations
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.crm_tokens (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    integration_id   uuid        NOT NULL,
    access_token     bytea,
    refresh_token    bytea,
    expires_at       timestamptz,
    lifetime_seconds integer,
    scopes           text[],
    revoke           boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT crm_tokens_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT crm_tokens_integration_fkey FOREIGN KEY (organization_id, integration_id)
        REFERENCES wib.crm_integrations (organization_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX crm_tokens_live_key ON wib.crm_tokens (organization_id, integration_id) WHERE NOT revoke;
COMMENT ON TABLE wib.crm_tokens IS
    'OAuth tokens of each integration, as vault ciphertext only (AAD: the organization, crm_tokens.<column>, the row id); revoke marks a disconnected integration''s tokens, revoked at the CRM by the worker and then deleted. Applications cannot read this table.';
SELECT wib.make_tenant_table('wib.crm_tokens');
CREATE TRIGGER crm_tokens_touch BEFORE UPDATE ON wib.crm_tokens
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.crm_oauth_states (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    crm_type        text        NOT NULL,
    state_hash      bytea       NOT NULL,
    user_id         text,
    redirect_uri    text        NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    integration_id  uuid,
    code            bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT crm_oauth_states_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT crm_oauth_states_hash_key UNIQUE (organization_id, state_hash),
    CONSTRAINT crm_oauth_states_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT crm_oauth_states_type_check CHECK (crm_type IN ('hubspot', 'salesforce', 'pipedrive'))
);
COMMENT ON TABLE wib.crm_oauth_states IS
    'OAuth states of wib.crm_connect, stored hashed: single use, bound to the organization, user, CRM and redirect URI, valid 10 minutes; the authorization code handed to the worker, as vault ciphertext, until it is exchanged. Applications cannot read this table.';
SELECT wib.make_tenant_table('wib.crm_oauth_states');

CREATE TABLE wib.crm_sync_log (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    integration_id  uuid        NOT NULL,
    crm_type        text        NOT NULL,
    trigger         text        NOT NULL,
    status          text        NOT NULL DEFAULT 'running',
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    records_synced  integer     NOT NULL DEFAULT 0,
    records_failed  integer     NOT NULL DEFAULT 0,
    records_deleted integer     NOT NULL DEFAULT 0,
    calls_pushed    integer     NOT NULL DEFAULT 0,
    calls_failed    integer     NOT NULL DEFAULT 0,
    requests        integer     NOT NULL DEFAULT 0,
    rate_limited    integer     NOT NULL DEFAULT 0,
    errors          jsonb       NOT NULL DEFAULT '[]',
    error_detail    text,
    CONSTRAINT crm_sync_log_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT crm_sync_log_integration_fkey FOREIGN KEY (organization_id, integration_id)
        REFERENCES wib.crm_integrations (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT crm_sync_log_status_check CHECK (status IN ('running', 'success', 'partial', 'failed')),
    CONSTRAINT crm_sync_log_trigger_check CHECK (trigger IN ('connect', 'schedule', 'manual', 'calls', 'webhook', 'cron')),
    CONSTRAINT crm_sync_log_errors_check CHECK (jsonb_typeof(errors) = 'array')
);
-- Never two runs of one integration at once.
CREATE UNIQUE INDEX crm_sync_log_running_key ON wib.crm_sync_log (organization_id, integration_id)
    WHERE status = 'running';
CREATE INDEX crm_sync_log_integration_idx ON wib.crm_sync_log (organization_id, integration_id, started_at);
COMMENT ON TABLE wib.crm_sync_log IS
    'One row per sync run: what started it, its status (running, success, partial, failed), contacts synced, failed and deleted, calls pushed and failed, requests and rate-limit refusals, and the first errors.';
SELECT wib.make_tenant_table('wib.crm_sync_log');

CREATE TABLE wib.crm_field_mappings (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    crm_type        text        NOT NULL,
    wib_entity      text        NOT NULL,
    wib_field       text        NOT NULL,
    crm_object      text        NOT NULL,
    crm_field       text        NOT NULL,
    transform       text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT crm_field_mappings_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT crm_field_mappings_key UNIQUE (organization_id, crm_type, wib_entity, wib_field, crm_object, crm_field),
    CONSTRAINT crm_field_mappings_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT crm_field_mappings_type_check CHECK (crm_type IN ('hubspot', 'salesforce', 'pipedrive')),
    CONSTRAINT crm_field_mappings_entity_check CHECK (wib_entity IN ('contact', 'call')),
    CONSTRAINT crm_field_mappings_transform_check
        CHECK (transform IN ('seconds_to_minutes', 'seconds_to_ms', 'uppercase', 'lowercase', 'e164', 'iso8601', 'epoch_ms'))
);
COMMENT ON TABLE wib.crm_field_mappings IS
    'Field mappings of an organization per CRM (wib.crm_mappings_set): which CRM property fills a cached contact field, and which call field fills a property of the call logged in the CRM, with an optional transform. Without rows, the CRM''s defaults apply.';
SELECT wib.make_tenant_table('wib.crm_field_mappings');

CREATE TABLE wib.crm_contact_cache (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    integration_id  uuid        NOT NULL,
    crm_type        text        NOT NULL,
    crm_contact_id  text        NOT NULL,
    phone_number    text,
    email           text,
    display_name    text,
    company_name    text,
    crm_url         text,
    raw_data        jsonb       NOT NULL DEFAULT '{}',
    synced_at       timestamptz NOT NULL DEFAULT now(),
    phone_e164      text,
    mobile_number   text,
    mobile_e164     text,
    crm_modified_at timestamptz,
    CONSTRAINT crm_contact_cache_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT crm_contact_cache_contact_key UNIQUE (organization_id, crm_type, crm_contact_id),
    CONSTRAINT crm_contact_cache_integration_fkey FOREIGN KEY (organization_id, integration_id)
        REFERENCES wib.crm_integrations (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT crm_contact_cache_raw_check CHECK (jsonb_typeof(raw_data) = 'object')
);
CREATE INDEX crm_contact_cache_phone_idx ON wib.crm_contact_cache (organization_id, phone_e164)
    WHERE phone_e164 IS NOT NULL;
CREATE INDEX crm_contact_cache_mobile_idx ON wib.crm_contact_cache (organization_id, mobile_e164)
    WHERE mobile_e164 IS NOT NULL;
COMMENT ON TABLE wib.crm_contact_cache IS
    'Contacts read from the CRM, one row per CRM contact, with their numbers in E.164 (read in the organization''s default country) for the caller popover (wib.crm_contact_lookup).';
SELECT wib.make_tenant_table('wib.crm_contact_cache');

CREATE TABLE wib.crm_call_pushes (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    integration_id  uuid        NOT NULL,
    call_id         uuid        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    due_at          timestamptz NOT NULL DEFAULT now(),
    pushing_since   timestamptz,
    crm_object_id   text,
    crm_contact_id  text,
    sync_id         uuid,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    pushed_at       timestamptz,
    CONSTRAINT crm_call_pushes_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT crm_call_pushes_call_key UNIQUE (organization_id, integration_id, call_id),
    CONSTRAINT crm_call_pushes_integration_fkey FOREIGN KEY (organization_id, integration_id)
        REFERENCES wib.crm_integrations (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT crm_call_pushes_call_fkey FOREIGN KEY (organization_id, call_id)
        REFERENCES wib.calls (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT crm_call_pushes_status_check
        CHECK (status IN ('pending', 'pushing', 'unknown', 'pushed', 'failed')),
    CONSTRAINT crm_call_pushes_error_check CHECK (length(last_error) <= 2000)
);
CREATE INDEX crm_call_pushes_due_idx ON wib.crm_call_pushes (organization_id, integration_id, due_at)
    WHERE status IN ('pending', 'pushing', 'unknown');
COMMENT ON TABLE wib.crm_call_pushes IS
    'Completed calls to log in a connected CRM: pending, pushing (sent, outcome not yet recorded), unknown (to reconcile with the CRM before sending again), pushed (with the CRM object id) or failed.';
SELECT wib.make_tenant_table('wib.crm_call_pushes');

CREATE TABLE wib.crm_webhook_events (
    organization_id uuid        NOT NULL,
    crm_type        text        NOT NULL,
    event_id        text        NOT NULL,
    integration_id  uuid        NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT crm_webhook_events_pkey PRIMARY KEY (organization_id, crm_type, event_id),
    CONSTRAINT crm_webhook_events_integration_fkey FOREIGN KEY (organization_id, integration_id)
        REFERENCES wib.crm_integrations (organization_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE wib.crm_webhook_events IS
    'Inbound CRM webhook events already applied, by the CRM''s event id, so a redelivered event is applied once (kept for wib.crm_webhook_retention).';
SELECT wib.make_tenant_table('wib.crm_webhook_events');
