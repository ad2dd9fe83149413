-- The platform's core tables: organizations, users, calls and what hangs off a call.
-- Every tenant table keys on (organization_id, id) so it can be distributed by tenant,
-- and references other tenant rows by (organization_id, id), which also makes a
-- reference to another tenant's row impossible.

CREATE TABLE wib.organizations (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    plan        text        NOT NULL DEFAULT 'free',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT organizations_plan_check CHECK (plan IN ('free', 'starter', 'pro', 'business', 'enterprise'))
);
COMMENT ON TABLE wib.organizations IS 'Tenants of the platform, with the plan that gates their features.';
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
    CONSTRAINT calls_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT calls_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT calls_agent_fkey FOREIGN KEY (organization_id, agent_id)
        REFERENCES wib.users (organization_id, id) ON DELETE SET NULL (agent_id),
    CONSTRAINT calls_direction_check CHECK (direction IN ('inbound', 'outbound')),
    CONSTRAINT calls_status_check CHECK (status IN ('queued', 'ringing', 'in_progress', 'completed',
                                                     'failed', 'busy', 'no_answer', 'canceled')),
    CONSTRAINT calls_duration_check CHECK (duration_seconds IS NULL OR duration_seconds >= 0),
    CONSTRAINT calls_ended_check CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX calls_org_started_idx ON wib.calls (organization_id, started_at);
CREATE INDEX calls_org_agent_idx ON wib.calls (organization_id, agent_id, started_at);
COMMENT ON TABLE wib.calls IS 'Calls placed or received through the platform.';
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
        REFERENCES wib.users (organization_id, id) ON DELETE SET NULL (agent_id),
    CONSTRAINT scorecards_score_check CHECK (total_score BETWEEN 0 AND 100),
    CONSTRAINT scorecards_criteria_check CHECK (jsonb_typeof(criteria) = 'object')
);
CREATE INDEX scorecards_call_idx ON wib.scorecards (organization_id, call_id);
COMMENT ON TABLE wib.scorecards IS 'Quality-assurance scores of a call.';
SELECT wib.make_tenant_table('wib.scorecards');

-- Keeps updated_at true on every table that has one.
CREATE FUNCTION wib.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION wib.touch_updated_at() IS 'Trigger: sets updated_at on every update.';

CREATE TRIGGER organizations_touch BEFORE UPDATE ON wib.organizations FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE TRIGGER users_touch BEFORE UPDATE ON wib.users FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE TRIGGER calls_touch BEFORE UPDATE ON wib.calls FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE TRIGGER recordings_touch BEFORE UPDATE ON wib.recordings FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE TRIGGER ai_summaries_touch BEFORE UPDATE ON wib.ai_summaries FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
