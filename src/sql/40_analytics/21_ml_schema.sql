-- The contact models (deal probability, churn risk): one row per training of
-- an organization's model of a type, whether it produced a model or found the
-- data insufficient.  The newest row of a type is the organization's current
-- model; predictions are made only when it is active.

CREATE TABLE wib.ml_models (
    organization_id    uuid             NOT NULL,
    id                 uuid             NOT NULL DEFAULT gen_random_uuid(),
    prediction_type    text             NOT NULL,
    version            integer          NOT NULL,
    model_version      text,
    status             text             NOT NULL,
    reason             text,
    feature_names      text[]           NOT NULL,
    feature_means      float8[],
    feature_scales     float8[],
    coefficients       float8[],
    l2                 float8           NOT NULL,
    horizon_days       integer          NOT NULL,
    as_of              timestamptz      NOT NULL,
    training_cutoffs   timestamptz[]    NOT NULL DEFAULT '{}',
    eval_cutoff        timestamptz,
    training_rows      bigint           NOT NULL DEFAULT 0,
    training_positives bigint           NOT NULL DEFAULT 0,
    eval_rows          bigint           NOT NULL DEFAULT 0,
    eval_positives     bigint           NOT NULL DEFAULT 0,
    auc                float8,
    log_loss           float8,
    brier              float8,
    base_rate          float8,
    calibration        jsonb            NOT NULL DEFAULT '[]',
    data_mark          jsonb            NOT NULL DEFAULT '{}',
    trained_at         timestamptz      NOT NULL DEFAULT now(),
    duration_ms        float8,
    CONSTRAINT ml_models_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT ml_models_version_key UNIQUE (organization_id, prediction_type, version),
    CONSTRAINT ml_models_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT ml_models_type_check CHECK (prediction_type IN ('churn_risk', 'deal_probability')),
    CONSTRAINT ml_models_version_check CHECK (version >= 1),
    CONSTRAINT ml_models_status_check CHECK (status IN ('active', 'insufficient_data', 'failed')),
    CONSTRAINT ml_models_active_check CHECK (
        status <> 'active'
        OR (model_version IS NOT NULL AND auc IS NOT NULL
            AND cardinality(coefficients) = cardinality(feature_names) + 1
            AND cardinality(feature_means) = cardinality(feature_names)
            AND cardinality(feature_scales) = cardinality(feature_names))),
    CONSTRAINT ml_models_reason_check CHECK ((status = 'active') = (reason IS NULL)),
    CONSTRAINT ml_models_metrics_check CHECK (auc BETWEEN 0 AND 1 AND brier BETWEEN 0 AND 1
                                              AND base_rate BETWEEN 0 AND 1 AND log_loss >= 0),
    CONSTRAINT ml_models_counts_check CHECK (training_positives BETWEEN 0 AND training_rows
                                             AND eval_positives BETWEEN 0 AND eval_rows),
    CONSTRAINT ml_models_calibration_check CHECK (jsonb_typeof(calibration) = 'array'),
    CONSTRAINT ml_models_mark_check CHECK (jsonb_typeof(data_mark) = 'object')
);
CREATE INDEX ml_models_trained_idx ON wib.ml_models (trained_at);
COMMENT ON TABLE wib.ml_models IS
    'Trainings of each organization''s contact models (deal_probability, churn_risk): the logistic regression (coefficients on standardized features, their means and scales), the time-based holdout''s metrics and calibration, or why no model was trained. The newest row of a type is the current model; wib.ml_status() summarizes it.';
SELECT wib.make_tenant_table('wib.ml_models');
