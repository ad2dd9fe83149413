-- Privileges of webhooks.

GRANT EXECUTE ON FUNCTION
    wib.sign_webhook(text, text, bigint, text),
    wib.verify_webhook(text, text, bigint, text, text, integer),
    wib.url_check(text),
    wib.emit_event(text, jsonb),
    wib.webhook_subscribe(text, text, text[], text, integer),
    wib.webhook_update(uuid, jsonb),
    wib.webhook_unsubscribe(uuid),
    wib.webhook_rotate_secret(uuid),
    wib.webhook_test(uuid),
    wib.webhook_get(uuid),
    wib.webhook_check_events(text[]),
    wib.webhook_check_url(text),
    wib.webhook_check_retry(text, integer),
    wib.webhook_public(wib.webhook_subscriptions),
    wib.webhook_drop_pending(uuid, text),
    wib.webhook_new_secret(),
    wib.webhook_subscriptions_check()
TO wib_app;
-- Operators drive passes themselves (wib.deliver_due, e.g. from pg_cron); the helpers it calls
-- are SECURITY DEFINER because a pass spans every organization.
GRANT EXECUTE ON FUNCTION
    wib.deliver_due(integer), wib.webhook_retry_delay(text, integer),
    wib.webhook_claim(integer, interval),
    wib.webhook_record(uuid[], uuid[], integer[], integer[], text[], integer[], text[], integer[]),
    wib.webhook_release_leases()
TO wib_admin;

GRANT SELECT ON wib.webhook_event_types TO wib_app;
GRANT SELECT (organization_id, id, name, target_url, events, is_active, retry_policy, max_retries,
              consecutive_failures, disabled_at, disabled_reason, previous_secret_expires_at,
              created_by, created_at, updated_at)
    ON wib.webhook_subscriptions TO wib_app;
GRANT INSERT (organization_id, name, target_url, secret, events, retry_policy, max_retries, created_by),
      UPDATE (name, target_url, events, is_active, retry_policy, max_retries, consecutive_failures,
              disabled_at, disabled_reason, updated_at),
      DELETE
    ON wib.webhook_subscriptions TO wib_app;
GRANT SELECT ON wib.webhook_deliveries TO wib_app;
