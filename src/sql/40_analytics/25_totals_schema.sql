-- Analytics totals: the per-day and per-agent-week figures the dashboards and
-- the nightly job read, kept as tables and brought up to date by the nightly
-- job from a log of what changed (see 35_totals.sql).

-- Calls, durations, sentiment and outcomes per organization and UTC day.
CREATE TABLE wib.analytics_daily_totals (
    organization_id        uuid       NOT NULL,
    day                    date       NOT NULL,
    total_calls            integer    NOT NULL,
    completed_calls        integer    NOT NULL,
    total_duration_seconds bigint     NOT NULL,
    calls_with_duration    integer    NOT NULL,
    calls_with_sentiment   integer    NOT NULL,
    sentiment_sum          numeric,
    positive_calls         integer    NOT NULL,
    negative_calls         integer    NOT NULL,
    neutral_calls          integer    NOT NULL,
    scores_milli           smallint[],
    calls_with_outcome     integer    NOT NULL,
    successful_calls       integer    NOT NULL,
    CONSTRAINT analytics_daily_totals_pkey PRIMARY KEY (organization_id, day)
);
COMMENT ON TABLE wib.analytics_daily_totals IS
    'Calls, durations, sentiment and outcomes per organization and UTC day (scores_milli: the day''s scores times 1000 in ascending order, for exact medians of a day or of longer periods); a day without calls has no row. Brought up to date by wib.run_nightly() from wib.analytics_changes; not readable by wib_app.';
SELECT wib.make_tenant_table('wib.analytics_daily_totals');

-- Calls, sentiment and outcomes per organization, agent and ISO week.
CREATE TABLE wib.analytics_agent_weekly_totals (
    organization_id      uuid    NOT NULL,
    week                 date    NOT NULL,
    agent_id             text    NOT NULL,
    calls                integer NOT NULL,
    calls_with_sentiment integer NOT NULL,
    sentiment_sum        numeric,
    positive_calls       integer NOT NULL,
    calls_with_outcome   integer NOT NULL,
    successful_calls     integer NOT NULL,
    CONSTRAINT analytics_agent_weekly_totals_pkey PRIMARY KEY (organization_id, week, agent_id)
);
COMMENT ON TABLE wib.analytics_agent_weekly_totals IS
    'Calls, sentiment and outcomes per organization, agent and ISO week (Monday, UTC); calls without an agent are left out. Brought up to date by wib.run_nightly() from wib.analytics_changes; not readable by wib_app.';
SELECT wib.make_tenant_table('wib.analytics_agent_weekly_totals');

-- What changed since the totals were last brought up to date: one row per
-- statement and (organization, UTC day, agent) it touched in wib.calls,
-- wib.call_outcomes or wib.sentiment_scores, written by statement-level
-- triggers and consumed (deleted) by the nightly job.  Writers only append,
-- the nightly job reads it whole, so it has no key and no index: a key (with
-- the sequence that would number its rows) would be written on every call
-- insert, the platform's hottest write, and never read.  Its replica identity
-- is the whole row, so the nightly job's deletes still work where a
-- publication FOR ALL TABLES publishes them.
CREATE TABLE wib.analytics_changes (
    organization_id uuid NOT NULL,
    day             date NOT NULL,
    agent_id        text
);
ALTER TABLE wib.analytics_changes REPLICA IDENTITY FULL;
COMMENT ON TABLE wib.analytics_changes IS
    'Internal: the (organization, UTC day, agent) buckets whose analytics totals are out of date, appended by statement-level triggers on wib.calls, wib.call_outcomes and wib.sentiment_scores and consumed by wib.run_nightly(); not readable by wib_app.';
SELECT wib.make_tenant_table('wib.analytics_changes');

-- The nightly job recomputes a day's sentiment from the day's scores only.
CREATE INDEX sentiment_scores_started_idx ON wib.sentiment_scores (organization_id, call_started_at);
