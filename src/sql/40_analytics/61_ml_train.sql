-- Training the contact models: per organization and prediction type, a
-- logistic regression (wib.logreg_fit_agg) on (contact, cutoff) rows at older
-- cutoffs, evaluated on the latest cutoff whose labels are known.

-- What an organization's data looks like, to tell whether anything arrived
-- or changed since a model was trained: counts, latest changes and, for
-- outcomes (which have no updated_at), a checksum.  Times as epoch seconds,
-- so the mark reads the same in every session time zone.  PL/pgSQL, as every
-- function that reads tenant tables with parameters and is not inlined: Citus
-- cannot plan such statements in SQL-language functions.
CREATE OR REPLACE FUNCTION wib.ml_data_mark(org uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN jsonb_build_object(
        'calls', (SELECT jsonb_build_array(count(*), extract(epoch FROM max(c.updated_at)))
                    FROM wib.calls c WHERE c.organization_id = org),
        'outcomes', (SELECT jsonb_build_array(count(*), extract(epoch FROM max(o.created_at)),
                                              coalesce(sum(hashtext(o.id::text || o.call_id::text || o.outcome)), 0))
                       FROM wib.call_outcomes o WHERE o.organization_id = org),
        'sentiment', (SELECT jsonb_build_array(count(*), extract(epoch FROM max(s.updated_at)))
                        FROM wib.sentiment_scores s WHERE s.organization_id = org));
END
$$;
COMMENT ON FUNCTION wib.ml_data_mark(uuid) IS
    'Internal: a summary of an organization''s calls, outcomes and sentiment scores (counts, latest changes, a checksum of outcomes) that changes whenever any of them does; the nightly job retrains a model only when it differs from the model''s.';

-- Calibration of a holdout: its rows in up to 10 bins of equal size by
-- predicted probability (at least 20 rows a bin), each with its highest
-- probability, the mean probability and the observed rate.
CREATE OR REPLACE FUNCTION wib.ml_calibration(probabilities float8[], labels boolean[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('upper', b.upper, 'predicted', b.predicted,
                                                 'observed', b.observed, 'rows', b.n) ORDER BY b.bin), '[]')
      FROM (SELECT q.bin, max(q.pr) AS upper, avg(q.pr) AS predicted, avg(q.lb::integer)::float8 AS observed,
                   count(*) AS n
              FROM (SELECT u.pr, u.lb,
                           ntile(greatest(1, least(10, cardinality(ml_calibration.probabilities) / 20)))
                               OVER (ORDER BY u.pr) AS bin
                      FROM unnest(ml_calibration.probabilities, ml_calibration.labels) AS u(pr, lb)) q
             GROUP BY q.bin) b
$$;
COMMENT ON FUNCTION wib.ml_calibration(float8[], boolean[]) IS
    'Internal: the holdout''s rows in up to 10 equal bins by predicted probability (at least 20 rows each): [{upper, predicted, observed, rows}], upper the bin''s highest probability, predicted its mean, observed the rate of true labels.';

-- The rows a model of ptype is trained and evaluated on as of a time: one per
-- contact and cutoff (see wib.ml_cutoffs), is_eval for the holdout cutoff,
-- label true for a sale or appointment within 30 days (deal_probability) or
-- for no call within 60 days (churn_risk).  wib.ml_train_model reads them
-- from here, and so can anyone exporting them to fit elsewhere.  The feature
-- query joins whole tables: hash joins whatever the statistics say (rows
-- written since the last ANALYZE would otherwise invite nested loops over
-- thousands of rows), and no JIT compilation, which costs more than it saves.
CREATE OR REPLACE FUNCTION wib.ml_training_rows(org uuid, ptype text, train_as_of timestamptz)
    RETURNS TABLE (contact text, cutoff timestamptz, is_eval boolean, label boolean, features float8[])
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
    SET jit = off
    SET enable_nestloop = off
    SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    first_call timestamptz;
    cuts       record;
BEGIN
    SELECT min(c.started_at) INTO first_call
      FROM wib.calls c
     WHERE c.organization_id = org AND c.counterparty_e164 IS NOT NULL AND c.started_at < train_as_of;
    cuts := wib.ml_cutoffs(ptype, train_as_of, first_call);
    IF first_call IS NULL OR cardinality(cuts.training_cutoffs) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT f.contact, f.cutoff, f.cutoff = cuts.eval_cutoff,
           CASE WHEN ptype = 'deal_probability' THEN f.succeeded ELSE NOT f.called END, f.features
      FROM wib.ml_feature_rows(org, cuts.training_cutoffs || cuts.eval_cutoff, wib.ml_horizon_days(ptype)) f;
END
$$;
COMMENT ON FUNCTION wib.ml_training_rows(uuid, text, timestamptz) IS
    'Internal: the (contact, cutoff) rows a model of ptype is trained on as of train_as_of: is_eval for the holdout cutoff, the label (deal_probability: a sale or appointment within 30 days; churn_risk: no call within 60 days) and the features; none without two training cutoffs. What wib.ml_train_model fits, and what an export to fit elsewhere would copy.';

-- One training's arithmetic on its rows (features with NULLs for missing
-- values, is_eval, label), in C: see src/analytics/ml_fit.c.
CREATE OR REPLACE FUNCTION wib.ml_fit_eval(features float8[], is_eval boolean[], labels boolean[], l2 float8,
                                           max_iter integer, min_train integer, min_eval integer,
                                           OUT n_train bigint, OUT pos_train bigint, OUT n_eval bigint,
                                           OUT pos_eval bigint, OUT means float8[], OUT scales float8[],
                                           OUT enough boolean, OUT coefficients float8[],
                                           OUT eval_probabilities float8[], OUT eval_labels boolean[],
                                           OUT auc float8, OUT log_loss float8, OUT brier float8)
    LANGUAGE c IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_ml_fit_eval';
COMMENT ON FUNCTION wib.ml_fit_eval(float8[], boolean[], boolean[], float8, integer, integer, integer) IS
    'Internal: one training of a contact model on rows x p features (two-dimensional, NULL for a missing value) with is_eval and a label per row: class counts; the training rows'' means and population standard deviations per feature (as avg and stddev_pop, NULL without values); enough when each class has min_train training and min_eval holdout rows; then the logistic regression (penalty l2, at most max_iter Newton steps) on the standardized training rows (a missing value or a feature without spread is 0, as wib.ml_scale), the holdout''s probabilities and labels, AUC, log loss and Brier score. A failing fit raises wib.logreg_fit''s error.';

-- Trains one model of an organization as of a time and records it (or why
-- there is none) as the newest row of wib.ml_models.  A failing fit is
-- recorded as failed; the caller's transaction goes on.
CREATE OR REPLACE FUNCTION wib.ml_train_model(org uuid, ptype text, train_as_of timestamptz, mark jsonb DEFAULT NULL)
    RETURNS wib.ml_models
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
    SET jit = off
AS $$
DECLARE
    started    timestamptz := clock_timestamp();
    h          integer := wib.ml_horizon_days(ptype);
    min_n      integer := wib.analytics_setting('wib.ml_min_examples', '30')::integer;
    min_eval   integer;
    first_call timestamptz;
    cuts       record;
    r          record;
    m          wib.ml_models;
BEGIN
    IF h IS NULL THEN
        PERFORM wib.invalid_field('prediction_type', 'prediction_type must be one of deal_probability, churn_risk.');
    END IF;
    min_eval := greatest(5, ceil(min_n / 3.0)::integer);
    PERFORM wib.act_as(org);
    -- One training of a model at a time; the next waits and takes the next version.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('wib.ml_train'), pg_catalog.hashtext(org::text || ptype));

    m.organization_id := org;
    m.id := gen_random_uuid();
    m.prediction_type := ptype;
    m.version := (SELECT coalesce(max(x.version), 0) + 1 FROM wib.ml_models x
                   WHERE x.organization_id = org AND x.prediction_type = ptype);
    m.feature_names := wib.ml_feature_names();
    m.l2 := wib.analytics_setting('wib.ml_l2', '1')::float8;
    m.horizon_days := h;
    m.as_of := train_as_of;
    m.training_cutoffs := '{}';
    m.training_rows := 0;
    m.training_positives := 0;
    m.eval_rows := 0;
    m.eval_positives := 0;
    m.calibration := '[]';
    m.data_mark := coalesce(mark, wib.ml_data_mark(org));
    m.trained_at := now();

    SELECT min(c.started_at) INTO first_call
      FROM wib.calls c
     WHERE c.organization_id = org AND c.counterparty_e164 IS NOT NULL AND c.started_at < train_as_of;
    cuts := wib.ml_cutoffs(ptype, train_as_of, first_call);
    m.eval_cutoff := cuts.eval_cutoff;
    m.training_cutoffs := cuts.training_cutoffs;

    IF first_call IS NULL THEN
        m.status := 'insufficient_data';
        m.reason := 'no call with a readable contact number before the training date';
    ELSIF cardinality(cuts.training_cutoffs) < 2 THEN
        m.status := 'insufficient_data';
        m.reason := format('%s days of call history before the training date; %s needs %s (28 days before each of two training cutoffs 14 days apart, %s-day labels after each, then a %s-day holdout)',
                           floor(extract(epoch FROM train_as_of - first_call) / 86400), ptype,
                           wib.ml_min_history_days(ptype), h, h);
    ELSE
        BEGIN
            -- The rows in three arrays, then one call: standardization,
            -- fit and holdout metrics in C (wib.ml_fit_eval).
            SELECT f.n_train, f.pos_train, f.n_eval, f.pos_eval, f.means, f.scales, f.enough,
                   f.coefficients AS coef, f.auc, f.log_loss, f.brier,
                   CASE WHEN f.enough THEN wib.ml_calibration(f.eval_probabilities, f.eval_labels) END AS calibration
              INTO r
              FROM (SELECT coalesce(array_agg(t.features), '{}') AS x, coalesce(array_agg(t.is_eval), '{}') AS e,
                           coalesce(array_agg(t.label), '{}') AS y
                      FROM wib.ml_training_rows(org, ptype, train_as_of) t) a,
                   wib.ml_fit_eval(a.x, a.e, a.y, m.l2, 50, min_n, min_eval) f;

            m.training_rows := r.n_train;
            m.training_positives := r.pos_train;
            m.eval_rows := r.n_eval;
            m.eval_positives := r.pos_eval;
            m.base_rate := r.pos_eval::float8 / nullif(r.n_eval, 0);
            IF NOT r.enough THEN
                m.status := 'insufficient_data';
                m.reason := format('%s: training has %s of %s examples positive, the holdout %s of %s; at least %s of each class are needed in training and %s in the holdout',
                                   CASE ptype WHEN 'deal_probability' THEN 'positive = a sale or appointment within 30 days'
                                              ELSE 'positive = no call within 60 days' END,
                                   r.pos_train, r.n_train, r.pos_eval, r.n_eval, min_n, min_eval);
            ELSE
                m.status := 'active';
                m.model_version := format('wib-logreg-1/v%s', m.version);
                m.coefficients := r.coef;
                m.feature_means := r.means;
                m.feature_scales := r.scales;
                m.auc := r.auc;
                m.log_loss := r.log_loss;
                m.brier := r.brier;
                m.calibration := r.calibration;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            m.status := 'failed';
            m.reason := format('the fit failed: %s (SQLSTATE %s)', SQLERRM, SQLSTATE);
            m.model_version := NULL;
            m.coefficients := NULL;
        END;
    END IF;
    m.duration_ms := extract(epoch FROM clock_timestamp() - started) * 1000;
    INSERT INTO wib.ml_models VALUES (m.*);
    RETURN m;
END
$$;
COMMENT ON FUNCTION wib.ml_train_model(uuid, text, timestamptz, jsonb) IS
    'Internal: trains the organization''s model of ptype as of train_as_of (labels known up to it) on a time-based split and records it, or why there is none (insufficient_data, failed), as the next version in wib.ml_models; returns the row.';

-- The status rows of an organization's models: the newest training of each
-- type (PL/pgSQL for Citus, as wib.ml_data_mark).
CREATE OR REPLACE FUNCTION wib.ml_status_of(org uuid)
    RETURNS TABLE (prediction_type text, model_version text, trained_at timestamptz, training_rows bigint,
                   auc float8, log_loss float8, brier float8, base_rate float8, status text)
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN QUERY
    SELECT t.ptype, m.model_version, m.trained_at, m.training_rows, m.auc, m.log_loss, m.brier, m.base_rate,
           CASE WHEN m.id IS NULL
                THEN 'not_trained: no training has run yet (the nightly job trains models when new data arrives; wib.ml_train() trains now)'
                WHEN m.status = 'active' THEN 'active'
                ELSE m.status || ': ' || m.reason END
      FROM (VALUES ('churn_risk'), ('deal_probability')) AS t(ptype)
      LEFT JOIN LATERAL (SELECT x.* FROM wib.ml_models x
                          WHERE x.organization_id = org AND x.prediction_type = t.ptype
                          ORDER BY x.version DESC LIMIT 1) m ON true
     ORDER BY t.ptype;
END
$$;
COMMENT ON FUNCTION wib.ml_status_of(uuid) IS
    'Internal: the newest training of each model type of org, as wib.ml_status() shows it.';

-- Refuses a prediction type other than the contact models' (NULL allowed when allow_null).
CREATE OR REPLACE FUNCTION wib.ml_check_type(prediction_type text, allow_null boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF (prediction_type IS NULL AND NOT allow_null)
       OR prediction_type NOT IN ('deal_probability', 'churn_risk') THEN
        PERFORM wib.invalid_field('prediction_type',
            'prediction_type must be one of deal_probability, churn_risk' || CASE WHEN allow_null THEN ', or NULL for both.' ELSE '.' END);
    END IF;
END
$$;
COMMENT ON FUNCTION wib.ml_check_type(text, boolean) IS
    'Internal: raises 22023 naming prediction_type unless it is deal_probability or churn_risk (or NULL when allow_null).';

-- The start of the current UTC day: models are trained as of midnight.
CREATE OR REPLACE FUNCTION wib.ml_today() RETURNS timestamptz
    LANGUAGE sql STABLE
    RETURN date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
COMMENT ON FUNCTION wib.ml_today() IS 'Internal: midnight (UTC) of the current day, the date on-demand trainings are made as of.';

CREATE OR REPLACE FUNCTION wib.ml_train(prediction_type text DEFAULT NULL) RETURNS SETOF wib.ml_models
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET statement_timeout = '10s'
AS $$
DECLARE
    org   uuid := wib.require_org();
    ptype text;
    m     wib.ml_models;
BEGIN
    PERFORM wib.analytics_deadline();
    PERFORM wib.require_feature('ml_predictions');
    PERFORM wib.ml_check_type(prediction_type, true);
    PERFORM wib.rate_limit_internal(org, 'ml_train', 1, interval '1 hour');
    FOR ptype IN SELECT t FROM unnest(ARRAY['churn_risk', 'deal_probability']) t
                  WHERE ml_train.prediction_type IS NULL OR t = ml_train.prediction_type LOOP
        m := wib.ml_train_model(org, ptype, wib.ml_today());
        PERFORM wib.audit('ml:training_requested', 'ml_model', m.id::text, NULL,
                          jsonb_build_object('prediction_type', ptype, 'version', m.version, 'status', m.status,
                                             'training_rows', m.training_rows, 'auc', m.auc));
        RETURN NEXT m;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.ml_train(text) IS
    'Trains the organization''s contact models now (deal_probability, churn_risk, or both when NULL) as of the start of the current UTC day and returns the trainings recorded in wib.ml_models; at most once an hour per organization (WB003), under the 10-second analytics deadline; audited ml:training_requested. Plan: ml_predictions (enterprise).';

CREATE OR REPLACE FUNCTION wib.ml_train_org(org uuid, prediction_type text DEFAULT NULL) RETURNS SETOF wib.ml_models
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    ptype text;
    m     wib.ml_models;
BEGIN
    PERFORM wib.ml_check_type(prediction_type, true);
    IF org IS NULL OR NOT EXISTS (SELECT 1 FROM wib.organizations o WHERE o.id = org) THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('organization %s does not exist', org);
    END IF;
    FOR ptype IN SELECT t FROM unnest(ARRAY['churn_risk', 'deal_probability']) t
                  WHERE ml_train_org.prediction_type IS NULL OR t = ml_train_org.prediction_type LOOP
        m := wib.ml_train_model(org, ptype, wib.ml_today());
        PERFORM wib.audit_for(org, 'ml:training_requested', 'ml_model', m.id::text, NULL,
                              jsonb_build_object('prediction_type', ptype, 'version', m.version, 'status', m.status,
                                                 'training_rows', m.training_rows, 'auc', m.auc));
        RETURN NEXT m;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.ml_train_org(uuid, text) IS
    'Operators: trains an organization''s contact models now (deal_probability, churn_risk, or both when NULL) as of the start of the current UTC day, whatever its plan, without rate limit or deadline; returns the trainings recorded in wib.ml_models; audited ml:training_requested.';

-- The nightly step: for every organization whose plan includes
-- ml_predictions, retrains each model whose data changed since its newest
-- training (never one as of an earlier date than that training).
CREATE OR REPLACE FUNCTION wib.ml_nightly(day date) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    as_of_time timestamptz := ((day + 1)::timestamp AT TIME ZONE 'UTC');
    o          record;
    ptype      text;
    mark       jsonb;
    newest     wib.ml_models;
    trained    integer := 0;
    unchanged  integer := 0;
BEGIN
    FOR o IN SELECT g.id FROM wib.organizations g
              WHERE wib.plan_rank(g.plan) >= (SELECT wib.plan_rank(fp.min_plan) FROM wib.feature_plans fp
                                               WHERE fp.feature = 'ml_predictions')
              ORDER BY g.id LOOP
        BEGIN
            PERFORM wib.act_as(o.id);
            mark := wib.ml_data_mark(o.id);
            FOREACH ptype IN ARRAY ARRAY['churn_risk', 'deal_probability'] LOOP
                SELECT x.* INTO newest FROM wib.ml_models x
                 WHERE x.organization_id = o.id AND x.prediction_type = ptype
                 ORDER BY x.version DESC LIMIT 1;
                IF newest.id IS NOT NULL AND (newest.data_mark = mark OR newest.as_of > as_of_time) THEN
                    unchanged := unchanged + 1;
                ELSE
                    PERFORM wib.ml_train_model(o.id, ptype, as_of_time, mark);
                    trained := trained + 1;
                END IF;
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'contact models of organization % not trained: %', o.id, SQLERRM;
        END;
    END LOOP;
    RETURN jsonb_build_object('models_trained', trained, 'models_unchanged', unchanged);
END
$$;
COMMENT ON FUNCTION wib.ml_nightly(date) IS
    'Internal: the nightly job''s training step for day: for every organization on ml_predictions, retrains each contact model as of the end of day when its data changed since the newest training (and that training is not of a later date); returns the counts.';

-- Trainings superseded long enough ago that no unexpired prediction can name them.
INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('ml_models_superseded',
     $q$WITH gone AS (DELETE FROM wib.ml_models m
                       WHERE m.trained_at < now() - make_interval(days => wib.analytics_setting('wib.prediction_ttl', '90')::integer)
                         AND EXISTS (SELECT 1 FROM wib.ml_models n
                                      WHERE n.organization_id = m.organization_id
                                        AND n.prediction_type = m.prediction_type AND n.version > m.version)
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Trainings of a contact model superseded by a newer one and older than wib.prediction_ttl days.')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;
