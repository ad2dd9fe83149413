-- The events of CRM sync, its sealed columns, and what retention removes of it.

INSERT INTO wib.event_types (event_type, description, example) VALUES
    ('crm.connected', 'A CRM was connected: the authorization code was exchanged and the CRM account read; the first sync starts.',
     '{"integration_id": "6f9c2a4e-1b3d-4c5e-8f7a-9b0c1d2e3f40", "crm_type": "hubspot", "account_id": "62515", "connected_at": "2026-11-29T10:15:00Z"}'),
    ('crm.sync_completed', 'A CRM sync run finished (status success or partial), with what it synced, deleted and pushed.',
     '{"integration_id": "6f9c2a4e-1b3d-4c5e-8f7a-9b0c1d2e3f40", "crm_type": "hubspot", "sync_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "trigger": "schedule", "status": "success", "records_synced": 142, "records_failed": 0, "records_deleted": 3, "calls_pushed": 12, "calls_failed": 0, "started_at": "2026-11-29T10:15:00Z", "finished_at": "2026-11-29T10:15:04Z"}'),
    ('crm.sync_failed', 'A CRM sync run failed, or the CRM refused the integration''s tokens (status error until the user reconnects).',
     '{"integration_id": "6f9c2a4e-1b3d-4c5e-8f7a-9b0c1d2e3f40", "crm_type": "hubspot", "status": "failed", "error": "the CRM refused to refresh the access token: missing or unknown refresh token (HTTP 400); reconnect the CRM"}')
ON CONFLICT (event_type) DO UPDATE SET description = EXCLUDED.description, example = EXCLUDED.example;

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('crm_webhook_events',
     $q$WITH gone AS (DELETE FROM wib.crm_webhook_events
                       WHERE received_at < now() - current_setting('wib.crm_webhook_retention')::interval
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Ids of applied CRM webhook events older than wib.crm_webhook_retention (kept to apply a redelivered event once).'),
    ('crm_oauth_states',
     $q$WITH gone AS (DELETE FROM wib.crm_oauth_states
                       WHERE expires_at < now() - interval '1 day' AND code IS NULL
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'OAuth states of wib.crm_connect a day after they expired.'),
    ('crm_sync_log',
     $q$WITH gone AS (DELETE FROM wib.crm_sync_log
                       WHERE started_at < now() - interval '90 days' AND status <> 'running'
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'CRM sync runs older than 90 days.'),
    ('crm_call_pushes',
     $q$WITH gone AS (DELETE FROM wib.crm_call_pushes
                       WHERE created_at < now() - interval '90 days' AND status IN ('pushed', 'failed')
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Finished CRM call pushes older than 90 days.')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;

INSERT INTO wib.vault_columns (context, table_name, column_name, organization_column, row_id_column, description) VALUES
    ('crm_tokens.access_token', 'crm_tokens', 'access_token', 'organization_id', 'id',
     'CRM OAuth access tokens of each integration.'),
    ('crm_tokens.refresh_token', 'crm_tokens', 'refresh_token', 'organization_id', 'id',
     'CRM OAuth refresh tokens of each integration (and of disconnected ones until revoked).'),
    ('crm_oauth_states.code', 'crm_oauth_states', 'code', 'organization_id', 'id',
     'OAuth authorization codes waiting for the CRM worker to exchange them.'),
    ('crm_providers.client_secret', 'crm_providers', 'client_secret', NULL, 'crm_type',
     'The client secret of each CRM''s OAuth app (a platform secret).'),
    ('crm_oauth_states.code_verifier', 'crm_oauth_states', 'code_verifier', 'organization_id', 'id',
     'PKCE code verifiers of OAuth states (Salesforce), until the code is exchanged.'),
    ('crm_webhook_secrets.secret', 'crm_webhook_secrets', 'secret', 'organization_id', 'id',
     'Secrets in the URL path of CRM webhooks that are not signed (Salesforce outbound messages).')
ON CONFLICT (context) DO UPDATE SET table_name = EXCLUDED.table_name, column_name = EXCLUDED.column_name,
    organization_column = EXCLUDED.organization_column, row_id_column = EXCLUDED.row_id_column,
    description = EXCLUDED.description;
