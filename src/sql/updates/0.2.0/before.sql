-- wib 0.1.0 to 0.2.0, first step: what the replayable parts cannot do themselves.

-- Scheduled commands run with the rights of the role that scheduled them, and
-- operators may change only the timing of a job (0.1.0 let wib_admin rewrite a
-- command that then ran as the bootstrap superuser).
ALTER TABLE wib.scheduled_jobs ADD COLUMN run_as text NOT NULL DEFAULT current_user;
COMMENT ON COLUMN wib.scheduled_jobs.run_as IS
    'The role whose rights the command runs with (the role that scheduled it); operators may change a job''s timing, never its command or role.';
REVOKE UPDATE ON wib.scheduled_jobs FROM wib_admin;

-- The application-facing audit takes no organization (0.1.0 let a session of
-- one organization write into another's log); wib's own functions use audit_for.
DROP FUNCTION wib.audit(text, text, text, jsonb, jsonb, uuid);

-- Privileges are granted anew by the replayed grants of every feature: take
-- back all of 0.1.0's first, so applications keep no direct writes to feature
-- tables (the API is the contract) and no internal helpers.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA wib FROM wib_app, wib_admin;
REVOKE ALL ON ALL TABLES IN SCHEMA wib FROM wib_app, wib_admin;

-- A number is routed to one organization, enforced by the routes' key (0.1.0
-- relied on a lock that REPEATABLE READ transactions saw past).  Numbers that
-- two organizations hold already must be released in one of them first.
DO $routes$
DECLARE
    dup text;
BEGIN
    SELECT string_agg(phone_number, ', ' ORDER BY phone_number) INTO dup
      FROM (SELECT r.phone_number FROM wib.inbound_number_routes r
             GROUP BY r.phone_number HAVING count(*) > 1) d;
    IF dup IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '23505',
            MESSAGE = format('inbound numbers routed to more than one organization: %s', dup),
            HINT = 'Release each of these numbers in all but one organization (wib.ivr_number_release), then update again.';
    END IF;
END
$routes$;
ALTER TABLE wib.inbound_number_routes DROP CONSTRAINT inbound_number_routes_pkey,
    ADD CONSTRAINT inbound_number_routes_pkey PRIMARY KEY (phone_number);
COMMENT ON TABLE wib.inbound_number_routes IS
    'Internal: which organization each provisioned (not released) number belongs to, kept by a trigger on inbound_numbers; the key is the number, so a number belongs to one organization at a time.';

-- The event catalogue and the core tables' event triggers move from webhooks
-- into the core event bus, which every delivery channel subscribes to.
ALTER TABLE wib.webhook_event_types RENAME TO event_types;
ALTER TABLE wib.event_types RENAME CONSTRAINT webhook_event_types_pkey TO event_types_pkey;
ALTER TABLE wib.event_types RENAME CONSTRAINT webhook_event_types_name_check TO event_types_name_check;
COMMENT ON TABLE wib.event_types IS
    'The catalogue of platform events, with an example payload of each; custom.* types are also accepted by wib.emit_event.';
DROP TRIGGER calls_webhook_event ON wib.calls;
DROP TRIGGER recordings_webhook_event ON wib.recordings;
DROP TRIGGER ai_summaries_webhook_event ON wib.ai_summaries;
DROP TRIGGER call_outcomes_webhook_event ON wib.call_outcomes;
DROP TRIGGER scorecards_webhook_event ON wib.scorecards;
DROP FUNCTION wib.webhook_emit_core_event();

-- Shared validation moves into the core: one E.164 check (kept by the IVR
-- tables' checks, so renamed rather than replaced) and typed JSON readers that
-- replace the features' own.
ALTER FUNCTION wib.ivr_is_e164(text) RENAME TO is_e164;
DROP FUNCTION wib.ivr_field_int(jsonb, text, integer, integer, integer);
DROP FUNCTION wib.export_filter_time(jsonb, text);
DROP FUNCTION wib.export_filter_choice(jsonb, text, text[]);

-- Exports can be kept in object storage: where each job's file went (the
-- storage kind, the object key r2_key with its endpoint and bucket, the
-- multipart upload that wrote it).  Existing jobs wrote local files.
ALTER TABLE wib.export_jobs
    ADD COLUMN storage text NOT NULL DEFAULT 'local',
    ADD COLUMN r2_key text,
    ADD COLUMN storage_endpoint text,
    ADD COLUMN storage_bucket text,
    ADD COLUMN upload_id text,
    ADD CONSTRAINT export_jobs_storage_check CHECK (storage IN ('local', 's3')),
    ADD CONSTRAINT export_jobs_object_check
        CHECK (storage = 'local' OR status NOT IN ('completed', 'expired')
               OR (r2_key IS NOT NULL AND storage_endpoint IS NOT NULL AND storage_bucket IS NOT NULL));
-- Analytics snapshots are a feature of wib.feature_plans (pro) like every other,
-- gated by the one plan test (wib.org_has_feature) instead of their own.
DROP FUNCTION wib.analytics_require_snapshots();
DROP FUNCTION wib.analytics_snapshots_plan();
-- The nightly steps take an optional organization (on a Citus cluster they
-- run once per organization): the replayed parts create them anew.
DROP FUNCTION wib.analytics_snapshot(text, date, date);
DROP FUNCTION wib.analytics_detect(date);

-- wib.worker_status gains a database column (workers run in every database where wib
-- is installed): the replayed view and its function are created anew.
DROP VIEW wib.worker_status;
DROP FUNCTION wib.worker_status_rows();

-- The analytics materialized views give way to totals tables kept up to date from a
-- log of changes (src/sql/40_analytics/25_totals_schema.sql); views of the same names
-- read the tables, and after.sql fills them from the existing calls.
DROP MATERIALIZED VIEW wib.mv_call_sentiment_daily;
DROP MATERIALIZED VIEW wib.mv_agent_performance_weekly;

-- Webhook signing secrets move into the vault (0.1.0 kept them in plain text).
-- The vault's functions exist only once the replayed parts have run, so here
-- the plaintext columns step aside for the sealed ones, and after.sql seals
-- every secret and drops the plaintext.
ALTER TABLE wib.webhook_subscriptions RENAME COLUMN secret TO secret_plaintext;
ALTER TABLE wib.webhook_subscriptions RENAME COLUMN previous_secret TO previous_secret_plaintext;
ALTER TABLE wib.webhook_subscriptions ADD COLUMN secret bytea, ADD COLUMN previous_secret bytea;
COMMENT ON TABLE wib.webhook_subscriptions IS
    'Endpoints an organization receives events at, with the events wanted, the retry policy and the signing secret (sealed by the vault, never readable by wib_app).';

-- Foreign keys to a user or an IVR menu no longer set one column to NULL on
-- delete (a Citus cluster refuses ON DELETE SET NULL (column) when the key
-- includes the distribution column): wib.user_delete and wib.ivr_menu_delete
-- clear the references themselves.  The call log names its menus without
-- keys (see 30_ivr/10_schema.sql): the checks locked a busy number's menu row
-- on every call.
ALTER TABLE wib.calls DROP CONSTRAINT calls_agent_fkey,
    ADD CONSTRAINT calls_agent_fkey FOREIGN KEY (organization_id, agent_id)
        REFERENCES wib.users (organization_id, id);
ALTER TABLE wib.scorecards DROP CONSTRAINT scorecards_agent_fkey,
    ADD CONSTRAINT scorecards_agent_fkey FOREIGN KEY (organization_id, agent_id)
        REFERENCES wib.users (organization_id, id);
ALTER TABLE wib.inbound_numbers DROP CONSTRAINT inbound_numbers_menu_fkey,
    ADD CONSTRAINT inbound_numbers_menu_fkey FOREIGN KEY (organization_id, menu_id)
        REFERENCES wib.ivr_menus (organization_id, id);
ALTER TABLE wib.inbound_call_log DROP CONSTRAINT inbound_call_log_menu_fkey,
    DROP CONSTRAINT inbound_call_log_current_menu_fkey;

-- Phone numbers written without a calling code (CRM contacts, callers) are
-- read in the organization's own country.
ALTER TABLE wib.organizations ADD COLUMN default_country text NOT NULL DEFAULT 'US';
ALTER TABLE wib.organizations ADD CONSTRAINT organizations_default_country_check CHECK (default_country ~ '^[A-Z]{2}$');
COMMENT ON COLUMN wib.organizations.default_country IS
    'ISO 3166 alpha-2 country in which the organization''s phone numbers written without a calling code are read (CRM caller lookup); changed with wib.organization_update.';

-- Contacts are identified by the other party's number of their calls, in
-- E.164: a column kept by a trigger (src/sql/00_core/13_contacts.sql), filled
-- for the calls of 0.1.0 by after.sql, and an index to find a contact's calls.
ALTER TABLE wib.calls ADD COLUMN counterparty_e164 text;
CREATE INDEX calls_org_counterparty_idx ON wib.calls (organization_id, counterparty_e164, started_at)
    WHERE counterparty_e164 IS NOT NULL;
COMMENT ON COLUMN wib.calls.counterparty_e164 IS
    'The other party''s number (to_number of an outbound call, from_number of an inbound one) in E.164, read in the organization''s default country; NULL when it cannot be read. Kept by the trigger calls_counterparty: whatever is written here is replaced.';

-- The option fields of the platform's menu builder: the spoken option text is
-- the label, its place the sort order, and an option may announce itself
-- before its action.  (Menu documents keep "prompt" and "target" as aliases.)
ALTER TABLE wib.ivr_menu_options RENAME COLUMN prompt TO label;
ALTER TABLE wib.ivr_menu_options RENAME COLUMN position TO sort_order;
ALTER TABLE wib.ivr_menu_options RENAME CONSTRAINT ivr_menu_options_prompt_check TO ivr_menu_options_label_check;
ALTER TABLE wib.ivr_menu_options ADD COLUMN tts_text text,
    ADD CONSTRAINT ivr_menu_options_tts_text_check CHECK (tts_text IS NULL OR length(tts_text) <= 1000),
    ADD CONSTRAINT ivr_menu_options_sort_order_check CHECK (sort_order BETWEEN 0 AND 1000);
COMMENT ON COLUMN wib.ivr_menu_options.label IS
    'What the menu builder shows for the option and the menu says for it inside the Gather ("For sales, press 1."); "prompt" in menu documents is an alias.';
COMMENT ON COLUMN wib.ivr_menu_options.action_target IS
    'The E.164 number of a transfer or the http(s) URL of a survey''s TeXML ("target" in menu documents is an alias; a submenu''s menu is target_menu_id).';
COMMENT ON COLUMN wib.ivr_menu_options.tts_text IS
    'An announcement said when the caller picks the option, before its action ("Connecting you to sales.").';
COMMENT ON COLUMN wib.ivr_menu_options.sort_order IS
    'Where the option comes in the menu (ascending, then by digit); its index in the options array unless given.';

-- Numbers ordered and released through Telnyx's API: the order's id, the
-- monthly cost, the reason of a failure, and the states in between.
ALTER TABLE wib.inbound_numbers
    ADD COLUMN telnyx_order_id text,
    ADD COLUMN monthly_cost_cents integer,
    ADD COLUMN telnyx_error text,
    DROP CONSTRAINT inbound_numbers_status_check,
    ADD CONSTRAINT inbound_numbers_status_check
        CHECK (status IN ('ordering', 'active', 'suspended', 'releasing', 'released', 'failed')),
    ADD CONSTRAINT inbound_numbers_cost_check CHECK (monthly_cost_cents IS NULL OR monthly_cost_cents >= 0);
DROP INDEX wib.inbound_numbers_phone_key;
CREATE UNIQUE INDEX inbound_numbers_phone_key ON wib.inbound_numbers (organization_id, phone_number)
    WHERE status IN ('ordering', 'active', 'suspended');
COMMENT ON COLUMN wib.inbound_numbers.telnyx_number_id IS
    'Telnyx''s id of the phone number resource (what a release deletes), filled once an order through its API succeeded; NULL for numbers recorded as given.';
COMMENT ON COLUMN wib.inbound_numbers.status IS
    'ordering (Telnyx order placed or pending), active, suspended, releasing (release at Telnyx pending), released, failed (the order failed: telnyx_error says why). Only ordering, active and suspended numbers hold quota and route calls.';
COMMENT ON COLUMN wib.inbound_numbers.telnyx_order_id IS
    'Telnyx''s id of the number order (wib.ivr_number_order), once placed.';
COMMENT ON COLUMN wib.inbound_numbers.monthly_cost_cents IS
    'What Telnyx charges a month for the number, in cents of the offer''s currency (from wib.ivr_number_search).';
COMMENT ON COLUMN wib.inbound_numbers.telnyx_error IS
    'Why Telnyx refused or failed the number''s order, or the last error of a release being retried.';

-- The call log is read a page at a time, newest first, by (started_at, id).
DROP INDEX wib.inbound_call_log_started_idx;
CREATE INDEX inbound_call_log_started_idx ON wib.inbound_call_log (organization_id, started_at, id);
