-- The events of webhooks themselves: what each means and an example payload.

INSERT INTO wib.event_types (event_type, description, example) VALUES
    ('webhook.test', 'Sent by wib.webhook_test to check an endpoint.',
     '{"subscription_id": "2c9d8e7f-6a5b-4c3d-9e1f-0a1b2c3d4e5f", "message": "This is a test event from wib."}'),
    ('webhook.disabled', 'A subscription was deactivated after a run of failed deliveries (sent to the organization''s other subscriptions).',
     '{"subscription_id": "2c9d8e7f-6a5b-4c3d-9e1f-0a1b2c3d4e5f", "name": "crm", "consecutive_failures": 20}')
ON CONFLICT (event_type) DO UPDATE SET description = EXCLUDED.description, example = EXCLUDED.example;

-- The signing secrets are sealed by the vault; wib.vault_rotate re-seals them.
INSERT INTO wib.vault_columns (context, table_name, column_name, organization_column, row_id_column, description) VALUES
    ('webhook_subscriptions.secret', 'webhook_subscriptions', 'secret', 'organization_id', 'id',
     'The signing secret of a webhook subscription.'),
    ('webhook_subscriptions.previous_secret', 'webhook_subscriptions', 'previous_secret', 'organization_id', 'id',
     'The signing secret a rotation replaced, still signing for 24 hours.')
ON CONFLICT (context) DO UPDATE SET table_name = EXCLUDED.table_name, column_name = EXCLUDED.column_name,
    organization_column = EXCLUDED.organization_column, row_id_column = EXCLUDED.row_id_column,
    description = EXCLUDED.description;
