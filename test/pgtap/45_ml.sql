-- Contact models (deal probability, churn risk): trained on synthetic
-- organizations whose outcomes depend on two features (the model finds both,
-- and says so) or on nothing (AUC about 0.5, said honestly), refused for too
-- little history, gated by plan, isolated by tenant, idempotent, audited, and
-- every function refusing bad input with nothing written.
-- Earlier files leave dead rows behind (they roll back): clear them first.
VACUUM ANALYZE wib.calls, wib.ai_summaries, wib.sentiment_scores, wib.call_outcomes;
BEGIN;
SELECT plan(91);

CREATE ROLE ml_app LOGIN;
GRANT wib_app TO ml_app;

SELECT wib.organization_create('Signal', 'enterprise') AS sig \gset
SELECT wib.organization_create('Random', 'enterprise') AS rnd \gset
SELECT wib.organization_create('Young', 'enterprise') AS young \gset
SELECT wib.organization_create('Untrained', 'enterprise') AS untrained \gset
SELECT wib.organization_create('Business', 'business') AS biz \gset

\ir ../t/sql/ml_synthetic.sql
SELECT pg_temp.ml_gen(:'sig', 0, 400, 250, true, 0.1) > 3000 AS signal_calls,
       pg_temp.ml_gen(:'rnd', 10000, 400, 250, false, 0.2) > 3000 AS random_calls,
       pg_temp.ml_gen(:'young', 20000, 200, 60, true, 0.3) > 500 AS young_calls,
       pg_temp.ml_gen(:'biz', 30000, 50, 250, true, 0.4) > 500 AS business_calls;
RESET wib.org_id;
RESET wib.user_id;

-- ------------------------------------------------------------ contacts
SELECT is((SELECT count(*) FROM wib.calls WHERE organization_id = :'sig' AND counterparty_e164 IS NULL), 0::bigint,
          'every_generated_call_has_its_contact_number_in_e164');
SELECT ok((SELECT count(DISTINCT counterparty_e164) = count(DISTINCT right(regexp_replace(raw, '[^0-9]', '', 'g'), 10))
                  AND count(DISTINCT counterparty_e164) < count(DISTINCT raw)
             FROM (SELECT counterparty_e164, CASE direction WHEN 'inbound' THEN from_number ELSE to_number END AS raw
                     FROM wib.calls WHERE organization_id = :'sig') c),
          'three_spellings_of_each_number_make_one_contact');

-- ------------------------------------------------------------ training
CREATE TEMP TABLE trained AS
SELECT * FROM wib.ml_train_org(:'sig')
UNION ALL SELECT * FROM wib.ml_train_org(:'rnd')
UNION ALL SELECT * FROM wib.ml_train_org(:'young');
CREATE TEMP VIEW coef AS
SELECT m.organization_id, m.prediction_type, u.name, u.c
  FROM trained m, unnest(m.feature_names, m.coefficients[2:]) AS u(name, c)
 WHERE m.status = 'active';
GRANT SELECT ON trained, coef TO PUBLIC;

SELECT is((SELECT status FROM trained WHERE organization_id = :'sig' AND prediction_type = 'deal_probability'), 'active',
          'signal_deal_model_is_trained');
SELECT cmp_ok((SELECT c FROM coef WHERE organization_id = :'sig' AND prediction_type = 'deal_probability' AND name = 'sentiment_mean'),
              '>', 0::float8, 'deal_model_recovers_the_positive_effect_of_sentiment');
SELECT cmp_ok((SELECT c FROM coef WHERE organization_id = :'sig' AND prediction_type = 'deal_probability' AND name = 'inbound_share'),
              '>', 0::float8, 'deal_model_recovers_the_positive_effect_of_inbound_calls');
SELECT cmp_ok((SELECT auc FROM trained WHERE organization_id = :'sig' AND prediction_type = 'deal_probability'),
              '>=', 0.75::float8, 'deal_model_holdout_auc_at_least_0_75');
SELECT ok((SELECT log_loss > 0 AND brier BETWEEN 0 AND 0.25 AND base_rate = eval_positives::float8 / eval_rows
                  AND eval_rows > 0 AND training_rows > eval_rows
             FROM trained WHERE organization_id = :'sig' AND prediction_type = 'deal_probability'),
          'deal_model_reports_log_loss_brier_and_the_holdout_base_rate');
SELECT ok((SELECT (SELECT max(t) FROM unnest(training_cutoffs) t) + interval '30 days' <= eval_cutoff
                  AND eval_cutoff = as_of - interval '30 days' AND cardinality(training_cutoffs) BETWEEN 2 AND 12
             FROM trained WHERE organization_id = :'sig' AND prediction_type = 'deal_probability'),
          'time_based_split_no_training_label_reaches_past_the_holdout_cutoff');
SELECT ok((SELECT cardinality(coefficients) = 11 AND cardinality(feature_means) = 10 AND l2 = 1
                  AND model_version = 'wib-logreg-1/v1' AND jsonb_array_length(calibration) BETWEEN 1 AND 10
             FROM trained WHERE organization_id = :'sig' AND prediction_type = 'deal_probability'),
          'model_keeps_coefficients_scaling_version_and_calibration');
SELECT ok((SELECT status = 'active' AND auc > 0.7 FROM trained WHERE organization_id = :'sig' AND prediction_type = 'churn_risk'),
          'signal_churn_model_is_trained_and_ranks_better_than_chance');
SELECT cmp_ok((SELECT c FROM coef WHERE organization_id = :'sig' AND prediction_type = 'churn_risk' AND name = 'sentiment_mean'),
              '<', 0::float8, 'churn_model_finds_low_sentiment_raises_churn');

-- The training's arithmetic in C (wib.ml_fit_eval) gives the very doubles of
-- its composition in SQL: avg / stddev_pop, wib.ml_scale, wib.logreg_fit_agg,
-- wib.logreg_predict and the metrics, on the same rows.
CREATE TEMP TABLE sig_rows AS
SELECT row_number() OVER () AS i, t.* FROM wib.ml_training_rows(:'sig', 'deal_probability', wib.ml_today()) t;
CREATE TEMP TABLE sig_sql AS
WITH st AS (
    SELECT array_agg(z.m ORDER BY z.j) AS means, array_agg(z.s ORDER BY z.j) AS scales
      FROM (SELECT j, avg(r.features[j]) FILTER (WHERE NOT r.is_eval) AS m,
                   stddev_pop(r.features[j]) FILTER (WHERE NOT r.is_eval) AS s
              FROM (SELECT * FROM sig_rows ORDER BY i) r, generate_series(1, 10) j GROUP BY j) z
), fit AS (
    SELECT wib.logreg_fit_agg(wib.ml_scale(r.features, st.means, st.scales), r.label, 1.0 ORDER BY r.i) AS coef
      FROM sig_rows r, st WHERE NOT r.is_eval
), ev AS (
    SELECT array_agg(wib.logreg_predict(fit.coef, wib.ml_scale(r.features, st.means, st.scales)) ORDER BY r.i) AS p,
           array_agg(r.label ORDER BY r.i) AS y
      FROM sig_rows r, st, fit WHERE r.is_eval
)
SELECT st.means, st.scales, fit.coef, ev.p, wib.roc_auc(ev.p, ev.y) AS auc, wib.log_loss(ev.p, ev.y) AS log_loss,
       wib.brier_score(ev.p, ev.y) AS brier
  FROM st, fit, ev;
CREATE TEMP TABLE sig_c AS
SELECT f.* FROM (SELECT array_agg(r.features ORDER BY r.i) AS x, array_agg(r.is_eval ORDER BY r.i) AS e,
                        array_agg(r.label ORDER BY r.i) AS y FROM sig_rows r) a,
                wib.ml_fit_eval(a.x, a.e, a.y, 1.0, 50, 30, 10) f;
SELECT ok((SELECT c.means = s.means AND c.scales = s.scales AND c.coefficients = s.coef
                  AND c.eval_probabilities = s.p AND c.auc = s.auc AND c.log_loss = s.log_loss AND c.brier = s.brier
                  AND c.enough
             FROM sig_c c, sig_sql s),
          'ml_fit_eval_equals_its_sql_composition_exactly');
SELECT ok((SELECT c.n_train = count(*) FILTER (WHERE NOT r.is_eval) AND c.pos_train = count(*) FILTER (WHERE NOT r.is_eval AND r.label)
                  AND c.n_eval = count(*) FILTER (WHERE r.is_eval) AND c.pos_eval = count(*) FILTER (WHERE r.is_eval AND r.label)
                  AND c.eval_labels = array_agg(r.label ORDER BY r.i) FILTER (WHERE r.is_eval)
             FROM sig_c c, sig_rows r GROUP BY c.n_train, c.pos_train, c.n_eval, c.pos_eval, c.eval_labels),
          'ml_fit_eval_counts_the_classes_and_returns_the_holdout_labels');
SELECT ok((SELECT m.coefficients = c.coefficients AND m.auc = c.auc AND m.feature_means = c.means
             FROM trained m, sig_c c WHERE m.organization_id = :'sig' AND m.prediction_type = 'deal_probability'),
          'the_trained_model_is_ml_fit_eval_of_its_rows');
SELECT ok((SELECT NOT f.enough AND f.coefficients IS NULL AND f.n_train = 2 AND f.n_eval = 1
                  AND f.means = ARRAY[2, NULL]::float8[] AND f.scales = ARRAY[1, NULL]::float8[]
             FROM wib.ml_fit_eval(ARRAY[[1, NULL], [3, NULL], [5, 7]]::float8[], ARRAY[false, false, true],
                                  ARRAY[true, false, true], 1, 50, 1, 1) f),
          'ml_fit_eval_too_few_rows_gives_counts_and_scaling_without_a_fit');
SELECT ok((SELECT NOT f.enough AND f.n_train = 0 AND f.n_eval = 0
             FROM wib.ml_fit_eval('{}', '{}', '{}', 1, 50, 1, 1) f),
          'ml_fit_eval_no_rows');
SELECT throws_ok($$SELECT * FROM wib.ml_fit_eval(ARRAY[1, 2]::float8[], ARRAY[false, true], ARRAY[true, false], 1, 50, 1, 1)$$,
                 '22023', 'invalid features', 'ml_fit_eval_one_dimensional_features');
SELECT throws_ok($$SELECT * FROM wib.ml_fit_eval(ARRAY[[1], [2]]::float8[], ARRAY[false], ARRAY[true, false], 1, 50, 1, 1)$$,
                 '22023', 'invalid is_eval', 'ml_fit_eval_is_eval_length');
SELECT throws_ok($$SELECT * FROM wib.ml_fit_eval(ARRAY[[1], ['NaN']]::float8[], ARRAY[false, true], ARRAY[true, false], 1, 50, 1, 1)$$,
                 '22023', 'invalid features', 'ml_fit_eval_nan');
SELECT throws_ok($$SELECT * FROM wib.ml_fit_eval(NULL, ARRAY[false], ARRAY[true], 1, 50, 1, 1)$$,
                 '22023', 'invalid features', 'ml_fit_eval_null');

-- A prediction's features (wib.ml_contact_features, one contact's calls) are
-- its row of the training query at the same time, for every contact of the
-- organization, now and at a past cutoff: the same contacts, agents and
-- values (to rounding: sums taken in another order).
CREATE TEMP TABLE feat_cmp AS
WITH cuts AS (SELECT unnest(ARRAY[now(), wib.ml_today() - interval '45 days']) AS t),
contacts AS (SELECT DISTINCT counterparty_e164 AS contact FROM wib.calls WHERE organization_id = :'sig')
SELECT cuts.t, k.contact, r.features AS rf, r.last_agent AS ra, l.features AS lf, l.last_agent AS la
  FROM cuts CROSS JOIN contacts k
  LEFT JOIN wib.ml_feature_rows(:'sig', ARRAY(SELECT t FROM cuts), 30) r ON r.cutoff = cuts.t AND r.contact = k.contact
  LEFT JOIN LATERAL wib.ml_contact_features(:'sig', k.contact, cuts.t) l ON true;
SELECT ok((SELECT count(*) FILTER (WHERE rf IS NOT NULL) > 100 AND count(*) FILTER (WHERE rf IS NULL) > 0
                  AND bool_and((rf IS NULL) = (lf IS NULL)) AND bool_and(ra IS NOT DISTINCT FROM la)
             FROM feat_cmp),
          'contact_features_exist_for_the_same_contacts_with_the_same_agent');
SELECT ok((SELECT bool_and(cardinality(rf) = 10 AND cardinality(lf) = 10
                           AND (SELECT bool_and(CASE WHEN a IS NULL THEN b IS NULL
                                                     ELSE abs(a - b) <= 1e-12 * greatest(1, abs(a)) END)
                                  FROM unnest(rf, lf) u(a, b)))
             FROM feat_cmp WHERE rf IS NOT NULL),
          'contact_features_equal_the_training_features');

-- Random outcomes: the model is trained and its AUC, about 0.5, reported as it is.
SELECT is((SELECT status FROM trained WHERE organization_id = :'rnd' AND prediction_type = 'deal_probability'), 'active',
          'random_org_deal_model_is_trained');
SELECT ok((SELECT auc BETWEEN 0.35 AND 0.65 FROM trained WHERE organization_id = :'rnd' AND prediction_type = 'deal_probability'),
          'random_outcomes_give_an_auc_near_one_half');
SELECT matches((SELECT status || ': ' || reason FROM trained WHERE organization_id = :'rnd' AND prediction_type = 'churn_risk'),
               '^insufficient_data: positive = no call within 60 days: training has [0-9]+ of [0-9]+ examples positive',
               'random_org_without_churn_has_no_churn_model_and_says_why');

-- Too little history: no model, and the status says why.
SELECT results_eq($$SELECT prediction_type, status FROM trained WHERE organization_id = '$$ || :'young' || $$' ORDER BY 1$$,
                  $$VALUES ('churn_risk', 'insufficient_data'), ('deal_probability', 'insufficient_data')$$,
                  'sixty_days_of_history_train_no_model');
SELECT matches((SELECT reason FROM trained WHERE organization_id = :'young' AND prediction_type = 'deal_probability'),
               '^[0-9]+ days of call history before the training date; deal_probability needs 102 ',
               'too_little_history_reason_names_the_days_needed');

-- ------------------------------------------------------------ predictions, as the application
SET ROLE ml_app;
SELECT wib.set_context(:'sig', 'manager-1');
SELECT results_eq($$SELECT prediction_type, model_version, status FROM wib.ml_status()$$,
                  $$VALUES ('churn_risk', 'wib-logreg-1/v1', 'active'), ('deal_probability', 'wib-logreg-1/v1', 'active')$$,
                  'ml_status_shows_both_active_models');
SELECT is((SELECT round(auc::numeric, 9) FROM wib.ml_status() WHERE prediction_type = 'deal_probability'),
          (SELECT round(auc::numeric, 9) FROM trained WHERE organization_id = :'sig' AND prediction_type = 'deal_probability'),
          'ml_status_reports_the_holdout_auc');

-- Contacts with a call in the last 30 days, most recent first.
CREATE TEMP TABLE recent AS
SELECT counterparty_e164 AS contact, max(started_at) AS last_call
  FROM wib.calls WHERE started_at > now() - interval '30 days'
 GROUP BY counterparty_e164 ORDER BY max(started_at) DESC, counterparty_e164 LIMIT 40;
SELECT contact AS c1 FROM recent LIMIT 1 \gset
SELECT '(' || substr(:'c1', 3, 3) || ') ' || substr(:'c1', 6, 3) || '-' || substr(:'c1', 9) AS c1_spelled \gset

SELECT wib.ml_predict('deal_probability', 'contact', :'c1') AS p1 \gset
SELECT ok((SELECT score BETWEEN 0 AND 1 AND confidence BETWEEN 0 AND 1 AND subject = 'contact:' || :'c1'
                  AND model_version = 'wib-logreg-1/v1' AND target_date = (now() AT TIME ZONE 'UTC')::date
                  AND expires_at = ((target_date + 30)::timestamp AT TIME ZONE 'UTC')
             FROM wib.ml_predictions WHERE id = :'p1'),
          'prediction_stored_with_score_confidence_version_and_expiry');
SELECT matches((SELECT explanation FROM wib.ml_predictions WHERE id = :'p1'),
               '^Deal probability ([0-9]+|<1|>99)% for \+1555[0-9]{7} \(a sale or appointment within 30 days\): [^()]+ \([+−]\)(, [^()]+ \([+−]\)){0,2}$',
               'explanation_names_up_to_three_features_with_their_direction');
SELECT is((SELECT array_agg(k ORDER BY k) FROM wib.ml_predictions p, jsonb_object_keys(p.features -> 'values') k WHERE p.id = :'p1'),
          (SELECT array_agg(n ORDER BY n) FROM wib.ml_models m, unnest(m.feature_names) n WHERE m.version = 1 AND m.prediction_type = 'deal_probability'),
          'features_keep_every_input_value_by_name');
SELECT is(wib.ml_predict('deal_probability', 'contact', :'c1_spelled'), :'p1'::uuid,
          'another_spelling_of_the_number_is_the_same_contact_and_the_same_days_row');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'ml:prediction_requested' AND resource_id = :'p1'), 2::bigint,
          'each_prediction_request_is_audited');

-- Explanations name the features the outcomes depend on.
CREATE TEMP TABLE predicted AS
SELECT r.contact, wib.ml_predict('deal_probability', 'contact', r.contact) AS id FROM recent r;
SELECT cmp_ok((SELECT count(*) FROM predicted d JOIN wib.ml_predictions p ON p.id = d.id
                WHERE p.explanation ~ 'average sentiment [+−][0-9.]+ \([+−]\)'), '>=', 5::bigint,
              'explanations_name_sentiment');
SELECT cmp_ok((SELECT count(*) FROM predicted d JOIN wib.ml_predictions p ON p.id = d.id
                WHERE p.explanation ~ '[0-9]+% of calls inbound \([+−]\)'), '>=', 5::bigint,
              'explanations_name_the_inbound_share');
SELECT ok((SELECT bool_and(CASE WHEN (p.features #>> '{values,inbound_share}')::float8 > 0.8
                                     AND p.explanation ~ '% of calls inbound' THEN p.explanation ~ '% of calls inbound \(\+\)'
                                ELSE true END)
             FROM predicted d JOIN wib.ml_predictions p ON p.id = d.id),
          'a_high_inbound_share_is_named_as_raising_the_deal_probability');
SELECT cmp_ok((SELECT corr(p.score, (p.features #>> '{values,sentiment_mean}')::float8)
                 FROM predicted d JOIN wib.ml_predictions p ON p.id = d.id), '>', 0::float8,
              'scores_rise_with_sentiment_across_contacts');

-- A contact the CRM knows is named in the explanation (phone or mobile number),
-- never in the stored features.
SELECT contact AS c2 FROM recent ORDER BY last_call DESC, contact OFFSET 1 LIMIT 1 \gset
RESET ROLE;
INSERT INTO wib.crm_integrations (organization_id, crm_type, status) VALUES (:'sig', 'hubspot', 'connected');
INSERT INTO wib.crm_contact_cache (organization_id, integration_id, crm_type, crm_contact_id, phone_e164, mobile_e164, display_name)
SELECT :'sig', i.id, 'hubspot', v.crm_id, v.phone, v.mobile, v.name
  FROM wib.crm_integrations i,
       (VALUES ('90210', :'c1', NULL, 'Dana Whitfield'), ('777', '+15559990001', :'c2', NULL)) v(crm_id, phone, mobile, name)
 WHERE i.organization_id = :'sig';
SET ROLE ml_app;
SELECT is(wib.ml_predict('deal_probability', 'contact', :'c1'), :'p1'::uuid, 'predicting_again_the_same_day_updates_the_days_row');
SELECT ok((SELECT explanation LIKE format('Deal probability %% for Dana Whitfield (hubspot contact 90210), %s (a sale or appointment within 30 days): %%', :'c1')
                  AND position('Dana' IN features::text) = 0 AND position('hubspot' IN features::text) = 0
             FROM wib.ml_predictions WHERE id = :'p1'),
          'crm_contact_name_and_id_in_the_explanation_not_in_the_features');
SELECT wib.ml_predict('deal_probability', 'contact', :'c2') AS p_c2 \gset
SELECT ok((SELECT p.explanation LIKE format('Deal probability %% for hubspot contact 777, %s (%%', :'c2')
                  AND position('hubspot' IN p.features::text) = 0
             FROM wib.ml_predictions p WHERE p.id = :'p_c2'),
          'crm_contact_found_by_its_mobile_number_and_named_by_its_id');

SELECT wib.ml_predict('churn_risk', 'contact', :'c1', 'churn-key-1') AS p2 \gset
SELECT matches((SELECT explanation FROM wib.ml_predictions WHERE id = :'p2'),
               '^Churn risk ([0-9]+|<1|>99)% for Dana Whitfield \(hubspot contact 90210\), \+1555[0-9]{7} \(no call in the next 60 days\): ',
               'churn_prediction_is_explained');
SELECT is((SELECT expires_at FROM wib.ml_predictions WHERE id = :'p2'),
          ((now() AT TIME ZONE 'UTC')::date + 60)::timestamp AT TIME ZONE 'UTC', 'churn_prediction_expires_when_its_60_days_end');
SELECT results_eq(format('SELECT prediction_type, id FROM wib.ml_predictions(''contact'', %L) ORDER BY 1', :'c1_spelled'),
                  format('VALUES (''churn_risk''::text, %L::uuid), (''deal_probability'', %L)', :'p2', :'p1'),
                  'ml_predictions_returns_the_latest_of_each_type');

-- Idempotency.
SELECT is(wib.ml_predict('churn_risk', 'contact', :'c1', 'churn-key-1'), :'p2'::uuid, 'same_key_replays_the_first_answer');
SELECT is((SELECT count(*) FROM wib.audit_log WHERE action = 'ml:prediction_requested' AND resource_id = :'p2'), 1::bigint,
          'a_replay_is_not_audited_again');
SELECT throws_ok(format('SELECT wib.ml_predict(''deal_probability'', ''contact'', %L, ''churn-key-1'')', :'c1'), 'WB004', NULL,
                 'same_key_for_another_request_is_refused');

-- A contact without a call in the last 90 days, or unknown, is not scored.
SELECT counterparty_e164 AS gone FROM wib.calls GROUP BY counterparty_e164
HAVING max(started_at) < now() - interval '100 days' LIMIT 1 \gset
SELECT throws_ok(format('SELECT wib.ml_predict(''deal_probability'', ''contact'', %L)', :'gone'), 'WB403',
                 format('contact %s has no call in the 90 days before now', :'gone'), 'inactive_contact_is_not_scored');
SELECT throws_ok('SELECT wib.ml_predict(''deal_probability'', ''contact'', ''+1 555 999 8888'')', 'WB403', NULL,
                 'unknown_contact_is_not_scored');

-- Training on demand: once an hour.
SELECT is((SELECT array_agg(version ORDER BY prediction_type) FROM wib.ml_train()), ARRAY[2, 2],
          'ml_train_trains_both_models_now');
SELECT throws_ok('SELECT * FROM wib.ml_train(''deal_probability'')', 'WB003', NULL, 'ml_train_at_most_once_an_hour');
SELECT throws_ok(format('SELECT * FROM wib.ml_train_org(%L)', :'sig'), '42501', NULL, 'applications_cannot_train_other_organizations');
SELECT throws_ok(format('INSERT INTO wib.ml_predictions (organization_id, prediction_type, subject, target_date, score, confidence, explanation, model_version, expires_at) VALUES (%L, ''deal_probability'', ''contact:+15550000001'', current_date, 0.99, 0.99, ''made up'', ''x'', now() + interval ''1 day'')', :'sig'),
                 '42501', NULL, 'applications_cannot_write_predictions_directly');
SELECT throws_ok(format('UPDATE wib.ml_models SET auc = 1 WHERE organization_id = %L', :'sig'), '42501', NULL,
                 'applications_cannot_change_models');

-- Random outcomes: predictions carry no confidence.
SELECT wib.set_context(:'rnd', 'manager-2');
SELECT counterparty_e164 AS rc FROM wib.calls WHERE started_at > now() - interval '10 days' LIMIT 1 \gset
SELECT wib.ml_predict('deal_probability', 'contact', :'rc') AS p3 \gset
SELECT ok((SELECT confidence <= 0.3 FROM wib.ml_predictions WHERE id = :'p3'),
          'a_model_no_better_than_chance_gives_predictions_little_or_no_confidence');
SELECT throws_ok(format('SELECT wib.ml_predict(''churn_risk'', ''contact'', %L)', :'rc'), 'WB402',
                 'the organization has no churn_risk model: insufficient_data', 'no_model_no_prediction');
SELECT matches((SELECT status FROM wib.ml_status() WHERE prediction_type = 'churn_risk'),
               '^insufficient_data: .*at least 30 of each class', 'ml_status_says_why_there_is_no_model');

-- Tenant isolation: another organization's contact, predictions and models stay invisible.
SELECT is((SELECT count(*) FROM wib.ml_predictions('contact', :'c1')), 0::bigint,
          'another_tenants_predictions_for_the_same_number_are_invisible');
SELECT is((SELECT count(*) FROM wib.ml_models WHERE organization_id <> :'rnd'), 0::bigint,
          'another_tenants_models_are_invisible');
SELECT is((SELECT count(*) FROM wib.ml_predictions WHERE organization_id = :'sig'), 0::bigint,
          'another_tenants_prediction_rows_are_invisible');
SELECT throws_ok(format('SELECT wib.ml_predict(''deal_probability'', ''contact'', %L)', :'c1'), 'WB403', NULL,
                 'another_tenants_contact_is_unknown_here');

-- Too little history: no prediction, the status says why.
SELECT wib.set_context(:'young', 'manager-3');
SELECT counterparty_e164 AS yc FROM wib.calls LIMIT 1 \gset
SELECT throws_ok(format('SELECT wib.ml_predict(''deal_probability'', ''contact'', %L)', :'yc'), 'WB402', NULL,
                 'young_org_gets_no_prediction');
SELECT matches((SELECT status FROM wib.ml_status() WHERE prediction_type = 'deal_probability'),
               '^insufficient_data: [0-9]+ days of call history before the training date; deal_probability needs 102',
               'young_org_status_says_the_history_is_too_short');
SELECT is((SELECT count(*) FROM wib.ml_predictions), 0::bigint, 'young_org_has_no_prediction_rows');

SELECT wib.set_context(:'untrained', 'manager-4');
SELECT results_eq($$SELECT prediction_type, model_version, split_part(status, ':', 1) FROM wib.ml_status()$$,
                  $$VALUES ('churn_risk', NULL::text, 'not_trained'), ('deal_probability', NULL, 'not_trained')$$,
                  'an_organization_never_trained_is_reported_not_trained');

-- Rate limit: past wib.ml_predict_rate_limit requests in a minute, WB003
-- (here 3 a minute; eight requests cross at most one minute boundary).
RESET ROLE;
SET wib.ml_predict_rate_limit = 3;
CREATE FUNCTION pg_temp.ml_try(n integer) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. n LOOP
        BEGIN
            PERFORM wib.ml_predict('deal_probability', 'contact', '+15550000001');
            RETURN NEXT 'ok';
        EXCEPTION WHEN OTHERS THEN
            RETURN NEXT SQLSTATE;
        END;
    END LOOP;
END
$$;
SET ROLE ml_app;
SELECT ok((SELECT count(*) FILTER (WHERE s = 'WB003') >= 2 AND count(*) FILTER (WHERE s NOT IN ('WB003', 'WB402')) = 0
             FROM pg_temp.ml_try(8) s),
          'ml_predict_is_rate_limited_per_organization');
RESET ROLE;
RESET wib.ml_predict_rate_limit;
SET ROLE ml_app;

-- Plan gating.
SELECT wib.set_context(:'biz', 'manager-5');
SELECT throws_ok('SELECT wib.ml_predict(''deal_probability'', ''contact'', ''+15550000001'')', 'WB001', NULL, 'ml_predict_needs_enterprise');
SELECT throws_ok('SELECT * FROM wib.ml_predictions(''contact'', ''+15550000001'')', 'WB001', NULL, 'ml_predictions_needs_enterprise');
SELECT throws_ok('SELECT * FROM wib.ml_status()', 'WB001', NULL, 'ml_status_needs_enterprise');
SELECT throws_ok('SELECT * FROM wib.ml_train()', 'WB001', NULL, 'ml_train_needs_enterprise');

-- Bad input, field by field, and nothing written.
SELECT wib.set_context(:'sig', 'manager-1');
CREATE TEMP TABLE before_bad AS
SELECT (SELECT count(*) FROM wib.ml_predictions) AS predictions, (SELECT count(*) FROM wib.audit_log) AS audits,
       (SELECT count(*) FROM wib.idempotency_keys) AS keys;
SELECT throws_ok('SELECT wib.ml_predict(NULL, ''contact'', ''+15550000001'')', '22023', 'invalid prediction_type', 'ml_predict_null_type');
SELECT throws_ok('SELECT wib.ml_predict(''volume_anomaly'', ''contact'', ''+15550000001'')', '22023', 'invalid prediction_type', 'ml_predict_other_type');
SELECT throws_ok('SELECT wib.ml_predict(''deal_probability'', NULL, ''+15550000001'')', '22023', 'invalid entity_type', 'ml_predict_null_entity_type');
SELECT throws_ok('SELECT wib.ml_predict(''deal_probability'', ''agent'', ''+15550000001'')', '22023', 'invalid entity_type', 'ml_predict_unknown_entity_type');
SELECT throws_ok('SELECT wib.ml_predict(''deal_probability'', ''contact'', NULL)', '22023', 'invalid entity_id', 'ml_predict_null_entity_id');
SELECT throws_ok('SELECT wib.ml_predict(''deal_probability'', ''contact'', ''  '')', '22023', 'invalid entity_id', 'ml_predict_blank_entity_id');
SELECT throws_ok('SELECT wib.ml_predict(''deal_probability'', ''contact'', ''1-800-FLOWERS'')', '22023', 'invalid entity_id', 'ml_predict_letters_in_entity_id');
SELECT throws_ok('SELECT wib.ml_predict(''deal_probability'', ''contact'', repeat(''5'', 65))', '22023', 'invalid entity_id', 'ml_predict_oversized_entity_id');
SELECT throws_ok('SELECT wib.ml_predict(''deal_probability'', ''contact'', ''+15550000001'', '''')', '22023', 'invalid idempotency_key', 'ml_predict_blank_idempotency_key');
SELECT throws_ok('SELECT * FROM wib.ml_predictions(NULL, ''+15550000001'')', '22023', 'invalid entity_type', 'ml_predictions_null_entity_type');
SELECT throws_ok('SELECT * FROM wib.ml_predictions(''contact'', ''five five five'')', '22023', 'invalid entity_id', 'ml_predictions_bad_entity_id');
SELECT throws_ok('SELECT * FROM wib.ml_train(''sentiment_trend'')', '22023', 'invalid prediction_type', 'ml_train_other_type');
SELECT ok((SELECT predictions = (SELECT count(*) FROM wib.ml_predictions) AND audits = (SELECT count(*) FROM wib.audit_log)
                  AND keys = (SELECT count(*) FROM wib.idempotency_keys) FROM before_bad),
          'refused_requests_wrote_nothing');
SELECT wib.clear_context();
SELECT throws_ok('SELECT * FROM wib.ml_status()', 'WB005', NULL, 'ml_status_needs_an_organization');
RESET ROLE;
SELECT throws_ok('SELECT * FROM wib.ml_train_org(NULL)', 'P0002', NULL, 'ml_train_org_null_organization');
SELECT throws_ok(format('SELECT * FROM wib.ml_train_org(%L, ''x'')', :'sig'), '22023', 'invalid prediction_type', 'ml_train_org_bad_type');

-- ------------------------------------------------------------ nightly
-- Enterprise organizations are retrained when their data changed, and only then.
SELECT is((wib.run_nightly((now() AT TIME ZONE 'UTC')::date - 1) ->> 'models_trained')::integer, 2,
          'nightly_trains_the_models_never_trained_and_keeps_the_others');
SELECT is((wib.run_nightly((now() AT TIME ZONE 'UTC')::date - 1) ->> 'models_trained')::integer, 0,
          'nightly_without_new_data_trains_nothing');
SELECT wib.set_context(:'rnd', 'generator');
INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status, started_at)
VALUES (:'rnd', 'inbound', '+15550010001', '+15550100100', 'completed', now() - interval '2 days');
RESET wib.org_id;
SELECT is((SELECT jsonb_build_object('models_trained', r -> 'models_trained', 'models_unchanged', r -> 'models_unchanged')
             FROM wib.run_nightly((now() AT TIME ZONE 'UTC')::date - 1) r),
          '{"models_trained": 2, "models_unchanged": 6}'::jsonb, 'nightly_retrains_only_the_organization_with_new_data');
SELECT ok((SELECT count(*) = 0 FROM wib.ml_models WHERE organization_id = :'biz'), 'nightly_trains_no_business_organization');

-- Every API function runs under the analytics deadline; the definer-rights ones pin search_path.
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'wib'::regnamespace
              AND p.proname IN ('ml_predict', 'ml_predictions', 'ml_status', 'ml_train')
              AND 'statement_timeout=10s' = ANY (p.proconfig)),
          ARRAY['ml_predict', 'ml_predictions', 'ml_status', 'ml_train'], 'ml_api_functions_set_statement_timeout_10s');

SELECT * FROM finish();
ROLLBACK;
