-- Analytics kernels in C (src/analytics/) and the plan checks of the analytics API.

CREATE OR REPLACE FUNCTION wib.zscore_series(vals float8[], window_size integer DEFAULT 30,
                                  threshold float8 DEFAULT 2.0, min_history integer DEFAULT 2)
    RETURNS TABLE (idx integer, value float8, mean float8, stddev float8, z float8, is_anomaly boolean)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_zscore_series';
COMMENT ON FUNCTION wib.zscore_series(float8[], integer, float8, integer) IS
    'Z-score of each point of vals (idx = 1-based position) against the window_size points before it (sample stddev), in one O(n) pass; equals (v - avg(v) OVER w) / stddev_samp(v) OVER w with w = ROWS BETWEEN window_size PRECEDING AND 1 PRECEDING. z is NULL with fewer than min_history points in the window, zero spread, or a missing point (NULL or NaN, left out of every window). is_anomaly: abs(z) >= threshold.';

CREATE OR REPLACE FUNCTION wib.linear_trend(vals float8[], OUT slope float8, OUT intercept float8, OUT r2 float8, OUT n integer)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_linear_trend';
COMMENT ON FUNCTION wib.linear_trend(float8[]) IS
    'Least-squares line through vals with x = 1-based position (as regr_slope, regr_intercept, regr_r2): slope, intercept, r2 and the number of points used. NULL and NaN points are skipped; slope, intercept and r2 are NULL with fewer than two points.';

CREATE OR REPLACE FUNCTION wib.analytics_deadline(timeout_ms integer) RETURNS void
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_analytics_deadline';
COMMENT ON FUNCTION wib.analytics_deadline(integer) IS
    'Internal: cancels the current statement (statement timeout) if it still runs timeout_ms from now; an earlier deadline is kept.';

CREATE OR REPLACE FUNCTION wib.analytics_deadline() RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_analytics_deadline_default';
COMMENT ON FUNCTION wib.analytics_deadline() IS
    'Internal: cancels the current statement (statement timeout) if it still runs wib.analytics_timeout from now; an earlier deadline is kept.';
