#!/usr/bin/env bash
# Contact models (Enterprise, experimental): Initech has ten months of calls
# whose outcomes depend on the contact's mood and on who calls whom; it trains
# deal probability and churn risk in the database, reads the holdout metrics,
# predicts for a contact with the explanation in words; Hooli, two months old,
# gets no model and is told why.
set -euo pipefail
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

initech=$(q -At -c "SELECT wib.organization_create('Initech', 'enterprise')")
hooli=$(q -At -c "SELECT wib.organization_create('Hooli', 'enterprise')")

echo "Generated history: Initech 400 contacts over 300 days (a sale is likelier with a warmer"
echo "contact and with more inbound calls), Hooli 150 contacts over 60 days:"
q -At <<SQL
\\i $WIB_ROOT/test/t/sql/ml_synthetic.sql
BEGIN;
SELECT 'Initech: ' || pg_temp.ml_gen('$initech', 50000, 400, 300, true, 0.42) || ' calls';
SELECT 'Hooli: ' || pg_temp.ml_gen('$hooli', 60000, 150, 60, true, 0.43) || ' calls';
COMMIT;
SQL

echo "Initech's application trains both models now (normally the nightly job does, when data changed):"
PGOPTIONS="-c wib.org_id=$initech -c wib.user_id=initech-admin" q -U demo_app <<'SQL'
SELECT prediction_type, version, status, training_rows, eval_rows, round(auc::numeric, 3) AS auc,
       round(base_rate::numeric, 3) AS base_rate, round(duration_ms::numeric) AS ms
  FROM wib.ml_train();
\echo 'Model status: holdout AUC (0.5 is chance, 1 a perfect ranking), log loss, Brier score, base rate:'
SELECT prediction_type, model_version, training_rows, round(auc::numeric, 3) AS auc,
       round(log_loss::numeric, 3) AS log_loss, round(brier::numeric, 3) AS brier,
       round(base_rate::numeric, 3) AS base_rate, status
  FROM wib.ml_status();
\echo 'What the deal model learned (coefficients on standardized features, largest first):'
SELECT u.feature, round(u.c::numeric, 3) AS coefficient
  FROM (SELECT * FROM wib.ml_models WHERE prediction_type = 'deal_probability' ORDER BY version DESC LIMIT 1) m,
       unnest(m.feature_names, m.coefficients[2:]) AS u(feature, c)
 ORDER BY abs(u.c) DESC LIMIT 4;
\echo 'The contact with the most calls this month, predicted (any spelling of the number):'
SELECT counterparty_e164 AS contact FROM wib.calls
 WHERE started_at > now() - interval '30 days' GROUP BY counterparty_e164 ORDER BY count(*) DESC, 1 LIMIT 1 \gset
SELECT wib.ml_predict('deal_probability', 'contact', :'contact', 'demo-deal-1') IS NOT NULL AS deal_predicted,
       wib.ml_predict('churn_risk', 'contact', :'contact') IS NOT NULL AS churn_predicted;
SELECT prediction_type, round(score::numeric, 3) AS score, confidence, model_version, expires_at::date AS expires
  FROM wib.ml_predictions('contact', :'contact');
SELECT prediction_type, explanation FROM wib.ml_predictions('contact', :'contact');
\echo 'The same request with its idempotency key again returns the same prediction:'
SELECT wib.ml_predict('deal_probability', 'contact', :'contact', 'demo-deal-1')
     = (SELECT id FROM wib.ml_predictions('contact', :'contact') WHERE prediction_type = 'deal_probability') AS same_id;
SQL

echo "The model in C on its own: logistic regression and AUC on four rows."
q -c "SELECT wib.logreg_fit(ARRAY[[0.0], [1.0], [2.0], [3.0]], ARRAY[false, true, false, true], 1, 1.0) AS coefficients,
             wib.roc_auc(ARRAY[0.1, 0.4, 0.35, 0.8], ARRAY[false, false, true, true]) AS auc"

echo "Hooli, with two months of calls, gets no model; the status says why and predictions are refused:"
PGOPTIONS="-c wib.org_id=$hooli -c wib.user_id=hooli-admin" q -U demo_app <<'SQL' 2>&1
SELECT prediction_type, status FROM wib.ml_train();
\x on
SELECT prediction_type, status FROM wib.ml_status();
\x off
\set ON_ERROR_STOP 0
\set SHOW_CONTEXT never
\set VERBOSITY default
SELECT wib.ml_predict('deal_probability', 'contact', '+15550060001');
SQL
