-- Analytics tables: sentiment scores, snapshots, predictions.

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
CREATE TRIGGER sentiment_scores_touch BEFORE UPDATE ON wib.sentiment_scores
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
CREATE TRIGGER ml_predictions_touch BEFORE UPDATE ON wib.ml_predictions
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

-- The per-day and per-agent-week totals the dashboards read: 25_totals_schema.sql.
