-- The platform's core tables: organizations, users, calls and what hangs off a call, plans,
-- the audit log, idempotency keys, periodic jobs and retention.  Every tenant table keys on
-- (organization_id, id) so it can be distributed by tenant, and references other tenant rows
-- by (organization_id, id), which also makes a reference to another tenant's row impossible.

CREATE TABLE wib.organizations (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    plan        text        NOT NULL DEFAULT 'free',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    default_country text    NOT NULL DEFAULT 'US',
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT organizations_plan_check CHECK (plan IN ('free', 'starter', 'pro', 'business', 'enterprise')),
    CONSTRAINT organizations_default_country_check CHECK (default_country ~ '^[A-Z]{2}$')
);
COMMENT ON TABLE wib.organizations IS 'Tenants of the platform, with the plan that gates their features.';
COMMENT ON COLUMN wib.organizations.default_country IS
    'ISO 3166 alpha-2 country in which the organization''s phone numbers written without a calling code are read (CRM caller lookup); changed with wib.organization_update.';
ALTER TABLE wib.organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE wib.organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_select ON wib.organizations FOR SELECT USING (id = wib.current_org_id());
SELECT pg_catalog.pg_extension_config_dump('wib.organizations', '');

CREATE TABLE wib.users (
    organization_id uuid        NOT NULL,
    id              text        NOT NULL,
    name            text,
    email           text,
    role            text        NOT NULL DEFAULT 'agent',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT users_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT users_id_check CHECK (length(id) BETWEEN 1 AND 255),
    CONSTRAINT users_email_check CHECK (email IS NULL OR email ~ '^[^@\s]+@[^@\s]+$'),
    CONSTRAINT users_role_check CHECK (role IN ('owner', 'admin', 'manager', 'agent', 'viewer'))
);
COMMENT ON TABLE wib.users IS 'Platform users (agents, managers, admins) of an organization.';
SELECT wib.make_tenant_table('wib.users');

CREATE TABLE wib.calls (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    agent_id         text,
    campaign_id      uuid,
    direction        text        NOT NULL DEFAULT 'outbound',
    from_number      text,
    to_number        text,
    status           text        NOT NULL DEFAULT 'queued',
    disposition      text,
    telnyx_call_id   text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    duration_seconds integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    counterparty_e164 text,
    CONSTRAINT calls_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT calls_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT calls_agent_fkey FOREIGN KEY (organization_id, agent_id)
        REFERENCES wib.users (organization_id, id),
    CONSTRAINT calls_direction_check CHECK (direction IN ('inbound', 'outbound')),
    CONSTRAINT calls_status_check CHECK (status IN ('queued', 'ringing', 'in_progress', 'completed',
                                                     'failed', 'busy', 'no_answer', 'canceled')),
    CONSTRAINT calls_duration_check CHECK (duration_seconds IS NULL OR duration_seconds >= 0),
    CONSTRAINT calls_ended_check CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX calls_org_started_idx ON wib.calls (organization_id, started_at);
CREATE INDEX calls_org_agent_idx ON wib.calls (organization_id, agent_id, started_at);
CREATE INDEX calls_org_counterparty_idx ON wib.calls (organization_id, counterparty_e164, started_at)
    WHERE counterparty_e164 IS NOT NULL;
COMMENT ON TABLE wib.calls IS 'Calls placed or received through the platform.';
COMMENT ON COLUMN wib.calls.counterparty_e164 IS
    'The other party''s number (to_number of an outbound call, from_number of an inbound one) in E.164, read in the organization''s default country; NULL when it cannot be read. Kept by the trigger calls_counterparty: whatever is written here is replaced.';
SELECT wib.make_tenant_table('wib.calls');

CREATE TABLE wib.recordings (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    call_id          uuid        NOT NULL,
    recording_url    text,
    duration_seconds integer,
    status           text        NOT NULL DEFAULT 'processing',
    transcript       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT recordings_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT recordings_call_fkey FOREIGN KEY (organization_id, call_id)
        REFERENCES wib.calls (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT recordings_status_check CHECK (status IN ('processing', 'ready', 'failed')),
    CONSTRAINT recordings_duration_check CHECK (duration_seconds IS NULL OR duration_seconds >= 0)
);
CREATE INDEX recordings_call_idx ON wib.recordings (organization_id, call_id);
COMMENT ON TABLE wib.recordings IS 'Call recordings and their transcripts.';
SELECT wib.make_tenant_table('wib.recordings');

CREATE TABLE wib.ai_summaries (
    organization_id   uuid         NOT NULL,
    id                uuid         NOT NULL DEFAULT gen_random_uuid(),
    call_id           uuid         NOT NULL,
    summary           text,
    overall_sentiment text,
    sentiment_score   numeric(4,3),
    positive_pct      numeric(5,2),
    negative_pct      numeric(5,2),
    neutral_pct       numeric(5,2),
    key_phrases       text[]       NOT NULL DEFAULT '{}',
    model             text,
    created_at        timestamptz  NOT NULL DEFAULT now(),
    updated_at        timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT ai_summaries_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT ai_summaries_call_key UNIQUE (organization_id, call_id),
    CONSTRAINT ai_summaries_call_fkey FOREIGN KEY (organization_id, call_id)
        REFERENCES wib.calls (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT ai_summaries_sentiment_check
        CHECK (overall_sentiment IS NULL OR overall_sentiment IN ('positive', 'negative', 'neutral', 'mixed')),
    CONSTRAINT ai_summaries_score_check CHECK (sentiment_score BETWEEN -1 AND 1),
    CONSTRAINT ai_summaries_pct_check CHECK (positive_pct BETWEEN 0 AND 100
                                             AND negative_pct BETWEEN 0 AND 100
                                             AND neutral_pct BETWEEN 0 AND 100)
);
COMMENT ON TABLE wib.ai_summaries IS 'AI summary and sentiment of a call (one per call).';
SELECT wib.make_tenant_table('wib.ai_summaries');

CREATE TABLE wib.call_outcomes (
    organization_id uuid          NOT NULL,
    id              uuid          NOT NULL DEFAULT gen_random_uuid(),
    call_id         uuid          NOT NULL,
    outcome         text          NOT NULL,
    is_success      boolean       NOT NULL GENERATED ALWAYS AS (outcome IN ('sale', 'appointment_set')) STORED,
    value_amount    numeric(12,2),
    notes           text,
    recorded_by     text,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT call_outcomes_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT call_outcomes_call_fkey FOREIGN KEY (organization_id, call_id)
        REFERENCES wib.calls (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT call_outcomes_outcome_check CHECK (outcome IN ('sale', 'appointment_set', 'callback', 'interested',
                                                              'not_interested', 'no_answer', 'voicemail',
                                                              'wrong_number', 'do_not_call', 'other'))
);
CREATE INDEX call_outcomes_call_idx ON wib.call_outcomes (organization_id, call_id);
COMMENT ON TABLE wib.call_outcomes IS 'What a call achieved; sale and appointment_set count as success.';
SELECT wib.make_tenant_table('wib.call_outcomes');

CREATE TABLE wib.scorecards (
    organization_id uuid         NOT NULL,
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    call_id         uuid         NOT NULL,
    agent_id        text,
    reviewer_id     text,
    total_score     numeric(5,2) NOT NULL,
    criteria        jsonb        NOT NULL DEFAULT '{}',
    notes           text,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT scorecards_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT scorecards_call_fkey FOREIGN KEY (organization_id, call_id)
        REFERENCES wib.calls (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT scorecards_agent_fkey FOREIGN KEY (organization_id, agent_id)
        REFERENCES wib.users (organization_id, id),
    CONSTRAINT scorecards_score_check CHECK (total_score BETWEEN 0 AND 100),
    CONSTRAINT scorecards_criteria_check CHECK (jsonb_typeof(criteria) = 'object')
);
CREATE INDEX scorecards_call_idx ON wib.scorecards (organization_id, call_id);
COMMENT ON TABLE wib.scorecards IS 'Quality-assurance scores of a call.';
SELECT wib.make_tenant_table('wib.scorecards');

CREATE TRIGGER organizations_touch BEFORE UPDATE ON wib.organizations FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE TRIGGER users_touch BEFORE UPDATE ON wib.users FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE TRIGGER calls_touch BEFORE UPDATE ON wib.calls FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE TRIGGER recordings_touch BEFORE UPDATE ON wib.recordings FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE TRIGGER ai_summaries_touch BEFORE UPDATE ON wib.ai_summaries FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.feature_plans (
    feature     text NOT NULL,
    min_plan    text NOT NULL,
    description text NOT NULL,
    CONSTRAINT feature_plans_pkey PRIMARY KEY (feature),
    CONSTRAINT feature_plans_plan_check CHECK (wib.plan_rank(min_plan) IS NOT NULL)
);
COMMENT ON TABLE wib.feature_plans IS 'The lowest plan that includes each feature.';

CREATE TABLE wib.plan_limits (
    plan       text   NOT NULL,
    limit_name text   NOT NULL,
    value      bigint,
    CONSTRAINT plan_limits_pkey PRIMARY KEY (plan, limit_name),
    CONSTRAINT plan_limits_plan_check CHECK (wib.plan_rank(plan) IS NOT NULL),
    CONSTRAINT plan_limits_value_check CHECK (value IS NULL OR value >= 0)
);
COMMENT ON TABLE wib.plan_limits IS 'Per-plan quotas; a NULL value means unlimited, a missing row means 0.';

CREATE TABLE wib.audit_log (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         text,
    resource_type   text        NOT NULL,
    resource_id     text,
    action          text        NOT NULL,
    old_value       jsonb,
    new_value       jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_log_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT audit_log_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT audit_log_action_check CHECK (action ~ '^[a-z_]+:[a-z_]+$')
);
CREATE INDEX audit_log_org_created_idx ON wib.audit_log (organization_id, created_at);
CREATE INDEX audit_log_resource_idx ON wib.audit_log (organization_id, resource_type, resource_id);
COMMENT ON TABLE wib.audit_log IS
    'Append-only record of every change made through the API (action names like webhook:created); secrets are redacted.';
SELECT wib.make_tenant_table('wib.audit_log');

CREATE TABLE wib.idempotency_keys (
    organization_id uuid        NOT NULL,
    key             text        NOT NULL,
    request_hash    bytea       NOT NULL,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (organization_id, key),
    CONSTRAINT idempotency_keys_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 255)
);
COMMENT ON TABLE wib.idempotency_keys IS
    'First answer to each idempotent request, replayed for the same key and request (kept for wib.idempotency_ttl).';
SELECT wib.make_tenant_table('wib.idempotency_keys');

CREATE TABLE wib.scheduled_jobs (
    name             text        NOT NULL,
    command          text        NOT NULL,
    run_every        interval    NOT NULL,
    run_at           time,
    description      text        NOT NULL,
    enabled          boolean     NOT NULL DEFAULT true,
    next_run_at      timestamptz NOT NULL DEFAULT now(),
    last_started_at  timestamptz,
    last_finished_at timestamptz,
    last_status      text,
    last_error       text,
    run_count        bigint      NOT NULL DEFAULT 0,
    error_count      bigint      NOT NULL DEFAULT 0,
    run_as           text        NOT NULL DEFAULT current_user,
    CONSTRAINT scheduled_jobs_pkey PRIMARY KEY (name),
    CONSTRAINT scheduled_jobs_name_check CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT scheduled_jobs_every_check CHECK (run_every > interval '0'),
    CONSTRAINT scheduled_jobs_at_check CHECK (run_at IS NULL OR run_every = interval '1 day'),
    CONSTRAINT scheduled_jobs_status_check CHECK (last_status IN ('succeeded', 'failed'))
);
COMMENT ON TABLE wib.scheduled_jobs IS
    'Periodic jobs: a SQL command run every run_every (or daily at run_at, UTC) by the scheduler worker, or by pg_cron after wib.cron_schedule().';
COMMENT ON COLUMN wib.scheduled_jobs.run_as IS
    'The role whose rights the command runs with (the role that scheduled it); operators may change a job''s timing, never its command or role.';

-- Retention: each policy is a statement returning the number of rows it removed.
CREATE TABLE wib.retention_policies (
    name        text NOT NULL,
    command     text NOT NULL,
    description text NOT NULL,
    CONSTRAINT retention_policies_pkey PRIMARY KEY (name)
);
COMMENT ON TABLE wib.retention_policies IS
    'What wib.purge_expired() removes: one SQL statement per policy, returning the count of rows removed.';
