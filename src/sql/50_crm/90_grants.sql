-- Privileges of CRM sync.  Applications read their integrations, runs,
-- mappings, cached contacts and call pushes, and change them only through
-- the API; tokens, OAuth states, provider settings and webhook event ids are
-- not readable by them at all.  The platform's CRM webhook route calls
-- wib.crm_webhook.  Operators configure the CRMs and may run a sync.

GRANT EXECUTE ON FUNCTION
    wib.crm_connect(text, text, text), wib.crm_callback(text, text, text, text), wib.crm_disconnect(text),
    wib.crm_sync_now(text, text), wib.crm_status(), wib.crm_mappings(text), wib.crm_mappings_set(text, jsonb),
    wib.crm_contact_lookup(text), wib.crm_webhook(text, text, text, bytea, jsonb),
    wib.crm_mapping_fields(), wib.crm_transforms(), wib.crm_config_set(text, jsonb),
    wib.crm_webhook_secret(text), wib.crm_webhook_secret_rotate(text, interval),
    wib.crm_webhook_response(text, text, text, bytea, jsonb)
TO wib_app;
GRANT SELECT ON wib.crm_integrations, wib.crm_sync_log, wib.crm_field_mappings, wib.crm_contact_cache,
                wib.crm_call_pushes TO wib_app;

GRANT EXECUTE ON FUNCTION wib.crm_provider_set(text, jsonb), wib.crm_providers_show(), wib.crm_sync(uuid)
TO wib_admin;
