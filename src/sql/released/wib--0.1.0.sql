-- wib 0.1.0 as released: frozen.  Later versions change it only through
-- src/sql/updates/wib--0.1.0--<next>.sql, never by editing this file.
\echo Use "CREATE EXTENSION wib" to load this file. \quit

-- ==== src/sql/00_tenancy.sql
-- Tenancy: roles, the tenant context, and the helper that makes a table a tenant table.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'wib_app') THEN
        CREATE ROLE wib_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'wib_admin') THEN
        CREATE ROLE wib_admin NOLOGIN;
    END IF;
END
$roles$;

COMMENT ON SCHEMA wib IS 'Word Is Bond integration engine: webhooks, exports, CRM sync, inbound IVR, analytics, mobile push.';

CREATE OR REPLACE FUNCTION wib.current_org_id() RETURNS uuid
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_current_org_id';
COMMENT ON FUNCTION wib.current_org_id() IS
    'The organization in context (setting wib.org_id), or NULL. Every row-level security policy compares organization_id with it.';

CREATE OR REPLACE FUNCTION wib.require_org() RETURNS uuid
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_require_org';
COMMENT ON FUNCTION wib.require_org() IS
    'The organization in context; raises WB005 when none is set.';

CREATE OR REPLACE FUNCTION wib.current_user_id() RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_current_user_id';
COMMENT ON FUNCTION wib.current_user_id() IS
    'The platform user in context (setting wib.user_id), or NULL.';

-- Makes tbl a tenant table: row-level security on organization_id, enforced
-- for the owner too, one policy per command, and its rows kept by pg_dump.
CREATE OR REPLACE FUNCTION wib.make_tenant_table(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY tenant_select ON %s FOR SELECT USING (organization_id = wib.current_org_id())', tbl);
    EXECUTE format('CREATE POLICY tenant_insert ON %s FOR INSERT WITH CHECK (organization_id = wib.current_org_id())', tbl);
    EXECUTE format('CREATE POLICY tenant_update ON %s FOR UPDATE USING (organization_id = wib.current_org_id()) WITH CHECK (organization_id = wib.current_org_id())', tbl);
    EXECUTE format('CREATE POLICY tenant_delete ON %s FOR DELETE USING (organization_id = wib.current_org_id())', tbl);
    PERFORM pg_catalog.pg_extension_config_dump(tbl, '');
END
$$;
COMMENT ON FUNCTION wib.make_tenant_table(regclass) IS
    'Internal: enables and forces row-level security on organization_id for a table of the extension.';

-- ==== src/sql/01_platform.sql
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
CREATE OR REPLACE FUNCTION wib.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION wib.touch_updated_at() IS 'Trigger: sets updated_at on every update.';

CREATE OR REPLACE TRIGGER organizations_touch BEFORE UPDATE ON wib.organizations FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE OR REPLACE TRIGGER users_touch BEFORE UPDATE ON wib.users FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE OR REPLACE TRIGGER calls_touch BEFORE UPDATE ON wib.calls FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE OR REPLACE TRIGGER recordings_touch BEFORE UPDATE ON wib.recordings FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();
CREATE OR REPLACE TRIGGER ai_summaries_touch BEFORE UPDATE ON wib.ai_summaries FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- ==== src/sql/02_validation.sql
-- Input validation helpers: every API function reports a bad field the same way,
-- SQLSTATE 22023 with the field named in the message and what was expected in the detail.

CREATE OR REPLACE FUNCTION wib.invalid_field(field text, expected text) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('invalid %s', field),
        DETAIL = expected;
END
$$;
COMMENT ON FUNCTION wib.invalid_field(text, text) IS
    'Internal: raises 22023 naming the field, with what was expected as the detail.';

-- Refuses anything but a JSON object whose keys are all in allowed.
CREATE OR REPLACE FUNCTION wib.check_fields(doc jsonb, allowed text[], what text) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    unknown text;
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        PERFORM wib.invalid_field(what, format('%s must be a JSON object.', what));
    END IF;
    SELECT k INTO unknown FROM jsonb_object_keys(doc) AS k WHERE k <> ALL (allowed) ORDER BY k LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('unknown field "%s" in %s', unknown, what),
            DETAIL = format('Allowed fields: %s.', array_to_string(allowed, ', '));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.check_fields(jsonb, text[], text) IS
    'Internal: raises 22023 unless doc is a JSON object with only the allowed keys.';

-- The text value of doc->key, checked to be a string of at most max_len characters (NULL when absent).
CREATE OR REPLACE FUNCTION wib.field_text(doc jsonb, key text, max_len integer DEFAULT 1000) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v jsonb := doc -> key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM wib.invalid_field(key, format('%s must be a string, not %s.', key, jsonb_typeof(v)));
    END IF;
    IF length(v #>> '{}') > max_len THEN
        PERFORM wib.invalid_field(key, format('%s must be at most %s characters.', key, max_len));
    END IF;
    RETURN v #>> '{}';
END
$$;
COMMENT ON FUNCTION wib.field_text(jsonb, text, integer) IS
    'Internal: doc->>key after checking it is a string of bounded length; NULL when absent.';

-- Refuses a NULL or blank required text argument.
CREATE OR REPLACE FUNCTION wib.require_text(value text, field text, max_len integer DEFAULT 1000) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF value IS NULL OR btrim(value) = '' THEN
        PERFORM wib.invalid_field(field, format('%s must be a non-empty string.', field));
    END IF;
    IF length(value) > max_len THEN
        PERFORM wib.invalid_field(field, format('%s must be at most %s characters.', field, max_len));
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION wib.require_text(text, text, integer) IS
    'Internal: returns value, or raises 22023 naming the field when it is NULL, blank or too long.';

-- ==== src/sql/03_plans.sql
-- Plan gating as data: which plan a feature needs, and the limits of each plan.

CREATE OR REPLACE FUNCTION wib.plan_rank(plan text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_position(ARRAY['free', 'starter', 'pro', 'business', 'enterprise'], plan);
COMMENT ON FUNCTION wib.plan_rank(text) IS 'Order of the plans, free = 1 to enterprise = 5; NULL for an unknown plan.';

CREATE TABLE wib.feature_plans (
    feature     text NOT NULL,
    min_plan    text NOT NULL,
    description text NOT NULL,
    CONSTRAINT feature_plans_pkey PRIMARY KEY (feature),
    CONSTRAINT feature_plans_plan_check CHECK (wib.plan_rank(min_plan) IS NOT NULL)
);
COMMENT ON TABLE wib.feature_plans IS 'The lowest plan that includes each feature.';

INSERT INTO wib.feature_plans (feature, min_plan, description) VALUES
    ('crm_hubspot',        'pro',        'HubSpot CRM sync'),
    ('crm_salesforce',     'business',   'Salesforce CRM sync'),
    ('crm_custom',         'enterprise', 'Custom CRM integration'),
    ('mobile_pwa',         'starter',    'Installable web app'),
    ('mobile_push',        'pro',        'Web Push notifications'),
    ('mobile_native',      'business',   'Native mobile apps'),
    ('inbound_ivr',        'business',   'Inbound numbers and IVR menus'),
    ('toll_free_numbers',  'business',   'Toll-free inbound numbers'),
    ('advanced_analytics', 'business',   'Sentiment trends, leaderboards, anomalies'),
    ('ml_predictions',     'enterprise', 'Statistical predictions'),
    ('analytics_export',   'pro',        'Export of analytics data'),
    ('webhooks',           'pro',        'Outbound webhooks'),
    ('zapier_integration', 'pro',        'Zapier integration'),
    ('csv_export',         'starter',    'CSV and JSON exports'),
    ('bulk_export',        'business',   'Exports above the starter row limit');

CREATE TABLE wib.plan_limits (
    plan       text   NOT NULL,
    limit_name text   NOT NULL,
    value      bigint,
    CONSTRAINT plan_limits_pkey PRIMARY KEY (plan, limit_name),
    CONSTRAINT plan_limits_plan_check CHECK (wib.plan_rank(plan) IS NOT NULL),
    CONSTRAINT plan_limits_value_check CHECK (value IS NULL OR value >= 0)
);
COMMENT ON TABLE wib.plan_limits IS 'Per-plan quotas; a NULL value means unlimited, a missing row means 0.';

INSERT INTO wib.plan_limits (plan, limit_name, value) VALUES
    ('free', 'webhooks', 0), ('starter', 'webhooks', 0), ('pro', 'webhooks', 5),
    ('business', 'webhooks', 25), ('enterprise', 'webhooks', NULL),
    ('free', 'export_rows', 0), ('starter', 'export_rows', 100000), ('pro', 'export_rows', 100000),
    ('business', 'export_rows', 500000), ('enterprise', 'export_rows', 1000000),
    ('free', 'inbound_numbers', 0), ('starter', 'inbound_numbers', 0), ('pro', 'inbound_numbers', 0),
    ('business', 'inbound_numbers', 5), ('enterprise', 'inbound_numbers', 25);

-- The plan of the organization in context (raises WB005 without one).
CREATE OR REPLACE FUNCTION wib.current_plan() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    RETURN (SELECT o.plan FROM wib.organizations o WHERE o.id = wib.require_org());
COMMENT ON FUNCTION wib.current_plan() IS 'The plan of the organization in context.';

CREATE OR REPLACE FUNCTION wib.has_feature(feature text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    needed   text;
    org_plan text := wib.current_plan();
BEGIN
    SELECT f.min_plan INTO needed FROM wib.feature_plans f WHERE f.feature = has_feature.feature;
    IF needed IS NULL THEN
        PERFORM wib.invalid_field('feature', format('Unknown feature "%s"; see wib.feature_plans.', feature));
    END IF;
    RETURN wib.plan_rank(org_plan) >= wib.plan_rank(needed);
END
$$;
COMMENT ON FUNCTION wib.has_feature(text) IS 'True when the plan of the organization in context includes the feature.';

CREATE OR REPLACE FUNCTION wib.require_feature(feature text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF NOT wib.has_feature(feature) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB001',
            MESSAGE = format('feature "%s" requires plan "%s" or higher; the organization is on plan "%s"',
                             feature,
                             (SELECT f.min_plan FROM wib.feature_plans f WHERE f.feature = require_feature.feature),
                             wib.current_plan()),
            HINT = 'Upgrade the organization''s plan to use this feature.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.require_feature(text) IS
    'Raises WB001, naming the feature, the plan needed and the current plan, unless the plan includes the feature.';

CREATE OR REPLACE FUNCTION wib.plan_limit(limit_name text) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org_plan text := wib.current_plan();
    result   bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM wib.plan_limits l WHERE l.limit_name = plan_limit.limit_name) THEN
        PERFORM wib.invalid_field('limit_name', format('Unknown limit "%s"; see wib.plan_limits.', limit_name));
    END IF;
    SELECT l.value INTO result FROM wib.plan_limits l
     WHERE l.plan = org_plan AND l.limit_name = plan_limit.limit_name;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION wib.plan_limit(text) IS
    'The quota of the organization in context for limit_name; NULL means unlimited.';

CREATE OR REPLACE FUNCTION wib.require_limit(limit_name text, used bigint, adding bigint DEFAULT 1) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    quota bigint := wib.plan_limit(limit_name);
BEGIN
    IF used IS NULL OR used < 0 THEN
        PERFORM wib.invalid_field('used', 'used must be a count of 0 or more.');
    END IF;
    IF adding IS NULL OR adding < 0 THEN
        PERFORM wib.invalid_field('adding', 'adding must be a count of 0 or more.');
    END IF;
    IF quota IS NOT NULL AND used + adding > quota THEN
        RAISE EXCEPTION USING ERRCODE = 'WB002',
            MESSAGE = format('plan limit "%s" reached: %s of %s used on plan "%s"',
                             limit_name, used, quota, wib.current_plan()),
            DETAIL = format('The request would add %s.', adding),
            HINT = 'Upgrade the organization''s plan or free some of the quota.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.require_limit(text, bigint, bigint) IS
    'Raises WB002 when adding to used would exceed the plan''s quota for limit_name.';

-- ==== src/sql/04_audit.sql
-- The audit log: every create, update and delete of the API, append-only, secrets redacted.

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

-- Only the table's owner may rewrite history (an organization's cascade delete runs as the owner).
CREATE OR REPLACE FUNCTION wib.audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = 'wib.audit_log is append-only',
            DETAIL = format('%s is not allowed.', TG_OP);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION wib.audit_log_append_only() IS 'Trigger: refuses UPDATE, DELETE and TRUNCATE of the audit log.';

CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON wib.audit_log
    FOR EACH ROW EXECUTE FUNCTION wib.audit_log_append_only();
CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON wib.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION wib.audit_log_append_only();

-- Replaces the value of every key that names a secret, at any depth.
CREATE OR REPLACE FUNCTION wib.redact(value jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'object' THEN (
            SELECT coalesce(jsonb_object_agg(k,
                       CASE WHEN k ~* '(secret|token|password|passwd|api_?key|private_?key|credential|authorization|nonce)'
                            THEN to_jsonb('[redacted]'::text)
                            ELSE wib.redact(v) END), '{}'::jsonb)
              FROM jsonb_each(value) AS e(k, v))
        WHEN 'array' THEN (
            SELECT coalesce(jsonb_agg(wib.redact(v) ORDER BY n), '[]'::jsonb)
              FROM jsonb_array_elements(value) WITH ORDINALITY AS a(v, n))
        ELSE value
    END
$$;
COMMENT ON FUNCTION wib.redact(jsonb) IS
    'Replaces values under keys naming secrets (secret, token, password, api_key, ...) with "[redacted]".';

-- Writes one audit row for the organization in context (or the one given, for operators).
CREATE OR REPLACE FUNCTION wib.audit(action text, resource_type text, resource_id text,
                          old_value jsonb DEFAULT NULL, new_value jsonb DEFAULT NULL,
                          organization_id uuid DEFAULT NULL) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
BEGIN ATOMIC
    INSERT INTO wib.audit_log (organization_id, user_id, resource_type, resource_id, action, old_value, new_value)
    VALUES (coalesce(audit.organization_id, wib.require_org()), wib.current_user_id(),
            audit.resource_type, audit.resource_id, audit.action,
            wib.redact(audit.old_value), wib.redact(audit.new_value));
END;
COMMENT ON FUNCTION wib.audit(text, text, text, jsonb, jsonb, uuid) IS
    'Internal: appends an audit row with secrets redacted; used by every API function that changes data.';

-- ==== src/sql/05_guards.sql
-- Guards the API uses: rate limits (shared memory, in C) and idempotency keys.

CREATE OR REPLACE FUNCTION wib.rate_limit(key text, max_hits integer, per interval) RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_rate_limit';
COMMENT ON FUNCTION wib.rate_limit(text, integer, interval) IS
    'Counts one hit for key and returns true while at most max_hits hits fall in the current window of length per (windows aligned to the epoch, shared by all sessions).';

CREATE OR REPLACE FUNCTION wib.rate_limit_check(key text, max_hits integer, per interval) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_rate_limit_check';
COMMENT ON FUNCTION wib.rate_limit_check(text, integer, interval) IS
    'Like wib.rate_limit, but raises WB003 (with the seconds to wait) instead of returning false.';

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

-- Starts an idempotent request.  NULL: first time, go ahead (then call
-- idempotency_finish in the same transaction).  Otherwise the first answer to
-- replay.  A concurrent request with the same key waits for the first to end.
CREATE OR REPLACE FUNCTION wib.idempotency_begin(key text, request jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org    uuid := wib.require_org();
    hash   bytea := sha256(convert_to(coalesce(request, 'null'::jsonb)::text, 'UTF8'));
    stored wib.idempotency_keys;
BEGIN
    PERFORM wib.require_text(key, 'idempotency_key', 255);
    INSERT INTO wib.idempotency_keys AS k (organization_id, key, request_hash)
    VALUES (org, idempotency_begin.key, hash)
    ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO stored FROM wib.idempotency_keys k
     WHERE k.organization_id = org AND k.key = idempotency_begin.key;
    IF stored.request_hash <> hash THEN
        RAISE EXCEPTION USING ERRCODE = 'WB004',
            MESSAGE = format('idempotency key "%s" was already used for a different request', key),
            HINT = 'Use a new idempotency key for a new request.';
    END IF;
    IF stored.response IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB004',
            MESSAGE = format('idempotency key "%s" is in use by a request that has not finished', key);
    END IF;
    RETURN stored.response;
END
$$;
COMMENT ON FUNCTION wib.idempotency_begin(text, jsonb) IS
    'Starts an idempotent request: NULL means proceed, otherwise the stored first answer; raises WB004 when the key was used for another request.';

CREATE OR REPLACE FUNCTION wib.idempotency_finish(key text, response jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    UPDATE wib.idempotency_keys k SET response = coalesce(idempotency_finish.response, 'null'::jsonb)
     WHERE k.organization_id = wib.require_org() AND k.key = idempotency_finish.key AND k.response IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = format('idempotency key "%s" was not started in this transaction', key),
            HINT = 'Call wib.idempotency_begin first.';
    END IF;
    RETURN response;
END
$$;
COMMENT ON FUNCTION wib.idempotency_finish(text, jsonb) IS
    'Stores the answer of an idempotent request started with wib.idempotency_begin, and returns it.';

-- ==== src/sql/06_workers.sql
-- Background workers: their status, the commit-time wake-up, periodic jobs
-- (run by the scheduler worker or by pg_cron) and retention.

CREATE OR REPLACE FUNCTION wib.worker_status_rows()
    RETURNS TABLE (name text, pid integer, state text, started_at timestamptz,
                   last_activity timestamptz, items_done bigint, errors bigint)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_worker_status';
COMMENT ON FUNCTION wib.worker_status_rows() IS 'Internal: the rows of the wib.worker_status view.';

CREATE OR REPLACE VIEW wib.worker_status AS SELECT * FROM wib.worker_status_rows();
COMMENT ON VIEW wib.worker_status IS
    'One row per background worker: pid (NULL when not running), state, start, last activity, items done and errors since start.';

CREATE OR REPLACE FUNCTION wib.wake(worker text) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_wake';
COMMENT ON FUNCTION wib.wake(text) IS 'Wakes the named worker when the current transaction commits.';

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
    CONSTRAINT scheduled_jobs_pkey PRIMARY KEY (name),
    CONSTRAINT scheduled_jobs_name_check CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT scheduled_jobs_every_check CHECK (run_every > interval '0'),
    CONSTRAINT scheduled_jobs_at_check CHECK (run_at IS NULL OR run_every = interval '1 day'),
    CONSTRAINT scheduled_jobs_status_check CHECK (last_status IN ('succeeded', 'failed'))
);
COMMENT ON TABLE wib.scheduled_jobs IS
    'Periodic jobs: a SQL command run every run_every (or daily at run_at, UTC) by the scheduler worker, or by pg_cron after wib.cron_schedule().';

-- When a job runs next: run_every after from, or the next run_at (UTC) after from.
CREATE OR REPLACE FUNCTION wib.job_next_run(run_every interval, run_at time, from_ts timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN run_at IS NULL THEN from_ts + run_every
        ELSE (SELECT CASE WHEN t > from_ts THEN t ELSE t + interval '1 day' END
                FROM (SELECT (date_trunc('day', from_ts AT TIME ZONE 'UTC') + run_at) AT TIME ZONE 'UTC' AS t) s)
    END;
COMMENT ON FUNCTION wib.job_next_run(interval, time, timestamptz) IS 'Internal: the next run of a job after from_ts.';

-- The same schedule in cron syntax, for pg_cron (minute granularity, UTC).
CREATE OR REPLACE FUNCTION wib.job_cron_expr(run_every interval, run_at time) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    seconds numeric := extract(epoch FROM run_every);
    minutes integer := (seconds / 60)::integer;
BEGIN
    IF run_at IS NOT NULL THEN
        RETURN format('%s %s * * *', extract(minute FROM run_at)::int, extract(hour FROM run_at)::int);
    ELSIF minutes = 1 THEN
        RETURN '* * * * *';
    ELSIF seconds % 60 <> 0 THEN
        NULL;
    ELSIF minutes < 60 AND 60 % minutes = 0 THEN
        RETURN format('*/%s * * * *', minutes);
    ELSIF minutes = 60 THEN
        RETURN '0 * * * *';
    ELSIF minutes = 1440 THEN
        RETURN '0 0 * * *';
    ELSIF minutes < 1440 AND minutes % 60 = 0 AND 24 % (minutes / 60) = 0 THEN
        RETURN format('0 */%s * * *', minutes / 60);
    END IF;
    PERFORM wib.invalid_field('run_every',
        format('pg_cron cannot run a job every %s; use whole minutes dividing an hour, hours dividing a day, or 1 day.', run_every));
END
$$;
COMMENT ON FUNCTION wib.job_cron_expr(interval, time) IS 'Internal: a job''s schedule in cron syntax.';

-- Installs every enabled job in pg_cron as "wib:<name>", in this database.
CREATE OR REPLACE FUNCTION wib.cron_schedule() RETURNS SETOF text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    j wib.scheduled_jobs;
BEGIN
    IF current_setting('wib.scheduler') <> 'pg_cron' THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'wib.scheduler must be ''pg_cron'' to schedule jobs with pg_cron',
            DETAIL = 'The internal scheduler and pg_cron must never both run the jobs.',
            HINT = 'ALTER SYSTEM SET wib.scheduler = ''pg_cron''; SELECT pg_reload_conf();';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'pg_cron is not installed in this database',
            HINT = 'CREATE EXTENSION pg_cron in the database named by cron.database_name.';
    END IF;
    FOR j IN SELECT * FROM wib.scheduled_jobs WHERE enabled ORDER BY name LOOP
        EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4)'
            USING 'wib:' || j.name, wib.job_cron_expr(j.run_every, j.run_at), j.command, current_database();
        RETURN NEXT 'wib:' || j.name;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.cron_schedule() IS
    'Installs wib''s periodic jobs in pg_cron (as wib:<name>); requires wib.scheduler = pg_cron. Returns the job names.';

CREATE OR REPLACE FUNCTION wib.cron_unschedule() RETURNS SETOF text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    job text;
BEGIN
    FOR job IN EXECUTE 'SELECT jobname FROM cron.job WHERE jobname LIKE ''wib:%'' ORDER BY jobname' LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING job;
        RETURN NEXT job;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.cron_unschedule() IS 'Removes wib''s jobs from pg_cron. Returns the job names removed.';

-- Retention: each policy is a statement returning the number of rows it removed.
CREATE TABLE wib.retention_policies (
    name        text NOT NULL,
    command     text NOT NULL,
    description text NOT NULL,
    CONSTRAINT retention_policies_pkey PRIMARY KEY (name)
);
COMMENT ON TABLE wib.retention_policies IS
    'What wib.purge_expired() removes: one SQL statement per policy, returning the count of rows removed.';

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('idempotency_keys',
     $q$WITH gone AS (DELETE FROM wib.idempotency_keys
                       WHERE created_at < now() - current_setting('wib.idempotency_ttl')::interval
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Idempotency keys older than wib.idempotency_ttl.');

CREATE OR REPLACE FUNCTION wib.purge_expired() RETURNS TABLE (policy text, removed bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    p wib.retention_policies;
BEGIN
    FOR p IN SELECT * FROM wib.retention_policies ORDER BY name LOOP
        policy := p.name;
        EXECUTE p.command INTO removed;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.purge_expired() IS
    'Applies every retention policy (old idempotency keys, delivery logs, expired exports, ...) and returns what each removed.';

INSERT INTO wib.scheduled_jobs (name, command, run_every, description) VALUES
    ('purge_expired', 'SELECT count(*) FROM wib.purge_expired()', interval '1 hour',
     'Applies the retention policies of wib.retention_policies.');

-- ==== src/sql/07_organizations.sql
-- Organizations (operators) and users (tenants): the core API that changes them, audited.

CREATE OR REPLACE FUNCTION wib.set_context(org_id uuid, user_id text, is_local boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF org_id IS NULL THEN
        PERFORM wib.invalid_field('org_id', 'org_id must be the UUID of an organization.');
    END IF;
    PERFORM pg_catalog.set_config('wib.org_id', org_id::text, coalesce(is_local, false));
    PERFORM pg_catalog.set_config('wib.user_id', coalesce(user_id, ''), coalesce(is_local, false));
    -- Checked after setting, so row-level security lets the caller see its own organization;
    -- an error rolls the settings back with the statement.
    IF NOT EXISTS (SELECT 1 FROM wib.organizations o WHERE o.id = org_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002',
            MESSAGE = format('organization %s does not exist', org_id);
    END IF;
END
$$;
COMMENT ON FUNCTION wib.set_context(uuid, text, boolean) IS
    'Sets the organization and user the session acts for (is_local: for the current transaction only, as pooled connections need).';

CREATE OR REPLACE FUNCTION wib.clear_context() RETURNS void
    LANGUAGE sql
BEGIN ATOMIC
    SELECT pg_catalog.set_config('wib.org_id', '', false), pg_catalog.set_config('wib.user_id', '', false);
END;
COMMENT ON FUNCTION wib.clear_context() IS 'Forgets the organization and user in context.';

CREATE OR REPLACE FUNCTION wib.organization_create(name text, plan text DEFAULT 'free') RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    new_org wib.organizations;
BEGIN
    PERFORM wib.require_text(name, 'name', 200);
    IF wib.plan_rank(plan) IS NULL THEN
        PERFORM wib.invalid_field('plan', 'plan must be one of free, starter, pro, business, enterprise.');
    END IF;
    INSERT INTO wib.organizations (name, plan) VALUES (btrim(name), plan) RETURNING * INTO new_org;
    PERFORM wib.audit('organization:created', 'organization', new_org.id::text,
                      NULL, to_jsonb(new_org), new_org.id);
    RETURN new_org.id;
END
$$;
COMMENT ON FUNCTION wib.organization_create(text, text) IS 'Operators: creates an organization on a plan; audited organization:created.';

CREATE OR REPLACE FUNCTION wib.organization_update(id uuid, changes jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.organizations;
    new_row wib.organizations;
BEGIN
    PERFORM wib.check_fields(changes, ARRAY['name', 'plan'], 'changes');
    IF changes ? 'plan' AND wib.plan_rank(wib.field_text(changes, 'plan')) IS NULL THEN
        PERFORM wib.invalid_field('plan', 'plan must be one of free, starter, pro, business, enterprise.');
    END IF;
    IF changes ? 'name' THEN
        PERFORM wib.require_text(wib.field_text(changes, 'name', 200), 'name', 200);
    END IF;
    SELECT * INTO old_row FROM wib.organizations o WHERE o.id = organization_update.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('organization %s does not exist', id);
    END IF;
    UPDATE wib.organizations o
       SET name = coalesce(btrim(wib.field_text(changes, 'name')), o.name),
           plan = coalesce(wib.field_text(changes, 'plan'), o.plan)
     WHERE o.id = organization_update.id
    RETURNING * INTO new_row;
    PERFORM wib.audit('organization:updated', 'organization', id::text,
                      to_jsonb(old_row), to_jsonb(new_row), id);
END
$$;
COMMENT ON FUNCTION wib.organization_update(uuid, jsonb) IS
    'Operators: changes an organization''s name or plan ({"name": ..., "plan": ...}); audited organization:updated.';

CREATE OR REPLACE FUNCTION wib.user_create(id text, name text, email text, role text DEFAULT 'agent') RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    new_user wib.users;
BEGIN
    PERFORM wib.require_text(id, 'id', 255);
    IF email IS NOT NULL AND email !~ '^[^@\s]+@[^@\s]+$' THEN
        PERFORM wib.invalid_field('email', 'email must look like name@example.com.');
    END IF;
    IF role IS NULL OR role NOT IN ('owner', 'admin', 'manager', 'agent', 'viewer') THEN
        PERFORM wib.invalid_field('role', 'role must be one of owner, admin, manager, agent, viewer.');
    END IF;
    INSERT INTO wib.users (organization_id, id, name, email, role)
    VALUES (wib.require_org(), user_create.id, name, email, role)
    RETURNING * INTO new_user;
    PERFORM wib.audit('user:created', 'user', new_user.id, NULL, to_jsonb(new_user));
    RETURN new_user.id;
END
$$;
COMMENT ON FUNCTION wib.user_create(text, text, text, text) IS 'Adds a user to the organization in context; audited user:created.';

CREATE OR REPLACE FUNCTION wib.user_update(id text, changes jsonb) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.users;
    new_row wib.users;
BEGIN
    PERFORM wib.check_fields(changes, ARRAY['name', 'email', 'role'], 'changes');
    IF changes ? 'role' AND coalesce(wib.field_text(changes, 'role'), '') NOT IN ('owner', 'admin', 'manager', 'agent', 'viewer') THEN
        PERFORM wib.invalid_field('role', 'role must be one of owner, admin, manager, agent, viewer.');
    END IF;
    IF wib.field_text(changes, 'email', 320) !~ '^[^@\s]+@[^@\s]+$' THEN
        PERFORM wib.invalid_field('email', 'email must look like name@example.com.');
    END IF;
    SELECT * INTO old_row FROM wib.users u
     WHERE u.organization_id = wib.require_org() AND u.id = user_update.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('user "%s" does not exist', id);
    END IF;
    UPDATE wib.users u
       SET name = CASE WHEN changes ? 'name' THEN wib.field_text(changes, 'name', 200) ELSE u.name END,
           email = CASE WHEN changes ? 'email' THEN wib.field_text(changes, 'email', 320) ELSE u.email END,
           role = coalesce(wib.field_text(changes, 'role'), u.role)
     WHERE u.organization_id = old_row.organization_id AND u.id = old_row.id
    RETURNING * INTO new_row;
    PERFORM wib.audit('user:updated', 'user', id, to_jsonb(old_row), to_jsonb(new_row));
END
$$;
COMMENT ON FUNCTION wib.user_update(text, jsonb) IS
    'Changes a user''s name, email or role ({"role": "manager"}); audited user:updated.';

CREATE OR REPLACE FUNCTION wib.user_delete(id text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.users;
BEGIN
    DELETE FROM wib.users u
     WHERE u.organization_id = wib.require_org() AND u.id = user_delete.id
    RETURNING * INTO old_row;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('user "%s" does not exist', id);
    END IF;
    PERFORM wib.audit('user:deleted', 'user', id, to_jsonb(old_row), NULL);
END
$$;
COMMENT ON FUNCTION wib.user_delete(text) IS 'Removes a user (their calls keep no agent); audited user:deleted.';

-- ==== src/sql/10_webhooks.sql
-- Webhooks: subscriptions, transactional event fanout, Standard Webhooks
-- signatures, the SSRF guard, and the tables the deliverer worker drains.
-- SQLSTATEs of this feature: WB101 (the subscription is inactive).  Invalid input
-- is 22023 naming the field, an unknown subscription P0002.  See docs/webhooks.md.

-- ---------------------------------------------------------------------------
-- Signatures and the SSRF guard (C)

CREATE OR REPLACE FUNCTION wib.sign_webhook(secret text, msg_id text, ts bigint, body text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_sign_webhook';
COMMENT ON FUNCTION wib.sign_webhook(text, text, bigint, text) IS
    'Standard Webhooks signature "v1,<base64 HMAC-SHA256>" of msg_id.ts.body under a whsec_ secret.';

CREATE OR REPLACE FUNCTION wib.verify_webhook(secret text, msg_id text, ts bigint, body text,
                                   signature_header text, tolerance_seconds integer DEFAULT 300) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_verify_webhook';
COMMENT ON FUNCTION wib.verify_webhook(text, text, bigint, text, text, integer) IS
    'True when ts is within tolerance_seconds of now and any "v1," entry of signature_header signs msg_id.ts.body under secret (constant-time compare).';

CREATE OR REPLACE FUNCTION wib.webhook_new_secret() RETURNS text
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_webhook_new_secret';
COMMENT ON FUNCTION wib.webhook_new_secret() IS
    'Internal: a new signing secret, "whsec_" + base64 of 32 random bytes.';

CREATE OR REPLACE FUNCTION wib.url_check(url text) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_url_check';
COMMENT ON FUNCTION wib.url_check(text) IS
    'SSRF guard: NULL when tenants may use the URL (https, no credentials, no private, loopback or reserved address however spelt), else the reason.';

-- ---------------------------------------------------------------------------
-- The event catalogue

CREATE TABLE wib.webhook_event_types (
    event_type  text  NOT NULL,
    description text  NOT NULL,
    example     jsonb NOT NULL,
    CONSTRAINT webhook_event_types_pkey PRIMARY KEY (event_type),
    CONSTRAINT webhook_event_types_name_check CHECK (event_type ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$')
);
COMMENT ON TABLE wib.webhook_event_types IS
    'The catalogue of webhook event types, with an example payload of each; custom.* types are also accepted by wib.emit_event.';

INSERT INTO wib.webhook_event_types (event_type, description, example) VALUES
    ('call.started', 'A call was created (placed or received).',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "direction": "outbound", "status": "queued", "from_number": "+15550100", "to_number": "+15550199", "agent_id": "agent-1", "started_at": "2026-01-01T12:00:00Z"}'),
    ('call.completed', 'A call''s status became completed.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "direction": "outbound", "status": "completed", "disposition": "answered", "agent_id": "agent-1", "started_at": "2026-01-01T12:00:00Z", "ended_at": "2026-01-01T12:04:10Z", "duration_seconds": 250}'),
    ('call.failed', 'A call ended as failed, busy, no_answer or canceled.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "status": "no_answer"}'),
    ('recording.ready', 'A recording finished processing.',
     '{"recording_id": "5f0e9d5c-1f0a-4a8e-8d0e-0c5a1b2c3d4e", "call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "recording_url": "https://media.example.com/r/5f0e.mp3", "duration_seconds": 248}'),
    ('transcript.ready', 'A recording''s transcript became available.',
     '{"recording_id": "5f0e9d5c-1f0a-4a8e-8d0e-0c5a1b2c3d4e", "call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11"}'),
    ('sentiment.analyzed', 'The AI summary and sentiment of a call were stored.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "overall_sentiment": "positive", "sentiment_score": 0.62, "summary": "Customer agreed to a demo."}'),
    ('outcome.recorded', 'The outcome of a call was recorded.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "outcome": "sale", "is_success": true, "value_amount": 1200.00}'),
    ('scorecard.created', 'A call was scored by a reviewer.',
     '{"scorecard_id": "7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "agent_id": "agent-1", "total_score": 87.5}'),
    ('webhook.test', 'Sent by wib.webhook_test to check an endpoint.',
     '{"subscription_id": "2c9d8e7f-6a5b-4c3d-9e1f-0a1b2c3d4e5f", "message": "This is a test event from wib."}'),
    ('webhook.disabled', 'A subscription was deactivated after a run of failed deliveries (sent to the organization''s other subscriptions).',
     '{"subscription_id": "2c9d8e7f-6a5b-4c3d-9e1f-0a1b2c3d4e5f", "name": "crm", "consecutive_failures": 20}');

-- ---------------------------------------------------------------------------
-- Tables

CREATE TABLE wib.webhook_subscriptions (
    organization_id            uuid        NOT NULL,
    id                         uuid        NOT NULL DEFAULT gen_random_uuid(),
    name                       text        NOT NULL,
    target_url                 text        NOT NULL,
    secret                     text        NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    events                     text[]      NOT NULL,
    is_active                  boolean     NOT NULL DEFAULT true,
    retry_policy               text        NOT NULL DEFAULT 'exponential',
    max_retries                integer     NOT NULL DEFAULT 5,
    consecutive_failures       integer     NOT NULL DEFAULT 0,
    disabled_at                timestamptz,
    disabled_reason            text,
    created_by                 text,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT webhook_subscriptions_name_key UNIQUE (organization_id, name),
    CONSTRAINT webhook_subscriptions_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT webhook_subscriptions_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT webhook_subscriptions_url_check CHECK (length(target_url) BETWEEN 1 AND 2048),
    CONSTRAINT webhook_subscriptions_events_check CHECK (cardinality(events) BETWEEN 1 AND 50),
    CONSTRAINT webhook_subscriptions_policy_check CHECK (retry_policy IN ('none', 'linear', 'exponential')),
    CONSTRAINT webhook_subscriptions_retries_check CHECK (max_retries BETWEEN 0 AND 20)
);
COMMENT ON TABLE wib.webhook_subscriptions IS
    'Endpoints an organization receives events at, with the events wanted, the retry policy and the signing secret (never readable by wib_app).';
SELECT wib.make_tenant_table('wib.webhook_subscriptions');
CREATE OR REPLACE TRIGGER webhook_subscriptions_touch BEFORE UPDATE ON wib.webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- The SSRF guard and the plan limit hold for rows written without the API too
-- (wib_app may write the table; row-level security keeps it to its organization).
CREATE OR REPLACE FUNCTION wib.webhook_subscriptions_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    reason text := wib.url_check(NEW.target_url);
    used   bigint;
BEGIN
    IF reason IS NOT NULL THEN
        PERFORM wib.invalid_field('target_url', format('target_url is refused: %s.', reason));
    END IF;
    IF TG_OP = 'INSERT' AND wib.current_org_id() IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('wib.webhook_subscribe:' || NEW.organization_id::text, 0));
        SELECT count(*) INTO used FROM wib.webhook_subscriptions s WHERE s.organization_id = NEW.organization_id;
        PERFORM wib.require_limit('webhooks', used, 1);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION wib.webhook_subscriptions_check() IS
    'Trigger: refuses a subscription whose target_url the SSRF guard refuses, or one over the plan''s webhooks limit, however the row is written.';
CREATE OR REPLACE TRIGGER webhook_subscriptions_check BEFORE INSERT OR UPDATE OF target_url ON wib.webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_subscriptions_check();

CREATE TABLE wib.webhook_deliveries (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    subscription_id uuid        NOT NULL,
    event_id        uuid        NOT NULL,
    message_id      text        NOT NULL GENERATED ALWAYS AS ('msg_' || replace(id::text, '-', '')) STORED,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    attempt_number  integer     NOT NULL DEFAULT 0,
    next_retry_at   timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    response_status integer,
    response_body   text,
    last_error      text,
    duration_ms     integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT webhook_deliveries_subscription_fkey FOREIGN KEY (organization_id, subscription_id)
        REFERENCES wib.webhook_subscriptions (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed', 'retrying')),
    CONSTRAINT webhook_deliveries_attempt_check CHECK (attempt_number >= 0),
    CONSTRAINT webhook_deliveries_payload_check CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT webhook_deliveries_body_check CHECK (length(response_body) <= 1024)
);
CREATE INDEX webhook_deliveries_due_idx ON wib.webhook_deliveries (next_retry_at)
    WHERE status IN ('pending', 'retrying');
-- A queue: rows are updated twice within seconds of their insert, so vacuum it often.
ALTER TABLE wib.webhook_deliveries SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
                                        autovacuum_analyze_scale_factor = 0.05, fillfactor = 80);
CREATE INDEX webhook_deliveries_subscription_idx ON wib.webhook_deliveries (organization_id, subscription_id, created_at);
COMMENT ON TABLE wib.webhook_deliveries IS
    'One row per event per subscription: status, attempts, the last response (first 1 KB), and the lease of the deliverer sending it. message_id (webhook-id) is stable across retries.';
SELECT wib.make_tenant_table('wib.webhook_deliveries');

-- ---------------------------------------------------------------------------
-- Fanout

-- Internal: one delivery per active subscription of org that wants event_type
-- (or only to the subscription given); wakes the deliverer at commit.
CREATE OR REPLACE FUNCTION wib.webhook_fanout(org uuid, event_type text, payload jsonb,
                                   event_id uuid DEFAULT gen_random_uuid(),
                                   only_subscription uuid DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO wib.webhook_deliveries (organization_id, subscription_id, event_id, event_type, payload)
    SELECT s.organization_id, s.id, webhook_fanout.event_id, webhook_fanout.event_type, webhook_fanout.payload
      FROM wib.webhook_subscriptions s
      JOIN wib.organizations o ON o.id = s.organization_id
      JOIN wib.feature_plans f ON f.feature = 'webhooks'
     WHERE s.organization_id = org
       AND s.is_active
       AND wib.plan_rank(o.plan) >= wib.plan_rank(f.min_plan)  -- a downgraded plan stops sending
       AND (CASE WHEN only_subscription IS NULL
                 THEN webhook_fanout.event_type = ANY (s.events) OR '*' = ANY (s.events)
                 ELSE s.id = only_subscription END);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM wib.wake('deliverer');
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.webhook_fanout(uuid, text, jsonb, uuid, uuid) IS
    'Internal: queues one delivery of an event per matching active subscription of an organization whose plan includes webhooks, in the caller''s transaction.';

CREATE OR REPLACE FUNCTION wib.emit_event(event_type text, payload jsonb) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org      uuid := wib.require_org();
    event_id uuid := gen_random_uuid();
BEGIN
    PERFORM wib.require_text(event_type, 'event_type', 100);
    IF NOT EXISTS (SELECT 1 FROM wib.webhook_event_types t WHERE t.event_type = emit_event.event_type)
       AND event_type !~ '^custom\.[a-z0-9_]+(\.[a-z0-9_]+)*$' THEN
        PERFORM wib.invalid_field('event_type',
            'event_type must be one of wib.webhook_event_types or custom.<name> (lower case, digits, underscores).');
    END IF;
    IF payload IS NULL OR jsonb_typeof(payload) <> 'object' THEN
        PERFORM wib.invalid_field('payload', 'payload must be a JSON object.');
    END IF;
    IF pg_column_size(payload) > 262144 THEN
        PERFORM wib.invalid_field('payload', 'payload must be at most 256 kB.');
    END IF;
    PERFORM wib.webhook_fanout(org, event_type, payload, event_id);
    RETURN event_id;
END
$$;
COMMENT ON FUNCTION wib.emit_event(text, jsonb) IS
    'Queues the event for every active subscription of the organization in context that wants it, in the caller''s transaction (nothing is sent on rollback); returns the event id.';

-- Trigger: emits the platform events of the core tables without application code.
CREATE OR REPLACE FUNCTION wib.webhook_emit_core_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    ev      text;
    payload jsonb;
    ev2     text;
BEGIN
    -- Most organizations have no subscription: leave at once.
    IF NOT EXISTS (SELECT 1 FROM wib.webhook_subscriptions s
                    WHERE s.organization_id = NEW.organization_id AND s.is_active) THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'calls' THEN
        payload := jsonb_build_object('call_id', NEW.id, 'direction', NEW.direction, 'status', NEW.status,
                                      'disposition', NEW.disposition, 'from_number', NEW.from_number,
                                      'to_number', NEW.to_number, 'agent_id', NEW.agent_id,
                                      'campaign_id', NEW.campaign_id, 'started_at', NEW.started_at,
                                      'ended_at', NEW.ended_at, 'duration_seconds', NEW.duration_seconds);
        IF TG_OP = 'INSERT' THEN
            ev := 'call.started';
            IF NEW.status = 'completed' THEN
                ev2 := 'call.completed';
            END IF;
        ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
            IF NEW.status = 'completed' THEN
                ev := 'call.completed';
            ELSIF NEW.status IN ('failed', 'busy', 'no_answer', 'canceled') THEN
                ev := 'call.failed';
            END IF;
        END IF;
    ELSIF TG_TABLE_NAME = 'recordings' THEN
        payload := jsonb_build_object('recording_id', NEW.id, 'call_id', NEW.call_id,
                                      'recording_url', NEW.recording_url, 'duration_seconds', NEW.duration_seconds);
        IF NEW.status = 'ready' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'ready') THEN
            ev := 'recording.ready';
        END IF;
        IF NEW.transcript IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.transcript IS NULL) THEN
            ev2 := 'transcript.ready';
        END IF;
    ELSIF TG_TABLE_NAME = 'ai_summaries' THEN
        IF NEW.overall_sentiment IS NOT NULL
           AND (TG_OP = 'INSERT' OR OLD.overall_sentiment IS DISTINCT FROM NEW.overall_sentiment
                OR OLD.sentiment_score IS DISTINCT FROM NEW.sentiment_score) THEN
            ev := 'sentiment.analyzed';
            payload := jsonb_build_object('call_id', NEW.call_id, 'overall_sentiment', NEW.overall_sentiment,
                                          'sentiment_score', NEW.sentiment_score, 'summary', NEW.summary);
        END IF;
    ELSIF TG_TABLE_NAME = 'call_outcomes' THEN
        ev := 'outcome.recorded';
        payload := jsonb_build_object('call_id', NEW.call_id, 'outcome', NEW.outcome,
                                      'is_success', NEW.is_success, 'value_amount', NEW.value_amount);
    ELSIF TG_TABLE_NAME = 'scorecards' THEN
        ev := 'scorecard.created';
        payload := jsonb_build_object('scorecard_id', NEW.id, 'call_id', NEW.call_id,
                                      'agent_id', NEW.agent_id, 'total_score', NEW.total_score);
    END IF;
    IF ev IS NOT NULL THEN
        PERFORM wib.webhook_fanout(NEW.organization_id, ev, payload);
    END IF;
    IF ev2 IS NOT NULL THEN
        PERFORM wib.webhook_fanout(NEW.organization_id, ev2, payload);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.webhook_emit_core_event() IS
    'Trigger: emits call.started, call.completed, call.failed, recording.ready, transcript.ready, sentiment.analyzed, outcome.recorded and scorecard.created.';

CREATE OR REPLACE TRIGGER calls_webhook_event AFTER INSERT OR UPDATE OF status ON wib.calls
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE OR REPLACE TRIGGER recordings_webhook_event AFTER INSERT OR UPDATE OF status, transcript ON wib.recordings
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE OR REPLACE TRIGGER ai_summaries_webhook_event AFTER INSERT OR UPDATE OF overall_sentiment, sentiment_score ON wib.ai_summaries
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE OR REPLACE TRIGGER call_outcomes_webhook_event AFTER INSERT ON wib.call_outcomes
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();
CREATE OR REPLACE TRIGGER scorecards_webhook_event AFTER INSERT ON wib.scorecards
    FOR EACH ROW EXECUTE FUNCTION wib.webhook_emit_core_event();

-- ---------------------------------------------------------------------------
-- API

-- Internal: checks the events array of a subscription.
CREATE OR REPLACE FUNCTION wib.webhook_check_events(events text[]) RETURNS text[]
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    bad text;
BEGIN
    IF events IS NULL OR cardinality(events) = 0 THEN
        PERFORM wib.invalid_field('events', 'events must be a non-empty array of event types.');
    END IF;
    IF cardinality(events) > 50 THEN
        PERFORM wib.invalid_field('events', 'events must list at most 50 event types.');
    END IF;
    SELECT e INTO bad FROM unnest(events) AS e
     WHERE e IS NULL
        OR (e <> '*' AND e !~ '^custom\.[a-z0-9_]+(\.[a-z0-9_]+)*$'
            AND NOT EXISTS (SELECT 1 FROM wib.webhook_event_types t WHERE t.event_type = e))
     LIMIT 1;
    IF FOUND THEN
        PERFORM wib.invalid_field('events',
            format('Unknown event type %s; see wib.webhook_event_types (or use custom.<name> or *).',
                   coalesce('"' || bad || '"', 'NULL')));
    END IF;
    RETURN ARRAY(SELECT DISTINCT e FROM unnest(events) AS e ORDER BY e);
END
$$;
COMMENT ON FUNCTION wib.webhook_check_events(text[]) IS 'Internal: validates and normalizes a subscription''s events.';

-- Internal: refuses a target URL the SSRF guard refuses.
CREATE OR REPLACE FUNCTION wib.webhook_check_url(url text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    reason text;
BEGIN
    PERFORM wib.require_text(url, 'target_url', 2048);
    reason := wib.url_check(url);
    IF reason IS NOT NULL THEN
        PERFORM wib.invalid_field('target_url', format('target_url is refused: %s.', reason));
    END IF;
    RETURN url;
END
$$;
COMMENT ON FUNCTION wib.webhook_check_url(text) IS 'Internal: raises 22023 naming target_url when the SSRF guard refuses it.';

-- Internal: checks retry_policy and max_retries.
CREATE OR REPLACE FUNCTION wib.webhook_check_retry(retry_policy text, max_retries integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF retry_policy IS NULL OR retry_policy NOT IN ('none', 'linear', 'exponential') THEN
        PERFORM wib.invalid_field('retry_policy', 'retry_policy must be none, linear or exponential.');
    END IF;
    IF max_retries IS NULL OR max_retries NOT BETWEEN 0 AND 20 THEN
        PERFORM wib.invalid_field('max_retries', 'max_retries must be an integer from 0 to 20.');
    END IF;
END
$$;
COMMENT ON FUNCTION wib.webhook_check_retry(text, integer) IS 'Internal: validates a retry policy.';

-- The subscription as the API shows it (no secrets).
CREATE OR REPLACE FUNCTION wib.webhook_public(s wib.webhook_subscriptions) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    RETURN jsonb_build_object('id', s.id, 'name', s.name, 'target_url', s.target_url, 'events', s.events,
                              'is_active', s.is_active, 'retry_policy', s.retry_policy,
                              'max_retries', s.max_retries);
COMMENT ON FUNCTION wib.webhook_public(wib.webhook_subscriptions) IS 'Internal: a subscription without its secrets, for the audit log.';

CREATE OR REPLACE FUNCTION wib.webhook_subscribe(name text, target_url text, events text[],
                                      retry_policy text DEFAULT 'exponential', max_retries integer DEFAULT 5)
    RETURNS TABLE (id uuid, secret text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org        uuid := wib.require_org();
    new_events text[];
    new_secret text;
    new_id     uuid;
    used       bigint;
BEGIN
    PERFORM wib.require_feature('webhooks');
    PERFORM wib.require_text(name, 'name', 200);
    PERFORM wib.webhook_check_url(target_url);
    new_events := wib.webhook_check_events(events);
    PERFORM wib.webhook_check_retry(retry_policy, max_retries);

    -- Serialize subscribes of one organization so the plan limit holds under concurrency.
    PERFORM pg_advisory_xact_lock(hashtextextended('wib.webhook_subscribe:' || org::text, 0));
    SELECT count(*) INTO used FROM wib.webhook_subscriptions s WHERE s.organization_id = org;
    PERFORM wib.require_limit('webhooks', used, 1);
    IF EXISTS (SELECT 1 FROM wib.webhook_subscriptions s
                WHERE s.organization_id = org AND s.name = btrim(webhook_subscribe.name)) THEN
        PERFORM wib.invalid_field('name', format('A webhook named "%s" already exists.', btrim(webhook_subscribe.name)));
    END IF;

    new_secret := wib.webhook_new_secret();
    INSERT INTO wib.webhook_subscriptions AS s
           (organization_id, name, target_url, secret, events, retry_policy, max_retries, created_by)
    VALUES (org, btrim(webhook_subscribe.name), target_url, new_secret, new_events,
            webhook_subscribe.retry_policy, webhook_subscribe.max_retries, wib.current_user_id())
    RETURNING s.id INTO new_id;

    PERFORM wib.audit('webhook:created', 'webhook', new_id::text, NULL,
                      jsonb_build_object('id', new_id, 'name', btrim(webhook_subscribe.name),
                                         'target_url', target_url, 'events', new_events,
                                         'retry_policy', webhook_subscribe.retry_policy,
                                         'max_retries', webhook_subscribe.max_retries));
    id := new_id;
    secret := new_secret;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wib.webhook_subscribe(text, text, text[], text, integer) IS
    'Creates a webhook subscription (plan feature webhooks, counted against the webhooks limit, URL checked by the SSRF guard); returns its id and its signing secret, shown only this once. Audited webhook:created.';

-- Internal: the subscription of the organization in context, without secrets, or P0002.
CREATE OR REPLACE FUNCTION wib.webhook_get(id uuid) RETURNS wib.webhook_subscriptions
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    s wib.webhook_subscriptions;
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the UUID of a webhook subscription.');
    END IF;
    SELECT x.organization_id, x.id, x.name, x.target_url, NULL, NULL, NULL, x.events, x.is_active,
           x.retry_policy, x.max_retries, x.consecutive_failures, x.disabled_at, x.disabled_reason,
           x.created_by, x.created_at, x.updated_at
      INTO s
      FROM wib.webhook_subscriptions x
     WHERE x.organization_id = wib.require_org() AND x.id = webhook_get.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('webhook subscription %s does not exist', id);
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION wib.webhook_get(uuid) IS 'Internal: a subscription of the organization in context (secrets left out), or P0002.';

CREATE OR REPLACE FUNCTION wib.webhook_update(id uuid, changes jsonb) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.webhook_subscriptions;
    new_row wib.webhook_subscriptions;
BEGIN
    PERFORM wib.require_feature('webhooks');
    PERFORM wib.check_fields(changes, ARRAY['name', 'target_url', 'events', 'is_active', 'retry_policy', 'max_retries'],
                             'changes');
    old_row := wib.webhook_get(id);
    new_row := old_row;
    IF changes ? 'name' THEN
        new_row.name := btrim(wib.require_text(wib.field_text(changes, 'name', 200), 'name', 200));
    END IF;
    IF changes ? 'target_url' THEN
        new_row.target_url := wib.webhook_check_url(wib.field_text(changes, 'target_url', 2048));
    END IF;
    IF changes ? 'events' THEN
        IF jsonb_typeof(changes -> 'events') IS DISTINCT FROM 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(changes -> 'events') e WHERE jsonb_typeof(e) <> 'string') THEN
            PERFORM wib.invalid_field('events', 'events must be an array of event type strings.');
        END IF;
        new_row.events := wib.webhook_check_events(ARRAY(SELECT jsonb_array_elements_text(changes -> 'events')));
    END IF;
    IF changes ? 'is_active' THEN
        IF jsonb_typeof(changes -> 'is_active') IS DISTINCT FROM 'boolean' THEN
            PERFORM wib.invalid_field('is_active', 'is_active must be true or false.');
        END IF;
        new_row.is_active := (changes ->> 'is_active')::boolean;
    END IF;
    IF changes ? 'retry_policy' THEN
        new_row.retry_policy := wib.field_text(changes, 'retry_policy', 20);
    END IF;
    IF changes ? 'max_retries' THEN
        IF jsonb_typeof(changes -> 'max_retries') IS DISTINCT FROM 'number'
           OR (changes ->> 'max_retries') !~ '^[0-9]{1,2}$' THEN
            PERFORM wib.invalid_field('max_retries', 'max_retries must be an integer from 0 to 20.');
        END IF;
        new_row.max_retries := (changes ->> 'max_retries')::integer;
    END IF;
    PERFORM wib.webhook_check_retry(new_row.retry_policy, new_row.max_retries);
    IF new_row.name <> old_row.name AND EXISTS (
           SELECT 1 FROM wib.webhook_subscriptions s
            WHERE s.organization_id = old_row.organization_id AND s.name = new_row.name) THEN
        PERFORM wib.invalid_field('name', format('A webhook named "%s" already exists.', new_row.name));
    END IF;

    UPDATE wib.webhook_subscriptions s
       SET name = new_row.name, target_url = new_row.target_url, events = new_row.events,
           is_active = new_row.is_active, retry_policy = new_row.retry_policy, max_retries = new_row.max_retries,
           consecutive_failures = CASE WHEN new_row.is_active AND NOT old_row.is_active THEN 0
                                       ELSE s.consecutive_failures END,
           disabled_at = CASE WHEN new_row.is_active THEN NULL ELSE coalesce(s.disabled_at, now()) END,
           disabled_reason = CASE WHEN new_row.is_active THEN NULL
                                  WHEN old_row.is_active THEN 'deactivated by the application'
                                  ELSE s.disabled_reason END
     WHERE s.organization_id = old_row.organization_id AND s.id = old_row.id;
    IF old_row.is_active AND NOT new_row.is_active THEN
        PERFORM wib.webhook_drop_pending(old_row.id, 'subscription deactivated');
    END IF;
    PERFORM wib.audit('webhook:updated', 'webhook', old_row.id::text,
                      wib.webhook_public(old_row), wib.webhook_public(new_row));
END
$$;
COMMENT ON FUNCTION wib.webhook_update(uuid, jsonb) IS
    'Changes a subscription: any of name, target_url, events, is_active, retry_policy, max_retries. Deactivating fails its pending deliveries; reactivating clears its failure count. Audited webhook:updated.';

-- Internal: marks the queued deliveries of a subscription of the organization in context failed.
CREATE OR REPLACE FUNCTION wib.webhook_drop_pending(subscription_id uuid, reason text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    n integer;
BEGIN
    UPDATE wib.webhook_deliveries d
       SET status = 'failed', last_error = reason, leased_until = NULL
     WHERE d.organization_id = wib.require_org()
       AND d.subscription_id = webhook_drop_pending.subscription_id
       AND d.status IN ('pending', 'retrying');
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.webhook_drop_pending(uuid, text) IS
    'Internal: fails the queued deliveries of a subscription of the organization in context.';

CREATE OR REPLACE FUNCTION wib.webhook_unsubscribe(id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    old_row wib.webhook_subscriptions := wib.webhook_get(id);
BEGIN
    DELETE FROM wib.webhook_subscriptions s
     WHERE s.organization_id = old_row.organization_id AND s.id = old_row.id;
    PERFORM wib.audit('webhook:deleted', 'webhook', old_row.id::text, wib.webhook_public(old_row), NULL);
END
$$;
COMMENT ON FUNCTION wib.webhook_unsubscribe(uuid) IS
    'Deletes a subscription and its deliveries. Audited webhook:deleted.';

CREATE OR REPLACE FUNCTION wib.webhook_rotate_secret(id uuid) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    new_secret text := wib.webhook_new_secret();
BEGIN
    PERFORM wib.require_feature('webhooks');
    PERFORM wib.webhook_get(id);
    UPDATE wib.webhook_subscriptions s
       SET previous_secret = s.secret, previous_secret_expires_at = now() + interval '24 hours',
           secret = new_secret
     WHERE s.organization_id = wib.require_org() AND s.id = webhook_rotate_secret.id;
    PERFORM wib.audit('webhook:secret_rotated', 'webhook', id::text, NULL,
                      jsonb_build_object('previous_secret_valid_until', now() + interval '24 hours'));
    RETURN new_secret;
END
$$;
COMMENT ON FUNCTION wib.webhook_rotate_secret(uuid) IS
    'Gives a subscription a new signing secret and returns it; for 24 hours deliveries carry signatures under both the old and the new secret. Audited webhook:secret_rotated.';

CREATE OR REPLACE FUNCTION wib.webhook_test(id uuid) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    s        wib.webhook_subscriptions;
    test_event uuid := gen_random_uuid();
    delivery uuid;
BEGIN
    PERFORM wib.require_feature('webhooks');
    s := wib.webhook_get(id);
    IF NOT s.is_active THEN
        RAISE EXCEPTION USING ERRCODE = 'WB101',
            MESSAGE = format('webhook subscription %s is inactive', id),
            HINT = 'Reactivate it with wib.webhook_update(id, ''{"is_active": true}'').';
    END IF;
    PERFORM wib.webhook_fanout(s.organization_id, 'webhook.test',
                               jsonb_build_object('subscription_id', s.id,
                                                  'message', 'This is a test event from wib.'),
                               test_event, s.id);
    SELECT d.id INTO delivery FROM wib.webhook_deliveries d
     WHERE d.organization_id = s.organization_id AND d.event_id = test_event;
    PERFORM wib.audit('webhook:tested', 'webhook', s.id::text, NULL, jsonb_build_object('delivery_id', delivery));
    RETURN delivery;
END
$$;
COMMENT ON FUNCTION wib.webhook_test(uuid) IS
    'Queues a webhook.test delivery to the subscription now and returns the delivery id. Audited webhook:tested.';

-- ---------------------------------------------------------------------------
-- The deliverer's side (called by the worker and by wib.deliver_due)

-- Delay before retry number attempt (1-based) of a policy, from wib.webhook_retry_schedule.
CREATE OR REPLACE FUNCTION wib.webhook_retry_delay(policy text, attempt integer) RETURNS interval
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (SELECT CASE policy
                       WHEN 'exponential' THEN s[least(greatest(attempt, 1), cardinality(s))]
                       WHEN 'linear' THEN s[1] * greatest(attempt, 1)
                   END
              FROM (SELECT string_to_array(replace(current_setting('wib.webhook_retry_schedule'), ' ', ''),
                                           ',')::interval[] AS s) x);
COMMENT ON FUNCTION wib.webhook_retry_delay(text, integer) IS
    'Internal: the wait before a retry: exponential takes the attempt''s step of wib.webhook_retry_schedule (the last one repeats), linear the first step times the attempt.';

-- Claims up to max_items due deliveries for lease, returning what sending them needs.
CREATE OR REPLACE FUNCTION wib.webhook_claim(max_items integer, lease interval)
    RETURNS TABLE (organization_id uuid, id uuid, attempt_number integer, message_id text,
                   target_url text, body text, secrets text[])
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    -- Walk the due index in order: a plain index scan stops after max_items live
    -- rows and marks the dead entries a busy queue leaves behind, where a bitmap
    -- scan would re-read them all on every claim until the next vacuum.
    SET enable_bitmapscan = off
    SET enable_seqscan = off
AS $$
    WITH due AS (
        SELECT d.organization_id, d.id
          FROM wib.webhook_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.next_retry_at <= now()
         ORDER BY d.next_retry_at
         LIMIT max_items
           FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE wib.webhook_deliveries d
           SET attempt_number = d.attempt_number + 1,
               next_retry_at = now() + lease,
               leased_until = now() + lease
          FROM due
         WHERE d.organization_id = due.organization_id AND d.id = due.id
        RETURNING d.organization_id, d.id, d.subscription_id, d.attempt_number, d.message_id,
                  d.event_type, d.created_at, d.payload)
    SELECT c.organization_id, c.id, c.attempt_number, c.message_id, s.target_url,
           jsonb_build_object('type', c.event_type,
                              'timestamp', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                              'data', c.payload)::text,
           CASE WHEN s.previous_secret IS NOT NULL AND s.previous_secret_expires_at > now()
                THEN ARRAY[s.secret, s.previous_secret] ELSE ARRAY[s.secret] END
      FROM claimed c
      JOIN wib.webhook_subscriptions s ON s.organization_id = c.organization_id AND s.id = c.subscription_id
$$;
COMMENT ON FUNCTION wib.webhook_claim(integer, interval) IS
    'Internal (deliverer): leases due deliveries with FOR UPDATE SKIP LOCKED; a lease that expires makes the delivery due again.';

-- Records the results of one batch of attempts, schedules retries, and
-- deactivates subscriptions after wib.webhook_disable_after failed deliveries in a row.
CREATE OR REPLACE FUNCTION wib.webhook_record(org_ids uuid[], ids uuid[], attempts integer[], http_status integer[],
                                   errors text[], durations integer[], bodies text[], retry_after integer[])
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    -- A generic plan cannot see the batch size and picks scans of the whole table.
    SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    n             integer;
    disable_after integer := current_setting('wib.webhook_disable_after')::integer;
    sub           record;
BEGIN
    WITH r AS (
        SELECT * FROM unnest(org_ids, ids, attempts, http_status, errors, durations, bodies, retry_after)
                   AS r(organization_id, id, attempt, http_status, error, duration_ms, body, retry_after)),
    -- The batch's rows found by primary key first (materialized, so the planner
    -- cannot reach them through the subscription index instead).
    rd AS MATERIALIZED (
        SELECT r.*, d.subscription_id
          FROM r
          JOIN wib.webhook_deliveries d ON d.organization_id = r.organization_id AND d.id = r.id
         WHERE d.attempt_number = r.attempt AND d.status IN ('pending', 'retrying')),
    outcome AS (
        SELECT rd.*,
               CASE WHEN rd.http_status BETWEEN 200 AND 299 THEN 'delivered'
                    WHEN rd.http_status = 410 OR s.retry_policy = 'none' OR rd.attempt > s.max_retries THEN 'failed'
                    ELSE 'retrying' END AS new_status,
               s.retry_policy
          FROM rd
          JOIN wib.webhook_subscriptions s ON s.organization_id = rd.organization_id AND s.id = rd.subscription_id),
    upd AS (
        UPDATE wib.webhook_deliveries d
           SET status = o.new_status,
               response_status = nullif(o.http_status, 0),
               response_body = left(o.body, 1024),
               last_error = o.error,
               duration_ms = o.duration_ms,
               last_attempt_at = now(),
               leased_until = NULL,
               delivered_at = CASE WHEN o.new_status = 'delivered' THEN now() END,
               next_retry_at = CASE WHEN o.new_status = 'retrying'
                                    THEN now() + greatest(wib.webhook_retry_delay(o.retry_policy, o.attempt),
                                                          CASE WHEN o.http_status IN (429, 503)
                                                               THEN make_interval(secs => coalesce(o.retry_after, 0))
                                                               ELSE interval '0' END)
                                    ELSE d.next_retry_at END
          FROM outcome o
         WHERE d.organization_id = o.organization_id AND d.id = o.id
        RETURNING d.organization_id, d.subscription_id, d.status),
    per_sub AS (
        SELECT u.organization_id, u.subscription_id,
               count(*) FILTER (WHERE u.status = 'delivered') AS delivered,
               count(*) FILTER (WHERE u.status = 'failed') AS failed
          FROM upd u GROUP BY 1, 2),
    -- Failure runs: a delivered message resets the count, each failed delivery adds one.
    counted AS (
        UPDATE wib.webhook_subscriptions s
           SET consecutive_failures = CASE WHEN p.delivered > 0 THEN 0 ELSE s.consecutive_failures + p.failed END
          FROM per_sub p
         WHERE s.organization_id = p.organization_id AND s.id = p.subscription_id
           AND (p.failed > 0 OR (p.delivered > 0 AND s.consecutive_failures > 0))
        RETURNING 1)
    SELECT count(*) INTO n FROM upd;

    IF disable_after > 0 THEN
        FOR sub IN
            UPDATE wib.webhook_subscriptions s
               SET is_active = false, disabled_at = now(),
                   disabled_reason = format('%s failed deliveries in a row', s.consecutive_failures)
              FROM (SELECT DISTINCT d.organization_id, d.subscription_id
                      FROM unnest(org_ids, ids) AS u(organization_id, id)
                      JOIN wib.webhook_deliveries d ON d.organization_id = u.organization_id AND d.id = u.id) t
             WHERE s.organization_id = t.organization_id AND s.id = t.subscription_id
               AND s.is_active AND s.consecutive_failures >= disable_after
            RETURNING s.organization_id, s.id, s.name, s.consecutive_failures
        LOOP
            UPDATE wib.webhook_deliveries d
               SET status = 'failed', last_error = 'subscription deactivated after repeated failures',
                   leased_until = NULL
             WHERE d.organization_id = sub.organization_id AND d.subscription_id = sub.id
               AND d.status IN ('pending', 'retrying') AND (d.leased_until IS NULL OR d.leased_until < now());
            PERFORM wib.audit('webhook:disabled', 'webhook', sub.id::text, NULL,
                              jsonb_build_object('consecutive_failures', sub.consecutive_failures),
                              sub.organization_id);
            PERFORM wib.webhook_fanout(sub.organization_id, 'webhook.disabled',
                                       jsonb_build_object('subscription_id', sub.id, 'name', sub.name,
                                                          'consecutive_failures', sub.consecutive_failures));
        END LOOP;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.webhook_record(uuid[], uuid[], integer[], integer[], text[], integer[], text[], integer[]) IS
    'Internal (deliverer): records a batch of attempts: delivered on 2xx, failed on 410 or when retries are spent, else retrying on the schedule (Retry-After on 429/503 when longer).';

-- Makes deliveries leased by a deliverer that died due again (run when the worker starts).
CREATE OR REPLACE FUNCTION wib.webhook_release_leases() RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
BEGIN ATOMIC
    -- Rows locked by a live wib.deliver_due() session are its own business: skip them.
    WITH stale AS (
        SELECT d.organization_id, d.id FROM wib.webhook_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.leased_until > now()
           FOR UPDATE SKIP LOCKED),
    released AS (
        UPDATE wib.webhook_deliveries d SET next_retry_at = now(), leased_until = NULL
          FROM stale
         WHERE d.organization_id = stale.organization_id AND d.id = stale.id
        RETURNING 1)
    SELECT count(*)::integer FROM released;
END;
COMMENT ON FUNCTION wib.webhook_release_leases() IS
    'Internal (deliverer): makes the deliveries leased before a restart due at once.';

CREATE OR REPLACE FUNCTION wib.deliver_due(max_items integer DEFAULT 1000) RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_deliver_due';
COMMENT ON FUNCTION wib.deliver_due(integer) IS
    'Operators: one delivery pass in the caller''s session, the same code the deliverer worker runs (claim, send concurrently, record); returns the number of deliveries attempted.';

-- ---------------------------------------------------------------------------
-- Retention

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('webhook_deliveries',
     $q$WITH gone AS (DELETE FROM wib.webhook_deliveries
                       WHERE created_at < now() - interval '7 days' AND status IN ('delivered', 'failed')
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Finished webhook deliveries older than 7 days.');

-- ---------------------------------------------------------------------------
-- Privileges

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

-- ==== src/sql/20_exports.sql
-- Exports: CSV (RFC 4180) and JSON Lines written by the C writers of src/export/,
-- as jobs the scheduler runs into files (downloaded in chunks or through signed,
-- expiring tokens) or streamed straight to the caller.  Gated by plan, limited in
-- rows per plan, rate-limited, idempotent, audited.

CREATE TABLE wib.export_jobs (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         text,
    export_type     text        NOT NULL,
    format          text        NOT NULL DEFAULT 'csv',
    filters         jsonb       NOT NULL DEFAULT '{}',
    status          text        NOT NULL DEFAULT 'pending',
    estimated_rows  bigint,
    progress_rows   bigint      NOT NULL DEFAULT 0,
    total_rows      bigint,
    file_size_bytes bigint,
    sha256          text,
    storage_key     text        NOT NULL GENERATED ALWAYS AS
                    (organization_id::text || '/' || id::text ||
                     CASE format WHEN 'csv' THEN '.csv' ELSE '.jsonl' END) STORED,
    attempts        integer     NOT NULL DEFAULT 0,
    error_detail    text,
    expires_at      timestamptz,
    started_at      timestamptz,
    completed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT export_jobs_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT export_jobs_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT export_jobs_type_check
        CHECK (export_type IN ('calls', 'recordings', 'analytics', 'contacts', 'audit_logs')),
    CONSTRAINT export_jobs_format_check CHECK (format IN ('csv', 'json')),
    CONSTRAINT export_jobs_status_check
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'expired')),
    CONSTRAINT export_jobs_filters_check CHECK (jsonb_typeof(filters) = 'object'),
    CONSTRAINT export_jobs_completed_check
        CHECK (status <> 'completed' OR (total_rows IS NOT NULL AND file_size_bytes IS NOT NULL
                                         AND sha256 IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE INDEX export_jobs_pending_idx ON wib.export_jobs (created_at) WHERE status IN ('pending', 'processing');
CREATE INDEX export_jobs_expiry_idx ON wib.export_jobs (expires_at) WHERE status = 'completed';
CREATE INDEX export_jobs_org_created_idx ON wib.export_jobs (organization_id, created_at);
COMMENT ON TABLE wib.export_jobs IS
    'Export requests of an organization and their files: status pending → completed (or failed), then expired after wib.export_ttl; progress, row count, size and SHA-256 of the file.';
SELECT wib.make_tenant_table('wib.export_jobs');
CREATE OR REPLACE TRIGGER export_jobs_touch BEFORE UPDATE ON wib.export_jobs FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- The C side: writers, files and tokens.  None of these is granted to applications.
CREATE OR REPLACE FUNCTION wib.export_render(query text, format text, formula_guard boolean DEFAULT true, max_rows bigint DEFAULT 0)
    RETURNS SETOF text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_render';
COMMENT ON FUNCTION wib.export_render(text, text, boolean, bigint) IS
    'Internal: the rows of a read-only query as chunks of whole CSV or JSON lines (the writer of every export); max_rows > 0 raises WB205 past that many rows.';

CREATE OR REPLACE FUNCTION wib.export_write_file(query text, format text, formula_guard boolean, max_rows bigint, storage_key text,
                                      OUT rows bigint, OUT bytes bigint, OUT sha256 text)
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_write_file';
COMMENT ON FUNCTION wib.export_write_file(text, text, boolean, bigint, text) IS
    'Internal: writes the rows of a query to the export file of storage_key (via a .part file renamed when complete); returns rows, bytes and SHA-256.';

CREATE OR REPLACE FUNCTION wib.export_file_read(storage_key text, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_file_read';
COMMENT ON FUNCTION wib.export_file_read(text, bigint, integer) IS 'Internal: bytes of an export file.';

CREATE OR REPLACE FUNCTION wib.export_file_remove(storage_key text) RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_file_remove';
COMMENT ON FUNCTION wib.export_file_remove(text) IS 'Internal: removes an export file; false when it was already gone.';

CREATE OR REPLACE FUNCTION wib.export_token_sign(job_id uuid, organization_id uuid, expires_at timestamptz) RETURNS text
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_token_sign';
COMMENT ON FUNCTION wib.export_token_sign(uuid, uuid, timestamptz) IS
    'Internal: an HMAC-SHA256 signed download token for a job, valid until expires_at.';

CREATE OR REPLACE FUNCTION wib.export_token_verify(token text, OUT job_id uuid, OUT organization_id uuid, OUT expires_at timestamptz)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_token_verify';
COMMENT ON FUNCTION wib.export_token_verify(text) IS
    'Internal: checks a download token (WB201 forged or malformed, WB202 expired) and opens it for the rest of the transaction.';

CREATE OR REPLACE FUNCTION wib.export_token_org(job_id uuid) RETURNS uuid
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_token_org';
COMMENT ON FUNCTION wib.export_token_org(uuid) IS
    'Internal: the organization of job_id when a token for it was opened in this transaction, else NULL.';

-- Which filters each export type takes.
CREATE OR REPLACE FUNCTION wib.export_allowed_filters(export_type text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE export_type
        WHEN 'calls'      THEN ARRAY['date_from', 'date_to', 'agent_id', 'status', 'direction', 'formula_guard']
        WHEN 'recordings' THEN ARRAY['date_from', 'date_to', 'agent_id', 'status', 'formula_guard']
        WHEN 'analytics'  THEN ARRAY['date_from', 'date_to', 'agent_id', 'sentiment', 'formula_guard']
        WHEN 'contacts'   THEN ARRAY['date_from', 'date_to', 'role', 'formula_guard']
        WHEN 'audit_logs' THEN ARRAY['date_from', 'date_to', 'user_id', 'action', 'resource_type', 'formula_guard']
    END;
COMMENT ON FUNCTION wib.export_allowed_filters(text) IS 'Internal: the filter keys an export type accepts.';

-- A timestamp filter, or 22023 naming the key.
CREATE OR REPLACE FUNCTION wib.export_filter_time(filters jsonb, key text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v text := wib.field_text(filters, key, 64);
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        RETURN v::timestamptz;
    EXCEPTION WHEN others THEN
        PERFORM wib.invalid_field(key, format('%s must be an ISO 8601 timestamp such as 2026-01-31T00:00:00Z, not "%s".', key, v));
    END;
END
$$;
COMMENT ON FUNCTION wib.export_filter_time(jsonb, text) IS 'Internal: a timestamp filter, checked.';

-- A filter that must be one of a list, or 22023 naming the key.
CREATE OR REPLACE FUNCTION wib.export_filter_choice(filters jsonb, key text, allowed text[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text := wib.field_text(filters, key, 100);
BEGIN
    IF v IS NOT NULL AND v <> ALL (allowed) THEN
        PERFORM wib.invalid_field(key, format('%s must be one of %s, not "%s".', key, array_to_string(allowed, ', '), v));
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION wib.export_filter_choice(jsonb, text, text[]) IS 'Internal: a filter taking one of a list of values, checked.';

-- Checks export_type, format and filters (22023 naming the bad field or key).
CREATE OR REPLACE FUNCTION wib.export_check_request(export_type text, format text, filters jsonb) RETURNS void
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    date_from timestamptz;
    date_to   timestamptz;
BEGIN
    IF export_type IS NULL OR wib.export_allowed_filters(export_type) IS NULL THEN
        PERFORM wib.invalid_field('export_type',
            format('export_type must be one of calls, recordings, analytics, contacts, audit_logs, not %s.',
                   coalesce('"' || export_type || '"', 'NULL')));
    END IF;
    IF format IS NULL OR format NOT IN ('csv', 'json') THEN
        PERFORM wib.invalid_field('format', format('format must be csv or json, not %s.', coalesce('"' || format || '"', 'NULL')));
    END IF;
    PERFORM wib.check_fields(filters, wib.export_allowed_filters(export_type), 'filters');
    date_from := wib.export_filter_time(filters, 'date_from');
    date_to := wib.export_filter_time(filters, 'date_to');
    IF date_from IS NOT NULL AND date_to IS NOT NULL AND date_to <= date_from THEN
        PERFORM wib.invalid_field('date_to', 'date_to must be after date_from.');
    END IF;
    PERFORM wib.field_text(filters, 'agent_id', 255), wib.field_text(filters, 'user_id', 255),
            wib.field_text(filters, 'action', 100), wib.field_text(filters, 'resource_type', 100);
    PERFORM wib.export_filter_choice(filters, 'status',
        CASE export_type WHEN 'recordings' THEN ARRAY['processing', 'ready', 'failed']
                         ELSE ARRAY['queued', 'ringing', 'in_progress', 'completed', 'failed', 'busy', 'no_answer', 'canceled'] END);
    PERFORM wib.export_filter_choice(filters, 'direction', ARRAY['inbound', 'outbound']);
    PERFORM wib.export_filter_choice(filters, 'sentiment', ARRAY['positive', 'negative', 'neutral', 'mixed']);
    PERFORM wib.export_filter_choice(filters, 'role', ARRAY['owner', 'admin', 'manager', 'agent', 'viewer']);
    IF filters ? 'formula_guard' AND jsonb_typeof(filters -> 'formula_guard') <> 'boolean' THEN
        PERFORM wib.invalid_field('formula_guard',
            format('formula_guard must be true or false, not %s.', jsonb_typeof(filters -> 'formula_guard')));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.export_check_request(text, text, jsonb) IS
    'Internal: raises 22023 naming the field or filter key when an export request is not valid.';

-- The query of an export: always scoped to org, whatever the filters say; every
-- filter value is quoted as a literal.  date_from is inclusive, date_to exclusive.
CREATE OR REPLACE FUNCTION wib.export_query(export_type text, filters jsonb, org uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    q text;
    time_col text;
    agent_col text;
    conds text[] := '{}';
BEGIN
    PERFORM wib.export_check_request(export_type, 'csv', filters);
    IF org IS NULL THEN
        PERFORM wib.invalid_field('org', 'An export needs an organization.');
    END IF;
    CASE export_type
    WHEN 'calls' THEN
        q := 'SELECT c.id, c.agent_id, c.campaign_id, c.direction, c.from_number, c.to_number, c.status,'
             ' c.disposition, c.telnyx_call_id, c.started_at, c.ended_at, c.duration_seconds, c.created_at'
             ' FROM wib.calls c WHERE c.organization_id = ' || quote_literal(org);
        time_col := 'c.started_at';
        agent_col := 'c.agent_id';
        IF filters ? 'status' THEN conds := conds || ('c.status = ' || quote_literal(filters ->> 'status')); END IF;
        IF filters ? 'direction' THEN conds := conds || ('c.direction = ' || quote_literal(filters ->> 'direction')); END IF;
    WHEN 'recordings' THEN
        q := 'SELECT r.id, r.call_id, c.agent_id, r.status, r.duration_seconds, r.recording_url, r.transcript,'
             ' r.created_at FROM wib.recordings r'
             ' JOIN wib.calls c ON c.organization_id = r.organization_id AND c.id = r.call_id'
             ' WHERE r.organization_id = ' || quote_literal(org);
        time_col := 'r.created_at';
        agent_col := 'c.agent_id';
        IF filters ? 'status' THEN conds := conds || ('r.status = ' || quote_literal(filters ->> 'status')); END IF;
    WHEN 'analytics' THEN
        q := 'SELECT c.id AS call_id, c.agent_id, c.started_at, c.duration_seconds, c.status AS call_status,'
             ' s.overall_sentiment, s.sentiment_score, s.positive_pct, s.negative_pct, s.neutral_pct,'
             ' to_jsonb(s.key_phrases) AS key_phrases, s.summary, s.model, s.created_at AS analyzed_at'
             ' FROM wib.ai_summaries s'
             ' JOIN wib.calls c ON c.organization_id = s.organization_id AND c.id = s.call_id'
             ' WHERE s.organization_id = ' || quote_literal(org);
        time_col := 'c.started_at';
        agent_col := 'c.agent_id';
        IF filters ? 'sentiment' THEN conds := conds || ('s.overall_sentiment = ' || quote_literal(filters ->> 'sentiment')); END IF;
    WHEN 'contacts' THEN
        q := 'SELECT u.id, u.name, u.email, u.role, u.created_at, u.updated_at'
             ' FROM wib.users u WHERE u.organization_id = ' || quote_literal(org);
        time_col := 'u.created_at';
        IF filters ? 'role' THEN conds := conds || ('u.role = ' || quote_literal(filters ->> 'role')); END IF;
    WHEN 'audit_logs' THEN
        q := 'SELECT a.id, a.created_at, a.user_id, a.action, a.resource_type, a.resource_id, a.old_value, a.new_value'
             ' FROM wib.audit_log a WHERE a.organization_id = ' || quote_literal(org);
        time_col := 'a.created_at';
        agent_col := 'a.user_id';
        IF filters ? 'action' THEN conds := conds || ('a.action = ' || quote_literal(filters ->> 'action')); END IF;
        IF filters ? 'resource_type' THEN conds := conds || ('a.resource_type = ' || quote_literal(filters ->> 'resource_type')); END IF;
        IF filters ? 'user_id' THEN conds := conds || ('a.user_id = ' || quote_literal(filters ->> 'user_id')); END IF;
    END CASE;
    IF filters ? 'agent_id' AND agent_col IS NOT NULL THEN
        conds := conds || (agent_col || ' = ' || quote_literal(filters ->> 'agent_id'));
    END IF;
    IF wib.export_filter_time(filters, 'date_from') IS NOT NULL THEN
        conds := conds || (time_col || ' >= ' || quote_literal(wib.export_filter_time(filters, 'date_from')) || '::timestamptz');
    END IF;
    IF wib.export_filter_time(filters, 'date_to') IS NOT NULL THEN
        conds := conds || (time_col || ' < ' || quote_literal(wib.export_filter_time(filters, 'date_to')) || '::timestamptz');
    END IF;
    IF cardinality(conds) > 0 THEN
        q := q || ' AND ' || array_to_string(conds, ' AND ');
    END IF;
    RETURN q || ' ORDER BY ' || time_col;
END
$$;
COMMENT ON FUNCTION wib.export_query(text, jsonb, uuid) IS
    'Internal: the SELECT of an export type for one organization with its filters applied (values quoted as literals).';

-- The largest export the plan of the organization in context allows, checking
-- the features first (WB001); rows, when known, is checked against it (WB205).
-- Returns the row limit to enforce while writing (0 = unlimited).
CREATE OR REPLACE FUNCTION wib.export_check_plan(export_type text, rows bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    quota   bigint;
    starter bigint := (SELECT l.value FROM wib.plan_limits l WHERE l.plan = 'starter' AND l.limit_name = 'export_rows');
    bulk    boolean;
    allowed bigint;
BEGIN
    PERFORM wib.require_feature('csv_export');
    IF export_type = 'analytics' THEN
        PERFORM wib.require_feature('analytics_export');
    END IF;
    quota := wib.plan_limit('export_rows');
    bulk := wib.has_feature('bulk_export');
    allowed := CASE WHEN bulk THEN quota ELSE least(quota, coalesce(starter, 0)) END;
    IF rows IS NOT NULL AND quota IS NOT NULL AND rows > quota THEN
        RAISE EXCEPTION USING ERRCODE = 'WB205',
            MESSAGE = format('export of %s rows exceeds the row limit of %s on plan "%s"', rows, quota, wib.current_plan()),
            DETAIL = 'Exports are refused rather than cut short.',
            HINT = 'Narrow the filters (for example date_from and date_to) or upgrade the plan.';
    END IF;
    IF rows IS NOT NULL AND rows > coalesce(starter, 0) THEN
        PERFORM wib.require_feature('bulk_export');
    END IF;
    IF allowed = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'WB205',
            MESSAGE = format('plan "%s" allows no export rows', wib.current_plan()),
            HINT = 'Upgrade the plan.';
    END IF;
    RETURN coalesce(allowed, 0);
END
$$;
COMMENT ON FUNCTION wib.export_check_plan(text, bigint) IS
    'Internal: checks the plan allows an export (csv_export, analytics_export, bulk_export above the starter row limit, the export_rows limit) and returns the row limit to enforce.';

-- Moves the export job runner ahead and wakes the scheduler at commit.
CREATE OR REPLACE FUNCTION wib.export_kick() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    -- SKIP LOCKED: a concurrent request that holds the row makes it due at its commit anyway,
    -- so requests never queue behind each other here.
    UPDATE wib.scheduled_jobs j SET next_run_at = now()
     WHERE j.name = (SELECT s.name FROM wib.scheduled_jobs s
                      WHERE s.name = 'export_jobs' AND s.enabled AND s.next_run_at > now()
                      FOR UPDATE SKIP LOCKED);
    PERFORM wib.wake('scheduler');
END
$$;
COMMENT ON FUNCTION wib.export_kick() IS 'Internal: makes the export job runner due now and wakes the scheduler when the transaction commits.';

CREATE OR REPLACE FUNCTION wib.export_create(export_type text, format text DEFAULT 'csv', filters jsonb DEFAULT '{}',
                                  idempotency_key text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org    uuid := wib.require_org();
    replay jsonb;
    n      bigint;
    job    wib.export_jobs;
BEGIN
    PERFORM wib.export_check_request(export_type, format, filters);
    IF idempotency_key IS NOT NULL THEN
        replay := wib.idempotency_begin(idempotency_key,
                      jsonb_build_object('op', 'export_create', 'export_type', export_type,
                                         'format', format, 'filters', filters));
        IF replay IS NOT NULL THEN
            RETURN (replay ->> 'id')::uuid;
        END IF;
    END IF;
    PERFORM wib.export_check_plan(export_type);
    PERFORM wib.rate_limit_check('export_create:' || org, current_setting('wib.export_rate_limit')::integer, interval '1 hour');
    EXECUTE 'SELECT count(*) FROM (' || wib.export_query(export_type, filters, org) || ') s' INTO n;
    PERFORM wib.export_check_plan(export_type, n);

    INSERT INTO wib.export_jobs (organization_id, user_id, export_type, format, filters, estimated_rows)
    VALUES (org, wib.current_user_id(), export_type, format, filters, n)
    RETURNING * INTO job;
    PERFORM wib.audit('export:requested', 'export', job.id::text, NULL,
                      jsonb_build_object('export_type', export_type, 'format', format,
                                         'filters', filters, 'estimated_rows', n));
    IF idempotency_key IS NOT NULL THEN
        PERFORM wib.idempotency_finish(idempotency_key, jsonb_build_object('id', job.id));
    END IF;
    PERFORM wib.export_kick();
    RETURN job.id;
END
$$;
COMMENT ON FUNCTION wib.export_create(text, text, jsonb, text) IS
    'Requests an export (calls, recordings, analytics, contacts, audit_logs) as csv or json with filters; plan-gated, refused up front past the plan''s row limit (WB205), rate-limited, idempotent with idempotency_key; audited export:requested. Returns the job id.';

-- Validates a streaming request and returns what wib.export_stream needs.
CREATE OR REPLACE FUNCTION wib.export_prepare(export_type text, format text, filters jsonb,
                                   OUT query text, OUT fmt text, OUT formula_guard boolean, OUT max_rows bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    f jsonb := coalesce(filters, '{}'::jsonb);
BEGIN
    PERFORM wib.export_check_request(export_prepare.export_type, export_prepare.format, f);
    max_rows := wib.export_check_plan(export_prepare.export_type);
    query := wib.export_query(export_prepare.export_type, f, wib.require_org());
    fmt := export_prepare.format;
    formula_guard := coalesce((f ->> 'formula_guard')::boolean, true);
    PERFORM wib.audit('export:streamed', 'export', NULL, NULL,
                      jsonb_build_object('export_type', export_prepare.export_type, 'format', export_prepare.format,
                                         'filters', f));
END
$$;
COMMENT ON FUNCTION wib.export_prepare(text, text, jsonb) IS
    'Internal: checks a streaming export request against the plan and builds its query; audited export:streamed.';

CREATE OR REPLACE FUNCTION wib.export_stream(export_type text, format text DEFAULT 'csv', filters jsonb DEFAULT '{}')
    RETURNS SETOF text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_stream';
COMMENT ON FUNCTION wib.export_stream(text, text, jsonb) IS
    'Streams an export to the caller as chunks of whole lines (about 64 kB each; concatenate them in order), with the same checks as wib.export_create; stops with WB205 past the plan''s row limit.';

-- Runs pending export jobs (the scheduler calls it; so can pg_cron or an operator).
-- Each job runs in a subtransaction: a failure marks it failed, a crash rolls
-- its claim back to pending, so it is picked up again and rewritten.
CREATE OR REPLACE FUNCTION wib.run_export_jobs(max_jobs integer DEFAULT 10) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    job       wib.export_jobs;
    done      integer := 0;
    prev_org  text := coalesce(current_setting('wib.org_id', true), '');
    prev_user text := coalesce(current_setting('wib.user_id', true), '');
    max_rows  bigint;
    res       record;
    detail    text;
BEGIN
    LOOP
        EXIT WHEN done >= coalesce(max_jobs, 10);
        SELECT * INTO job FROM wib.export_jobs j
         WHERE j.status = 'pending'
            OR (j.status = 'processing' AND j.started_at < now() - interval '1 hour')
         ORDER BY j.created_at
         LIMIT 1
         FOR UPDATE SKIP LOCKED;
        EXIT WHEN NOT FOUND;

        PERFORM set_config('wib.org_id', job.organization_id::text, true);
        PERFORM set_config('wib.user_id', coalesce(job.user_id, ''), true);
        UPDATE wib.export_jobs j
           SET status = 'processing', started_at = clock_timestamp(), attempts = j.attempts + 1,
               progress_rows = 0, error_detail = NULL
         WHERE j.organization_id = job.organization_id AND j.id = job.id;
        BEGIN
            max_rows := wib.export_check_plan(job.export_type);
            SELECT * INTO res
              FROM wib.export_write_file(wib.export_query(job.export_type, job.filters, job.organization_id),
                                         job.format, coalesce((job.filters ->> 'formula_guard')::boolean, true),
                                         max_rows, job.storage_key);
            UPDATE wib.export_jobs j
               SET status = 'completed', total_rows = res.rows, progress_rows = res.rows,
                   file_size_bytes = res.bytes, sha256 = res.sha256, completed_at = clock_timestamp(),
                   expires_at = clock_timestamp() + current_setting('wib.export_ttl')::interval
             WHERE j.organization_id = job.organization_id AND j.id = job.id
            RETURNING * INTO job;
        EXCEPTION WHEN others THEN
            GET STACKED DIAGNOSTICS detail = MESSAGE_TEXT;
            UPDATE wib.export_jobs j
               SET status = 'failed', error_detail = detail, completed_at = clock_timestamp()
             WHERE j.organization_id = job.organization_id AND j.id = job.id
            RETURNING * INTO job;
        END;
        IF job.status = 'completed' THEN
            BEGIN
                PERFORM wib.emit_event('export.completed',
                        jsonb_build_object('export_id', job.id, 'export_type', job.export_type,
                                           'format', job.format, 'total_rows', job.total_rows,
                                           'file_size_bytes', job.file_size_bytes, 'sha256', job.sha256,
                                           'expires_at', job.expires_at));
            EXCEPTION WHEN others THEN
                GET STACKED DIAGNOSTICS detail = MESSAGE_TEXT;
                RAISE WARNING 'export.completed event of export % was not emitted: %', job.id, detail;
            END;
        END IF;
        done := done + 1;
    END LOOP;
    PERFORM set_config('wib.org_id', prev_org, true);
    PERFORM set_config('wib.user_id', prev_user, true);
    -- More waiting that nobody is writing: make the scheduler's job due again at once (it runs
    -- one job per transaction).  Jobs another runner holds do not count, so nothing spins.
    IF done > 0 THEN
        PERFORM 1 FROM wib.export_jobs j WHERE j.status = 'pending' LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            PERFORM wib.export_kick();
        END IF;
    END IF;
    RETURN done;
END
$$;
COMMENT ON FUNCTION wib.run_export_jobs(integer) IS
    'Runs up to max_jobs pending export jobs into files under wib.export_directory, in the caller''s transaction; returns how many ran. The scheduler runs it with max_jobs 1 (job export_jobs) and comes back at once while jobs wait.';

-- Status of an export with live progress: a job being written is still pending
-- in the table (its claim commits with its result), so the backend writing it
-- is found by its activity and its progress read from pg_stat_progress_copy.
CREATE OR REPLACE FUNCTION wib.export_status(id uuid)
    RETURNS TABLE (status text, rows_written bigint, bytes_written bigint, total_rows bigint,
                   started_at timestamptz, completed_at timestamptz, expires_at timestamptz, error_detail text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    job wib.export_jobs;
BEGIN
    SELECT * INTO job FROM wib.export_jobs j WHERE j.organization_id = wib.require_org() AND j.id = export_status.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('export %s does not exist', id);
    END IF;
    status := job.status;
    rows_written := job.progress_rows;
    bytes_written := coalesce(job.file_size_bytes, 0);
    total_rows := job.total_rows;
    started_at := job.started_at;
    completed_at := job.completed_at;
    expires_at := job.expires_at;
    error_detail := job.error_detail;
    IF job.status IN ('pending', 'processing') THEN
        SELECT 'processing', p.tuples_processed, p.bytes_processed, a.query_start
          INTO status, rows_written, bytes_written, started_at
          FROM pg_catalog.pg_stat_activity a
          JOIN pg_catalog.pg_stat_progress_copy p ON p.pid = a.pid
         WHERE a.query = 'wib export ' || job.storage_key
         LIMIT 1;
        IF NOT FOUND THEN
            status := job.status;
        END IF;
    END IF;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wib.export_status(uuid) IS
    'Status of an export of the organization in context, with live rows_written and bytes_written while the job runner writes it (status processing).';

-- Reads a chunk of a completed export of the organization in context, or of
-- the export whose download token was opened in this transaction.
CREATE OR REPLACE FUNCTION wib.export_file_chunk(id uuid, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org uuid := coalesce(wib.export_token_org(export_file_chunk.id), wib.require_org());
    job wib.export_jobs;
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the UUID of an export.');
    END IF;
    SELECT * INTO job FROM wib.export_jobs j WHERE j.organization_id = org AND j.id = export_file_chunk.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('export %s does not exist', id);
    END IF;
    IF job.status = 'expired' OR (job.status = 'completed' AND job.expires_at <= now()) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB204', MESSAGE = format('export %s has expired', id),
            DETAIL = format('Its file was kept until %s.', job.expires_at), HINT = 'Request the export again.';
    END IF;
    IF job.status <> 'completed' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB203', MESSAGE = format('export %s is not ready', id),
            DETAIL = format('Its status is %s.', job.status);
    END IF;
    IF "offset" IS NULL OR "offset" < 0 THEN
        PERFORM wib.invalid_field('offset', 'offset must be zero or more.');
    END IF;
    IF length IS NULL OR length < 1 THEN
        PERFORM wib.invalid_field('length', 'length must be at least 1.');
    END IF;
    IF "offset" = 0 THEN
        PERFORM wib.audit('export:downloaded', 'export', job.id::text, NULL,
                          jsonb_build_object('file_size_bytes', job.file_size_bytes, 'sha256', job.sha256), org);
    END IF;
    IF "offset" >= job.file_size_bytes THEN
        RETURN '\x'::bytea;
    END IF;
    RETURN wib.export_file_read(job.storage_key, "offset", length);
END
$$;
COMMENT ON FUNCTION wib.export_file_chunk(uuid, bigint, integer) IS
    'Internal: bytes of a completed export of the organization in context (or opened by token); audits export:downloaded at offset 0.';

CREATE OR REPLACE FUNCTION wib.export_read(id uuid, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE sql VOLATILE
    RETURN wib.export_file_chunk(id, "offset", length);
COMMENT ON FUNCTION wib.export_read(uuid, bigint, integer) IS
    'Up to length bytes of a completed export from offset (empty past the end); reading offset 0 starts a download and is audited export:downloaded. WB203 not ready, WB204 expired, P0002 unknown.';

CREATE OR REPLACE FUNCTION wib.export_sign(id uuid, ttl interval) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    org uuid := wib.require_org();
    job wib.export_jobs;
BEGIN
    SELECT * INTO job FROM wib.export_jobs j WHERE j.organization_id = org AND j.id = export_sign.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('export %s does not exist', id);
    END IF;
    IF job.status = 'expired' OR (job.status = 'completed' AND job.expires_at <= now()) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB204', MESSAGE = format('export %s has expired', id);
    END IF;
    IF job.status <> 'completed' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB203', MESSAGE = format('export %s is not ready', id),
            DETAIL = format('Its status is %s.', job.status);
    END IF;
    RETURN wib.export_token_sign(job.id, org, least(now() + ttl, job.expires_at));
END
$$;
COMMENT ON FUNCTION wib.export_sign(uuid, interval) IS 'Internal: signs a download token for a completed export of the organization in context.';

CREATE OR REPLACE FUNCTION wib.export_download_token(id uuid, ttl interval DEFAULT '1 hour') RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the UUID of an export.');
    END IF;
    IF ttl IS NULL OR ttl <= interval '0' OR ttl > interval '7 days' THEN
        PERFORM wib.invalid_field('ttl', 'ttl must be a positive interval of at most 7 days.');
    END IF;
    RETURN wib.export_sign(id, ttl);
END
$$;
COMMENT ON FUNCTION wib.export_download_token(uuid, interval) IS
    'An HMAC-signed download token for a completed export, valid for ttl (at most until the file expires): the pre-signed link of the platform.';

CREATE OR REPLACE FUNCTION wib.export_open(token text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    t   record;
    job wib.export_jobs;
BEGIN
    SELECT * INTO t FROM wib.export_token_verify(token);
    SELECT * INTO job FROM wib.export_jobs j WHERE j.organization_id = t.organization_id AND j.id = t.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('export %s does not exist', t.job_id);
    END IF;
    IF job.status <> 'completed' OR job.expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'WB204', MESSAGE = format('export %s has expired', t.job_id),
            HINT = 'Request the export again.';
    END IF;
    RETURN job.id;
END
$$;
COMMENT ON FUNCTION wib.export_open(text) IS
    'Checks a download token (WB201 forged or malformed, WB202 expired, WB204 export expired) and returns the export id; wib.export_read may then read that export in the same transaction without a tenant context.';

-- Retention: removes the files of exports past expires_at and marks them expired.
CREATE OR REPLACE FUNCTION wib.export_expire() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    job wib.export_jobs;
    n   bigint := 0;
BEGIN
    FOR job IN SELECT * FROM wib.export_jobs j
                WHERE j.status = 'completed' AND j.expires_at <= now()
                ORDER BY j.expires_at
                FOR UPDATE SKIP LOCKED LOOP
        PERFORM wib.export_file_remove(job.storage_key);
        UPDATE wib.export_jobs j SET status = 'expired'
         WHERE j.organization_id = job.organization_id AND j.id = job.id;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.export_expire() IS
    'Removes the files of completed exports past expires_at and marks them expired; returns how many (retention policy export_files).';

-- The event a completed job emits, in the webhooks catalogue so that wib.emit_event
-- accepts it and subscriptions can ask for it.
INSERT INTO wib.webhook_event_types (event_type, description, example) VALUES
    ('export.completed', 'An export job finished writing its file (feature exports).',
     '{"export_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10", "export_type": "calls", "format": "csv", "total_rows": 1000000, "file_size_bytes": 213909504, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "expires_at": "2026-11-25T12:00:00Z"}');

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('export_files', 'SELECT wib.export_expire()',
     'Export files past expires_at (wib.export_ttl after completion): file removed, job marked expired.');

INSERT INTO wib.scheduled_jobs (name, command, run_every, description) VALUES
    ('export_jobs', 'SELECT wib.run_export_jobs(1)', interval '1 minute',
     'Runs pending export jobs into files, one per transaction (wib.export_create, and each run while jobs wait, make it due at once).');

-- Privileges: applications call the API as themselves; the C helpers stay closed.
GRANT EXECUTE ON FUNCTION
    wib.export_create(text, text, jsonb, text), wib.export_stream(text, text, jsonb),
    wib.export_read(uuid, bigint, integer), wib.export_download_token(uuid, interval),
    wib.export_open(text), wib.export_status(uuid),
    wib.export_allowed_filters(text), wib.export_filter_time(jsonb, text),
    wib.export_filter_choice(jsonb, text, text[]), wib.export_check_request(text, text, jsonb),
    wib.export_query(text, jsonb, uuid), wib.export_check_plan(text, bigint),
    wib.export_kick(), wib.export_prepare(text, text, jsonb),
    wib.export_file_chunk(uuid, bigint, integer), wib.export_sign(uuid, interval)
TO wib_app;
GRANT SELECT ON wib.export_jobs TO wib_app;
GRANT INSERT (organization_id, user_id, export_type, format, filters, estimated_rows) ON wib.export_jobs TO wib_app;
GRANT EXECUTE ON FUNCTION wib.run_export_jobs(integer), wib.export_expire() TO wib_admin;

-- ==== src/sql/30_ivr.sql
-- Inbound IVR: numbers, menus and their options, the call log, compliance of
-- what a menu says, and the call flow Telnyx drives through wib.ivr_webhook.
-- Errors of its own: WB007 signature invalid, WB301 Telnyx key not configured,
-- WB302 prohibited phrase, WB303 number provisioned elsewhere, WB304 menu in
-- use, WB305 dialled number or call unknown (docs/ivr.md).

CREATE OR REPLACE FUNCTION wib.ivr_is_e164(number text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN number ~ '^\+[1-9][0-9]{1,14}$';
COMMENT ON FUNCTION wib.ivr_is_e164(text) IS 'True for an E.164 number: +, a non-zero digit, then 1 to 14 digits.';

CREATE TABLE wib.ivr_menus (
    organization_id    uuid        NOT NULL,
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    name               text        NOT NULL,
    greeting_type      text        NOT NULL DEFAULT 'tts',
    greeting_text      text,
    greeting_audio_url text,
    voice              text        NOT NULL DEFAULT 'woman',
    language           text        NOT NULL DEFAULT 'en-US',
    timeout_seconds    integer     NOT NULL DEFAULT 5,
    max_retries        integer     NOT NULL DEFAULT 3,
    fallback_action    text        NOT NULL DEFAULT 'hangup',
    fallback_target    text,
    disclosure_text    text        NOT NULL DEFAULT 'This call may be recorded for quality assurance.',
    invalid_prompt     text        NOT NULL DEFAULT 'Sorry, that is not a valid choice.',
    voicemail_prompt   text        NOT NULL DEFAULT 'Please leave a message after the tone.',
    survey_disclaimer  text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ivr_menus_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT ivr_menus_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT ivr_menus_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    CONSTRAINT ivr_menus_greeting_type_check CHECK (greeting_type IN ('tts', 'audio_url')),
    CONSTRAINT ivr_menus_greeting_check CHECK (
        (greeting_type = 'tts' AND greeting_text IS NOT NULL)
        OR (greeting_type = 'audio_url' AND greeting_audio_url ~ '^https?://[^[:space:]]+$')),
    CONSTRAINT ivr_menus_voice_check CHECK (voice ~ '^(man|woman|alice|Polly\.[A-Za-z]{1,34}(-Neural)?)$'),
    CONSTRAINT ivr_menus_language_check CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$'),
    CONSTRAINT ivr_menus_timeout_check CHECK (timeout_seconds BETWEEN 1 AND 120),
    CONSTRAINT ivr_menus_retries_check CHECK (max_retries BETWEEN 0 AND 10),
    CONSTRAINT ivr_menus_fallback_check CHECK (fallback_action IN ('voicemail', 'hangup', 'transfer', 'repeat')),
    CONSTRAINT ivr_menus_fallback_target_check CHECK (
        (fallback_action = 'transfer') = (fallback_target IS NOT NULL)
        AND (fallback_target IS NULL OR wib.ivr_is_e164(fallback_target))),
    CONSTRAINT ivr_menus_disclosure_check CHECK (length(btrim(disclosure_text)) BETWEEN 1 AND 1000)
);
COMMENT ON TABLE wib.ivr_menus IS
    'IVR menus: greeting, timing, fallback, and the recording disclosure always played first.';
SELECT wib.make_tenant_table('wib.ivr_menus');
CREATE OR REPLACE TRIGGER ivr_menus_touch BEFORE UPDATE ON wib.ivr_menus
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.ivr_menu_options (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    menu_id         uuid        NOT NULL,
    digit           text        NOT NULL,
    action_type     text        NOT NULL,
    prompt          text,
    action_target   text,
    target_menu_id  uuid,
    position        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ivr_menu_options_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT ivr_menu_options_digit_key UNIQUE (organization_id, menu_id, digit),
    CONSTRAINT ivr_menu_options_menu_fkey FOREIGN KEY (organization_id, menu_id)
        REFERENCES wib.ivr_menus (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT ivr_menu_options_target_menu_fkey FOREIGN KEY (organization_id, target_menu_id)
        REFERENCES wib.ivr_menus (organization_id, id),
    CONSTRAINT ivr_menu_options_digit_check CHECK (digit ~ '^[0-9*#]$'),
    CONSTRAINT ivr_menu_options_action_check
        CHECK (action_type IN ('transfer', 'submenu', 'voicemail', 'survey', 'hangup', 'repeat')),
    CONSTRAINT ivr_menu_options_target_check CHECK (
        CASE action_type
            WHEN 'transfer' THEN wib.ivr_is_e164(action_target) AND target_menu_id IS NULL
            WHEN 'submenu'  THEN target_menu_id IS NOT NULL AND action_target IS NULL
            WHEN 'survey'   THEN action_target ~ '^https?://[^[:space:]]+$' AND target_menu_id IS NULL
            ELSE action_target IS NULL AND target_menu_id IS NULL
        END),
    CONSTRAINT ivr_menu_options_prompt_check CHECK (prompt IS NULL OR length(prompt) <= 500)
);
CREATE INDEX ivr_menu_options_target_idx ON wib.ivr_menu_options (organization_id, target_menu_id)
    WHERE target_menu_id IS NOT NULL;
COMMENT ON TABLE wib.ivr_menu_options IS
    'The keys of an IVR menu (0-9, *, #) and what each does: transfer, submenu, voicemail, survey, hangup, repeat.';
SELECT wib.make_tenant_table('wib.ivr_menu_options');

CREATE TABLE wib.inbound_numbers (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    phone_number     text        NOT NULL,
    number_type      text        NOT NULL DEFAULT 'local',
    display_name     text,
    menu_id          uuid,
    status           text        NOT NULL DEFAULT 'active',
    telnyx_number_id text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    released_at      timestamptz,
    CONSTRAINT inbound_numbers_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT inbound_numbers_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT inbound_numbers_menu_fkey FOREIGN KEY (organization_id, menu_id)
        REFERENCES wib.ivr_menus (organization_id, id) ON DELETE SET NULL (menu_id),
    CONSTRAINT inbound_numbers_phone_check CHECK (wib.ivr_is_e164(phone_number)),
    CONSTRAINT inbound_numbers_type_check CHECK (number_type IN ('local', 'toll_free')),
    CONSTRAINT inbound_numbers_status_check CHECK (status IN ('active', 'suspended', 'released')),
    CONSTRAINT inbound_numbers_display_name_check CHECK (display_name IS NULL OR length(display_name) <= 100),
    CONSTRAINT inbound_numbers_released_check CHECK ((status = 'released') = (released_at IS NOT NULL))
);
CREATE UNIQUE INDEX inbound_numbers_phone_key ON wib.inbound_numbers (organization_id, phone_number)
    WHERE status <> 'released';
CREATE INDEX inbound_numbers_menu_idx ON wib.inbound_numbers (organization_id, menu_id) WHERE menu_id IS NOT NULL;
COMMENT ON TABLE wib.inbound_numbers IS
    'Phone numbers (DIDs) an organization receives calls on, and the IVR menu each answers with.';
COMMENT ON COLUMN wib.inbound_numbers.telnyx_number_id IS
    'Telnyx''s id of the number once ordered through its API (filled by the provisioning step; NULL until then).';
SELECT wib.make_tenant_table('wib.inbound_numbers');
CREATE OR REPLACE TRIGGER inbound_numbers_touch BEFORE UPDATE ON wib.inbound_numbers
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- The dialled number names its organization: the inbound webhook has no tenant
-- context yet, so it finds the organization here, through wib.ivr_route only.
CREATE TABLE wib.inbound_number_routes (
    phone_number    text NOT NULL,
    organization_id uuid NOT NULL,
    number_id       uuid NOT NULL,
    -- The key includes the tenant like every tenant table's; that a number is
    -- routed to one organization at a time is kept by wib.inbound_numbers_route.
    CONSTRAINT inbound_number_routes_pkey PRIMARY KEY (phone_number, organization_id),
    CONSTRAINT inbound_number_routes_number_fkey FOREIGN KEY (organization_id, number_id)
        REFERENCES wib.inbound_numbers (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX inbound_number_routes_number_idx ON wib.inbound_number_routes (organization_id, number_id);
COMMENT ON TABLE wib.inbound_number_routes IS
    'Internal: which organization each provisioned (not released) number belongs to, kept by a trigger on inbound_numbers; a number belongs to one organization at a time.';
SELECT wib.make_tenant_table('wib.inbound_number_routes');

CREATE TABLE wib.inbound_call_log (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    number_id        uuid        NOT NULL,
    call_sid         text        NOT NULL,
    from_number      text,
    to_number        text        NOT NULL,
    menu_id          uuid,
    current_menu_id  uuid,
    attempt          integer     NOT NULL DEFAULT 0,
    ivr_path         jsonb       NOT NULL DEFAULT '[]',
    final_action     text,
    status           text        NOT NULL DEFAULT 'in_progress',
    hangup_cause     text,
    recording_url    text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    duration_seconds integer,
    CONSTRAINT inbound_call_log_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT inbound_call_log_call_sid_key UNIQUE (organization_id, call_sid),
    CONSTRAINT inbound_call_log_number_fkey FOREIGN KEY (organization_id, number_id)
        REFERENCES wib.inbound_numbers (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT inbound_call_log_menu_fkey FOREIGN KEY (organization_id, menu_id)
        REFERENCES wib.ivr_menus (organization_id, id) ON DELETE SET NULL (menu_id),
    CONSTRAINT inbound_call_log_current_menu_fkey FOREIGN KEY (organization_id, current_menu_id)
        REFERENCES wib.ivr_menus (organization_id, id) ON DELETE SET NULL (current_menu_id),
    CONSTRAINT inbound_call_log_path_check CHECK (jsonb_typeof(ivr_path) = 'array'),
    CONSTRAINT inbound_call_log_status_check CHECK (status IN ('in_progress', 'completed', 'rejected')),
    CONSTRAINT inbound_call_log_final_action_check CHECK (final_action IS NULL OR final_action IN
        ('transfer', 'voicemail', 'survey', 'hangup', 'rejected', 'abandoned')),
    CONSTRAINT inbound_call_log_duration_check CHECK (duration_seconds IS NULL OR duration_seconds >= 0)
);
CREATE INDEX inbound_call_log_started_idx ON wib.inbound_call_log (organization_id, started_at);
CREATE INDEX inbound_call_log_number_idx ON wib.inbound_call_log (organization_id, number_id, started_at);
COMMENT ON TABLE wib.inbound_call_log IS
    'One row per inbound call: the menus and keys it went through (ivr_path, [{digit, menu, ts}]) and how it ended.';
SELECT wib.make_tenant_table('wib.inbound_call_log');

-- Compliance: what an IVR may not say (persuasion or commitment), per the
-- platform's AI role policy.  Operators (wib_admin) edit the list.
CREATE TABLE wib.ivr_prohibited_phrases (
    phrase     text        NOT NULL,
    reason     text        NOT NULL DEFAULT 'persuasion or commitment',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ivr_prohibited_phrases_pkey PRIMARY KEY (phrase),
    CONSTRAINT ivr_prohibited_phrases_phrase_check CHECK (length(btrim(phrase)) BETWEEN 1 AND 200 AND phrase = btrim(phrase))
);
CREATE UNIQUE INDEX ivr_prohibited_phrases_lower_key ON wib.ivr_prohibited_phrases (lower(phrase));
COMMENT ON TABLE wib.ivr_prohibited_phrases IS
    'Phrases an IVR greeting or prompt may not contain (matched case-insensitively on word boundaries); operators edit it.';
SELECT pg_catalog.pg_extension_config_dump('wib.ivr_prohibited_phrases', '');

INSERT INTO wib.ivr_prohibited_phrases (phrase, reason) VALUES
    ('I can offer', 'persuasion'), ('we can offer', 'persuasion'), ('special offer', 'persuasion'),
    ('you should', 'persuasion'), ('you must buy', 'persuasion'), ('I recommend', 'persuasion'),
    ('act now', 'persuasion'), ('limited time', 'persuasion'), ('don''t miss', 'persuasion'),
    ('best deal', 'persuasion'), ('let''s negotiate', 'negotiation'), ('we can negotiate', 'negotiation'),
    ('I promise', 'commitment'), ('we promise', 'commitment'), ('guaranteed', 'commitment'),
    ('guarantee', 'commitment'), ('risk-free', 'commitment'), ('no risk', 'commitment');

-- Raises WB302 naming the phrase and the field when text contains a prohibited
-- phrase: case-insensitive, on word boundaries, any run of spaces matching one.
CREATE OR REPLACE FUNCTION wib.ivr_compliance_check(txt text, field text) RETURNS void
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    hit text;
BEGIN
    IF txt IS NULL OR btrim(txt) = '' THEN
        RETURN;
    END IF;
    SELECT p.phrase INTO hit
      FROM wib.ivr_prohibited_phrases p
     WHERE txt ~* ('(^|[^[:alnum:]_])'
                   || regexp_replace(regexp_replace(p.phrase, '([].^$*+?(){}|[\\])', '\\\1', 'g'), '\s+', '\\s+', 'g')
                   || '($|[^[:alnum:]_])')
     ORDER BY length(p.phrase) DESC, p.phrase
     LIMIT 1;
    IF hit IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB302',
            MESSAGE = format('prohibited phrase "%s" in %s', hit, field),
            DETAIL = 'IVR texts may not persuade, negotiate or make commitments (see wib.ivr_prohibited_phrases).',
            HINT = 'Reword the text so that it informs without persuading or promising.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.ivr_compliance_check(text, text) IS
    'Raises WB302 naming the phrase and field when txt contains a phrase of wib.ivr_prohibited_phrases (case-insensitive, word boundaries).';

-- An integer field of a JSON document in [lo, hi], or dflt when absent.
CREATE OR REPLACE FUNCTION wib.ivr_field_int(doc jsonb, key text, lo integer, hi integer, dflt integer) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v jsonb := doc -> key;
    n numeric;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN dflt;
    END IF;
    IF jsonb_typeof(v) <> 'number' THEN
        PERFORM wib.invalid_field(key, format('%s must be an integer, not %s.', key, jsonb_typeof(v)));
    END IF;
    n := v::numeric;
    IF n <> trunc(n) OR n < lo OR n > hi THEN
        PERFORM wib.invalid_field(key, format('%s must be an integer between %s and %s.', key, lo, hi));
    END IF;
    RETURN n::integer;
END
$$;
COMMENT ON FUNCTION wib.ivr_field_int(jsonb, text, integer, integer, integer) IS
    'Internal: doc->key as an integer within [lo, hi] (22023 naming the field otherwise), dflt when absent.';

-- The whole menu as the JSON document ivr_menu_create takes (for updates and previews).
CREATE OR REPLACE FUNCTION wib.ivr_menu_json(menu_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'name', m.name, 'greeting_type', m.greeting_type, 'greeting_text', m.greeting_text,
               'greeting_audio_url', m.greeting_audio_url, 'voice', m.voice, 'language', m.language,
               'timeout_seconds', m.timeout_seconds, 'max_retries', m.max_retries,
               'fallback_action', m.fallback_action, 'fallback_target', m.fallback_target,
               'disclosure_text', m.disclosure_text, 'invalid_prompt', m.invalid_prompt,
               'voicemail_prompt', m.voicemail_prompt, 'survey_disclaimer', m.survey_disclaimer))
           || jsonb_build_object('options', coalesce((
               SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                          'digit', o.digit, 'action_type', o.action_type, 'prompt', o.prompt,
                          'target', coalesce(o.action_target, o.target_menu_id::text)))
                        ORDER BY o.position, o.digit)
                 FROM wib.ivr_menu_options o
                WHERE o.organization_id = m.organization_id AND o.menu_id = m.id), '[]'::jsonb))
      FROM wib.ivr_menus m
     WHERE m.organization_id = wib.require_org() AND m.id = ivr_menu_json.menu_id
$$;
COMMENT ON FUNCTION wib.ivr_menu_json(uuid) IS
    'A menu of the organization in context as the JSON document wib.ivr_menu_create takes; NULL when not found.';

-- Validates a whole menu document field by field and writes it: a new menu
-- when menu_id is NULL, otherwise replaces that menu's fields and options.
CREATE OR REPLACE FUNCTION wib.ivr_menu_write(menu_id uuid, menu jsonb) RETURNS uuid
    LANGUAGE plpgsql
AS $$
DECLARE
    org        uuid := wib.require_org();
    id         uuid := coalesce(menu_id, gen_random_uuid());
    opts       jsonb;
    opt        jsonb;
    i          integer := 0;
    f          text;
    digit      text;
    action     text;
    target     text;
    target_id  uuid;
    prompt     text;
    seen       text[] := '{}';
    has_survey boolean := false;
    r          wib.ivr_menus;
BEGIN
    PERFORM wib.check_fields(menu, ARRAY['name', 'greeting_type', 'greeting_text', 'greeting_audio_url',
        'voice', 'language', 'timeout_seconds', 'max_retries', 'fallback_action', 'fallback_target',
        'disclosure_text', 'invalid_prompt', 'voicemail_prompt', 'survey_disclaimer', 'options'], 'menu');

    r.organization_id := org;
    r.id := id;
    r.created_at := now();
    r.updated_at := now();
    r.name := btrim(wib.require_text(wib.field_text(menu, 'name', 100), 'name', 100));
    r.greeting_type := coalesce(wib.field_text(menu, 'greeting_type', 20), 'tts');
    IF r.greeting_type NOT IN ('tts', 'audio_url') THEN
        PERFORM wib.invalid_field('greeting_type', 'greeting_type must be tts or audio_url.');
    END IF;
    r.greeting_text := wib.field_text(menu, 'greeting_text', 2000);
    r.greeting_audio_url := wib.field_text(menu, 'greeting_audio_url', 2048);
    IF r.greeting_type = 'tts' AND (r.greeting_text IS NULL OR btrim(r.greeting_text) = '') THEN
        PERFORM wib.invalid_field('greeting_text', 'greeting_text is required when greeting_type is tts.');
    END IF;
    IF r.greeting_type = 'audio_url' AND coalesce(r.greeting_audio_url, '') !~ '^https?://[^[:space:]]+$' THEN
        PERFORM wib.invalid_field('greeting_audio_url',
            'greeting_audio_url must be an http or https URL without spaces when greeting_type is audio_url.');
    END IF;
    r.voice := coalesce(wib.field_text(menu, 'voice', 60), 'woman');
    IF r.voice !~ '^(man|woman|alice|Polly\.[A-Za-z]{1,34}(-Neural)?)$' THEN
        PERFORM wib.invalid_field('voice', 'voice must be man, woman, alice, Polly.<Id> or Polly.<Id>-Neural.');
    END IF;
    r.language := coalesce(wib.field_text(menu, 'language', 20), 'en-US');
    IF r.language !~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$' THEN
        PERFORM wib.invalid_field('language', 'language must be a language tag such as en-US.');
    END IF;
    r.timeout_seconds := wib.ivr_field_int(menu, 'timeout_seconds', 1, 120, 5);
    r.max_retries := wib.ivr_field_int(menu, 'max_retries', 0, 10, 3);
    r.fallback_action := coalesce(wib.field_text(menu, 'fallback_action', 20), 'hangup');
    IF r.fallback_action NOT IN ('voicemail', 'hangup', 'transfer', 'repeat') THEN
        PERFORM wib.invalid_field('fallback_action', 'fallback_action must be voicemail, hangup, transfer or repeat.');
    END IF;
    r.fallback_target := wib.field_text(menu, 'fallback_target', 20);
    IF r.fallback_action = 'transfer' AND NOT coalesce(wib.ivr_is_e164(r.fallback_target), false) THEN
        PERFORM wib.invalid_field('fallback_target', 'fallback_target must be an E.164 number such as +15551234567 when fallback_action is transfer.');
    ELSIF r.fallback_action <> 'transfer' AND r.fallback_target IS NOT NULL THEN
        PERFORM wib.invalid_field('fallback_target', 'fallback_target is only allowed when fallback_action is transfer.');
    END IF;
    r.disclosure_text := coalesce(wib.field_text(menu, 'disclosure_text', 1000),
                                  'This call may be recorded for quality assurance.');
    IF btrim(r.disclosure_text) = '' THEN
        PERFORM wib.invalid_field('disclosure_text', 'disclosure_text may not be empty: the recording disclosure is always played first.');
    END IF;
    r.invalid_prompt := coalesce(wib.field_text(menu, 'invalid_prompt', 500), 'Sorry, that is not a valid choice.');
    r.voicemail_prompt := coalesce(wib.field_text(menu, 'voicemail_prompt', 500), 'Please leave a message after the tone.');
    r.survey_disclaimer := nullif(btrim(wib.field_text(menu, 'survey_disclaimer', 1000)), '');

    FOREACH f IN ARRAY ARRAY['greeting_text', 'disclosure_text', 'invalid_prompt', 'voicemail_prompt', 'survey_disclaimer'] LOOP
        PERFORM wib.ivr_compliance_check(to_jsonb(r) ->> f, f);
    END LOOP;

    opts := coalesce(menu -> 'options', '[]'::jsonb);
    IF jsonb_typeof(opts) <> 'array' THEN
        PERFORM wib.invalid_field('options', 'options must be a JSON array.');
    END IF;
    IF jsonb_array_length(opts) > 12 THEN
        PERFORM wib.invalid_field('options', 'A menu has at most 12 options (0-9, * and #).');
    END IF;

    IF menu_id IS NULL THEN
        INSERT INTO wib.ivr_menus SELECT r.*;
    ELSE
        UPDATE wib.ivr_menus m
           SET name = r.name, greeting_type = r.greeting_type, greeting_text = r.greeting_text,
               greeting_audio_url = r.greeting_audio_url, voice = r.voice, language = r.language,
               timeout_seconds = r.timeout_seconds, max_retries = r.max_retries,
               fallback_action = r.fallback_action, fallback_target = r.fallback_target,
               disclosure_text = r.disclosure_text, invalid_prompt = r.invalid_prompt,
               voicemail_prompt = r.voicemail_prompt, survey_disclaimer = r.survey_disclaimer
         WHERE m.organization_id = org AND m.id = menu_id;
        DELETE FROM wib.ivr_menu_options o WHERE o.organization_id = org AND o.menu_id = ivr_menu_write.menu_id;
    END IF;

    FOR opt IN SELECT value FROM jsonb_array_elements(opts) LOOP
        f := format('options[%s]', i);
        IF jsonb_typeof(opt) <> 'object' THEN
            PERFORM wib.invalid_field(f, format('%s must be a JSON object.', f));
        END IF;
        PERFORM wib.check_fields(opt, ARRAY['digit', 'action_type', 'prompt', 'target'], f);
        digit := wib.field_text(opt, 'digit', 1);
        IF digit IS NULL OR digit !~ '^[0-9*#]$' THEN
            PERFORM wib.invalid_field(f || '.digit', 'digit must be one of 0-9, * or #.');
        END IF;
        IF digit = ANY (seen) THEN
            PERFORM wib.invalid_field(f || '.digit', format('digit "%s" is used by another option of this menu.', digit));
        END IF;
        seen := seen || digit;
        action := wib.field_text(opt, 'action_type', 20);
        IF action IS NULL OR action NOT IN ('transfer', 'submenu', 'voicemail', 'survey', 'hangup', 'repeat') THEN
            PERFORM wib.invalid_field(f || '.action_type', 'action_type must be transfer, submenu, voicemail, survey, hangup or repeat.');
        END IF;
        prompt := wib.field_text(opt, 'prompt', 500);
        PERFORM wib.ivr_compliance_check(prompt, f || '.prompt');
        target := wib.field_text(opt, 'target', 2048);
        target_id := NULL;
        IF action = 'transfer' AND NOT coalesce(wib.ivr_is_e164(target), false) THEN
            PERFORM wib.invalid_field(f || '.target', 'target of a transfer must be an E.164 number such as +15551234567.');
        ELSIF action = 'survey' AND coalesce(target, '') !~ '^https?://[^[:space:]]+$' THEN
            PERFORM wib.invalid_field(f || '.target', 'target of a survey must be the http or https URL of the survey''s TeXML.');
        ELSIF action = 'submenu' THEN
            IF coalesce(target, '') !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
               OR NOT EXISTS (SELECT 1 FROM wib.ivr_menus m WHERE m.organization_id = org AND m.id = target::uuid) THEN
                PERFORM wib.invalid_field(f || '.target', 'target of a submenu must be the id of a menu of this organization.');
            END IF;
            target_id := target::uuid;
            target := NULL;
        ELSIF action IN ('voicemail', 'hangup', 'repeat') AND target IS NOT NULL THEN
            PERFORM wib.invalid_field(f || '.target', format('target is not used by a %s option.', action));
        END IF;
        has_survey := has_survey OR action = 'survey';
        INSERT INTO wib.ivr_menu_options (organization_id, menu_id, digit, action_type, prompt,
                                          action_target, target_menu_id, position)
        VALUES (org, id, digit, action, prompt, target, target_id, i);
        i := i + 1;
    END LOOP;

    IF has_survey AND r.survey_disclaimer IS NULL THEN
        PERFORM wib.invalid_field('survey_disclaimer',
            'A menu with a survey option needs a survey_disclaimer, played before the survey starts.');
    END IF;
    RETURN id;
END
$$;
COMMENT ON FUNCTION wib.ivr_menu_write(uuid, jsonb) IS
    'Internal: validates a menu document field by field and inserts (menu_id NULL) or replaces a menu and its options.';

CREATE OR REPLACE FUNCTION wib.ivr_menu_create(menu jsonb) RETURNS uuid
    LANGUAGE plpgsql
AS $$
DECLARE
    id uuid;
BEGIN
    PERFORM wib.require_org();
    PERFORM wib.require_feature('inbound_ivr');
    id := wib.ivr_menu_write(NULL, menu);
    PERFORM wib.audit('ivr:menu_created', 'ivr_menu', id::text, NULL, wib.ivr_menu_json(id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION wib.ivr_menu_create(jsonb) IS
    'Creates an IVR menu from {"name", "greeting_type", "greeting_text", ..., "options": [{"digit", "action_type", "prompt", "target"}]}; validated field by field, compliance-checked, audited ivr:menu_created.';

CREATE OR REPLACE FUNCTION wib.ivr_menu_update(id uuid, menu jsonb) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    old_doc jsonb;
BEGIN
    PERFORM wib.require_org();
    PERFORM wib.require_feature('inbound_ivr');
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the id of an IVR menu.');
    END IF;
    PERFORM 1 FROM wib.ivr_menus m WHERE m.organization_id = wib.require_org() AND m.id = ivr_menu_update.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('IVR menu %s does not exist', id);
    END IF;
    IF menu IS NULL OR jsonb_typeof(menu) <> 'object' THEN
        PERFORM wib.invalid_field('menu', 'menu must be a JSON object.');
    END IF;
    old_doc := wib.ivr_menu_json(id);
    -- Absent fields keep their value; "options", when given, replaces every option.
    PERFORM wib.ivr_menu_write(id, old_doc || menu);
    PERFORM wib.audit('ivr:menu_updated', 'ivr_menu', id::text, old_doc, wib.ivr_menu_json(id));
END
$$;
COMMENT ON FUNCTION wib.ivr_menu_update(uuid, jsonb) IS
    'Changes the fields given in menu (the others keep their value; "options" replaces all options); validated like create, audited ivr:menu_updated.';

CREATE OR REPLACE FUNCTION wib.ivr_menu_delete(id uuid) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    org     uuid := wib.require_org();
    old_doc jsonb;
    user_of text;
BEGIN
    old_doc := wib.ivr_menu_json(id);
    IF old_doc IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('IVR menu %s does not exist', id);
    END IF;
    SELECT n.phone_number INTO user_of FROM wib.inbound_numbers n
     WHERE n.organization_id = org AND n.menu_id = ivr_menu_delete.id AND n.status <> 'released'
     ORDER BY n.phone_number LIMIT 1;
    IF user_of IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB304',
            MESSAGE = format('IVR menu %s is in use by number %s', id, user_of),
            HINT = 'Assign another menu to the number (wib.ivr_number_assign) first.';
    END IF;
    SELECT m.name INTO user_of FROM wib.ivr_menu_options o JOIN wib.ivr_menus m
        ON m.organization_id = o.organization_id AND m.id = o.menu_id
     WHERE o.organization_id = org AND o.target_menu_id = ivr_menu_delete.id AND o.menu_id <> ivr_menu_delete.id
     ORDER BY m.name LIMIT 1;
    IF user_of IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB304',
            MESSAGE = format('IVR menu %s is the submenu of menu "%s"', id, user_of),
            HINT = 'Remove the submenu option pointing to it first.';
    END IF;
    DELETE FROM wib.ivr_menus m WHERE m.organization_id = org AND m.id = ivr_menu_delete.id;
    PERFORM wib.audit('ivr:menu_deleted', 'ivr_menu', id::text, old_doc, NULL);
END
$$;
COMMENT ON FUNCTION wib.ivr_menu_delete(uuid) IS
    'Deletes an IVR menu and its options; refused (WB304) while a number or another menu''s submenu option uses it; audited ivr:menu_deleted.';

-- Keeps inbound_number_routes in step with the numbers that are not released;
-- a number already routed to any organization is refused with WB303.
CREATE OR REPLACE FUNCTION wib.inbound_numbers_route() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'released' THEN
        DELETE FROM wib.inbound_number_routes r
         WHERE r.phone_number = OLD.phone_number AND r.organization_id = OLD.organization_id AND r.number_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status <> 'released' THEN
        -- One writer per number at a time; under READ COMMITTED the check below
        -- then sees any route committed by the writer it waited for.
        PERFORM pg_advisory_xact_lock(hashtextextended('wib.inbound_number_routes:' || NEW.phone_number, 0));
        IF EXISTS (SELECT 1 FROM wib.inbound_number_routes r WHERE r.phone_number = NEW.phone_number) THEN
            RAISE EXCEPTION USING ERRCODE = 'WB303',
                MESSAGE = format('phone number %s is already provisioned', NEW.phone_number),
                DETAIL = 'A number belongs to one organization at a time; release it there first.';
        END IF;
        INSERT INTO wib.inbound_number_routes (phone_number, organization_id, number_id)
        VALUES (NEW.phone_number, NEW.organization_id, NEW.id);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.inbound_numbers_route() IS 'Trigger: keeps wib.inbound_number_routes in step with inbound_numbers.';
CREATE OR REPLACE TRIGGER inbound_numbers_route AFTER INSERT OR DELETE OR UPDATE OF phone_number, status, organization_id
    ON wib.inbound_numbers FOR EACH ROW EXECUTE FUNCTION wib.inbound_numbers_route();

CREATE OR REPLACE FUNCTION wib.ivr_number_add(phone_number text, number_type text, display_name text,
                                   menu_id uuid DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql
AS $$
DECLARE
    org  uuid := wib.require_org();
    used bigint;
    nrow wib.inbound_numbers;
BEGIN
    PERFORM wib.require_feature('inbound_ivr');
    IF number_type IS NULL OR number_type NOT IN ('local', 'toll_free') THEN
        PERFORM wib.invalid_field('number_type', 'number_type must be local or toll_free.');
    END IF;
    IF number_type = 'toll_free' THEN
        PERFORM wib.require_feature('toll_free_numbers');
    END IF;
    IF NOT coalesce(wib.ivr_is_e164(phone_number), false) THEN
        PERFORM wib.invalid_field('phone_number', 'phone_number must be an E.164 number such as +15551234567.');
    END IF;
    IF display_name IS NOT NULL AND length(display_name) > 100 THEN
        PERFORM wib.invalid_field('display_name', 'display_name must be at most 100 characters.');
    END IF;
    IF menu_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM wib.ivr_menus m
                                            WHERE m.organization_id = org AND m.id = ivr_number_add.menu_id) THEN
        PERFORM wib.invalid_field('menu_id', 'menu_id must be the id of a menu of this organization.');
    END IF;
    -- One provisioning at a time per organization, so the quota holds under concurrency.
    PERFORM pg_advisory_xact_lock(hashtextextended('wib.inbound_numbers:' || org::text, 0));
    IF EXISTS (SELECT 1 FROM wib.inbound_numbers n
                WHERE n.organization_id = org AND n.phone_number = ivr_number_add.phone_number AND n.status <> 'released') THEN
        RAISE EXCEPTION USING ERRCODE = 'WB303',
            MESSAGE = format('phone number %s is already provisioned', phone_number),
            DETAIL = 'The organization already has this number.';
    END IF;
    SELECT count(*) INTO used FROM wib.inbound_numbers n WHERE n.organization_id = org AND n.status <> 'released';
    PERFORM wib.require_limit('inbound_numbers', used, 1);
    -- Ordering the DID from Telnyx (and filling telnyx_number_id) belongs here
    -- once the HTTP engine exists; today the number is recorded as given.
    INSERT INTO wib.inbound_numbers (organization_id, phone_number, number_type, display_name, menu_id)
    VALUES (org, phone_number, number_type, nullif(btrim(display_name), ''), menu_id)
    RETURNING * INTO nrow;
    PERFORM wib.audit('ivr:number_provisioned', 'inbound_number', nrow.id::text, NULL, to_jsonb(nrow));
    RETURN nrow.id;
END
$$;
COMMENT ON FUNCTION wib.ivr_number_add(text, text, text, uuid) IS
    'Provisions an inbound number (E.164, local or toll_free) for the organization in context; plan-gated (inbound_ivr, toll_free_numbers) and limited (inbound_numbers); audited ivr:number_provisioned.';

CREATE OR REPLACE FUNCTION wib.ivr_number_assign(number_id uuid, menu_id uuid) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    org     uuid := wib.require_org();
    old_row wib.inbound_numbers;
    new_row wib.inbound_numbers;
BEGIN
    PERFORM wib.require_feature('inbound_ivr');
    SELECT * INTO old_row FROM wib.inbound_numbers n
     WHERE n.organization_id = org AND n.id = number_id AND n.status <> 'released' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('inbound number %s does not exist', number_id);
    END IF;
    IF menu_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM wib.ivr_menus m
                                            WHERE m.organization_id = org AND m.id = ivr_number_assign.menu_id) THEN
        PERFORM wib.invalid_field('menu_id', 'menu_id must be the id of a menu of this organization.');
    END IF;
    UPDATE wib.inbound_numbers n SET menu_id = ivr_number_assign.menu_id
     WHERE n.organization_id = org AND n.id = number_id
    RETURNING * INTO new_row;
    PERFORM wib.audit('ivr:number_updated', 'inbound_number', number_id::text, to_jsonb(old_row), to_jsonb(new_row));
END
$$;
COMMENT ON FUNCTION wib.ivr_number_assign(uuid, uuid) IS
    'Sets the menu a number answers with (NULL: none, calls are rejected); audited ivr:number_updated.';

CREATE OR REPLACE FUNCTION wib.ivr_number_release(number_id uuid) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    org     uuid := wib.require_org();
    old_row wib.inbound_numbers;
    new_row wib.inbound_numbers;
BEGIN
    SELECT * INTO old_row FROM wib.inbound_numbers n
     WHERE n.organization_id = org AND n.id = number_id AND n.status <> 'released' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('inbound number %s does not exist', number_id);
    END IF;
    UPDATE wib.inbound_numbers n SET status = 'released', released_at = now()
     WHERE n.organization_id = org AND n.id = number_id
    RETURNING * INTO new_row;
    PERFORM wib.audit('ivr:number_released', 'inbound_number', number_id::text, to_jsonb(old_row), to_jsonb(new_row));
END
$$;
COMMENT ON FUNCTION wib.ivr_number_release(uuid) IS
    'Releases a number: it stops routing calls and frees its plan quota; its call log stays; audited ivr:number_released.';

-- Rendered menus are cached per backend; a committed change to a menu or an
-- option invalidates every cached document (src/ivr/menu_cache.c).
CREATE OR REPLACE FUNCTION wib.ivr_menu_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'wib_ivr_menu_changed';
COMMENT ON FUNCTION wib.ivr_menu_changed() IS
    'Trigger: invalidates the rendered-menu caches of all sessions when the transaction commits.';
CREATE OR REPLACE TRIGGER ivr_menus_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON wib.ivr_menus
    FOR EACH STATEMENT EXECUTE FUNCTION wib.ivr_menu_changed();
CREATE OR REPLACE TRIGGER ivr_menu_options_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON wib.ivr_menu_options
    FOR EACH STATEMENT EXECUTE FUNCTION wib.ivr_menu_changed();

-- TeXML rendering (C, src/ivr/flow.c and texml.c).
CREATE OR REPLACE FUNCTION wib.texml_render_menu(menu_id uuid, attempt integer DEFAULT 0) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_texml_render_menu';
COMMENT ON FUNCTION wib.texml_render_menu(uuid, integer) IS
    'The TeXML document of a menu of the organization in context (disclosure first on attempt 0; invalid-choice prompt on a retry), for previews.';

CREATE OR REPLACE FUNCTION wib.ivr_menu_texml(menu_id uuid, attempt integer, disclosure boolean) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_texml_render_menu';
COMMENT ON FUNCTION wib.ivr_menu_texml(uuid, integer, boolean) IS
    'Internal: the menu document as the call flow needs it (disclosure only at the start of a call).';

CREATE OR REPLACE FUNCTION wib.texml_action(kind text, say text, target text, voice text DEFAULT 'woman',
                                 language text DEFAULT 'en-US') RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_texml_action';
COMMENT ON FUNCTION wib.texml_action(text, text, text, text, text) IS
    'The TeXML document of a menu action: transfer, voicemail, survey, hangup, reject (target busy|rejected) or empty.';

CREATE OR REPLACE FUNCTION wib.texml_escape(raw bytea, in_attribute boolean DEFAULT false) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_texml_escape';
COMMENT ON FUNCTION wib.texml_escape(bytea, boolean) IS
    'Raw bytes as the TeXML writer puts them in a document: escaped, invalid UTF-8 as U+FFFD, forbidden controls as spaces.';

-- Telnyx callbacks (C: src/crypto/ed25519.c, src/ivr/request.c).
CREATE OR REPLACE FUNCTION wib.telnyx_verify(raw_body bytea, signature text, ts text, public_key text,
                                  tolerance_seconds integer DEFAULT 300) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_telnyx_verify';
COMMENT ON FUNCTION wib.telnyx_verify(bytea, text, text, text, integer) IS
    'True when signature (base64 Ed25519) signs ts || ''|'' || raw_body under public_key (base64, 32 bytes) and ts (Unix seconds) is within tolerance_seconds of now.';

CREATE OR REPLACE FUNCTION wib.ivr_verify(raw_body bytea, signature text, ts text) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_ivr_verify';
COMMENT ON FUNCTION wib.ivr_verify(bytea, text, text) IS
    'Internal: raises WB007 unless the callback is signed by wib.telnyx_public_key within wib.telnyx_timestamp_tolerance (WB301 when no key is set).';

CREATE OR REPLACE FUNCTION wib.form_value(body bytea, key text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_form_value';
COMMENT ON FUNCTION wib.form_value(bytea, text) IS
    'The first value of key in an application/x-www-form-urlencoded body, decoded; NULL when absent.';

-- The narrow path from a signed callback to its organization: verifies the
-- signature first, then looks the dialled number ("To") up in the routes.
-- Nothing is returned for an unsigned request, so no tenant can use it to
-- learn which organization holds a number.
CREATE OR REPLACE FUNCTION wib.ivr_route(raw_body bytea, signature text, ts text,
                              OUT organization_id uuid, OUT number_id uuid, OUT to_number text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    PERFORM wib.ivr_verify(raw_body, signature, ts);
    to_number := wib.form_value(raw_body, 'To');
    IF NOT coalesce(wib.ivr_is_e164(to_number), false) THEN
        PERFORM wib.invalid_field('To', 'To must be the dialled E.164 number.');
    END IF;
    SELECT r.organization_id, r.number_id INTO organization_id, number_id
      FROM wib.inbound_number_routes r WHERE r.phone_number = to_number;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'WB305',
            MESSAGE = format('dialled number %s is not provisioned', to_number);
    END IF;
END
$$;
COMMENT ON FUNCTION wib.ivr_route(bytea, text, text) IS
    'Internal: verifies a Telnyx callback and returns the organization and number its dialled number belongs to (WB007, WB305).';

-- The event a finished call emits, in the webhooks catalogue so that wib.emit_event
-- accepts it and subscriptions can ask for it.
INSERT INTO wib.webhook_event_types (event_type, description, example) VALUES
    ('ivr.call_ended', 'An inbound call answered by an IVR menu ended.',
     '{"call_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "call_sid": "v3:AbCdEf", "from": "+15550100", "to": "+18005550123", "menu_id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "ivr_path": [{"digit": "1", "menu": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "ts": "2026-01-01T12:00:09Z"}], "final_action": "transfer", "duration_seconds": 95, "recording_url": null, "started_at": "2026-01-01T12:00:00Z", "ended_at": "2026-01-01T12:01:35Z"}');

-- Closes a call's log row once and emits ivr.call_ended.
CREATE OR REPLACE FUNCTION wib.ivr_call_end(log_id uuid, duration integer, cause text) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    org uuid := wib.require_org();
    c   wib.inbound_call_log;
BEGIN
    UPDATE wib.inbound_call_log l
       SET ended_at = now(),
           duration_seconds = coalesce(duration, greatest(0, extract(epoch FROM now() - l.started_at))::integer),
           hangup_cause = coalesce(cause, l.hangup_cause),
           final_action = coalesce(l.final_action, 'abandoned'),
           status = CASE WHEN l.status = 'rejected' THEN 'rejected' ELSE 'completed' END
     WHERE l.organization_id = org AND l.id = log_id AND l.ended_at IS NULL
    RETURNING * INTO c;
    IF FOUND THEN
        PERFORM wib.emit_event('ivr.call_ended', jsonb_build_object(
                'call_id', c.id, 'call_sid', c.call_sid, 'from', c.from_number, 'to', c.to_number,
                'menu_id', c.menu_id, 'ivr_path', c.ivr_path, 'final_action', c.final_action,
                'duration_seconds', c.duration_seconds, 'recording_url', c.recording_url,
                'started_at', c.started_at, 'ended_at', c.ended_at));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.ivr_call_end(uuid, integer, text) IS
    'Internal: closes an inbound call log row (once) and emits ivr.call_ended.';

CREATE OR REPLACE FUNCTION wib.ivr_webhook(kind text, raw_body bytea, signature text, ts text) RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    route     record;
    prev_org  text := current_setting('wib.org_id', true);
    org       uuid;
    sid       text;
    digits    text;
    num       wib.inbound_numbers;
    c         wib.inbound_call_log;
    m         wib.ivr_menus;
    o         wib.ivr_menu_options;
    doc       text;
    final     text;
    next_menu uuid;
    next_try  integer;
    per_min   integer;
    dur       text;
    rec       text;
BEGIN
    -- Nothing is parsed before the signature is checked (inside ivr_route).
    SELECT * INTO route FROM wib.ivr_route(raw_body, signature, ts);
    IF kind IS NULL OR kind NOT IN ('inbound', 'gather', 'status') THEN
        PERFORM wib.invalid_field('kind', 'kind must be inbound, gather or status.');
    END IF;
    sid := wib.form_value(raw_body, 'CallSid');
    IF sid IS NULL OR sid = '' OR length(sid) > 200 THEN
        PERFORM wib.invalid_field('CallSid', 'CallSid must be a non-empty string of at most 200 characters.');
    END IF;
    org := route.organization_id;
    PERFORM pg_catalog.set_config('wib.org_id', org::text, true);

    IF kind = 'inbound' THEN
        SELECT * INTO num FROM wib.inbound_numbers n WHERE n.organization_id = org AND n.id = route.number_id;
        per_min := current_setting('wib.ivr_calls_per_minute')::integer;
        IF per_min > 0 AND NOT wib.rate_limit('ivr:' || route.to_number, per_min, '1 minute') THEN
            final := 'rejected';
            doc := wib.texml_action('reject', NULL, 'busy');
        ELSIF num.status <> 'active' OR num.menu_id IS NULL THEN
            final := 'rejected';
            doc := wib.texml_action('reject', NULL, 'rejected');
        END IF;
        INSERT INTO wib.inbound_call_log AS l (organization_id, number_id, call_sid, from_number, to_number,
                                               menu_id, current_menu_id, final_action, status, ended_at)
        VALUES (org, num.id, sid, left(wib.form_value(raw_body, 'From'), 32), route.to_number,
                CASE WHEN final IS NULL THEN num.menu_id END, CASE WHEN final IS NULL THEN num.menu_id END,
                final, CASE WHEN final IS NULL THEN 'in_progress' ELSE 'rejected' END,
                CASE WHEN final IS NULL THEN NULL ELSE now() END)
        ON CONFLICT (organization_id, call_sid) DO NOTHING;
        IF doc IS NULL THEN
            doc := wib.ivr_menu_texml(num.menu_id, 0, true);
        END IF;

    ELSIF kind = 'gather' THEN
        SELECT * INTO c FROM wib.inbound_call_log l
         WHERE l.organization_id = org AND l.call_sid = sid FOR UPDATE;
        IF NOT FOUND OR c.ended_at IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'WB305',
                MESSAGE = format('call %s is not in progress', sid);
        END IF;
        SELECT * INTO m FROM wib.ivr_menus x WHERE x.organization_id = org AND x.id = c.current_menu_id;
        IF NOT FOUND THEN
            -- The menu was deleted during the call.
            final := 'hangup';
            doc := wib.texml_action('hangup', NULL, NULL);
        ELSE
            digits := wib.form_value(raw_body, 'Digits');
            SELECT * INTO o FROM wib.ivr_menu_options x
             WHERE x.organization_id = org AND x.menu_id = m.id AND x.digit = digits;
            next_menu := m.id;
            next_try := 0;
            IF FOUND THEN
                CASE o.action_type
                    WHEN 'transfer' THEN
                        final := 'transfer';
                        doc := wib.texml_action('transfer', NULL, o.action_target, m.voice, m.language);
                    WHEN 'submenu' THEN
                        next_menu := o.target_menu_id;
                        doc := wib.ivr_menu_texml(next_menu, 0, false);
                    WHEN 'voicemail' THEN
                        final := 'voicemail';
                        doc := wib.texml_action('voicemail', m.voicemail_prompt, NULL, m.voice, m.language);
                    WHEN 'survey' THEN
                        final := 'survey';
                        doc := wib.texml_action('survey', m.survey_disclaimer, o.action_target, m.voice, m.language);
                    WHEN 'hangup' THEN
                        final := 'hangup';
                        doc := wib.texml_action('hangup', NULL, NULL);
                    ELSE
                        doc := wib.ivr_menu_texml(m.id, 0, false);
                END CASE;
            ELSIF c.attempt < m.max_retries THEN
                next_try := c.attempt + 1;
                doc := wib.ivr_menu_texml(m.id, next_try, false);
            ELSE
                CASE m.fallback_action
                    WHEN 'voicemail' THEN
                        final := 'voicemail';
                        doc := wib.texml_action('voicemail', m.voicemail_prompt, NULL, m.voice, m.language);
                    WHEN 'transfer' THEN
                        final := 'transfer';
                        doc := wib.texml_action('transfer', NULL, m.fallback_target, m.voice, m.language);
                    WHEN 'repeat' THEN
                        doc := wib.ivr_menu_texml(m.id, 0, false);
                    ELSE
                        final := 'hangup';
                        doc := wib.texml_action('hangup', NULL, NULL);
                END CASE;
            END IF;
        END IF;
        UPDATE wib.inbound_call_log l
           SET ivr_path = l.ivr_path || jsonb_build_array(jsonb_build_object(
                   'digit', nullif(digits, ''), 'menu', c.current_menu_id, 'ts', clock_timestamp())),
               current_menu_id = next_menu, attempt = coalesce(next_try, 0),
               final_action = coalesce(final, l.final_action)
         WHERE l.organization_id = org AND l.id = c.id;

    ELSE
        SELECT * INTO c FROM wib.inbound_call_log l
         WHERE l.organization_id = org AND l.call_sid = sid FOR UPDATE;
        IF FOUND THEN
            rec := wib.form_value(raw_body, 'RecordingUrl');
            IF rec ~ '^https?://[^[:space:]]+$' AND length(rec) <= 2048 THEN
                UPDATE wib.inbound_call_log l SET recording_url = rec WHERE l.organization_id = org AND l.id = c.id;
            END IF;
            IF coalesce(wib.form_value(raw_body, 'CallStatus'), '') IN
                   ('completed', 'busy', 'failed', 'no-answer', 'canceled') THEN
                dur := wib.form_value(raw_body, 'CallDuration');
                PERFORM wib.ivr_call_end(c.id,
                    CASE WHEN dur ~ '^[0-9]{1,9}$' THEN dur::integer END,
                    left(wib.form_value(raw_body, 'HangupCause'), 100));
            END IF;
        END IF;
        doc := wib.texml_action('hangup', NULL, NULL);
    END IF;

    PERFORM pg_catalog.set_config('wib.org_id', coalesce(prev_org, ''), true);
    RETURN doc;
END
$$;
COMMENT ON FUNCTION wib.ivr_webhook(text, bytea, text, text) IS
    'The platform''s Telnyx route calls this with the raw callback (kind inbound, gather or status): verifies the Ed25519 signature first (WB007), finds the organization from the dialled number, logs the call and returns the TeXML answer.';

-- Privileges: the API and what it calls as the caller.
GRANT EXECUTE ON FUNCTION
    wib.ivr_is_e164(text), wib.ivr_compliance_check(text, text),
    wib.ivr_field_int(jsonb, text, integer, integer, integer), wib.ivr_menu_json(uuid),
    wib.ivr_menu_write(uuid, jsonb), wib.ivr_menu_create(jsonb), wib.ivr_menu_update(uuid, jsonb),
    wib.ivr_menu_delete(uuid), wib.ivr_number_add(text, text, text, uuid),
    wib.ivr_number_assign(uuid, uuid), wib.ivr_number_release(uuid),
    wib.texml_render_menu(uuid, integer), wib.ivr_menu_texml(uuid, integer, boolean),
    wib.texml_action(text, text, text, text, text), wib.texml_escape(bytea, boolean),
    wib.telnyx_verify(bytea, text, text, text, integer), wib.ivr_verify(bytea, text, text),
    wib.form_value(bytea, text), wib.ivr_route(bytea, text, text),
    wib.ivr_call_end(uuid, integer, text), wib.ivr_webhook(text, bytea, text, text)
TO wib_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON wib.ivr_menus, wib.ivr_menu_options TO wib_app;
GRANT SELECT, INSERT, UPDATE ON wib.inbound_numbers, wib.inbound_call_log TO wib_app;
GRANT SELECT ON wib.ivr_prohibited_phrases TO wib_app;
GRANT INSERT, UPDATE, DELETE ON wib.ivr_prohibited_phrases TO wib_admin;

-- ==== src/sql/40_analytics.sql
-- Advanced analytics: sentiment scores, precomputed views, nightly snapshots,
-- z-score anomalies and trend predictions.  The kernels are C (src/analytics/);
-- dashboards read only precomputed data through the plan-gated API below.

-- ---------------------------------------------------------------- kernels

CREATE OR REPLACE FUNCTION wib.zscore_series(vals float8[], window_size integer DEFAULT 30,
                                  threshold float8 DEFAULT 2.0, min_history integer DEFAULT 2)
    RETURNS TABLE (idx integer, value float8, mean float8, stddev float8, z float8, is_anomaly boolean)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_zscore_series';
COMMENT ON FUNCTION wib.zscore_series(float8[], integer, float8, integer) IS
    'Z-score of each point of vals (idx = 1-based position) against the window_size points before it (sample stddev), in one O(n) pass; equals (v - avg(v) OVER w) / stddev_samp(v) OVER w with w = ROWS BETWEEN window_size PRECEDING AND 1 PRECEDING. z is NULL with fewer than min_history points in the window, zero spread, or a missing point (NULL or NaN, left out of every window). is_anomaly: abs(z) >= threshold.';

CREATE OR REPLACE FUNCTION wib.linear_trend(vals float8[], OUT slope float8, OUT intercept float8, OUT r2 float8, OUT n integer)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_linear_trend';
COMMENT ON FUNCTION wib.linear_trend(float8[]) IS
    'Least-squares line through vals with x = 1-based position (as regr_slope, regr_intercept, regr_r2): slope, intercept, r2 and the number of points used. NULL and NaN points are skipped; slope, intercept and r2 are NULL with fewer than two points.';

GRANT EXECUTE ON FUNCTION wib.zscore_series(float8[], integer, float8, integer), wib.linear_trend(float8[])
    TO wib_app, wib_admin;

CREATE OR REPLACE FUNCTION wib.analytics_deadline(timeout_ms integer) RETURNS void
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_analytics_deadline';
COMMENT ON FUNCTION wib.analytics_deadline(integer) IS
    'Internal: cancels the current statement (statement timeout) if it still runs timeout_ms from now; an earlier deadline is kept.';

-- Snapshots are Pro in the platform design, the rest of analytics Business
-- (feature advanced_analytics).  Snapshots have no row in wib.feature_plans
-- (the platform's list of gated features); they are gated on the plan itself.
CREATE OR REPLACE FUNCTION wib.analytics_snapshots_plan() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 'pro';
COMMENT ON FUNCTION wib.analytics_snapshots_plan() IS 'Internal: the lowest plan with analytics snapshots.';

CREATE OR REPLACE FUNCTION wib.analytics_require_snapshots() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF wib.plan_rank(wib.current_plan()) < wib.plan_rank(wib.analytics_snapshots_plan()) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB001',
            MESSAGE = format('feature "analytics_snapshots" requires plan "%s" or higher; the organization is on plan "%s"',
                             wib.analytics_snapshots_plan(), wib.current_plan()),
            HINT = 'Upgrade the organization''s plan to use this feature.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.analytics_require_snapshots() IS
    'Internal: raises WB001 unless the organization in context is on the pro plan or higher (analytics snapshots).';

-- ---------------------------------------------------------------- tables

CREATE TABLE wib.sentiment_scores (
    organization_id uuid         NOT NULL,
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    call_id         uuid         NOT NULL,
    ai_summary_id   uuid,
    call_started_at timestamptz  NOT NULL,
    agent_id        text,
    sentiment_score numeric(4,3) NOT NULL,
    sentiment_label text         NOT NULL,
    positive_pct    numeric(5,2),
    negative_pct    numeric(5,2),
    neutral_pct     numeric(5,2),
    model_version   text,
    analyzed_at     timestamptz  NOT NULL DEFAULT now(),
    created_at      timestamptz  NOT NULL DEFAULT now(),
    updated_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT sentiment_scores_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT sentiment_scores_call_key UNIQUE (organization_id, call_id),
    CONSTRAINT sentiment_scores_call_fkey FOREIGN KEY (organization_id, call_id)
        REFERENCES wib.calls (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT sentiment_scores_summary_fkey FOREIGN KEY (organization_id, ai_summary_id)
        REFERENCES wib.ai_summaries (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT sentiment_scores_score_check CHECK (sentiment_score BETWEEN -1 AND 1),
    CONSTRAINT sentiment_scores_label_check CHECK (sentiment_label IN ('positive', 'negative', 'neutral', 'mixed')),
    CONSTRAINT sentiment_scores_pct_check CHECK (positive_pct BETWEEN 0 AND 100
                                                 AND negative_pct BETWEEN 0 AND 100
                                                 AND neutral_pct BETWEEN 0 AND 100)
);
CREATE INDEX sentiment_scores_summary_idx ON wib.sentiment_scores (organization_id, ai_summary_id);
COMMENT ON TABLE wib.sentiment_scores IS
    'Sentiment of each analysed call (one row per call), kept in step with wib.ai_summaries by a trigger; wib.sentiment_backfill() fills it for older summaries. call_started_at and agent_id copy the call''s (kept in step by a trigger on wib.calls) so the nightly views need not join every call.';
SELECT wib.make_tenant_table('wib.sentiment_scores');
CREATE OR REPLACE TRIGGER sentiment_scores_touch BEFORE UPDATE ON wib.sentiment_scores
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.analytics_snapshots (
    organization_id        uuid         NOT NULL,
    id                     uuid         NOT NULL DEFAULT gen_random_uuid(),
    granularity            text         NOT NULL,
    snapshot_date          date         NOT NULL,
    period_end             date         NOT NULL,
    total_calls            integer      NOT NULL,
    completed_calls        integer      NOT NULL,
    total_duration_seconds bigint       NOT NULL,
    avg_duration_seconds   numeric(10,2),
    calls_with_sentiment   integer      NOT NULL,
    avg_sentiment          numeric(5,4),
    positive_calls         integer      NOT NULL,
    negative_calls         integer      NOT NULL,
    neutral_calls          integer      NOT NULL,
    calls_with_outcome     integer      NOT NULL,
    successful_calls       integer      NOT NULL,
    success_rate           numeric(5,4),
    computed_at            timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT analytics_snapshots_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT analytics_snapshots_period_key UNIQUE (organization_id, granularity, snapshot_date),
    CONSTRAINT analytics_snapshots_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT analytics_snapshots_granularity_check CHECK (granularity IN ('daily', 'weekly', 'monthly')),
    CONSTRAINT analytics_snapshots_period_check CHECK (
        CASE granularity
            WHEN 'daily' THEN period_end = snapshot_date
            WHEN 'weekly' THEN extract(isodow FROM snapshot_date) = 1 AND period_end = snapshot_date + 6
            ELSE extract(day FROM snapshot_date) = 1
                 AND period_end = (snapshot_date + interval '1 month' - interval '1 day')::date
        END),
    CONSTRAINT analytics_snapshots_counts_check CHECK (
        total_calls >= 0 AND completed_calls >= 0 AND total_duration_seconds >= 0
        AND calls_with_sentiment >= 0 AND positive_calls >= 0 AND negative_calls >= 0 AND neutral_calls >= 0
        AND calls_with_outcome >= 0 AND successful_calls >= 0),
    CONSTRAINT analytics_snapshots_sentiment_check CHECK (avg_sentiment BETWEEN -1 AND 1),
    CONSTRAINT analytics_snapshots_rate_check CHECK (success_rate BETWEEN 0 AND 1)
);
COMMENT ON TABLE wib.analytics_snapshots IS
    'Per-organization call metrics for a day, a week (Monday to Sunday) or a month, written by wib.run_nightly(); one row per organization, granularity and start date.';
SELECT wib.make_tenant_table('wib.analytics_snapshots');

CREATE TABLE wib.ml_predictions (
    organization_id uuid             NOT NULL,
    id              uuid             NOT NULL DEFAULT gen_random_uuid(),
    prediction_type text             NOT NULL,
    subject         text             NOT NULL,
    target_date     date             NOT NULL,
    score           double precision NOT NULL,
    confidence      numeric(4,3)     NOT NULL,
    explanation     text             NOT NULL,
    features        jsonb            NOT NULL DEFAULT '{}',
    model_version   text             NOT NULL,
    expires_at      timestamptz      NOT NULL,
    created_at      timestamptz      NOT NULL DEFAULT now(),
    updated_at      timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT ml_predictions_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT ml_predictions_subject_key UNIQUE (organization_id, prediction_type, subject, target_date),
    CONSTRAINT ml_predictions_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT ml_predictions_type_check CHECK (prediction_type IN ('churn_risk', 'deal_probability',
                                                                   'sentiment_trend', 'volume_anomaly')),
    CONSTRAINT ml_predictions_probability_check CHECK (prediction_type NOT IN ('churn_risk', 'deal_probability')
                                                       OR score BETWEEN 0 AND 1),
    CONSTRAINT ml_predictions_score_check CHECK (score = score AND score NOT IN ('Infinity', '-Infinity')),
    CONSTRAINT ml_predictions_confidence_check CHECK (confidence BETWEEN 0 AND 1),
    CONSTRAINT ml_predictions_subject_check CHECK (length(subject) BETWEEN 1 AND 255),
    CONSTRAINT ml_predictions_explanation_check CHECK (length(explanation) BETWEEN 1 AND 2000),
    CONSTRAINT ml_predictions_features_check CHECK (jsonb_typeof(features) = 'object')
);
CREATE INDEX ml_predictions_date_idx ON wib.ml_predictions (organization_id, target_date);
CREATE INDEX ml_predictions_expires_idx ON wib.ml_predictions (expires_at);
COMMENT ON TABLE wib.ml_predictions IS
    'Statistical predictions about an organization: volume_anomaly and sentiment_trend rows from wib.run_nightly() (z-score anomalies and the sentiment trend), churn_risk and deal_probability from other models; each expires.';
SELECT wib.make_tenant_table('wib.ml_predictions');
CREATE OR REPLACE TRIGGER ml_predictions_touch BEFORE UPDATE ON wib.ml_predictions
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- Not a tenant table: when the nightly job last refreshed the shared views.
CREATE TABLE wib.analytics_refreshes (
    name             text        NOT NULL,
    refreshed_at     timestamptz NOT NULL,
    last_day         date,
    duration_ms      double precision,
    CONSTRAINT analytics_refreshes_pkey PRIMARY KEY (name)
);
COMMENT ON TABLE wib.analytics_refreshes IS
    'When wib.run_nightly() last refreshed the analytics views (name = ''views'') and for which day; read by wib.data_as_of().';
SELECT pg_catalog.pg_extension_config_dump('wib.analytics_refreshes', '');

-- ---------------------------------------------------------------- sentiment

-- The label of a score when the summary gave none.
CREATE OR REPLACE FUNCTION wib.sentiment_label(label text, score numeric) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(label, CASE WHEN score >= 0.25 THEN 'positive'
                                WHEN score <= -0.25 THEN 'negative'
                                ELSE 'neutral' END);
COMMENT ON FUNCTION wib.sentiment_label(text, numeric) IS
    'The sentiment label of a call: the summary''s overall_sentiment, else positive from 0.25, negative to -0.25, neutral between.';

-- Trigger on ai_summaries: keeps the call's sentiment_scores row in step.
-- Definer rights because applications do not write sentiment_scores; it only
-- touches the row of the summary's own organization and call.
CREATE OR REPLACE FUNCTION wib.sentiment_from_summary() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.call_id IS DISTINCT FROM NEW.call_id THEN
        DELETE FROM wib.sentiment_scores s
         WHERE s.organization_id = OLD.organization_id AND s.call_id = OLD.call_id;
    END IF;
    IF NEW.sentiment_score IS NULL THEN
        DELETE FROM wib.sentiment_scores s
         WHERE s.organization_id = NEW.organization_id AND s.call_id = NEW.call_id;
        RETURN NULL;
    END IF;
    INSERT INTO wib.sentiment_scores AS s
           (organization_id, call_id, ai_summary_id, call_started_at, agent_id, sentiment_score, sentiment_label,
            positive_pct, negative_pct, neutral_pct, model_version, analyzed_at)
    SELECT NEW.organization_id, NEW.call_id, NEW.id, c.started_at, c.agent_id, NEW.sentiment_score,
           wib.sentiment_label(NEW.overall_sentiment, NEW.sentiment_score),
           NEW.positive_pct, NEW.negative_pct, NEW.neutral_pct, NEW.model, NEW.updated_at
      FROM wib.calls c
     WHERE c.organization_id = NEW.organization_id AND c.id = NEW.call_id
    ON CONFLICT (organization_id, call_id) DO UPDATE
       SET ai_summary_id = EXCLUDED.ai_summary_id, call_started_at = EXCLUDED.call_started_at,
           agent_id = EXCLUDED.agent_id, sentiment_score = EXCLUDED.sentiment_score,
           sentiment_label = EXCLUDED.sentiment_label, positive_pct = EXCLUDED.positive_pct,
           negative_pct = EXCLUDED.negative_pct, neutral_pct = EXCLUDED.neutral_pct,
           model_version = EXCLUDED.model_version, analyzed_at = EXCLUDED.analyzed_at;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.sentiment_from_summary() IS
    'Trigger on wib.ai_summaries: writes (or removes, when the score is NULL) the call''s row of wib.sentiment_scores.';

CREATE OR REPLACE TRIGGER ai_summaries_sentiment AFTER INSERT OR UPDATE ON wib.ai_summaries
    FOR EACH ROW EXECUTE FUNCTION wib.sentiment_from_summary();

CREATE OR REPLACE FUNCTION wib.sentiment_backfill() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    written bigint;
    removed bigint;
BEGIN
    WITH upserted AS (
        INSERT INTO wib.sentiment_scores AS s
               (organization_id, call_id, ai_summary_id, call_started_at, agent_id, sentiment_score, sentiment_label,
                positive_pct, negative_pct, neutral_pct, model_version, analyzed_at)
        SELECT a.organization_id, a.call_id, a.id, c.started_at, c.agent_id, a.sentiment_score,
               wib.sentiment_label(a.overall_sentiment, a.sentiment_score),
               a.positive_pct, a.negative_pct, a.neutral_pct, a.model, a.updated_at
          FROM wib.ai_summaries a
          JOIN wib.calls c ON c.organization_id = a.organization_id AND c.id = a.call_id
         WHERE a.sentiment_score IS NOT NULL
        ON CONFLICT (organization_id, call_id) DO UPDATE
           SET ai_summary_id = EXCLUDED.ai_summary_id, call_started_at = EXCLUDED.call_started_at,
               agent_id = EXCLUDED.agent_id, sentiment_score = EXCLUDED.sentiment_score,
               sentiment_label = EXCLUDED.sentiment_label, positive_pct = EXCLUDED.positive_pct,
               negative_pct = EXCLUDED.negative_pct, neutral_pct = EXCLUDED.neutral_pct,
               model_version = EXCLUDED.model_version, analyzed_at = EXCLUDED.analyzed_at
         WHERE (s.ai_summary_id, s.call_started_at, s.agent_id, s.sentiment_score, s.sentiment_label,
                s.positive_pct, s.negative_pct, s.neutral_pct, s.model_version)
               IS DISTINCT FROM
               (EXCLUDED.ai_summary_id, EXCLUDED.call_started_at, EXCLUDED.agent_id, EXCLUDED.sentiment_score,
                EXCLUDED.sentiment_label, EXCLUDED.positive_pct, EXCLUDED.negative_pct, EXCLUDED.neutral_pct,
                EXCLUDED.model_version)
        RETURNING 1)
    SELECT count(*) INTO written FROM upserted;
    WITH gone AS (
        DELETE FROM wib.sentiment_scores s
         WHERE NOT EXISTS (SELECT 1 FROM wib.ai_summaries a
                            WHERE a.organization_id = s.organization_id AND a.call_id = s.call_id
                              AND a.sentiment_score IS NOT NULL)
        RETURNING 1)
    SELECT count(*) INTO removed FROM gone;
    RETURN written + removed;
END
$$;
COMMENT ON FUNCTION wib.sentiment_backfill() IS
    'Brings wib.sentiment_scores in step with every organization''s wib.ai_summaries (for summaries written before the extension, or with the trigger disabled); returns the rows written or removed. Running it twice changes nothing the second time.';

-- Trigger on calls: a call's new start time or agent reaches its sentiment row.
CREATE OR REPLACE FUNCTION wib.sentiment_follow_call() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    UPDATE wib.sentiment_scores s
       SET call_started_at = NEW.started_at, agent_id = NEW.agent_id
     WHERE s.organization_id = NEW.organization_id AND s.call_id = NEW.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.sentiment_follow_call() IS
    'Trigger on wib.calls: copies a changed started_at or agent_id to the call''s row of wib.sentiment_scores.';

CREATE OR REPLACE TRIGGER calls_sentiment_follow AFTER UPDATE OF started_at, agent_id ON wib.calls
    FOR EACH ROW WHEN (OLD.started_at IS DISTINCT FROM NEW.started_at OR OLD.agent_id IS DISTINCT FROM NEW.agent_id)
    EXECUTE FUNCTION wib.sentiment_follow_call();

-- ---------------------------------------------------------------- views
-- Materialized views hold every organization's rows and have no row-level
-- security: wib_app is granted nothing on them and reads them only through
-- the definer-rights functions below, which filter on wib.require_org().

-- Both views list their rows in the order of their unique key, and that key
-- leads their columns.  REFRESH ... CONCURRENTLY first checks the new rows for
-- duplicates by sorting them whole (record image order, column by column):
-- rows that already come in that order are sorted in one linear pass instead
-- of n log n comparisons of whole rows.  Only columns the API reads are kept,
-- because every column is compared twice per row by that check and the diff.
-- UTC days and weeks are taken AT TIME ZONE INTERVAL '0': the same values as
-- AT TIME ZONE 'UTC' without looking the zone up by name for every call.

CREATE MATERIALIZED VIEW wib.mv_call_sentiment_daily AS
-- Two hash aggregates joined on (organization, day): calls with their
-- outcomes, and the (fewer) scored calls; no sort of every call.
SELECT a.organization_id, a.day, a.total_calls, a.completed_calls, a.total_duration_seconds, a.calls_with_duration,
       coalesce(s.calls_with_sentiment, 0) AS calls_with_sentiment,
       s.sentiment_sum,
       coalesce(s.positive_calls, 0) AS positive_calls,
       coalesce(s.negative_calls, 0) AS negative_calls,
       coalesce(s.neutral_calls, 0) AS neutral_calls,
       s.scores_milli,
       a.calls_with_outcome, a.successful_calls
  FROM (SELECT c.organization_id, (c.started_at AT TIME ZONE INTERVAL '0')::date AS day,
               count(*)::integer AS total_calls,
               count(*) FILTER (WHERE c.status = 'completed')::integer AS completed_calls,
               coalesce(sum(c.duration_seconds), 0)::bigint AS total_duration_seconds,
               count(c.duration_seconds)::integer AS calls_with_duration,
               count(o.call_id)::integer AS calls_with_outcome,
               count(*) FILTER (WHERE o.success)::integer AS successful_calls
          FROM wib.calls c
          LEFT JOIN (SELECT co.organization_id, co.call_id, bool_or(co.is_success) AS success
                       FROM wib.call_outcomes co GROUP BY co.organization_id, co.call_id) o
                 ON o.organization_id = c.organization_id AND o.call_id = c.id
         GROUP BY c.organization_id, (c.started_at AT TIME ZONE INTERVAL '0')::date) a
  LEFT JOIN (SELECT ss.organization_id, (ss.call_started_at AT TIME ZONE INTERVAL '0')::date AS day,
                    count(*)::integer AS calls_with_sentiment,
                    sum(ss.sentiment_score) AS sentiment_sum,
                    count(*) FILTER (WHERE ss.sentiment_label = 'positive')::integer AS positive_calls,
                    count(*) FILTER (WHERE ss.sentiment_label = 'negative')::integer AS negative_calls,
                    count(*) FILTER (WHERE ss.sentiment_label IN ('neutral', 'mixed'))::integer AS neutral_calls,
                    array_agg((ss.sentiment_score * 1000)::smallint ORDER BY ss.sentiment_score) AS scores_milli
               FROM wib.sentiment_scores ss
              GROUP BY ss.organization_id, (ss.call_started_at AT TIME ZONE INTERVAL '0')::date) s
         ON s.organization_id = a.organization_id AND s.day = a.day
 ORDER BY a.organization_id, a.day;
CREATE UNIQUE INDEX mv_call_sentiment_daily_key ON wib.mv_call_sentiment_daily (organization_id, day);
COMMENT ON MATERIALIZED VIEW wib.mv_call_sentiment_daily IS
    'Calls, durations, sentiment and outcomes per organization and UTC day (scores_milli: the day''s scores times 1000 in ascending order, for exact medians of a day or of longer periods). Refreshed by wib.run_nightly(); not readable by wib_app.';

CREATE MATERIALIZED VIEW wib.mv_agent_performance_weekly AS
SELECT a.organization_id, a.agent_id, a.week, a.calls,
       coalesce(s.calls_with_sentiment, 0) AS calls_with_sentiment,
       s.sentiment_sum,
       coalesce(s.positive_calls, 0) AS positive_calls,
       a.calls_with_outcome, a.successful_calls
  FROM (SELECT c.organization_id, c.agent_id, date_trunc('week', c.started_at AT TIME ZONE INTERVAL '0')::date AS week,
               count(*)::integer AS calls,
               count(o.call_id)::integer AS calls_with_outcome,
               count(*) FILTER (WHERE o.success)::integer AS successful_calls
          FROM wib.calls c
          LEFT JOIN (SELECT co.organization_id, co.call_id, bool_or(co.is_success) AS success
                       FROM wib.call_outcomes co GROUP BY co.organization_id, co.call_id) o
                 ON o.organization_id = c.organization_id AND o.call_id = c.id
         WHERE c.agent_id IS NOT NULL
         GROUP BY c.organization_id, c.agent_id, date_trunc('week', c.started_at AT TIME ZONE INTERVAL '0')::date) a
  LEFT JOIN (SELECT ss.organization_id, ss.agent_id,
                    date_trunc('week', ss.call_started_at AT TIME ZONE INTERVAL '0')::date AS week,
                    count(*)::integer AS calls_with_sentiment,
                    sum(ss.sentiment_score) AS sentiment_sum,
                    count(*) FILTER (WHERE ss.sentiment_label = 'positive')::integer AS positive_calls
               FROM wib.sentiment_scores ss
              WHERE ss.agent_id IS NOT NULL
              GROUP BY ss.organization_id, ss.agent_id, date_trunc('week', ss.call_started_at AT TIME ZONE INTERVAL '0')::date) s
         ON s.organization_id = a.organization_id AND s.agent_id = a.agent_id AND s.week = a.week
 -- Byte order of agent_id (COLLATE "C"), as the record image comparison has it.
 ORDER BY a.organization_id, a.agent_id COLLATE "C", a.week;
CREATE UNIQUE INDEX mv_agent_performance_weekly_key ON wib.mv_agent_performance_weekly (organization_id, week, agent_id);
COMMENT ON MATERIALIZED VIEW wib.mv_agent_performance_weekly IS
    'Calls, sentiment and outcomes per organization, agent and ISO week (Monday, UTC). Refreshed by wib.run_nightly(); not readable by wib_app.';

-- ---------------------------------------------------------------- API

-- The median of a day's scores from the view's sorted scores_milli, without a
-- sort: the same float8 percentile_cont(0.5) gives (the middle score, or the
-- lower middle one plus half the gap to the upper one).
CREATE OR REPLACE FUNCTION wib.sorted_milli_median(scores smallint[]) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN cardinality(scores) % 2 = 1 THEN scores[(cardinality(scores) + 1) / 2] / 1000.0::float8
                WHEN cardinality(scores) > 0
                THEN scores[cardinality(scores) / 2] / 1000.0::float8
                     + 0.5::float8 * (scores[cardinality(scores) / 2 + 1] / 1000.0::float8
                                      - scores[cardinality(scores) / 2] / 1000.0::float8) END;
COMMENT ON FUNCTION wib.sorted_milli_median(smallint[]) IS
    'Internal: the median (as percentile_cont(0.5) over score / 1000.0) of an ascending array of scores times 1000, as mv_call_sentiment_daily.scores_milli keeps them; NULL for NULL or empty.';

-- Refuses a missing or reversed date range, or one longer than max_days.
CREATE OR REPLACE FUNCTION wib.analytics_check_range(from_date date, to_date date, max_days integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF from_date IS NULL OR from_date IN ('infinity', '-infinity') THEN
        PERFORM wib.invalid_field('from_date', 'from_date must be a date.');
    END IF;
    IF to_date IS NULL OR to_date IN ('infinity', '-infinity') THEN
        PERFORM wib.invalid_field('to_date', 'to_date must be a date.');
    END IF;
    IF to_date < from_date THEN
        PERFORM wib.invalid_field('to_date', format('to_date (%s) must not be before from_date (%s).', to_date, from_date));
    END IF;
    IF to_date - from_date >= max_days THEN
        PERFORM wib.invalid_field('to_date', format('The range may span at most %s days; got %s.', max_days, to_date - from_date + 1));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.analytics_check_range(date, date, integer) IS
    'Internal: raises 22023 naming from_date or to_date unless both are dates, in order, at most max_days apart.';

CREATE OR REPLACE FUNCTION wib.sentiment_trends(from_date date, to_date date, granularity text DEFAULT 'day')
    RETURNS TABLE (period date, total_calls bigint, calls_with_sentiment bigint, avg_sentiment numeric,
                   positive_calls bigint, negative_calls bigint, neutral_calls bigint, median_sentiment float8)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
DECLARE
    org  uuid := wib.require_org();
    step interval;
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.require_feature('advanced_analytics');
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    step := CASE granularity WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '1 week'
                             WHEN 'month' THEN interval '1 month' END;
    IF step IS NULL THEN
        PERFORM wib.invalid_field('granularity', 'granularity must be one of day, week, month.');
    END IF;
    RETURN QUERY
    WITH p AS (
        SELECT g::date AS period
          FROM generate_series(date_trunc(granularity, from_date::timestamp), to_date::timestamp, step) g
    ), d AS (
        SELECT date_trunc(granularity, m.day::timestamp)::date AS period, m.*
          FROM wib.mv_call_sentiment_daily m
         WHERE m.organization_id = org AND m.day BETWEEN from_date AND to_date
    ), agg AS (
        SELECT d.period,
               sum(d.total_calls) AS total_calls, sum(d.calls_with_sentiment) AS calls_with_sentiment,
               sum(d.sentiment_sum) AS sentiment_sum, sum(d.positive_calls) AS positive_calls,
               sum(d.negative_calls) AS negative_calls, sum(d.neutral_calls) AS neutral_calls,
               max(wib.sorted_milli_median(d.scores_milli)) FILTER (WHERE granularity = 'day') AS day_median
          FROM d GROUP BY d.period
    ), med AS (
        -- Exact medians of longer periods: every score of the period, once.
        SELECT d.period, percentile_cont(0.5) WITHIN GROUP (ORDER BY u / 1000.0::float8) AS median
          FROM d, unnest(d.scores_milli) u
         WHERE granularity <> 'day'
         GROUP BY d.period
    )
    SELECT p.period,
           coalesce(a.total_calls, 0)::bigint,
           coalesce(a.calls_with_sentiment, 0)::bigint,
           round(a.sentiment_sum / nullif(a.calls_with_sentiment, 0), 4),
           coalesce(a.positive_calls, 0)::bigint,
           coalesce(a.negative_calls, 0)::bigint,
           coalesce(a.neutral_calls, 0)::bigint,
           CASE WHEN granularity = 'day' THEN a.day_median ELSE md.median END
      FROM p
      LEFT JOIN agg a ON a.period = p.period
      LEFT JOIN med md ON md.period = p.period
     ORDER BY p.period;
END
$$;
COMMENT ON FUNCTION wib.sentiment_trends(date, date, text) IS
    'Sentiment of the organization''s calls per day, week (from Monday) or month between from_date and to_date (UTC days, both included), one row per period even without calls: calls, calls with a score, average and median score, positive/negative/neutral counts (mixed counts as neutral). Reads the nightly view (see wib.data_as_of()). Plan: advanced_analytics.';

CREATE OR REPLACE FUNCTION wib.agent_leaderboard(from_date date, to_date date, order_by text DEFAULT 'calls',
                                      max_rows integer DEFAULT 20)
    RETURNS TABLE (agent_id text, name text, calls bigint, avg_sentiment numeric, positive_calls bigint,
                   success_rate numeric, rank bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.require_feature('advanced_analytics');
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    IF order_by IS NULL OR order_by NOT IN ('calls', 'sentiment', 'positive_calls', 'success_rate') THEN
        PERFORM wib.invalid_field('order_by', 'order_by must be one of calls, sentiment, positive_calls, success_rate.');
    END IF;
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 100 THEN
        PERFORM wib.invalid_field('max_rows', 'max_rows must be between 1 and 100.');
    END IF;
    RETURN QUERY
    WITH agg AS (
        SELECT w.agent_id,
               sum(w.calls)::bigint AS calls,
               round(sum(w.sentiment_sum) / nullif(sum(w.calls_with_sentiment), 0), 4) AS avg_sentiment,
               sum(w.positive_calls)::bigint AS positive_calls,
               round(sum(w.successful_calls)::numeric / nullif(sum(w.calls_with_outcome), 0), 4) AS success_rate
          FROM wib.mv_agent_performance_weekly w
         WHERE w.organization_id = org
           AND w.week >= date_trunc('week', from_date::timestamp)::date AND w.week <= to_date
         GROUP BY w.agent_id
    ), ranked AS (
        SELECT a.*, CASE order_by WHEN 'calls' THEN a.calls::numeric
                                  WHEN 'sentiment' THEN a.avg_sentiment
                                  WHEN 'positive_calls' THEN a.positive_calls::numeric
                                  ELSE a.success_rate END AS key
          FROM agg a
    )
    SELECT r.agent_id, u.name, r.calls, r.avg_sentiment, r.positive_calls, r.success_rate,
           rank() OVER (ORDER BY r.key DESC NULLS LAST)
      FROM ranked r
      LEFT JOIN wib.users u ON u.organization_id = org AND u.id = r.agent_id
     ORDER BY r.key DESC NULLS LAST, r.agent_id
     LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION wib.agent_leaderboard(date, date, text, integer) IS
    'The organization''s agents ranked by calls, sentiment (average score), positive_calls or success_rate (calls with a successful outcome among calls with an outcome), over the ISO weeks (Monday, UTC) from the week of from_date to the week of to_date; at most max_rows (1-100). Reads the nightly view. Plan: advanced_analytics.';

CREATE OR REPLACE FUNCTION wib.analytics_snapshots_range(from_date date, to_date date, granularity text DEFAULT 'daily')
    RETURNS SETOF wib.analytics_snapshots
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.analytics_require_snapshots();
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    IF granularity IS NULL OR granularity NOT IN ('daily', 'weekly', 'monthly') THEN
        PERFORM wib.invalid_field('granularity', 'granularity must be one of daily, weekly, monthly.');
    END IF;
    RETURN QUERY
    SELECT s.* FROM wib.analytics_snapshots s
     WHERE s.organization_id = org AND s.granularity = analytics_snapshots_range.granularity
       AND s.snapshot_date BETWEEN from_date AND to_date
     ORDER BY s.snapshot_date;
END
$$;
COMMENT ON FUNCTION wib.analytics_snapshots_range(date, date, text) IS
    'The organization''s daily, weekly or monthly snapshots whose start date lies between from_date and to_date, oldest first. Plan: analytics_snapshots (pro).';

CREATE OR REPLACE FUNCTION wib.anomalies(from_date date, to_date date)
    RETURNS TABLE (day date, metric text, prediction_type text, value float8, baseline_mean float8,
                   baseline_stddev float8, baseline_days integer, z float8, direction text,
                   confidence numeric, explanation text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.require_feature('advanced_analytics');
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    RETURN QUERY
    SELECT p.target_date, p.subject, p.prediction_type,
           (p.features ->> 'value')::float8, (p.features ->> 'baseline_mean')::float8,
           (p.features ->> 'baseline_stddev')::float8, (p.features ->> 'baseline_days')::integer,
           p.score, CASE WHEN p.score < 0 THEN 'drop' ELSE 'spike' END,
           p.confidence, p.explanation
      FROM wib.ml_predictions p
     WHERE p.organization_id = org AND p.target_date BETWEEN from_date AND to_date
       AND p.prediction_type IN ('volume_anomaly', 'sentiment_trend')
       AND p.features ->> 'kind' = 'anomaly'
     ORDER BY p.target_date, p.subject;
END
$$;
COMMENT ON FUNCTION wib.anomalies(date, date) IS
    'Days between from_date and to_date on which a metric (call_volume, avg_duration, avg_sentiment, positive_share) was unusual against its baseline, as found by wib.run_nightly(), with the z-score and a readable explanation. Plan: advanced_analytics.';

CREATE OR REPLACE FUNCTION wib.data_as_of() RETURNS timestamptz
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
    SET statement_timeout = '10s'
AS $$
BEGIN
    PERFORM wib.analytics_deadline(10000);
    PERFORM wib.analytics_require_snapshots();
    RETURN (SELECT r.refreshed_at FROM wib.analytics_refreshes r WHERE r.name = 'views');
END
$$;
COMMENT ON FUNCTION wib.data_as_of() IS
    'When wib.run_nightly() last refreshed the analytics views and snapshots (the dashboards'' "Data as of"); NULL before the first run. Plan: analytics_snapshots (pro).';

-- ---------------------------------------------------------------- nightly job

-- A setting read as text, with the default when the library is not loaded.
CREATE OR REPLACE FUNCTION wib.analytics_setting(name text, fallback text) RETURNS text
    LANGUAGE sql STABLE
    RETURN coalesce(nullif(current_setting(name, true), ''), fallback);
COMMENT ON FUNCTION wib.analytics_setting(text, text) IS 'Internal: current_setting(name), or fallback when undefined.';

-- The sentence a manager reads for an anomaly ("Call volume dropped 41% on Tue 2026-11-17 vs the 30-day baseline (z = −3.2)").
CREATE OR REPLACE FUNCTION wib.anomaly_explanation(metric text, day date, value float8, baseline float8,
                                        baseline_days integer, z float8) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN metric IN ('call_volume', 'avg_duration') THEN
            format('%s %s %s%% on %s vs the %s-day baseline (z = %s)',
                   CASE metric WHEN 'call_volume' THEN 'Call volume' ELSE 'Average call duration' END,
                   CASE WHEN z < 0 THEN 'dropped' ELSE 'rose' END,
                   round(abs(value - baseline) / nullif(baseline, 0) * 100)::bigint,
                   to_char(day, 'Dy YYYY-MM-DD'), baseline_days,
                   replace(round(z::numeric, 1)::text, '-', '−'))
        WHEN metric = 'avg_sentiment' THEN
            format('Average sentiment %s to %s on %s from a %s-day baseline of %s (z = %s)',
                   CASE WHEN z < 0 THEN 'fell' ELSE 'rose' END,
                   replace(round(value::numeric, 2)::text, '-', '−'), to_char(day, 'Dy YYYY-MM-DD'), baseline_days,
                   replace(round(baseline::numeric, 2)::text, '-', '−'),
                   replace(round(z::numeric, 1)::text, '-', '−'))
        ELSE
            format('Positive-call share %s to %s%% on %s from a %s-day baseline of %s%% (z = %s)',
                   CASE WHEN z < 0 THEN 'fell' ELSE 'rose' END,
                   round((value * 100)::numeric), to_char(day, 'Dy YYYY-MM-DD'), baseline_days,
                   round((baseline * 100)::numeric),
                   replace(round(z::numeric, 1)::text, '-', '−'))
    END;
COMMENT ON FUNCTION wib.anomaly_explanation(text, date, float8, float8, integer, float8) IS
    'Internal: the readable explanation of an anomaly of metric on day.';

-- Refreshes both views without blocking the dashboards that read them.
-- JIT compiling the refresh's statements costs more than it saves; the
-- concurrent refresh ANALYZEs its temporary copies of the new rows before its
-- duplicate check and diff (whose plans only need row counts), and a small
-- statistics sample makes that a tenth of the work.
CREATE OR REPLACE FUNCTION wib.analytics_refresh() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
    SET work_mem = '64MB'
    SET jit = off
    SET default_statistics_target = 10
AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY wib.mv_call_sentiment_daily;
    REFRESH MATERIALIZED VIEW CONCURRENTLY wib.mv_agent_performance_weekly;
    INSERT INTO wib.analytics_refreshes AS r (name, refreshed_at) VALUES ('views', now())
    ON CONFLICT (name) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at;
END
$$;
COMMENT ON FUNCTION wib.analytics_refresh() IS 'Internal: refreshes the analytics views concurrently and records when.';

-- Upserts the snapshots of granularity gran for [first_day, last_day] for every
-- organization whose plan includes snapshots; an unchanged snapshot is left alone.
CREATE OR REPLACE FUNCTION wib.analytics_snapshot(gran text, first_day date, last_day date) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    written bigint;
BEGIN
    WITH upserted AS (
        INSERT INTO wib.analytics_snapshots AS s
               (organization_id, granularity, snapshot_date, period_end, total_calls, completed_calls,
                total_duration_seconds, avg_duration_seconds, calls_with_sentiment, avg_sentiment,
                positive_calls, negative_calls, neutral_calls, calls_with_outcome, successful_calls, success_rate)
        SELECT o.id, gran, first_day, last_day,
               coalesce(sum(d.total_calls), 0), coalesce(sum(d.completed_calls), 0),
               coalesce(sum(d.total_duration_seconds), 0),
               round(sum(d.total_duration_seconds)::numeric / nullif(sum(d.calls_with_duration), 0), 2),
               coalesce(sum(d.calls_with_sentiment), 0),
               round(sum(d.sentiment_sum) / nullif(sum(d.calls_with_sentiment), 0), 4),
               coalesce(sum(d.positive_calls), 0), coalesce(sum(d.negative_calls), 0),
               coalesce(sum(d.neutral_calls), 0), coalesce(sum(d.calls_with_outcome), 0),
               coalesce(sum(d.successful_calls), 0),
               round(sum(d.successful_calls)::numeric / nullif(sum(d.calls_with_outcome), 0), 4)
          FROM wib.organizations o
          LEFT JOIN wib.mv_call_sentiment_daily d
                 ON d.organization_id = o.id AND d.day BETWEEN first_day AND last_day
         WHERE wib.plan_rank(o.plan) >= wib.plan_rank(wib.analytics_snapshots_plan())
         GROUP BY o.id
        ON CONFLICT (organization_id, granularity, snapshot_date) DO UPDATE
           SET period_end = EXCLUDED.period_end, total_calls = EXCLUDED.total_calls,
               completed_calls = EXCLUDED.completed_calls, total_duration_seconds = EXCLUDED.total_duration_seconds,
               avg_duration_seconds = EXCLUDED.avg_duration_seconds, calls_with_sentiment = EXCLUDED.calls_with_sentiment,
               avg_sentiment = EXCLUDED.avg_sentiment, positive_calls = EXCLUDED.positive_calls,
               negative_calls = EXCLUDED.negative_calls, neutral_calls = EXCLUDED.neutral_calls,
               calls_with_outcome = EXCLUDED.calls_with_outcome, successful_calls = EXCLUDED.successful_calls,
               success_rate = EXCLUDED.success_rate, computed_at = now()
         WHERE (s.period_end, s.total_calls, s.completed_calls, s.total_duration_seconds, s.avg_duration_seconds,
                s.calls_with_sentiment, s.avg_sentiment, s.positive_calls, s.negative_calls, s.neutral_calls,
                s.calls_with_outcome, s.successful_calls, s.success_rate)
               IS DISTINCT FROM
               (EXCLUDED.period_end, EXCLUDED.total_calls, EXCLUDED.completed_calls, EXCLUDED.total_duration_seconds,
                EXCLUDED.avg_duration_seconds, EXCLUDED.calls_with_sentiment, EXCLUDED.avg_sentiment,
                EXCLUDED.positive_calls, EXCLUDED.negative_calls, EXCLUDED.neutral_calls,
                EXCLUDED.calls_with_outcome, EXCLUDED.successful_calls, EXCLUDED.success_rate)
        RETURNING 1)
    SELECT count(*) INTO written FROM upserted;
    RETURN written;
END
$$;
COMMENT ON FUNCTION wib.analytics_snapshot(text, date, date) IS
    'Internal: upserts the snapshots of one period for every organization whose plan includes snapshots; returns the rows written.';

-- Anomalies and the sentiment trend of one day for every organization whose
-- plan includes advanced analytics; emits anomaly.detected for new anomalies
-- when webhooks are installed.  Returns what it wrote.
CREATE OR REPLACE FUNCTION wib.analytics_detect(day date) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    win       integer := wib.analytics_setting('wib.anomaly_window', '30')::integer;
    threshold float8  := wib.analytics_setting('wib.anomaly_threshold', '3')::float8;
    min_hist  integer := least(wib.analytics_setting('wib.anomaly_min_history', '7')::integer, win);
    min_change float8 := wib.analytics_setting('wib.anomaly_min_change', '0.1')::float8;
    ttl       integer := wib.analytics_setting('wib.prediction_ttl', '90')::integer;
    expires   timestamptz := ((day + ttl)::timestamp AT TIME ZONE 'UTC');
    fresh     jsonb;
    written   bigint;
    removed   bigint;
    emitted   integer := 0;
    ev        jsonb;
BEGIN
    WITH orgs AS (
        SELECT o.id AS org, f.first_day
          FROM wib.organizations o
          CROSS JOIN LATERAL (SELECT min(m.day) AS first_day FROM wib.mv_call_sentiment_daily m
                               WHERE m.organization_id = o.id) f
         WHERE wib.plan_rank(o.plan) >= (SELECT wib.plan_rank(fp.min_plan) FROM wib.feature_plans fp
                                          WHERE fp.feature = 'advanced_analytics')
           AND f.first_day <= day
    ), days AS (
        -- Gap-filled: every day from the organization's first day with calls
        -- (at most win days back) to the day itself.
        SELECT o.org, g::date AS d
          FROM orgs o, generate_series(greatest(o.first_day, day - win), day, interval '1 day') g
    ), series AS (
        SELECT s.org, count(*)::integer AS len,
               array_agg(coalesce(m.total_calls, 0)::float8 ORDER BY s.d) AS call_volume,
               array_agg(m.total_duration_seconds::float8 / nullif(m.calls_with_duration, 0) ORDER BY s.d) AS avg_duration,
               array_agg(m.sentiment_sum::float8 / nullif(m.calls_with_sentiment, 0) ORDER BY s.d) AS avg_sentiment,
               array_agg(m.positive_calls::float8 / nullif(m.calls_with_sentiment, 0) ORDER BY s.d) AS positive_share
          FROM days s
          LEFT JOIN wib.mv_call_sentiment_daily m ON m.organization_id = s.org AND m.day = s.d
         GROUP BY s.org
    ), metrics AS (
        SELECT s.org, s.len, v.metric, v.ptype, v.vals
          FROM series s
          CROSS JOIN LATERAL (VALUES ('call_volume', 'volume_anomaly', s.call_volume),
                                     ('avg_duration', 'volume_anomaly', s.avg_duration),
                                     ('avg_sentiment', 'sentiment_trend', s.avg_sentiment),
                                     ('positive_share', 'sentiment_trend', s.positive_share)) v(metric, ptype, vals)
    ), anomalies AS (
        SELECT m.org, m.ptype, m.metric AS subject, z.z AS score,
               round(least(0.999, greatest(0, 1 - 1 / (z.z * z.z)))::numeric, 3) AS confidence,
               wib.anomaly_explanation(m.metric, day, z.value, z.mean, m.len - 1, z.z) AS explanation,
               jsonb_build_object('kind', 'anomaly', 'metric', m.metric, 'value', z.value,
                                  'baseline_mean', z.mean, 'baseline_stddev', z.stddev,
                                  'baseline_days', m.len - 1, 'window', win, 'threshold', threshold,
                                  'min_history', min_hist, 'min_change', min_change) AS features,
               'wib-zscore-1' AS model_version
          FROM metrics m
          CROSS JOIN LATERAL wib.zscore_series(m.vals, win, threshold, min_hist) z
         WHERE z.idx = m.len AND z.is_anomaly
           -- A practical floor besides the z threshold: a relative change for
           -- volume and duration, an absolute one for sentiment and share.
           AND abs(z.value - z.mean) >= min_change * CASE WHEN m.metric IN ('call_volume', 'avg_duration')
                                                          THEN abs(z.mean) ELSE 1 END
    ), trends AS (
        SELECT s.org, 'sentiment_trend' AS ptype, 'avg_sentiment_trend' AS subject, t.slope AS score,
               round(least(1, greatest(0, t.r2))::numeric, 3) AS confidence,
               format('Average sentiment %s over the %s days to %s (r² = %s)',
                      CASE WHEN abs(t.slope) < 0.0005 THEN 'held steady'
                           WHEN t.slope > 0 THEN format('rose by %s a day', round(t.slope::numeric, 3))
                           ELSE format('fell by %s a day', round(abs(t.slope)::numeric, 3)) END,
                      s.len, to_char(day, 'Dy YYYY-MM-DD'), round(t.r2::numeric, 2)) AS explanation,
               jsonb_build_object('kind', 'trend', 'metric', 'avg_sentiment', 'slope', t.slope,
                                  'intercept', t.intercept, 'r2', t.r2, 'points', t.n, 'days', s.len) AS features,
               'wib-trend-1' AS model_version
          FROM series s
          CROSS JOIN LATERAL wib.linear_trend(s.avg_sentiment) t
         WHERE t.n >= min_hist AND t.slope IS NOT NULL
    ), wanted AS (
        SELECT * FROM anomalies UNION ALL SELECT * FROM trends
    ), upserted AS (
        INSERT INTO wib.ml_predictions AS p
               (organization_id, prediction_type, subject, target_date, score, confidence, explanation,
                features, model_version, expires_at)
        SELECT w.org, w.ptype, w.subject, day, w.score, w.confidence, w.explanation, w.features,
               w.model_version, expires
          FROM wanted w
        ON CONFLICT (organization_id, prediction_type, subject, target_date) DO UPDATE
           SET score = EXCLUDED.score, confidence = EXCLUDED.confidence, explanation = EXCLUDED.explanation,
               features = EXCLUDED.features, model_version = EXCLUDED.model_version, expires_at = EXCLUDED.expires_at
         WHERE (p.score, p.confidence, p.explanation, p.features, p.model_version, p.expires_at)
               IS DISTINCT FROM
               (EXCLUDED.score, EXCLUDED.confidence, EXCLUDED.explanation, EXCLUDED.features,
                EXCLUDED.model_version, EXCLUDED.expires_at)
        RETURNING p.id, p.organization_id, p.subject, p.score, p.explanation, p.features, (p.xmax = 0) AS inserted
    ), removed_rows AS (
        DELETE FROM wib.ml_predictions p
         WHERE p.target_date = day AND p.model_version IN ('wib-zscore-1', 'wib-trend-1')
           AND NOT EXISTS (SELECT 1 FROM wanted w
                            WHERE w.org = p.organization_id AND w.ptype = p.prediction_type AND w.subject = p.subject)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM removed_rows),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('organization_id', u.organization_id, 'prediction_id', u.id,
                                                         'day', day, 'metric', u.subject, 'z', u.score,
                                                         'value', u.features -> 'value',
                                                         'baseline_mean', u.features -> 'baseline_mean',
                                                         'explanation', u.explanation)), '[]')
              FROM upserted u WHERE u.inserted AND u.features ->> 'kind' = 'anomaly')
      INTO written, removed, fresh;

    -- anomaly.detected for each new anomaly.  An event that cannot be queued
    -- is logged and skipped: the anomaly itself is recorded, and the other
    -- organizations still get theirs.
    FOR ev IN SELECT e FROM jsonb_array_elements(fresh) e LOOP
        BEGIN
            PERFORM pg_catalog.set_config('wib.org_id', ev ->> 'organization_id', true);
            PERFORM wib.emit_event('anomaly.detected', ev);
            emitted := emitted + 1;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'anomaly.detected for organization % not queued: %', ev ->> 'organization_id', SQLERRM;
        END;
    END LOOP;
    RETURN jsonb_build_object('predictions_written', written, 'predictions_removed', removed,
                              'new_anomalies', jsonb_array_length(fresh), 'events', emitted);
END
$$;
COMMENT ON FUNCTION wib.analytics_detect(date) IS
    'Internal: z-score anomalies (call volume, average duration, average sentiment, positive share) and the sentiment trend of day for every organization on advanced_analytics, upserted into wib.ml_predictions; emits anomaly.detected for new anomalies.';

-- Snapshots and predictions of one day (the views must be fresh).
CREATE OR REPLACE FUNCTION wib.analytics_process_day(day date) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    snaps bigint := wib.analytics_snapshot('daily', day, day);
    week_start date := date_trunc('week', day::timestamp)::date;
    month_start date := date_trunc('month', day::timestamp)::date;
BEGIN
    IF extract(isodow FROM day) = 7 THEN
        snaps := snaps + wib.analytics_snapshot('weekly', week_start, day);
    END IF;
    IF extract(day FROM day + 1) = 1 THEN
        snaps := snaps + wib.analytics_snapshot('monthly', month_start, day);
    END IF;
    RETURN jsonb_build_object('day', day, 'snapshots_written', snaps) || wib.analytics_detect(day);
END
$$;
COMMENT ON FUNCTION wib.analytics_process_day(date) IS
    'Internal: the daily snapshot (and the weekly or monthly one the day closes) and the predictions of day.';

-- Refuses a missing or future day.
CREATE OR REPLACE FUNCTION wib.analytics_check_day(day date, field text) RETURNS void
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF day IS NULL OR day IN ('infinity', '-infinity') THEN
        PERFORM wib.invalid_field(field, format('%s must be a date.', field));
    END IF;
    IF day > (now() AT TIME ZONE 'UTC')::date THEN
        PERFORM wib.invalid_field(field, format('%s (%s) must not be after today (UTC).', field, day));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.analytics_check_day(date, text) IS 'Internal: raises 22023 naming field unless day is a date up to today (UTC).';

-- Only one nightly run at a time (a second one would only repeat the work).
CREATE OR REPLACE FUNCTION wib.analytics_lock() RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('wib.run_nightly')) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB401',
            MESSAGE = 'a nightly analytics run is already in progress',
            DETAIL = 'wib.run_nightly() and wib.run_nightly_range() take one lock; another session holds it.',
            HINT = 'Wait for the other run to finish; running the same day again gives the same rows.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.analytics_lock() IS 'Internal: takes the nightly run''s lock or raises WB401.';

-- Moves the analytics_nightly job to the time of day in wib.nightly_at.
CREATE OR REPLACE FUNCTION wib.analytics_reschedule() RETURNS timestamptz
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    at   time := wib.analytics_setting('wib.nightly_at', '02:00')::time;
    next_run timestamptz;
BEGIN
    UPDATE wib.scheduled_jobs j
       SET run_at = at, next_run_at = wib.job_next_run(j.run_every, at, now())
     WHERE j.name = 'analytics_nightly' AND j.run_at IS DISTINCT FROM at;
    SELECT j.next_run_at INTO next_run FROM wib.scheduled_jobs j WHERE j.name = 'analytics_nightly';
    RETURN next_run;
END
$$;
COMMENT ON FUNCTION wib.analytics_reschedule() IS
    'Applies wib.nightly_at to the analytics_nightly job now (the job also applies it after each run); returns the next run. With pg_cron, run wib.cron_schedule() again afterwards.';

CREATE OR REPLACE FUNCTION wib.run_nightly(day date DEFAULT ((now() AT TIME ZONE 'UTC')::date - 1)) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    started timestamptz := clock_timestamp();
    result  jsonb;
BEGIN
    PERFORM wib.analytics_check_day(day, 'day');
    PERFORM wib.analytics_lock();
    PERFORM wib.analytics_refresh();
    result := wib.analytics_process_day(day);
    UPDATE wib.analytics_refreshes
       SET last_day = greatest(last_day, day),
           duration_ms = extract(epoch FROM clock_timestamp() - started) * 1000
     WHERE name = 'views';
    PERFORM wib.analytics_reschedule();
    RETURN result || jsonb_build_object('duration_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
END
$$;
COMMENT ON FUNCTION wib.run_nightly(date) IS
    'The nightly analytics job for day (default yesterday, UTC): refreshes both views concurrently, upserts the daily snapshot (and the weekly or monthly one the day closes), finds z-score anomalies and the sentiment trend and writes them to wib.ml_predictions. Idempotent: running a day again gives the same rows. Run by the scheduler at wib.nightly_at, or by pg_cron.';

CREATE OR REPLACE FUNCTION wib.run_nightly_range(from_date date, to_date date) RETURNS SETOF jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    d date;
BEGIN
    PERFORM wib.analytics_check_day(from_date, 'from_date');
    PERFORM wib.analytics_check_day(to_date, 'to_date');
    PERFORM wib.analytics_check_range(from_date, to_date, 3660);
    PERFORM wib.analytics_lock();
    PERFORM wib.analytics_refresh();
    FOR d IN SELECT g::date FROM generate_series(from_date, to_date, interval '1 day') g LOOP
        RETURN NEXT wib.analytics_process_day(d);
    END LOOP;
    UPDATE wib.analytics_refreshes SET last_day = greatest(last_day, to_date) WHERE name = 'views';
END
$$;
COMMENT ON FUNCTION wib.run_nightly_range(date, date) IS
    'Back-fills the nightly job for every day from from_date to to_date (views refreshed once); one summary per day.';

-- The event the nightly job emits, in the webhooks catalogue so that subscriptions can ask for it.
INSERT INTO wib.webhook_event_types (event_type, description, example) VALUES
    ('anomaly.detected', 'The nightly analytics job found an unusual day for the organization (a z-score anomaly of call volume, duration, sentiment or positive share).',
     '{"organization_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10", "prediction_id": "3e2f1a0b-9c8d-4e7f-a6b5-c4d3e2f1a0b9", "day": "2026-11-17", "metric": "call_volume", "z": -3.2, "value": 59, "baseline_mean": 100.4, "explanation": "Call volume dropped 41% on Tue 2026-11-17 vs the 30-day baseline (z = −3.2)"}');

INSERT INTO wib.scheduled_jobs (name, command, run_every, run_at, description, next_run_at)
SELECT 'analytics_nightly', 'SELECT wib.run_nightly()', interval '1 day', at,
       'Refreshes the analytics views, writes yesterday''s snapshots and finds anomalies (daily at wib.nightly_at, UTC).',
       wib.job_next_run(interval '1 day', at, now())
  FROM (SELECT wib.analytics_setting('wib.nightly_at', '02:00')::time AS at) s;

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('ml_predictions_expired',
     $q$WITH gone AS (DELETE FROM wib.ml_predictions WHERE expires_at < now() RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Predictions past their expires_at (wib.prediction_ttl days after the day they are about).'),
    ('analytics_snapshots',
     $q$WITH gone AS (DELETE FROM wib.analytics_snapshots
                       WHERE period_end < (now() AT TIME ZONE 'UTC')::date
                                          - wib.analytics_setting('wib.snapshot_retention', '1095')::integer
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Snapshots whose period ended more than wib.snapshot_retention days ago.');

-- ---------------------------------------------------------------- privileges

GRANT EXECUTE ON FUNCTION
    wib.sentiment_trends(date, date, text), wib.agent_leaderboard(date, date, text, integer),
    wib.analytics_snapshots_range(date, date, text), wib.anomalies(date, date), wib.data_as_of(),
    wib.analytics_deadline(integer), wib.analytics_check_range(date, date, integer),
    wib.sentiment_label(text, numeric), wib.analytics_require_snapshots(), wib.analytics_snapshots_plan()
TO wib_app;
GRANT SELECT ON wib.sentiment_scores, wib.analytics_snapshots, wib.ml_predictions, wib.analytics_refreshes TO wib_app;

GRANT EXECUTE ON FUNCTION
    wib.run_nightly(date), wib.run_nightly_range(date, date), wib.sentiment_backfill(),
    wib.analytics_reschedule()
TO wib_admin;

-- ==== src/sql/99_grants.sql
-- Privileges, last so they cover every object above.  Functions are closed to
-- PUBLIC and opened to wib_app (applications) and wib_admin (operators) one by one.
-- API functions run as their caller, so row-level security applies to them too.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA wib FROM PUBLIC;
GRANT USAGE ON SCHEMA wib TO wib_app, wib_admin;
GRANT wib_app TO wib_admin;

-- Tenant context, plans, guards, validation (called inside the API as the caller).
GRANT EXECUTE ON FUNCTION
    wib.current_org_id(), wib.require_org(), wib.current_user_id(),
    wib.set_context(uuid, text, boolean), wib.clear_context(),
    wib.plan_rank(text), wib.current_plan(), wib.has_feature(text), wib.require_feature(text),
    wib.plan_limit(text), wib.require_limit(text, bigint, bigint),
    wib.rate_limit(text, integer, interval), wib.rate_limit_check(text, integer, interval),
    wib.idempotency_begin(text, jsonb), wib.idempotency_finish(text, jsonb),
    wib.invalid_field(text, text), wib.check_fields(jsonb, text[], text),
    wib.field_text(jsonb, text, integer), wib.require_text(text, text, integer),
    wib.audit(text, text, text, jsonb, jsonb, uuid), wib.redact(jsonb),
    wib.user_create(text, text, text, text), wib.user_update(text, jsonb), wib.user_delete(text)
TO wib_app;

GRANT SELECT ON wib.organizations, wib.feature_plans, wib.plan_limits, wib.audit_log TO wib_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    wib.users, wib.calls, wib.recordings, wib.ai_summaries, wib.call_outcomes, wib.scorecards
TO wib_app;
GRANT SELECT, INSERT, UPDATE ON wib.idempotency_keys TO wib_app;

-- Operators: organizations, plans, workers and jobs.
GRANT EXECUTE ON FUNCTION
    wib.organization_create(text, text), wib.organization_update(uuid, jsonb),
    wib.worker_status_rows(), wib.wake(text),
    wib.cron_schedule(), wib.cron_unschedule(), wib.purge_expired(),
    wib.job_next_run(interval, time, timestamptz), wib.job_cron_expr(interval, time)
TO wib_admin;
GRANT SELECT ON wib.worker_status TO wib_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON wib.feature_plans, wib.plan_limits TO wib_admin;
GRANT SELECT, UPDATE ON wib.scheduled_jobs TO wib_admin;
GRANT SELECT ON wib.retention_policies TO wib_admin;
