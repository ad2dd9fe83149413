-- Contact predictions: a contact's features now, scored by the organization's
-- current model, explained in words, stored in wib.ml_predictions under the
-- subject contact:<E.164 number>, and read back.

-- How an explanation names a contact: the number, and when the CRM contact
-- cache has a contact with that phone or mobile number, its name and CRM id
-- beside it (the most recently modified one, as wib.crm_contact_lookup orders
-- them).  Names and CRM ids go into the explanation only, never into the
-- stored features.  PL/pgSQL because the cache is created after this file.
CREATE OR REPLACE FUNCTION wib.ml_contact_label(org uuid, contact text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    crm text;
BEGIN
    SELECT CASE WHEN nullif(btrim(k.display_name), '') IS NULL
                THEN format('%s contact %s', k.crm_type, k.crm_contact_id)
                ELSE format('%s (%s contact %s)', left(btrim(k.display_name), 200), k.crm_type, k.crm_contact_id) END
      INTO crm
      FROM wib.crm_contact_cache k
     WHERE k.organization_id = org AND (k.phone_e164 = contact OR k.mobile_e164 = contact)
     ORDER BY k.crm_modified_at DESC NULLS LAST, k.crm_type, k.crm_contact_id
     LIMIT 1;
    RETURN CASE WHEN crm IS NULL THEN contact ELSE crm || ', ' || contact END;
END
$$;
COMMENT ON FUNCTION wib.ml_contact_label(uuid, text) IS
    'Internal: the words that name a contact (an E.164 number) in a prediction''s explanation: the number, preceded by the name and CRM id of the cached CRM contact with that phone or mobile number when there is one (Jane Doe (hubspot contact 501), +15551234567). Never stored in the features.';

-- The subject of a contact's rows in wib.ml_predictions.
CREATE OR REPLACE FUNCTION wib.ml_subject(contact text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 'contact:' || contact;
COMMENT ON FUNCTION wib.ml_subject(text) IS
    'Internal: the subject of a contact''s predictions in wib.ml_predictions, contact:<E.164 number>.';

-- Checks entity_type and entity_id; returns the contact's number in E.164.
CREATE OR REPLACE FUNCTION wib.ml_check_entity(entity_type text, entity_id text) RETURNS text
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    contact text;
BEGIN
    IF entity_type IS NULL OR entity_type <> 'contact' THEN
        PERFORM wib.invalid_field('entity_type', 'entity_type must be contact (its phone number in entity_id).');
    END IF;
    PERFORM wib.require_text(entity_id, 'entity_id', 64);
    contact := wib.phone_e164(entity_id, wib.org_default_country(wib.require_org()));
    IF contact IS NULL THEN
        PERFORM wib.invalid_field('entity_id',
            'entity_id must be a phone number, such as +15551234567 or (555) 123-4567 (read in the organization''s default country); letters and wrong lengths are refused.');
    END IF;
    RETURN contact;
END
$$;
COMMENT ON FUNCTION wib.ml_check_entity(text, text) IS
    'Internal: raises 22023 naming entity_type unless it is contact, or entity_id unless it reads as a phone number (wib.phone_e164 in the organization''s default country); returns the number in E.164.';

-- The organization's current model of a type; WB402 unless it is active.
CREATE OR REPLACE FUNCTION wib.ml_current_model(org uuid, ptype text) RETURNS wib.ml_models
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    m wib.ml_models;
BEGIN
    SELECT x.* INTO m FROM wib.ml_models x
     WHERE x.organization_id = org AND x.prediction_type = ptype
     ORDER BY x.version DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'WB402',
            MESSAGE = format('no %s model has been trained for the organization', ptype),
            HINT = 'The nightly job trains the models of enterprise organizations when new data arrives; wib.ml_train() trains now.';
    END IF;
    IF m.status <> 'active' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB402',
            MESSAGE = format('the organization has no %s model: %s', ptype, m.status),
            DETAIL = m.reason,
            HINT = 'wib.ml_status() shows why; predictions resume once a training finds enough history.';
    END IF;
    RETURN m;
END
$$;
COMMENT ON FUNCTION wib.ml_current_model(uuid, text) IS
    'Internal: the newest training of the organization''s model of ptype; raises WB402 when there is none or it is not active (insufficient data, failed fit).';

-- A feature's value in words, as an explanation says it.
-- STABLE, as what it calls (to_char and float8 to text read settings): so it
-- is inlined into the query that calls it instead of run as a function.
CREATE OR REPLACE FUNCTION wib.ml_feature_phrase(feature text, value float8) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE feature
        WHEN 'calls_7d' THEN CASE WHEN value = 0 THEN 'no call in the last 7 days' WHEN value = 1 THEN '1 call in the last 7 days'
                                  ELSE round(value) || ' calls in the last 7 days' END
        WHEN 'calls_30d' THEN CASE WHEN value = 0 THEN 'no call in the last 30 days' WHEN value = 1 THEN '1 call in the last 30 days'
                                   ELSE round(value) || ' calls in the last 30 days' END
        WHEN 'calls_90d' THEN CASE WHEN value = 1 THEN '1 call in the last 90 days'
                                   ELSE round(value) || ' calls in the last 90 days' END
        WHEN 'inbound_share' THEN round(value * 100) || '% of calls inbound'
        WHEN 'sentiment_mean' THEN CASE WHEN value IS NULL THEN 'no sentiment scores'
                                        ELSE 'average sentiment ' || replace(to_char(value, 'FMS0.00'), '-', '−') END
        WHEN 'sentiment_slope' THEN CASE WHEN value IS NULL THEN 'too few scored calls for a sentiment trend'
                                         WHEN abs(value) < 0.05 THEN 'sentiment steady'
                                         WHEN value > 0 THEN 'sentiment rising (' || to_char(value, 'FMS0.00') || ' per 30 days)'
                                         ELSE 'sentiment falling (' || replace(to_char(value, 'FMS0.00'), '-', '−') || ' per 30 days)' END
        WHEN 'mean_duration_min' THEN CASE WHEN value IS NULL THEN 'no call durations'
                                           ELSE 'calls averaging ' || to_char(value, 'FM9999990.0') || ' min' END
        WHEN 'days_since_last_call' THEN CASE WHEN value < 1 THEN 'last call less than a day ago'
                                              WHEN floor(value) = 1 THEN 'last call 1 day ago'
                                              ELSE 'last call ' || floor(value) || ' days ago' END
        WHEN 'prior_successes' THEN CASE WHEN value = 0 THEN 'no successful outcome yet'
                                         WHEN value = 1 THEN '1 earlier successful outcome'
                                         ELSE round(value) || ' earlier successful outcomes' END
        WHEN 'agent_success_rate' THEN CASE WHEN value IS NULL THEN 'no outcomes recorded for the latest call''s agent'
                                            ELSE 'the latest call''s agent succeeds on ' || round(value * 100) || '% of calls with an outcome' END
        ELSE feature || ' ' || value
    END;
COMMENT ON FUNCTION wib.ml_feature_phrase(text, float8) IS
    'Internal: a contact-model feature''s value in words ("3 calls in the last 7 days", "no successful outcome yet").';

-- The explanation of a prediction: what is predicted, then the (up to) three
-- features that moved the score most from the average contact's, each with
-- the direction it moved it: "(+)" raises the score, "(−)" lowers it.
CREATE OR REPLACE FUNCTION wib.ml_explanation(ptype text, label text, score float8, names text[], x float8[],
                                              contributions float8[]) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    parts text[];
BEGIN
    parts := ARRAY(SELECT wib.ml_feature_phrase(u.n, u.v) || CASE WHEN u.c > 0 THEN ' (+)' ELSE ' (−)' END
                     FROM unnest(names, x, contributions) WITH ORDINALITY AS u(n, v, c, i)
                    WHERE abs(u.c) >= 0.05
                    ORDER BY abs(u.c) DESC, u.i LIMIT 3);
    RETURN format('%s %s for %s (%s): %s',
                  CASE ptype WHEN 'deal_probability' THEN 'Deal probability' ELSE 'Churn risk' END,
                  CASE WHEN score > 0 AND score < 0.005 THEN '<1%' WHEN score < 1 AND score > 0.995 THEN '>99%'
                       ELSE round(score * 100) || '%' END,
                  label,
                  CASE ptype WHEN 'deal_probability'
                             THEN format('a sale or appointment within %s days', wib.ml_horizon_days(ptype))
                             ELSE format('no call in the next %s days', wib.ml_horizon_days(ptype)) END,
                  coalesce(array_to_string(nullif(parts, '{}'), ', '),
                           'no feature moves it much from the organization''s average contact'));
END
$$;
COMMENT ON FUNCTION wib.ml_explanation(text, text, float8, text[], float8[], float8[]) IS
    'Internal: the explanation of a contact prediction: the score, the contact, and the up to three features whose contribution to the log-odds (coefficient times standardized value, at least 0.05) is largest, in words, with (+) when it raises the score and (−) when it lowers it.';

-- Confidence of a prediction: how much better than chance the model ranks
-- contacts on its holdout (2 AUC - 1, the Gini coefficient, 0 for a model no
-- better than chance), times how close the holdout's observed rate came to
-- the predicted probability for scores like this one (1 - the gap in its
-- calibration bin: the first whose highest score is at least this one, else
-- the last).  PL/pgSQL, like the explanation: its plans are kept for the
-- session, where a SQL function with a subquery would be planned per call.
CREATE OR REPLACE FUNCTION wib.ml_confidence(auc float8, calibration jsonb, score float8) RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    bin jsonb;
    gap float8 := 1;
BEGIN
    FOR bin IN SELECT b FROM jsonb_array_elements(calibration) AS b LOOP
        gap := abs((bin ->> 'observed')::float8 - (bin ->> 'predicted')::float8);
        EXIT WHEN (bin ->> 'upper')::float8 >= score;
    END LOOP;
    RETURN round(least(1, greatest(0, (2 * auc - 1) * (1 - gap)))::numeric, 3);
END
$$;
COMMENT ON FUNCTION wib.ml_confidence(float8, jsonb, float8) IS
    'Internal: the confidence of a score: (2 * holdout AUC - 1) times (1 - |observed - predicted|) of the holdout calibration bin the score falls in; 0 for a model no better than chance, 1 for a perfect ranking with exact calibration.';

CREATE OR REPLACE FUNCTION wib.ml_predict(prediction_type text, entity_type text, entity_id text,
                                          idempotency_key text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET statement_timeout = '10s'
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    org     uuid := wib.require_org();
    day     date := (now() AT TIME ZONE 'UTC')::date;
    contact text;
    replay  jsonb;
    m       wib.ml_models;
    fr      record;
    z       float8[];
    contrib float8[];
    prob    float8;
    pid     uuid;
BEGIN
    PERFORM wib.analytics_deadline();
    PERFORM wib.require_feature('ml_predictions');
    PERFORM wib.ml_check_type(prediction_type);
    contact := wib.ml_check_entity(entity_type, entity_id);
    IF idempotency_key IS NOT NULL THEN
        replay := wib.idempotency_begin(idempotency_key,
                      jsonb_build_object('op', 'ml_predict', 'prediction_type', prediction_type,
                                         'entity_type', entity_type, 'entity_id', contact));
        IF replay IS NOT NULL THEN
            RETURN (replay ->> 'id')::uuid;
        END IF;
    END IF;
    PERFORM wib.rate_limit_internal(org, 'ml_predict',
                                    wib.analytics_setting('wib.ml_predict_rate_limit', '600')::integer, interval '1 minute');
    m := wib.ml_current_model(org, prediction_type);

    -- A generic plan, cached for the session: the contact is a parameter.
    SELECT f.features INTO fr FROM wib.ml_contact_features(org, contact, now()) f;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'WB403',
            MESSAGE = format('contact %s has no call in the 90 days before now', contact),
            DETAIL = 'The contact models score contacts with at least one call in the previous 90 days.',
            HINT = 'Check the number, or the calls recorded for it (their from_number or to_number).';
    END IF;
    z := wib.ml_scale(fr.features, m.feature_means, m.feature_scales);
    contrib := ARRAY(SELECT m.coefficients[i + 1] * z[i] FROM generate_subscripts(z, 1) AS i ORDER BY i);
    prob := wib.logreg_predict(m.coefficients, z);

    INSERT INTO wib.ml_predictions AS p
           (organization_id, prediction_type, subject, target_date, score, confidence, explanation, features,
            model_version, expires_at)
    VALUES (org, ml_predict.prediction_type, wib.ml_subject(contact), day, prob,
            wib.ml_confidence(m.auc, m.calibration, prob),
            wib.ml_explanation(ml_predict.prediction_type, wib.ml_contact_label(org, contact), prob,
                               m.feature_names, fr.features, contrib),
            jsonb_build_object('kind', 'contact_model', 'entity_type', 'contact', 'entity_id', contact,
                               'as_of', now(), 'model_id', m.id,
                               'values', (SELECT jsonb_object_agg(u.n, u.v) FROM unnest(m.feature_names, fr.features) AS u(n, v)),
                               'contributions', (SELECT jsonb_object_agg(u.n, round(u.c::numeric, 4))
                                                   FROM unnest(m.feature_names, contrib) AS u(n, c))),
            m.model_version, ((day + m.horizon_days)::timestamp AT TIME ZONE 'UTC'))
    ON CONFLICT ON CONSTRAINT ml_predictions_subject_key DO UPDATE
       SET score = EXCLUDED.score, confidence = EXCLUDED.confidence, explanation = EXCLUDED.explanation,
           features = EXCLUDED.features, model_version = EXCLUDED.model_version, expires_at = EXCLUDED.expires_at
    RETURNING p.id INTO pid;

    PERFORM wib.audit('ml:prediction_requested', 'ml_prediction', pid::text, NULL,
                      jsonb_build_object('prediction_type', ml_predict.prediction_type, 'entity_type', 'contact',
                                         'entity_id', contact, 'score', prob, 'model_version', m.model_version));
    IF idempotency_key IS NOT NULL THEN
        PERFORM wib.idempotency_finish(idempotency_key, jsonb_build_object('id', pid));
    END IF;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION wib.ml_predict(text, text, text, text) IS
    'Predicts deal_probability (a sale or appointment within 30 days) or churn_risk (no call in the next 60 days) for a contact (entity_type contact, entity_id its phone number in any spelling) from its calls up to now and the organization''s current model; stores it in wib.ml_predictions (subject contact:<E.164>, one row per contact, type and UTC day, expiring when its horizon ends) with confidence and explanation, and returns its id. WB402 without an active model, WB403 for a contact without a call in the last 90 days; idempotent with idempotency_key; rate-limited (wib.ml_predict_rate_limit per minute); audited ml:prediction_requested. Plan: ml_predictions (enterprise).';

CREATE OR REPLACE FUNCTION wib.ml_predictions(entity_type text, entity_id text) RETURNS SETOF wib.ml_predictions
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
    SET statement_timeout = '10s'
AS $$
DECLARE
    org     uuid := wib.require_org();
    contact text;
BEGIN
    PERFORM wib.analytics_deadline();
    PERFORM wib.require_feature('ml_predictions');
    contact := wib.ml_check_entity(entity_type, entity_id);
    RETURN QUERY
    SELECT DISTINCT ON (p.prediction_type) p.*
      FROM wib.ml_predictions p
     WHERE p.organization_id = org AND p.prediction_type IN ('churn_risk', 'deal_probability')
       AND p.subject = wib.ml_subject(contact) AND p.expires_at > now()
     ORDER BY p.prediction_type, p.target_date DESC, p.updated_at DESC;
END
$$;
COMMENT ON FUNCTION wib.ml_predictions(text, text) IS
    'The latest unexpired prediction of each type (churn_risk, deal_probability) for a contact (entity_type contact, entity_id its phone number in any spelling). Plan: ml_predictions (enterprise).';

CREATE OR REPLACE FUNCTION wib.ml_status()
    RETURNS TABLE (prediction_type text, model_version text, trained_at timestamptz, training_rows bigint,
                   auc float8, log_loss float8, brier float8, base_rate float8, status text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
    SET statement_timeout = '10s'
AS $$
DECLARE
    org uuid := wib.require_org();
BEGIN
    PERFORM wib.analytics_deadline();
    PERFORM wib.require_feature('ml_predictions');
    RETURN QUERY SELECT s.* FROM wib.ml_status_of(org) s;
END
$$;
COMMENT ON FUNCTION wib.ml_status() IS
    'The organization''s contact models, one row per type (churn_risk, deal_probability): the newest training''s model_version, trained_at, training_rows, holdout auc, log_loss, brier and base_rate, and status: active, or insufficient_data / failed / not_trained followed by why. Plan: ml_predictions (enterprise).';
