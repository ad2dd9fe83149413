-- Privileges of webhooks.  Applications write subscriptions only through the
-- API (definer-rights functions that check every rule), never the tables.

GRANT EXECUTE ON FUNCTION
    wib.sign_webhook(text, text, bigint, text),
    wib.verify_webhook(text, text, bigint, text, text, integer),
    wib.webhook_subscribe(text, text, text[], text, integer),
    wib.webhook_update(uuid, jsonb),
    wib.webhook_unsubscribe(uuid),
    wib.webhook_rotate_secret(uuid),
    wib.webhook_test(uuid)
TO wib_app;
-- Operators may drive passes themselves (wib.deliver_due, e.g. from pg_cron);
-- it runs with the extension owner's rights because a pass spans every
-- organization, and the claim it makes (with the signing secrets) stays inside.
GRANT EXECUTE ON FUNCTION wib.deliver_due(integer) TO wib_admin;

GRANT SELECT (organization_id, id, name, target_url, events, is_active, retry_policy, max_retries,
              consecutive_failures, disabled_at, disabled_reason, previous_secret_expires_at,
              created_by, created_at, updated_at)
    ON wib.webhook_subscriptions TO wib_app;
GRANT SELECT ON wib.webhook_deliveries TO wib_app;
