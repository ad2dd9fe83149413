#!/usr/bin/env bash
# Contact models: training deal probability for 200 enterprise organizations
# over 1,000,000 calls in the database (wib.ml_train_org), against exporting
# the very same training rows (COPY of wib.ml_training_rows to a file) and
# fitting them with scikit-learn the same way (test/t/ml_models_sklearn.py),
# export time counted, in the same run; the two must agree on every holdout
# AUC to 1e-6.  Then the p99 latency of wib.ml_predict (timed in the server)
# and the nightly training step with and without new data.
# WIB_ML_ORGS (default 200) scales the run: that many organizations of 5,000
# calls each.
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
now_s() { date +%s.%N; }
python=/usr/bin/python3
orgs=${WIB_ML_ORGS:-200}
scale="$orgs orgs, $((orgs * 5000)) calls"

# ---------------------------------------------------------------- data
# 200 organizations of 400 contacts (numbers in three spellings) and 10
# agents; 5,000 calls each over the last 365 days, a contact's calls within
# its lifetime (shorter for a low sentiment level s); a call succeeds with a
# probability rising with s and the contact's inbound share q; 30% of calls
# have a sentiment score, successes and a quarter of the rest an outcome.
# The event-bus and CRM triggers are off while loading: the bench has no
# subscriber and no CRM, so they would only leave at once, row by row.
start=$(date +%s)
q -v orgs="$orgs" <<'SQL'
ALTER TABLE wib.calls DISABLE TRIGGER calls_event, DISABLE TRIGGER calls_crm_push;
ALTER TABLE wib.ai_summaries DISABLE TRIGGER ai_summaries_event;
ALTER TABLE wib.call_outcomes DISABLE TRIGGER call_outcomes_event;
SELECT setseed(0.29);
CREATE TABLE ml_orgs AS
SELECT n, wib.organization_create('ML Org ' || n, 'enterprise') AS id FROM generate_series(1, :orgs) n;
INSERT INTO wib.users (organization_id, id, name, role)
SELECT o.id, 'agent-' || a, 'Agent ' || a, 'agent' FROM ml_orgs o, generate_series(1, 10) a;
CREATE TEMP TABLE contacts AS
SELECT n, i, s, q, first_day, least(364, first_day + 60 + floor(random() * 300 * (0.4 + 0.6 * (s + 0.8) / 1.6))::int) AS last_day
  FROM (SELECT o.n, i, random() * 1.6 - 0.8 AS s, random() AS q, floor(random() * 200)::int AS first_day
          FROM ml_orgs o, generate_series(1, 400) i) c;
CREATE TEMP TABLE gen AS
SELECT gen_random_uuid() AS call_id, o.id AS org, x.k, c.i, c.n,
       c.first_day + floor(random() * (c.last_day - c.first_day + 1))::int AS d,
       random() < c.q AS inbound,
       greatest(-1, least(1, c.s + (random() - 0.5) * 0.6)) AS sentiment,
       random() < 1 / (1 + exp(2.5 - 2.5 * c.s - 2.5 * (2 * c.q - 1))) AS success
  FROM ml_orgs o
  CROSS JOIN LATERAL (SELECT k, 1 + floor(400 * random() ^ 1.5)::int AS i FROM generate_series(1, 5000) k) x
  JOIN contacts c ON c.n = o.n AND c.i = x.i;
INSERT INTO wib.calls (organization_id, id, agent_id, direction, from_number, to_number, status, started_at, duration_seconds)
SELECT g.org, g.call_id, 'agent-' || (1 + g.k % 10), CASE WHEN g.inbound THEN 'inbound' ELSE 'outbound' END,
       CASE WHEN g.inbound THEN num ELSE '+15550100100' END, CASE WHEN g.inbound THEN '+15550100100' ELSE num END,
       'completed',
       (now() AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC' - interval '365 days'
           + g.d * interval '1 day' + (g.k * 17 % 72000) * interval '1 second',
       30 + (g.k * 31) % 600
  FROM gen g
 CROSS JOIN LATERAL (SELECT lpad((g.n * 1000 + g.i)::text, 7, '0') AS digits) dg
 CROSS JOIN LATERAL (SELECT CASE g.k % 3 WHEN 0 THEN format('(555) %s-%s', substr(dg.digits, 1, 3), substr(dg.digits, 4))
                                         WHEN 1 THEN format('555.%s.%s', substr(dg.digits, 1, 3), substr(dg.digits, 4))
                                         ELSE '+1 555 ' || dg.digits END AS num) nn;
INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score)
SELECT org, call_id, round(sentiment::numeric, 3) FROM gen WHERE k % 10 < 3;
INSERT INTO wib.call_outcomes (organization_id, call_id, outcome)
SELECT org, call_id, CASE WHEN success THEN 'sale' ELSE 'not_interested' END FROM gen WHERE success OR k % 4 = 0;
ALTER TABLE wib.calls ENABLE TRIGGER calls_event, ENABLE TRIGGER calls_crm_push;
ALTER TABLE wib.ai_summaries ENABLE TRIGGER ai_summaries_event;
ALTER TABLE wib.call_outcomes ENABLE TRIGGER call_outcomes_event;
VACUUM ANALYZE wib.calls, wib.sentiment_scores, wib.call_outcomes, wib.ai_summaries;
SQL
echo "loaded $(q -c 'SELECT count(*) FROM wib.calls') calls ($(q -c 'SELECT count(DISTINCT (organization_id, counterparty_e164)) FROM wib.calls') contacts),"\
     "$(q -c 'SELECT count(*) FROM wib.sentiment_scores') sentiment rows, $(q -c 'SELECT count(*) FROM wib.call_outcomes') outcomes in $(( $(date +%s) - start )) s"

# ---------------------------------------------------------------- training
# In the database: one call per organization, as an operator would.
echo "load average before training: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
t0=$(now_s)
q -c "SELECT count(*) FILTER (WHERE m.status = 'active') FROM ml_orgs o, wib.ml_train_org(o.id, 'deal_probability') m" >/dev/null
t1=$(now_s)
ours=$(echo "$t1 - $t0" | bc -l)
echo "in-database: $(q -c "SELECT count(*) FROM wib.ml_models WHERE status = 'active' AND prediction_type = 'deal_probability'") active models,"\
     "$(q -c "SELECT sum(training_rows + eval_rows) FROM wib.ml_models WHERE prediction_type = 'deal_probability'") rows,"\
     "median holdout AUC $(q -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY auc)::numeric, 3) FROM wib.ml_models WHERE prediction_type = 'deal_probability'")"

# Outside: the same rows exported with COPY, then fitted with scikit-learn.
csv=$BENCH_OUT/ml_training_rows.csv
cols=$(q -c "SELECT string_agg(format('r.features[%s] AS %I', i, n), ', ' ORDER BY i)
               FROM unnest(wib.ml_feature_names()) WITH ORDINALITY u(n, i)")
t0=$(now_s)
q -c "COPY (SELECT o.id AS \"group\", r.is_eval, r.label, $cols
              FROM ml_orgs o, wib.ml_training_rows(o.id, 'deal_probability', wib.ml_today()) r)
      TO STDOUT WITH CSV HEADER" >"$csv"
t1=$(now_s)
"$python" "$WIB_ROOT/test/t/ml_models_sklearn.py" "$csv" --l2 "$(q -c "SHOW wib.ml_l2")" >"$BENCH_OUT/ml_sklearn.json"
t2=$(now_s)
export_s=$(echo "$t1 - $t0" | bc -l)
fit_s=$(echo "$t2 - $t1" | bc -l)
anchor=$(echo "$t2 - $t0" | bc -l)
echo "export-and-fit: COPY $(printf '%.2f' "$export_s") s ($(du -h "$csv" | cut -f1) of CSV), scikit-learn $(printf '%.2f' "$fit_s") s"\
     "(of which reading $("$python" -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["read_seconds"])' "$BENCH_OUT/ml_sklearn.json") s)"
printf "ROW|deal probability training, $scale: in-database vs COPY export + scikit-learn|%.2f|%.2f|s|lower|in-database faster\n" "$ours" "$anchor"

# Every holdout AUC equal to 1e-6.
q -c "SELECT m.organization_id, m.auc FROM wib.ml_models m
       WHERE m.prediction_type = 'deal_probability' AND m.status = 'active'" >"$BENCH_OUT/ml_wib_auc.txt"
diff=$("$python" - "$BENCH_OUT/ml_sklearn.json" "$BENCH_OUT/ml_wib_auc.txt" <<'PY'
import json, sys
ref = json.load(open(sys.argv[1]))["groups"]
worst, n = 0.0, 0
for line in open(sys.argv[2]):
    org, auc = line.strip().split("|")
    worst = max(worst, abs(float(auc) - ref[org]["auc"]))
    n += 1
if n == 0:
    worst = float("inf")
print("%.3g" % worst)
PY
)
n_auc=$(wc -l <"$BENCH_OUT/ml_wib_auc.txt")
echo "holdout AUC, in-database vs scikit-learn: largest difference $diff over the $n_auc organizations with a model"
echo "ROW|holdout AUC agreement with scikit-learn, largest difference over $n_auc orgs|$diff|-|abs|lower|<= 1e-6"

# The fit alone, without the feature query: the exported rows loaded back
# (COPY FROM the same CSV), then for each organization its arrays built and
# wib.ml_fit_eval run (standardization, Newton fit, holdout metrics), beside
# scikit-learn's time for the same steps on the same rows (fit_seconds:
# standardization, fit and metrics, reading the CSV not counted).
fcols=$(q -c "SELECT string_agg(format('%I float8', n), ', ' ORDER BY i) FROM unnest(wib.ml_feature_names()) WITH ORDINALITY u(n, i)")
farr=$(q -c "SELECT 'ARRAY[' || string_agg(format('%I', n), ', ' ORDER BY i) || ']' FROM unnest(wib.ml_feature_names()) WITH ORDINALITY u(n, i)")
q -c "CREATE TABLE ml_rows (\"group\" uuid, is_eval boolean, label boolean, $fcols)"
q -c "\\copy ml_rows FROM '$csv' WITH (FORMAT csv, HEADER)"
q -c "VACUUM ANALYZE ml_rows"
min_n=$(q -c "SELECT wib.analytics_setting('wib.ml_min_examples', '30')")
t0=$(now_s)
q -c "CREATE TABLE ml_fit_alone AS
      SELECT a.\"group\", f.* FROM (SELECT r.\"group\", array_agg($farr) AS x, array_agg(r.is_eval) AS e, array_agg(r.label) AS y
                                       FROM ml_rows r GROUP BY r.\"group\") a,
             wib.ml_fit_eval(a.x, a.e, a.y, current_setting('wib.ml_l2')::float8, 50, $min_n, greatest(5, ceil($min_n / 3.0))::int) f"
t1=$(now_s)
q -c "SELECT \"group\", auc FROM ml_fit_alone WHERE enough" >"$BENCH_OUT/ml_fit_alone_auc.txt"
read -r sk_fit fit_diff < <("$python" - "$BENCH_OUT/ml_sklearn.json" "$BENCH_OUT/ml_fit_alone_auc.txt" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ref = d["groups"]
worst = 0.0
for line in open(sys.argv[2]):
    org, auc = line.strip().split("|")
    worst = max(worst, abs(float(auc) - ref[org]["auc"]))
print("%.3f %.3g" % (d["fit_seconds"], worst))
PY
)
fit_alone=$(echo "$t1 - $t0" | bc -l)
echo "fit alone (rows already in hand): wib.ml_fit_eval over $(q -c 'SELECT count(*) FROM ml_rows') rows of $(q -c 'SELECT count(*) FROM ml_fit_alone') organizations"\
     "$(printf '%.2f' "$fit_alone") s, scikit-learn $sk_fit s; largest AUC difference $fit_diff (load average $(cut -d' ' -f1 /proc/loadavg))"
printf "ROW|the fit alone (standardization, Newton fit, holdout metrics) of the same rows: wib.ml_fit_eval vs scikit-learn|%.2f|%.2f|s|lower|-\n" "$fit_alone" "$sk_fit"

# ---------------------------------------------------------------- predictions
# p99 of 300 predictions (alternately deal and churn), each for a contact with
# a call in the last 30 days, organizations in turn, each its own statement
# (as an application makes them) in one session, timed in the server.
q -c "SELECT count(*) FROM ml_orgs o, wib.ml_train_org(o.id, 'churn_risk')" >/dev/null
q <<'SQL'
CREATE TABLE bench_ml_times (i serial, ms float8);
CREATE FUNCTION bench_ml_predict(org uuid, contact text, ptype text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
BEGIN
    PERFORM set_config('wib.org_id', org::text, false);
    t0 := clock_timestamp();
    PERFORM wib.ml_predict(ptype, 'contact', contact);
    INSERT INTO bench_ml_times (ms) VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
    PERFORM set_config('wib.org_id', '', false);
END
$$;
SQL
q -c "SELECT format('SELECT bench_ml_predict(%L, %L, %L);', c.organization_id, c.counterparty_e164,
                    CASE WHEN row_number() OVER () % 2 = 0 THEN 'deal_probability' ELSE 'churn_risk' END)
        FROM (SELECT DISTINCT ON (organization_id, counterparty_e164) organization_id, counterparty_e164
                FROM wib.calls WHERE started_at > now() - interval '30 days') c
        JOIN wib.ml_models m ON m.organization_id = c.organization_id AND m.status = 'active'
       GROUP BY c.organization_id, c.counterparty_e164
      HAVING count(*) = 2
       ORDER BY hashtext(c.organization_id::text || c.counterparty_e164) LIMIT 300" >"$BENCH_OUT/ml_predict.sql"
# One session: a first pass (plans and caches), then the measured one.
load=$(cut -d' ' -f1 /proc/loadavg)
{ cat "$BENCH_OUT/ml_predict.sql"; echo "TRUNCATE bench_ml_times;"; cat "$BENCH_OUT/ml_predict.sql"; } | q >/dev/null
p50=$(q -c "SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) FROM bench_ml_times")
p99=$(q -c "SELECT round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2) FROM bench_ml_times")
echo "wib.ml_predict over $(q -c "SELECT count(*) FROM bench_ml_times") requests: p50 $p50 ms, p99 $p99 ms (load average $load on $(nproc) cores)"
echo "ROW|wib.ml_predict, p99 ($scale)|$p99|-|ms|lower|< 5 ms"

# ---------------------------------------------------------------- nightly
# The nightly step retrains only organizations whose data changed: with new
# calls in every organization, both models of all 200; then, with nothing
# new, none.
q -c "INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status, started_at)
      SELECT id, 'inbound', '+15559990000', '+15550100100', 'completed', now() - interval '1 hour' FROM ml_orgs" >/dev/null
t0=$(now_s)
q -c "SELECT wib.ml_nightly((now() AT TIME ZONE 'UTC')::date - 1)" >"$BENCH_OUT/ml_nightly.json"
t1=$(now_s)
q -c "SELECT wib.ml_nightly((now() AT TIME ZONE 'UTC')::date - 1)" >"$BENCH_OUT/ml_nightly_again.json"
t2=$(now_s)
echo "nightly step: $(cat "$BENCH_OUT/ml_nightly.json"), then $(cat "$BENCH_OUT/ml_nightly_again.json")"
printf "ROW|nightly contact-model step, $orgs enterprise orgs with new data (both models)|%.2f|-|s|lower|-\n" "$(echo "$t1 - $t0" | bc -l)"
printf 'ROW|nightly contact-model step, nothing new|%.2f|-|s|lower|-\n' "$(echo "$t2 - $t1" | bc -l)"
