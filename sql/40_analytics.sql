-- Analytics kernels: wib.zscore_series and wib.linear_trend on fixed series,
-- then equality with the SQL window definition on random and adversarial series.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET extra_float_digits = 0;

-- Flat series: zero spread, so no z anywhere (never a division error).
SELECT * FROM wib.zscore_series(array_fill(5.0::float8, ARRAY[6]), 3);

-- Ramp: each point is the mean of its 3-point window plus 2, stddev 1.
SELECT * FROM wib.zscore_series(ARRAY[1, 2, 3, 4, 5, 6]::float8[], 3);

-- Spike: only the spike crosses the threshold; after it the window's spread is large.
SELECT * FROM wib.zscore_series(ARRAY[10, 11, 10, 11, 10, 11, 30, 10, 11]::float8[], 4, 3.0);

-- Short history: with min_history 4 the first four points have no z.
SELECT idx, z IS NULL AS no_z FROM wib.zscore_series(ARRAY[1, 2, 4, 8, 16, 32]::float8[], 5, 2.0, 4);

-- NULL and NaN are missing points: NULL value and z, left out of later windows.
SELECT * FROM wib.zscore_series(ARRAY[1, NULL, 3, 'NaN', 5, 7]::float8[], 3);

-- Empty and NULL input give no rows.
SELECT count(*) FROM wib.zscore_series('{}'::float8[]);
SELECT count(*) FROM wib.zscore_series(NULL::float8[]);

-- Bad arguments are refused, naming the argument.
SELECT * FROM wib.zscore_series(ARRAY[1, 2]::float8[], 1);
SELECT * FROM wib.zscore_series(ARRAY[1, 2]::float8[], NULL);
SELECT * FROM wib.zscore_series(ARRAY[1, 2]::float8[], 10001);
SELECT * FROM wib.zscore_series(ARRAY[1, 2]::float8[], 30, 0);
SELECT * FROM wib.zscore_series(ARRAY[1, 2]::float8[], 30, 'Infinity');
SELECT * FROM wib.zscore_series(ARRAY[1, 2]::float8[], 30, NULL);
SELECT * FROM wib.zscore_series(ARRAY[1, 2]::float8[], 5, 2.0, 6);
SELECT * FROM wib.zscore_series(ARRAY[1, 2]::float8[], 5, 2.0, 1);
SELECT * FROM wib.zscore_series(ARRAY[1, 'Infinity']::float8[]);
SELECT * FROM wib.zscore_series(ARRAY[1, 1e200]::float8[]);
SELECT * FROM wib.zscore_series(ARRAY[[1, 2], [3, 4]]::float8[]);

-- linear_trend: ramp, flat, noisy, missing points, too short.
SELECT * FROM wib.linear_trend(ARRAY[3, 5, 7, 9]::float8[]);
SELECT * FROM wib.linear_trend(ARRAY[2, 2, 2]::float8[]);
SELECT * FROM wib.linear_trend(ARRAY[1, 3, 2, 5, 4]::float8[]);
SELECT * FROM wib.linear_trend(ARRAY[NULL, 2, 'NaN', 4]::float8[]);
SELECT * FROM wib.linear_trend(ARRAY[7]::float8[]);
SELECT * FROM wib.linear_trend('{}'::float8[]);
SELECT * FROM wib.linear_trend(NULL);
SELECT * FROM wib.linear_trend(ARRAY['-Infinity']::float8[]);

-- The reference: the SQL window definition of the issue, over a table of series.
CREATE TEMP TABLE series (name text, i integer, v float8, vn numeric);

-- Counts the points where wib.zscore_series and the SQL window definition
-- (float8, or exact numeric) disagree by more than 1e-9 (relative past 1)
-- in mean, stddev or z, or where one has a z and the other not.
CREATE FUNCTION pg_temp.mismatches(series_name text, w integer, exact boolean)
    RETURNS TABLE (points bigint, with_z bigint, bad bigint)
    LANGUAGE sql
AS $$
    WITH ref AS (
        SELECT i,
               CASE WHEN exact THEN (avg(vn) OVER win)::float8 ELSE avg(v) OVER win END AS mean,
               CASE WHEN exact THEN (stddev_samp(vn) OVER win)::float8 ELSE stddev_samp(v) OVER win END AS sd,
               CASE WHEN exact THEN ((vn - avg(vn) OVER win) / nullif(stddev_samp(vn) OVER win, 0))::float8
                    ELSE (v - avg(v) OVER win) / nullif(stddev_samp(v) OVER win, 0) END AS z
          FROM series WHERE name = series_name
        WINDOW win AS (ORDER BY i ROWS BETWEEN w PRECEDING AND 1 PRECEDING)
    ), ours AS (
        SELECT z.* FROM wib.zscore_series((SELECT array_agg(v ORDER BY i) FROM series WHERE name = series_name), w) z
    )
    SELECT count(*), count(o.z),
           count(*) FILTER (WHERE (o.z IS NULL) <> (r.z IS NULL)
                               OR abs(o.z - r.z) > 1e-9 * greatest(1, abs(r.z))
                               OR (o.mean IS NULL) <> (r.mean IS NULL)
                               OR abs(o.mean - r.mean) > 1e-9 * greatest(1, abs(r.mean))
                               OR (o.stddev IS NULL) <> (r.sd IS NULL)
                               OR abs(o.stddev - r.sd) > 1e-9 * greatest(1, abs(r.sd)))
      FROM ours o JOIN ref r ON r.i = o.idx
$$;

SELECT setseed(0.42);
-- 10,000 random points (normal-ish noise around a drifting level).
INSERT INTO series (name, i, v)
SELECT 'random', i, 100 + i / 100.0 + (random() + random() + random() - 1.5) * 20 FROM generate_series(1, 10000) i;
SELECT * FROM pg_temp.mismatches('random', 30, false);
SELECT * FROM pg_temp.mismatches('random', 7, false);
SELECT * FROM pg_temp.mismatches('random', 365, false);

-- Adversarial series are compared with the exact (numeric) evaluation of the
-- same definition, since float8 SQL itself loses digits on them; vn is the
-- exact value of v.
-- Constant runs between jumps and spikes (zero spread inside each run).
INSERT INTO series (name, i, v, vn)
SELECT 'runs', i, x, x FROM (
    SELECT i, CASE WHEN i % 97 = 0 THEN 1e6 ELSE ((i / 40) % 3) * 10 + 0.5 END::numeric AS x
      FROM generate_series(1, 3000) i) s;
SELECT * FROM pg_temp.mismatches('runs', 30, true);
-- 1e9 plus small noise (exact binary fractions, so float8 and numeric hold the same values).
INSERT INTO series (name, i, v, vn)
SELECT 'offset', i, x, x FROM (
    SELECT i, 1000000000 + floor(random() * 1024)::numeric / 1024 AS x FROM generate_series(1, 5000) i) s;
SELECT * FROM pg_temp.mismatches('offset', 30, true);
-- A level shift from 0 to 1e9 with tiny noise on both sides, and spikes of 1e12.
INSERT INTO series (name, i, v, vn)
SELECT 'shift', i, x, x FROM (
    SELECT i, CASE WHEN i % 500 = 250 THEN 1000000000000
                   ELSE (CASE WHEN i > 1000 THEN 1000000000 ELSE 0 END) + floor(random() * 16)::numeric / 64 END AS x
      FROM generate_series(1, 3000) i) s;
SELECT * FROM pg_temp.mismatches('shift', 30, true);
-- Short histories: series shorter than the window, with missing points.
INSERT INTO series (name, i, v, vn)
SELECT 'short', i, x, x FROM (
    SELECT i, CASE WHEN i IN (2, 5) THEN NULL ELSE (i * 7 % 5)::numeric END AS x FROM generate_series(1, 12) i) s;
SELECT * FROM pg_temp.mismatches('short', 30, true);
-- Many small random series, each against its float8 SQL definition.
INSERT INTO series (name, i, v)
SELECT 'many' || s, i, CASE WHEN random() < 0.05 THEN NULL ELSE round((random() * 10)::numeric, 1)::float8 END
  FROM generate_series(1, 200) s, generate_series(1, (random() * 60)::int) i;
SELECT sum(bad) AS bad, sum(points) > 5000 AS enough_points
  FROM (SELECT DISTINCT name FROM series WHERE name LIKE 'many%') n, pg_temp.mismatches(n.name, 5, false);

-- linear_trend equals regr_slope / regr_intercept / regr_r2 on the random series.
SELECT abs(t.slope - r.s) < 1e-9 * greatest(1, abs(r.s)) AS slope_ok,
       abs(t.intercept - r.b) < 1e-9 * greatest(1, abs(r.b)) AS intercept_ok,
       abs(t.r2 - r.r2) < 1e-9 AS r2_ok, t.n
  FROM wib.linear_trend((SELECT array_agg(v ORDER BY i) FROM series WHERE name = 'random')) t,
       (SELECT regr_slope(v, i) AS s, regr_intercept(v, i) AS b, regr_r2(v, i) AS r2 FROM series WHERE name = 'random') r;
