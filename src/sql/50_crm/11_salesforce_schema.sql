-- What Salesforce adds to the CRM tables: the adapter-specific settings of a
-- provider (Salesforce's API version and the domains an instance_url may
-- have), the PKCE verifier of an OAuth state (sealed), and the secrets that
-- authenticate inbound outbound messages (sealed, found by their hash).

ALTER TABLE wib.crm_providers ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
ALTER TABLE wib.crm_providers ADD CONSTRAINT crm_providers_settings_check CHECK (jsonb_typeof(settings) = 'object');
COMMENT ON COLUMN wib.crm_providers.settings IS
    'Settings of the CRM''s adapter besides the OAuth app and base URLs (Salesforce: api_version, instance_domains).';

ALTER TABLE wib.crm_oauth_states ADD COLUMN code_verifier bytea;
COMMENT ON COLUMN wib.crm_oauth_states.code_verifier IS
    'The PKCE code verifier of the state (vault ciphertext), for CRMs whose authorize URL carries a code challenge (Salesforce); sent with the code, then forgotten.';

-- Outbound messages are unsigned: a secret in the URL path proves they come
-- from the Salesforce org the integration reads.  One current secret per
-- integration; a rotated one stays valid until valid_until.
CREATE TABLE wib.crm_webhook_secrets (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    integration_id  uuid        NOT NULL,
    secret          bytea       NOT NULL,
    secret_hash     bytea       NOT NULL,
    valid_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT crm_webhook_secrets_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT crm_webhook_secrets_integration_fkey FOREIGN KEY (organization_id, integration_id)
        REFERENCES wib.crm_integrations (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT crm_webhook_secrets_hash_check CHECK (length(secret_hash) = 32)
);
-- An inbound request has no tenant yet: its secret's hash finds the integration.
CREATE INDEX crm_webhook_secrets_hash_idx ON wib.crm_webhook_secrets (secret_hash);
CREATE UNIQUE INDEX crm_webhook_secrets_current_key ON wib.crm_webhook_secrets (organization_id, integration_id)
    WHERE valid_until IS NULL;
COMMENT ON TABLE wib.crm_webhook_secrets IS
    'Secrets that authenticate a CRM''s unsigned inbound webhooks (Salesforce outbound messages) by the URL path: vault ciphertext (AAD: the organization, crm_webhook_secrets.secret, the row id) and its SHA-256 to find it; made when the integration connects, rotated with wib.crm_webhook_secret_rotate (the previous one valid until valid_until), deleted when it disconnects. Applications cannot read this table.';
SELECT wib.make_tenant_table('wib.crm_webhook_secrets');
