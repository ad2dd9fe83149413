-- Telnyx's API for inbound numbers: the operator's account settings, the
-- numbers offered to an organization by a search, and the orders and
-- releases the deliverer's telnyx channel carries out.

-- One row: the platform's Telnyx account.  The API key is sealed (platform
-- secret: no organization, context telnyx_config.api_key, row telnyx) and is
-- read back by nobody but the code that sends requests.
CREATE TABLE wib.telnyx_config (
    id            text        NOT NULL DEFAULT 'telnyx',
    api_url       text        NOT NULL DEFAULT 'https://api.telnyx.com',
    api_key       bytea,
    connection_id text,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT telnyx_config_pkey PRIMARY KEY (id),
    CONSTRAINT telnyx_config_one_row CHECK (id = 'telnyx'),
    CONSTRAINT telnyx_config_api_url_check CHECK (api_url ~ '^https://[^[:space:]/?#@]+(/[^[:space:]?#]*[^[:space:]?#/])?$'),
    CONSTRAINT telnyx_config_connection_check CHECK (connection_id IS NULL OR connection_id ~ '^[A-Za-z0-9_-]{1,100}$')
);
COMMENT ON TABLE wib.telnyx_config IS
    'The platform''s Telnyx account for ordering and releasing numbers (one row, set with wib.telnyx_configure): API base URL, sealed API key, the TeXML connection new numbers are attached to.';
COMMENT ON COLUMN wib.telnyx_config.api_key IS
    'The Telnyx API key, sealed by the vault (wib.vault_seal, platform secret, context telnyx_config.api_key); never readable back.';
SELECT pg_catalog.pg_extension_config_dump('wib.telnyx_config', '');

-- What a number search offered an organization, so that an order names a
-- number that was offered, and carries its type and cost.
CREATE TABLE wib.ivr_number_offers (
    organization_id    uuid        NOT NULL,
    phone_number       text        NOT NULL,
    number_type        text        NOT NULL,
    monthly_cost_cents integer,
    currency           text,
    offered_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ivr_number_offers_pkey PRIMARY KEY (organization_id, phone_number),
    CONSTRAINT ivr_number_offers_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT ivr_number_offers_phone_check CHECK (wib.is_e164(phone_number)),
    CONSTRAINT ivr_number_offers_type_check CHECK (number_type IN ('local', 'toll_free')),
    CONSTRAINT ivr_number_offers_cost_check CHECK (monthly_cost_cents IS NULL OR monthly_cost_cents >= 0)
);
CREATE INDEX ivr_number_offers_offered_idx ON wib.ivr_number_offers (offered_at);
COMMENT ON TABLE wib.ivr_number_offers IS
    'Internal: the numbers wib.ivr_number_search offered an organization, with type and monthly cost; wib.ivr_number_order takes only these (for an hour).';
SELECT wib.make_tenant_table('wib.ivr_number_offers');

-- Requests to Telnyx that outlive the caller's transaction: orders and
-- releases, each a small state machine (step) the deliverer's telnyx channel
-- advances.  Not a tenant table: a release must survive the deletion of its
-- organization, so the organization is kept as a plain value.
CREATE TABLE wib.telnyx_jobs (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    kind             text        NOT NULL,
    step             text        NOT NULL,
    organization_ref uuid        NOT NULL,
    number_id        uuid        NOT NULL,
    phone_number     text        NOT NULL,
    telnyx_order_id  text,
    telnyx_number_id text,
    attempts         integer     NOT NULL DEFAULT 0,
    failures         integer     NOT NULL DEFAULT 0,
    due_at           timestamptz NOT NULL DEFAULT now(),
    leased_until     timestamptz,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT telnyx_jobs_pkey PRIMARY KEY (id),
    CONSTRAINT telnyx_jobs_number_key UNIQUE (number_id),
    CONSTRAINT telnyx_jobs_kind_check CHECK (kind IN ('order', 'release')),
    CONSTRAINT telnyx_jobs_step_check CHECK (step IN ('order', 'lookup', 'poll', 'resolve', 'release')),
    CONSTRAINT telnyx_jobs_release_step_check CHECK (kind = 'order' OR step <> 'order'),
    CONSTRAINT telnyx_jobs_ids_check CHECK (coalesce(telnyx_order_id, '') ~ '^[A-Za-z0-9_-]{0,100}$'
                                            AND coalesce(telnyx_number_id, '') ~ '^[A-Za-z0-9_-]{0,100}$')
);
CREATE INDEX telnyx_jobs_due_idx ON wib.telnyx_jobs (due_at);
CREATE INDEX telnyx_jobs_organization_idx ON wib.telnyx_jobs (organization_ref);
COMMENT ON TABLE wib.telnyx_jobs IS
    'Internal: number orders and releases at Telnyx in progress, advanced by the deliverer''s telnyx channel (step order, lookup, poll, resolve, release); a release outlives its organization.';
COMMENT ON COLUMN wib.telnyx_jobs.organization_ref IS
    'The organization the number belongs or belonged to (no foreign key: the release of a deleted organization''s number goes on).';
SELECT pg_catalog.pg_extension_config_dump('wib.telnyx_jobs', '');
CREATE TRIGGER telnyx_jobs_touch BEFORE UPDATE ON wib.telnyx_jobs
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
