-- Privileges of the core.  Applications read their tenant's rows (row-level
-- security narrows every table) and write the platform's own records (users,
-- calls and what hangs off a call); everything wib keeps for them is written
-- through the API.  Operators also manage organizations, plans, workers and jobs.

GRANT USAGE ON SCHEMA wib TO wib_app, wib_admin;
GRANT wib_app TO wib_admin;

-- Tenant context, plans, guards, validation (called inside the API as the caller).
GRANT EXECUTE ON FUNCTION
    wib.current_org_id(), wib.require_org(), wib.current_user_id(),
    wib.set_context(uuid, text, boolean), wib.clear_context(),
    wib.plan_rank(text), wib.current_plan(), wib.has_feature(text), wib.require_feature(text),
    wib.org_has_feature(uuid, text),
    wib.plan_limit(text), wib.require_limit(text, bigint, bigint),
    wib.rate_limit(text, integer, interval), wib.rate_limit_check(text, integer, interval),
    wib.idempotency_begin(text, jsonb), wib.idempotency_finish(text, jsonb),
    wib.invalid_field(text, text), wib.check_fields(jsonb, text[], text),
    wib.field_text(jsonb, text, integer), wib.require_text(text, text, integer),
    wib.field_int(jsonb, text, integer, integer, integer), wib.field_enum(jsonb, text, text[], text),
    wib.field_bool(jsonb, text, boolean), wib.field_time(jsonb, text), wib.field_url(jsonb, text, integer),
    wib.field_e164(jsonb, text), wib.is_e164(text), wib.user_roles(), wib.call_statuses(), wib.url_check(text),
    wib.audit(text, text, text, jsonb, jsonb), wib.redact(jsonb),
    wib.user_create(text, text, text, text), wib.user_update(text, jsonb), wib.user_delete(text),
    wib.emit_event(text, jsonb),
    wib.phone_e164(text, text), wib.org_default_country(uuid), wib.call_counterparty(uuid, text, text, text)
TO wib_app;

GRANT SELECT ON wib.organizations, wib.feature_plans, wib.plan_limits, wib.audit_log, wib.event_types TO wib_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    wib.users, wib.calls, wib.recordings, wib.ai_summaries, wib.call_outcomes, wib.scorecards
TO wib_app;
GRANT SELECT ON wib.idempotency_keys TO wib_app;

-- Operators: organizations, plans, workers and jobs.
GRANT EXECUTE ON FUNCTION
    wib.organization_create(text, text), wib.organization_update(uuid, jsonb),
    wib.worker_status_rows(), wib.wake(text),
    wib.cron_schedule(), wib.cron_unschedule(), wib.purge_expired(),
    wib.job_next_run(interval, time, timestamptz), wib.job_cron_expr(interval, time)
TO wib_admin;
GRANT SELECT ON wib.worker_status TO wib_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON wib.feature_plans, wib.plan_limits TO wib_admin;
-- Operators change when jobs run, never what they run or as whom.
GRANT SELECT, UPDATE (enabled, run_every, run_at, next_run_at) ON wib.scheduled_jobs TO wib_admin;
GRANT SELECT ON wib.retention_policies TO wib_admin;
-- Operators rotate the vault's key (the values are re-sealed, never shown).
GRANT EXECUTE ON FUNCTION wib.vault_rotate() TO wib_admin;
GRANT SELECT ON wib.vault_columns TO wib_admin;
