-- The contact models' inputs: what is known about a contact (the other party
-- of calls, wib.calls.counterparty_e164) as of a cutoff time, and what happened
-- in the days after it.  Training and prediction read the same function, so a
-- model is applied to exactly the features it was fitted on.

-- The features, in the order of every features array.  Fixed for the model
-- family wib-logreg-1: wib.ml_scale and the training statement spell them out.
CREATE OR REPLACE FUNCTION wib.ml_feature_names() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['calls_7d', 'calls_30d', 'calls_90d', 'inbound_share', 'sentiment_mean', 'sentiment_slope',
                 'mean_duration_min', 'days_since_last_call', 'prior_successes', 'agent_success_rate'];
COMMENT ON FUNCTION wib.ml_feature_names() IS
    'Internal: the names of the contact models'' features, in the order of their features arrays.';

-- Days after the prediction a label looks: deal 30, churn 60.
CREATE OR REPLACE FUNCTION wib.ml_horizon_days(prediction_type text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE prediction_type WHEN 'deal_probability' THEN 30 WHEN 'churn_risk' THEN 60 END;
COMMENT ON FUNCTION wib.ml_horizon_days(text) IS
    'Internal: the days after a prediction its label covers (deal_probability 30, churn_risk 60); NULL for another type.';

-- The rows of features of one organization's contacts at each cutoff: one
-- row per contact with a call in the 90 days before the cutoff.  Labels look
-- at [cutoff, cutoff + horizon_days).  wib.ml_contact_features, below,
-- computes the same features for one contact.
--
--   calls_7d, calls_30d, calls_90d  calls in the 7, 30, 90 days before the cutoff
--   inbound_share                   share of those 90 days' calls that were inbound
--   sentiment_mean                  mean sentiment score of those calls (NULL: none scored)
--   sentiment_slope                 least-squares slope of their scores per 30 days (NULL: < 2)
--   mean_duration_min               mean duration in minutes (NULL: no durations)
--   days_since_last_call            days from the last call to the cutoff
--   prior_successes                 calls with a successful outcome, ever, before the cutoff
--   agent_success_rate              the agent of the contact's latest call: of its calls with a
--                                   contact number in the 90 days, the share with a successful
--                                   outcome among those with an outcome (NULL: none)
--
-- A call counts by its start; an outcome counts on its call.  Days are 24
-- hours, whatever the session's time zone.
CREATE OR REPLACE FUNCTION wib.ml_feature_rows(org uuid, cutoffs timestamptz[], horizon_days integer)
    RETURNS TABLE (contact text, cutoff timestamptz, features float8[], last_agent text,
                   succeeded boolean, called boolean)
    LANGUAGE sql STABLE
AS $$
    WITH cut AS MATERIALIZED (
        -- Each cutoff with the bounds of its windows, computed once.
        SELECT u.t, u.t - interval '168 hours' AS lo7, u.t - interval '720 hours' AS lo30,
               u.t - interval '2160 hours' AS lo90, u.t + make_interval(hours => 24 * horizon_days) AS hi
          FROM (SELECT DISTINCT v.t FROM unnest(cutoffs) AS v(t) WHERE v.t IS NOT NULL) u
    ), span AS (
        SELECT min(cut.lo90) AS lo, max(cut.t) AS hi, max(cut.hi) AS hi_label FROM cut
    ), oc AS (
        -- Each call's outcomes: that it has one, and whether one is a success.
        SELECT o.call_id, bool_or(o.is_success) AS success
          FROM wib.call_outcomes o
         WHERE o.organization_id = org
         GROUP BY o.call_id
    ), c AS MATERIALIZED (
        -- The contacts' calls (all history: prior successes count every one),
        -- each with its outcomes.  The number in the "C" collation: sorting and
        -- grouping by it compare bytes, not locale rules (the same order for
        -- E.164 numbers), which halves the query's time.
        SELECT k.counterparty_e164 COLLATE "C" AS contact, k.direction = 'inbound' AS inbound, k.started_at,
               k.duration_seconds, k.agent_id, s.sentiment_score::float8 AS sentiment,
               oc.call_id IS NOT NULL AS has_outcome, coalesce(oc.success, false) AS success
          FROM span, wib.calls k
          LEFT JOIN wib.sentiment_scores s ON s.organization_id = k.organization_id AND s.call_id = k.id
          LEFT JOIN oc ON oc.call_id = k.id
         WHERE k.organization_id = org AND k.counterparty_e164 IS NOT NULL
           AND k.started_at < span.hi_label
    ), f AS MATERIALIZED (
        -- One pass over each cutoff's windows: the 90 days before it (features)
        -- and the horizon after it (labels).
        SELECT cut.t, c.contact,
               count(*) FILTER (WHERE c.started_at >= cut.lo7 AND c.started_at < cut.t) AS calls_7d,
               count(*) FILTER (WHERE c.started_at >= cut.lo30 AND c.started_at < cut.t) AS calls_30d,
               count(*) FILTER (WHERE c.started_at < cut.t) AS calls_90d,
               avg(c.inbound::integer) FILTER (WHERE c.started_at < cut.t) AS inbound_share,
               avg(c.sentiment) FILTER (WHERE c.started_at < cut.t) AS sentiment_mean,
               regr_slope(c.sentiment, extract(epoch FROM c.started_at - cut.t)::float8 / 2592000)
                   FILTER (WHERE c.started_at < cut.t) AS sentiment_slope,
               avg(c.duration_seconds) FILTER (WHERE c.started_at < cut.t) / 60.0 AS mean_duration_min,
               max(c.started_at) FILTER (WHERE c.started_at < cut.t) AS last_at,
               coalesce(bool_or(c.success) FILTER (WHERE c.started_at >= cut.t), false) AS succeeded,
               count(*) FILTER (WHERE c.started_at >= cut.t) > 0 AS called
          FROM cut JOIN c ON c.started_at >= cut.lo90 AND c.started_at < cut.hi
         GROUP BY cut.t, c.contact
        HAVING count(*) FILTER (WHERE c.started_at < cut.t) > 0
    ), la AS MATERIALIZED (
        -- The agent of each contact's latest call before the cutoff.
        SELECT f.t, f.contact, min(c.agent_id) AS agent_id
          FROM f JOIN c ON c.contact = f.contact AND c.started_at = f.last_at
         GROUP BY f.t, f.contact
    ), ac AS (
        -- Those agents' calls with a contact number in the windows, whether
        -- each had an outcome and whether one was a success.
        SELECT c.agent_id, c.started_at, c.has_outcome, c.success
          FROM span, c
         WHERE c.agent_id IN (SELECT la.agent_id FROM la)
           AND c.started_at >= span.lo AND c.started_at < span.hi
    ), ar AS (
        SELECT cut.t, ac.agent_id,
               count(*) FILTER (WHERE ac.success)::float8 / nullif(count(*) FILTER (WHERE ac.has_outcome), 0) AS rate
          FROM cut JOIN ac ON ac.started_at >= cut.lo90 AND ac.started_at < cut.t
         GROUP BY cut.t, ac.agent_id
    ), prior AS (
        SELECT cut.t, c.contact, count(*) AS n
          FROM cut JOIN c ON c.success AND c.started_at < cut.t
         GROUP BY cut.t, c.contact
    )
    SELECT f.contact, f.t,
           ARRAY[f.calls_7d, f.calls_30d, f.calls_90d, f.inbound_share, f.sentiment_mean, f.sentiment_slope,
                 f.mean_duration_min, extract(epoch FROM f.t - f.last_at)::float8 / 86400,
                 coalesce(p.n, 0), ar.rate]::float8[],
           la.agent_id, f.succeeded, f.called
      FROM f
      LEFT JOIN la ON la.t = f.t AND la.contact = f.contact
      LEFT JOIN ar ON ar.t = f.t AND ar.agent_id = la.agent_id
      LEFT JOIN prior p ON p.t = f.t AND p.contact = f.contact
     ORDER BY f.t, f.contact
$$;
COMMENT ON FUNCTION wib.ml_feature_rows(uuid, timestamptz[], integer) IS
    'Internal: for each cutoff, one row per contact of org (counterparty_e164) with a call in the 90 days before it: the features (see wib.ml_feature_names(); NULL where undefined), the agent of the latest call, and the labels over [cutoff, cutoff + horizon_days): succeeded (a call with a sale or appointment_set outcome), called (any call).';

-- The features of one contact at one time t, as wib.ml_feature_rows computes
-- them (the same expressions, so the same doubles; a test holds the two
-- equal), for a prediction: it reads only the contact's calls before t
-- (calls_org_counterparty_idx), their sentiment and outcomes by call, and
-- the 90 days of calls of the agent of the contact's latest call
-- (calls_org_agent_idx), each call's outcomes looked up by its id, so its
-- cost follows the contact's and the agent's calls, not the organization's.
-- No row when the contact has no call in the 90 days before t.
CREATE OR REPLACE FUNCTION wib.ml_contact_features(org uuid, contact text, t timestamptz)
    RETURNS TABLE (features float8[], last_agent text)
    LANGUAGE sql STABLE
AS $$
    WITH c AS MATERIALIZED (
        SELECT k.direction = 'inbound' AS inbound, k.started_at, k.duration_seconds, k.agent_id,
               s.sentiment_score::float8 AS sentiment,
               coalesce((SELECT bool_or(o.is_success) FROM wib.call_outcomes o
                          WHERE o.organization_id = org AND o.call_id = k.id), false) AS success
          FROM wib.calls k
          LEFT JOIN wib.sentiment_scores s ON s.organization_id = org AND s.call_id = k.id
         WHERE k.organization_id = org AND k.counterparty_e164 = contact AND k.started_at < t
    ), f AS (
        SELECT count(*) FILTER (WHERE c.started_at >= t - interval '168 hours') AS calls_7d,
               count(*) FILTER (WHERE c.started_at >= t - interval '720 hours') AS calls_30d,
               count(*) AS calls_90d,
               avg(c.inbound::integer) AS inbound_share,
               avg(c.sentiment) AS sentiment_mean,
               regr_slope(c.sentiment, extract(epoch FROM c.started_at - t)::float8 / 2592000) AS sentiment_slope,
               avg(c.duration_seconds) / 60.0 AS mean_duration_min,
               max(c.started_at) AS last_at
          FROM c
         WHERE c.started_at >= t - interval '2160 hours'
        HAVING count(*) > 0
    ), la AS (
        SELECT min(c.agent_id) AS agent_id FROM f JOIN c ON c.started_at = f.last_at
    ), ar AS (
        SELECT count(*) FILTER (WHERE x.success)::float8 / nullif(count(*) FILTER (WHERE x.has_outcome), 0) AS rate
          FROM la
          JOIN wib.calls a ON a.organization_id = org AND a.agent_id = la.agent_id
          CROSS JOIN LATERAL (SELECT count(o.call_id) > 0 AS has_outcome, coalesce(bool_or(o.is_success), false) AS success
                                FROM wib.call_outcomes o
                               WHERE o.organization_id = org AND o.call_id = a.id) x
         WHERE a.counterparty_e164 IS NOT NULL
           AND a.started_at >= t - interval '2160 hours' AND a.started_at < t
    )
    SELECT ARRAY[f.calls_7d, f.calls_30d, f.calls_90d, f.inbound_share, f.sentiment_mean, f.sentiment_slope,
                 f.mean_duration_min, extract(epoch FROM t - f.last_at)::float8 / 86400,
                 (SELECT count(*) FROM c WHERE c.success), ar.rate]::float8[],
           la.agent_id
      FROM f, la, ar
$$;
COMMENT ON FUNCTION wib.ml_contact_features(uuid, text, timestamptz) IS
    'Internal: the contact-model features (see wib.ml_feature_names()) of one contact (an E.164 number) of org at time t, equal to its row of wib.ml_feature_rows at cutoff t, and the agent of its latest call; read from the contact''s own calls and that agent''s, for predictions. No row without a call in the 90 days before t.';

-- Standardizes a features array with the training means and scales; a
-- missing value (NULL) or a feature without spread becomes 0, the training
-- mean.  Spelled out for the ten features so that it is inlined and costs
-- microseconds per row.
CREATE OR REPLACE FUNCTION wib.ml_scale(x float8[], means float8[], scales float8[]) RETURNS float8[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY[coalesce((x[1] - means[1]) / nullif(scales[1], 0), 0),
                 coalesce((x[2] - means[2]) / nullif(scales[2], 0), 0),
                 coalesce((x[3] - means[3]) / nullif(scales[3], 0), 0),
                 coalesce((x[4] - means[4]) / nullif(scales[4], 0), 0),
                 coalesce((x[5] - means[5]) / nullif(scales[5], 0), 0),
                 coalesce((x[6] - means[6]) / nullif(scales[6], 0), 0),
                 coalesce((x[7] - means[7]) / nullif(scales[7], 0), 0),
                 coalesce((x[8] - means[8]) / nullif(scales[8], 0), 0),
                 coalesce((x[9] - means[9]) / nullif(scales[9], 0), 0),
                 coalesce((x[10] - means[10]) / nullif(scales[10], 0), 0)]::float8[];
COMMENT ON FUNCTION wib.ml_scale(float8[], float8[], float8[]) IS
    'Internal: the ten contact-model features standardized, (x - mean) / scale; a NULL value, mean or scale, or a zero scale, gives 0 (the training mean).';

-- The times at which a model of prediction_type is trained and evaluated as
-- of as_of: the holdout cutoff is the latest whose labels are known
-- (as_of - horizon), training cutoffs are 14 days apart before it, the
-- newest one horizon days before the holdout (so no training label looks
-- past the holdout cutoff), at most 12, each with 28 days of calls before it.
CREATE OR REPLACE FUNCTION wib.ml_cutoffs(prediction_type text, as_of timestamptz, first_call timestamptz,
                                          OUT eval_cutoff timestamptz, OUT training_cutoffs timestamptz[])
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT d.e, coalesce(array_agg(d.e - make_interval(hours => 24 * (d.h + 14 * k)) ORDER BY k DESC)
                             FILTER (WHERE d.e - make_interval(hours => 24 * (d.h + 14 * k)) >= first_call + interval '672 hours'),
                         '{}')
      FROM (SELECT wib.ml_horizon_days(prediction_type) AS h,
                   as_of - make_interval(hours => 24 * wib.ml_horizon_days(prediction_type)) AS e) d,
           generate_series(0, 11) k
     GROUP BY d.e
$$;
COMMENT ON FUNCTION wib.ml_cutoffs(text, timestamptz, timestamptz) IS
    'Internal: the holdout cutoff (as_of minus the horizon) and the training cutoffs (every 14 days from one horizon before the holdout, at most 12, oldest first, each at least 28 days after first_call) of a model trained as of as_of.';

-- Days of call history a model needs: 28 days before two training cutoffs
-- 14 days apart, whose labels end at the holdout cutoff, whose labels end at
-- the training date.
CREATE OR REPLACE FUNCTION wib.ml_min_history_days(prediction_type text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 28 + 14 + 2 * wib.ml_horizon_days(prediction_type);
COMMENT ON FUNCTION wib.ml_min_history_days(text) IS
    'Internal: the days of call history before the training date a model needs (deal_probability 102, churn_risk 162).';
