-- Logistic regression and metrics: closed-form fits, the penalized optimum,
-- the aggregate against the array form, and every error with its SQLSTATE.
-- Deterministic: data
-- come from integer formulas, values are printed rounded or compared.

-- Runs a statement and shows its SQLSTATE, message and detail (or "ok").
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' / ' || nullif(detail, ''), '');
END
$$;

-- Rounds every element, for stable output.
CREATE FUNCTION pg_temp.r(a float8[], digits integer DEFAULT 9) RETURNS numeric[]
    LANGUAGE sql AS $$ SELECT array_agg(round(v::numeric, digits) ORDER BY k) FROM unnest(a) WITH ORDINALITY u(v, k) $$;

-- A deterministic data set: 3 features of different scales, labels drawn
-- from a logit model with an integer generator.
CREATE TEMP TABLE rows AS
SELECT i,
       ((i * 7919) % 1009) / 100.0 - 5.0 AS x1,
       ((i::bigint * 104729) % 997) * 20.0 + 1000.0 AS x2,
       (i % 7 = 0)::integer::float8 AS x3,
       ((i::bigint * 1103515245 + 12345) % 2147483648) / 2147483648.0 AS u
  FROM generate_series(1, 2000) i;
ALTER TABLE rows ADD COLUMN label boolean;
UPDATE rows SET label = u < 1.0 / (1.0 + exp(-(0.3 + 0.6 * x1 - 0.0002 * x2 + 1.1 * x3)));

-- 1. One binary feature: intercept = logit(p0), coefficient = logit(p1) - logit(p0).
--    x = 0: 3 true, 7 false; x = 1: 6 true, 2 false.
SELECT pg_temp.r(c) AS fit,
       abs(c[1] - ln(3.0 / 7)) < 1e-9 AND abs(c[2] - (ln(3.0) - ln(3.0 / 7))) < 1e-9 AS is_mle
  FROM (SELECT wib.logreg_fit('{0,0,0,0,0,0,0,0,0,0,1,1,1,1,1,1,1,1}',
                              '{t,t,t,f,f,f,f,f,f,f,t,t,t,t,t,t,f,f}', 1, 0) c) s;

-- 2. Two binary features, cell proportions 1/3, 2/3, 2/3, 8/9 (an additive
--    logit): b = -ln 2, w1 = w2 = ln 4.
WITH cells(x1, x2, pos, neg) AS (VALUES (0, 0, 1, 2), (1, 0, 2, 1), (0, 1, 2, 1), (1, 1, 8, 1)),
     r AS (SELECT ARRAY[x1, x2]::float8[] AS x, k <= pos AS label FROM cells, generate_series(1, pos + neg) k)
SELECT pg_temp.r(c) AS fit,
       abs(c[1] + ln(2)) < 1e-9 AND abs(c[2] - ln(4)) < 1e-9 AND abs(c[3] - ln(4)) < 1e-9 AS is_mle
  FROM (SELECT wib.logreg_fit(array_agg(x), array_agg(label), 2, 0) c FROM r) s;

-- 3. The same fit from a two-dimensional array; a constant column gets 0.
SELECT wib.logreg_fit('{{0},{0},{0},{0},{1},{1},{1},{1}}', '{t,f,f,f,t,t,t,f}', 1, 0)
     = wib.logreg_fit('{0,0,0,0,1,1,1,1}', '{t,f,f,f,t,t,t,f}', 1, 0) AS two_dimensional_same;
SELECT pg_temp.r(wib.logreg_fit('{0,5,0,5,0,5,0,5,1,5,1,5,1,5,1,5}', '{t,f,f,f,t,t,t,f}', 2, 0)) AS constant_column;

-- 4. The penalized optimum: the score equations sum((p - y) x_j) + l2 w_j = 0.
CREATE TEMP TABLE fits AS
SELECT l2, wib.logreg_fit_agg(ARRAY[x1, x2, x3], label, l2) AS c
  FROM rows, (VALUES (0.0::float8), (0.5), (10.0), (1000.0)) v(l2)
 GROUP BY l2;
SELECT f.l2, pg_temp.r(f.c, 6) AS coefficients,
       max(abs(g.v)) < 1e-8 AS gradient_zero
  FROM fits f,
       LATERAL (SELECT sum(p - label::int) AS g0,
                       sum((p - label::int) * x1) + f.l2 * f.c[2] AS g1,
                       sum((p - label::int) * x2) + f.l2 * f.c[3] AS g2,
                       sum((p - label::int) * x3) + f.l2 * f.c[4] AS g3
                  FROM (SELECT *, wib.logreg_predict(f.c, ARRAY[x1, x2, x3]) AS p FROM rows) s) s,
       LATERAL unnest(ARRAY[s.g0, s.g1, s.g2, s.g3]) g(v)
 GROUP BY f.l2, f.c ORDER BY f.l2;

-- scikit-learn's LogisticRegression(C = 1/l2, solver="newton-cholesky", tol=1e-10)
-- on the same rows (test/t/logreg_sklearn.py, penalty=None for l2 = 0).
SELECT f.l2,
       (SELECT max(abs(f.c[k] - r.c[k])) FROM generate_subscripts(r.c, 1) k) < 1e-6 AS matches_sklearn
  FROM fits f
  JOIN (VALUES
        (0.0::float8, '{0.21287237037917212,0.6552580500809507,-0.00020379303362615413,1.110033809075606}'::float8[]),
        (0.5, '{0.21512848241502694,0.6542895706865438,-0.00020354923646960423,1.0914152756952724}'),
        (10.0, '{0.24761814182900796,0.6404166414506327,-0.0002002065431156628,0.8291239976017757}'),
        (1000.0, '{0.32307197071239374,0.36948739390174296,-0.00015638240739648384,0.032190019957398154}')
       ) r(l2, c) ON r.l2 = f.l2
 ORDER BY f.l2;

-- 5. The aggregate equals the array form on the same rows, bit for bit,
--    including by group and with ORDER BY inside the aggregate (array_agg of
--    the feature arrays gives the two-dimensional rows x features form).
SELECT l2,
       (SELECT wib.logreg_fit_agg(ARRAY[x1, x2, x3], label, l2) FROM rows)
     = (SELECT wib.logreg_fit(array_agg(ARRAY[x1, x2, x3] ORDER BY i), array_agg(label ORDER BY i), 3, l2)
          FROM rows) AS aggregate_equals_array
  FROM (VALUES (0.0::float8), (1.0), (25.0)) v(l2);
SELECT i % 3 AS g, count(*),
       wib.logreg_fit_agg(ARRAY[x1, x2, x3], label, 1.0, 50 ORDER BY i)
     = wib.logreg_fit(array_agg(ARRAY[x1, x2, x3] ORDER BY i), array_agg(label ORDER BY i), 3, 1.0, 50)
       AS group_equals_array
  FROM rows GROUP BY i % 3 ORDER BY g;
SELECT count(*) AS two_calls_one_state
  FROM (SELECT wib.logreg_fit_agg(ARRAY[x1], label) a, wib.logreg_fit_agg(ARRAY[x1], label) b FROM rows) s
 WHERE a = b;
SELECT wib.logreg_fit_agg(ARRAY[x1], label) IS NULL AS no_rows_is_null FROM rows WHERE false;

-- 6. Predictions, stable at |z| = 800.
SELECT round(wib.logreg_predict('{0.5,2,-1}', '{1.5,4}')::numeric, 15) AS p,
       wib.logreg_predict('{0,1}', '{800}') AS p_800,
       wib.logreg_predict('{0,1}', '{-800}') AS p_minus_800,
       wib.logreg_predict('{0,1}', '{-40}') = 1.0 / (1.0 + exp(40.0)) AS p_minus_40,
       wib.logreg_predict('{0,1}', NULL) IS NULL AS strict;

-- 7. Metrics on hand-checked values.
SELECT wib.roc_auc('{0.1,0.4,0.35,0.8}', '{f,f,t,t}') AS auc,
       wib.roc_auc('{1,2,2,3}', '{f,f,t,t}') AS auc_one_tie,
       wib.roc_auc('{0.5,0.5,0.5,0.5}', '{f,t,f,t}') AS auc_all_tied,
       wib.roc_auc('{3,2,1}', '{f,t,t}') AS auc_reversed;
SELECT round(wib.log_loss('{0.9,0.2}', '{t,f}')::numeric, 15) AS log_loss,
       round(((-ln(0.9) - ln(0.8)) / 2)::numeric, 15) AS expected,
       round(wib.log_loss('{0,1,1,0}', '{t,t,f,f}')::numeric, 12) AS clipped,
       round(wib.brier_score('{0.1,0.9,0.8,0.3}', '{f,t,t,f}')::numeric, 15) AS brier;

-- 8. Errors: SQLSTATE, message, detail.
SELECT name, pg_temp.err(q) FROM (VALUES
    ('fit: features NULL', $$SELECT wib.logreg_fit(NULL, '{t,f}', 1)$$),
    ('fit: labels NULL', $$SELECT wib.logreg_fit('{1,2}', NULL, 1)$$),
    ('fit: n_features NULL', $$SELECT wib.logreg_fit('{1,2}', '{t,f}', NULL)$$),
    ('fit: l2 NULL', $$SELECT wib.logreg_fit('{1,2}', '{t,f}', 1, NULL)$$),
    ('fit: max_iter NULL', $$SELECT wib.logreg_fit('{1,2}', '{t,f}', 1, 1.0, NULL)$$),
    ('fit: n_features 0', $$SELECT wib.logreg_fit('{1,2}', '{t,f}', 0)$$),
    ('fit: n_features too large', $$SELECT wib.logreg_fit('{1,2}', '{t,f}', 1001)$$),
    ('fit: not a multiple of n_features', $$SELECT wib.logreg_fit('{1,2,3}', '{t,f}', 2)$$),
    ('fit: one label per row', $$SELECT wib.logreg_fit('{1,2,3,4}', '{t,f}', 1)$$),
    ('fit: 2-D with wrong columns', $$SELECT wib.logreg_fit('{{1,2},{3,4}}', '{t,f}', 1)$$),
    ('fit: 3-D features', $$SELECT wib.logreg_fit('{{{1}}}', '{t}', 1)$$),
    ('fit: NULL feature', $$SELECT wib.logreg_fit('{1,NULL,3,4}', '{t,f,t,f}', 1)$$),
    ('fit: NULL label', $$SELECT wib.logreg_fit('{1,2,3,4}', '{t,NULL,t,f}', 1)$$),
    ('fit: 2-D labels', $$SELECT wib.logreg_fit('{1,2,3,4}', '{{t,f},{t,f}}', 1)$$),
    ('fit: NaN feature', $$SELECT wib.logreg_fit('{1,2,NaN,4}', '{t,f,t,f}', 1)$$),
    ('fit: infinite feature', $$SELECT wib.logreg_fit('{1,2,3,-Infinity}', '{t,f,t,f}', 1)$$),
    ('fit: l2 < 0', $$SELECT wib.logreg_fit('{1,2,3,4}', '{t,f,t,f}', 1, -1)$$),
    ('fit: l2 NaN', $$SELECT wib.logreg_fit('{1,2,3,4}', '{t,f,t,f}', 1, 'NaN')$$),
    ('fit: l2 infinite', $$SELECT wib.logreg_fit('{1,2,3,4}', '{t,f,t,f}', 1, 'Infinity')$$),
    ('fit: max_iter 0', $$SELECT wib.logreg_fit('{1,2,3,4}', '{t,f,t,f}', 1, 1, 0)$$),
    ('fit: max_iter too large', $$SELECT wib.logreg_fit('{1,2,3,4}', '{t,f,t,f}', 1, 1, 10001)$$),
    ('fit: all true', $$SELECT wib.logreg_fit('{1,2,3,4}', '{t,t,t,t}', 1, 1)$$),
    ('fit: all false', $$SELECT wib.logreg_fit('{1,2,3,4}', '{f,f,f,f}', 1, 0)$$),
    ('fit: no rows', $$SELECT wib.logreg_fit('{}', '{}', 1)$$),
    ('fit: complete separation, l2 = 0', $$SELECT wib.logreg_fit('{1,2,3,4}', '{f,f,t,t}', 1, 0)$$),
    ('fit: quasi-complete separation, l2 = 0', $$SELECT wib.logreg_fit('{1,2,2,2,3}', '{f,f,t,f,t}', 1, 0)$$),
    ('fit: collinear, l2 = 0', $$SELECT wib.logreg_fit('{1,3, 2,5, 3,7, 4,9, 5,11}', '{f,t,f,t,t}', 2, 0)$$),
    ('fit: max_iter reached', $$SELECT wib.logreg_fit('{1,2,3,4,5,6}', '{t,f,f,t,t,f}', 1, 0, 1)$$),
    ('fit: features overflow', $$SELECT wib.logreg_fit('{1e308,-1e308,1e308,-1e308}', '{t,f,f,t}', 1)$$),
    ('predict: length mismatch', $$SELECT wib.logreg_predict('{1,2}', '{1,2}')$$),
    ('predict: NULL coefficient', $$SELECT wib.logreg_predict('{1,NULL}', '{1}')$$),
    ('predict: NaN coefficient', $$SELECT wib.logreg_predict('{1,NaN}', '{1}')$$),
    ('predict: infinite feature', $$SELECT wib.logreg_predict('{1,2}', '{Infinity}')$$),
    ('predict: inf - inf', $$SELECT wib.logreg_predict('{0,1e308,-1e308}', '{1e308,1e308}')$$),
    ('auc: length mismatch', $$SELECT wib.roc_auc('{0.1,0.2}', '{t}')$$),
    ('auc: NULL score', $$SELECT wib.roc_auc('{0.1,NULL}', '{t,f}')$$),
    ('auc: NULL label', $$SELECT wib.roc_auc('{0.1,0.2}', '{t,NULL}')$$),
    ('auc: NaN score', $$SELECT wib.roc_auc('{0.1,NaN}', '{t,f}')$$),
    ('auc: one class', $$SELECT wib.roc_auc('{0.1,0.2}', '{t,t}')$$),
    ('auc: no rows', $$SELECT wib.roc_auc('{}', '{}')$$),
    ('log_loss: p > 1', $$SELECT wib.log_loss('{0.1,1.5}', '{t,f}')$$),
    ('log_loss: p < 0', $$SELECT wib.log_loss('{-0.1,0.5}', '{t,f}')$$),
    ('log_loss: length mismatch', $$SELECT wib.log_loss('{0.1}', '{t,f}')$$),
    ('log_loss: no rows', $$SELECT wib.log_loss('{}', '{}')$$),
    ('brier: NaN', $$SELECT wib.brier_score('{0.1,NaN}', '{t,f}')$$),
    ('brier: NULL', $$SELECT wib.brier_score('{0.1,NULL}', '{t,f}')$$)
) v(name, q);

-- The aggregate's errors.
SELECT name, pg_temp.err(q) FROM (VALUES
    ('agg: NULL features', $$SELECT wib.logreg_fit_agg(CASE WHEN i = 3 THEN NULL ELSE ARRAY[i::float8] END, i > 2) FROM generate_series(1, 5) i$$),
    ('agg: NULL label', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8], CASE WHEN i = 4 THEN NULL ELSE i > 2 END) FROM generate_series(1, 5) i$$),
    ('agg: NULL l2', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8], i > 2, NULL) FROM generate_series(1, 5) i$$),
    ('agg: NULL max_iter', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8], i > 2, 1.0, NULL) FROM generate_series(1, 5) i$$),
    ('agg: rows of different lengths', $$SELECT wib.logreg_fit_agg(CASE WHEN i = 2 THEN ARRAY[1.0::float8, 2.0] ELSE ARRAY[i::float8] END, i > 2) FROM generate_series(1, 5) i$$),
    ('agg: NULL element', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8, NULL], i > 2) FROM generate_series(1, 5) i$$),
    ('agg: NaN feature', $$SELECT wib.logreg_fit_agg(ARRAY[CASE WHEN i = 5 THEN 'NaN'::float8 ELSE i END], i > 2) FROM generate_series(1, 5) i$$),
    ('agg: l2 varies', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8], i > 2, i::float8) FROM generate_series(1, 5) i$$),
    ('agg: max_iter varies', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8], i > 2, 1.0, i) FROM generate_series(1, 5) i$$),
    ('agg: l2 < 0', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8], i > 2, -1.0) FROM generate_series(1, 5) i$$),
    ('agg: no features', $$SELECT wib.logreg_fit_agg('{}'::float8[], i > 2) FROM generate_series(1, 5) i$$),
    ('agg: too many features', $$SELECT wib.logreg_fit_agg(array_fill(1.0::float8, ARRAY[1001]), i > 2) FROM generate_series(1, 5) i$$),
    ('agg: one class', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8], true) FROM generate_series(1, 5) i$$),
    ('agg: separation, l2 = 0', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8], i > 2, 0.0) FROM generate_series(1, 5) i$$),
    ('agg: as a window function', $$SELECT wib.logreg_fit_agg(ARRAY[i::float8], i > 2) OVER () FROM generate_series(1, 5) i$$)
) v(name, q);
