-- Plan gating: does the organization's plan include a feature, and what are its quotas.

-- The plan of the organization in context (raises WB005 without one).
-- (PL/pgSQL: the organization is read here, so that on a Citus cluster the
-- statement sent to the organization's shard carries it as a value.)
CREATE OR REPLACE FUNCTION wib.current_plan() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org    uuid := wib.require_org();
    result text;
BEGIN
    SELECT o.plan INTO result FROM wib.organizations o WHERE o.id = org;
    RETURN result;
END
$$;
COMMENT ON FUNCTION wib.current_plan() IS 'The plan of the organization in context.';

-- Whether org's plan includes feature: the one test of plan gating, for the
-- organization in context (wib.has_feature) and for jobs that span them all.
CREATE OR REPLACE FUNCTION wib.org_has_feature(org uuid, feature text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    needed text;
BEGIN
    SELECT f.min_plan INTO needed FROM wib.feature_plans f WHERE f.feature = org_has_feature.feature;
    IF needed IS NULL THEN
        PERFORM wib.invalid_field('feature', format('Unknown feature "%s"; see wib.feature_plans.', feature));
    END IF;
    RETURN coalesce((SELECT wib.plan_rank(o.plan) >= wib.plan_rank(needed)
                       FROM wib.organizations o WHERE o.id = org), false);
END
$$;
COMMENT ON FUNCTION wib.org_has_feature(uuid, text) IS
    'Internal: true when the plan of organization org includes the feature (false for an unknown organization); 22023 for an unknown feature.';

CREATE OR REPLACE FUNCTION wib.has_feature(feature text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, wib, pg_temp
    RETURN wib.org_has_feature(wib.require_org(), has_feature.feature);
COMMENT ON FUNCTION wib.has_feature(text) IS 'True when the plan of the organization in context includes the feature.';

CREATE OR REPLACE FUNCTION wib.require_feature(feature text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    IF NOT wib.has_feature(feature) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB001',
            MESSAGE = format('feature "%s" requires plan "%s" or higher; the organization is on plan "%s"',
                             feature,
                             (SELECT f.min_plan FROM wib.feature_plans f WHERE f.feature = require_feature.feature),
                             wib.current_plan()),
            HINT = 'Upgrade the organization''s plan to use this feature.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.require_feature(text) IS
    'Raises WB001, naming the feature, the plan needed and the current plan, unless the plan includes the feature.';

CREATE OR REPLACE FUNCTION wib.plan_limit(limit_name text) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org_plan text := wib.current_plan();
    result   bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM wib.plan_limits l WHERE l.limit_name = plan_limit.limit_name) THEN
        PERFORM wib.invalid_field('limit_name', format('Unknown limit "%s"; see wib.plan_limits.', limit_name));
    END IF;
    SELECT l.value INTO result FROM wib.plan_limits l
     WHERE l.plan = org_plan AND l.limit_name = plan_limit.limit_name;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION wib.plan_limit(text) IS
    'The quota of the organization in context for limit_name; NULL means unlimited.';

-- Raises WB002 when adding to used would exceed org's quota for limit_name.
CREATE OR REPLACE FUNCTION wib.limit_check(org uuid, limit_name text, used bigint, adding bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org_plan text := (SELECT o.plan FROM wib.organizations o WHERE o.id = org);
    quota    bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM wib.plan_limits l WHERE l.limit_name = limit_check.limit_name) THEN
        PERFORM wib.invalid_field('limit_name', format('Unknown limit "%s"; see wib.plan_limits.', limit_name));
    END IF;
    IF used IS NULL OR used < 0 THEN
        PERFORM wib.invalid_field('used', 'used must be a count of 0 or more.');
    END IF;
    IF adding IS NULL OR adding < 0 THEN
        PERFORM wib.invalid_field('adding', 'adding must be a count of 0 or more.');
    END IF;
    SELECT l.value INTO quota FROM wib.plan_limits l WHERE l.plan = org_plan AND l.limit_name = limit_check.limit_name;
    IF NOT FOUND THEN
        quota := 0;
    END IF;
    IF quota IS NOT NULL AND used + adding > quota THEN
        RAISE EXCEPTION USING ERRCODE = 'WB002',
            MESSAGE = format('plan limit "%s" reached: %s of %s used on plan "%s"',
                             limit_name, used, quota, org_plan),
            DETAIL = format('The request would add %s.', adding),
            HINT = 'Upgrade the organization''s plan or free some of the quota.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.limit_check(uuid, text, bigint, bigint) IS
    'Internal: raises WB002 when adding to used would exceed the quota of org''s plan for limit_name.';

CREATE OR REPLACE FUNCTION wib.require_limit(limit_name text, used bigint, adding bigint DEFAULT 1) RETURNS void
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    SELECT wib.limit_check(wib.require_org(), require_limit.limit_name, require_limit.used, require_limit.adding);
END;
COMMENT ON FUNCTION wib.require_limit(text, bigint, bigint) IS
    'Raises WB002 when adding to used would exceed the plan''s quota for limit_name.';

-- Takes one unit of org's quota for limit_name, or raises WB002: lock, count,
-- limit, correct at every isolation level (see wib.quota_locks).  What is in
-- use is counted by wib.quota_usage_<limit_name>(org), which the feature that
-- owns the limit defines.
CREATE OR REPLACE FUNCTION wib.quota_take(limit_name text, org uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    used bigint;
BEGIN
    INSERT INTO wib.quota_locks AS q (organization_id, limit_name, takes)
    VALUES (org, quota_take.limit_name, 1)
    ON CONFLICT ON CONSTRAINT quota_locks_pkey DO UPDATE SET takes = q.takes + 1;
    EXECUTE format('SELECT wib.%I($1)', 'quota_usage_' || limit_name) INTO used USING org;
    PERFORM wib.limit_check(org, limit_name, used, 1);
END
$$;
COMMENT ON FUNCTION wib.quota_take(text, uuid) IS
    'Internal: takes one unit of an organization''s plan quota (WB002 when it is used up); concurrent takes serialize on wib.quota_locks, so the limit holds at every isolation level.';
