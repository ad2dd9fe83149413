-- Plan gating as data: which plan a feature needs, and the limits of each plan.

CREATE FUNCTION wib.plan_rank(plan text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_position(ARRAY['free', 'starter', 'pro', 'business', 'enterprise'], plan);
COMMENT ON FUNCTION wib.plan_rank(text) IS 'Order of the plans, free = 1 to enterprise = 5; NULL for an unknown plan.';

CREATE TABLE wib.feature_plans (
    feature     text NOT NULL,
    min_plan    text NOT NULL,
    description text NOT NULL,
    CONSTRAINT feature_plans_pkey PRIMARY KEY (feature),
    CONSTRAINT feature_plans_plan_check CHECK (wib.plan_rank(min_plan) IS NOT NULL)
);
COMMENT ON TABLE wib.feature_plans IS 'The lowest plan that includes each feature.';

INSERT INTO wib.feature_plans (feature, min_plan, description) VALUES
    ('crm_hubspot',        'pro',        'HubSpot CRM sync'),
    ('crm_salesforce',     'business',   'Salesforce CRM sync'),
    ('crm_custom',         'enterprise', 'Custom CRM integration'),
    ('mobile_pwa',         'starter',    'Installable web app'),
    ('mobile_push',        'pro',        'Web Push notifications'),
    ('mobile_native',      'business',   'Native mobile apps'),
    ('inbound_ivr',        'business',   'Inbound numbers and IVR menus'),
    ('toll_free_numbers',  'business',   'Toll-free inbound numbers'),
    ('advanced_analytics', 'business',   'Sentiment trends, leaderboards, anomalies'),
    ('ml_predictions',     'enterprise', 'Statistical predictions'),
    ('analytics_export',   'pro',        'Export of analytics data'),
    ('webhooks',           'pro',        'Outbound webhooks'),
    ('zapier_integration', 'pro',        'Zapier integration'),
    ('csv_export',         'starter',    'CSV and JSON exports'),
    ('bulk_export',        'business',   'Exports above the starter row limit');

CREATE TABLE wib.plan_limits (
    plan       text   NOT NULL,
    limit_name text   NOT NULL,
    value      bigint,
    CONSTRAINT plan_limits_pkey PRIMARY KEY (plan, limit_name),
    CONSTRAINT plan_limits_plan_check CHECK (wib.plan_rank(plan) IS NOT NULL),
    CONSTRAINT plan_limits_value_check CHECK (value IS NULL OR value >= 0)
);
COMMENT ON TABLE wib.plan_limits IS 'Per-plan quotas; a NULL value means unlimited, a missing row means 0.';

INSERT INTO wib.plan_limits (plan, limit_name, value) VALUES
    ('free', 'webhooks', 0), ('starter', 'webhooks', 0), ('pro', 'webhooks', 5),
    ('business', 'webhooks', 25), ('enterprise', 'webhooks', NULL),
    ('free', 'export_rows', 0), ('starter', 'export_rows', 100000), ('pro', 'export_rows', 100000),
    ('business', 'export_rows', 500000), ('enterprise', 'export_rows', 1000000),
    ('free', 'inbound_numbers', 0), ('starter', 'inbound_numbers', 0), ('pro', 'inbound_numbers', 0),
    ('business', 'inbound_numbers', 5), ('enterprise', 'inbound_numbers', 25);

-- The plan of the organization in context (raises WB005 without one).
CREATE FUNCTION wib.current_plan() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib
    RETURN (SELECT o.plan FROM wib.organizations o WHERE o.id = wib.require_org());
COMMENT ON FUNCTION wib.current_plan() IS 'The plan of the organization in context.';

CREATE FUNCTION wib.has_feature(feature text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    needed   text;
    org_plan text := wib.current_plan();
BEGIN
    SELECT f.min_plan INTO needed FROM wib.feature_plans f WHERE f.feature = has_feature.feature;
    IF needed IS NULL THEN
        PERFORM wib.invalid_field('feature', format('Unknown feature "%s"; see wib.feature_plans.', feature));
    END IF;
    RETURN wib.plan_rank(org_plan) >= wib.plan_rank(needed);
END
$$;
COMMENT ON FUNCTION wib.has_feature(text) IS 'True when the plan of the organization in context includes the feature.';

CREATE FUNCTION wib.require_feature(feature text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
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

CREATE FUNCTION wib.plan_limit(limit_name text) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
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

CREATE FUNCTION wib.require_limit(limit_name text, used bigint, adding bigint DEFAULT 1) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib
AS $$
DECLARE
    quota bigint := wib.plan_limit(limit_name);
BEGIN
    IF used IS NULL OR used < 0 THEN
        PERFORM wib.invalid_field('used', 'used must be a count of 0 or more.');
    END IF;
    IF adding IS NULL OR adding < 0 THEN
        PERFORM wib.invalid_field('adding', 'adding must be a count of 0 or more.');
    END IF;
    IF quota IS NOT NULL AND used + adding > quota THEN
        RAISE EXCEPTION USING ERRCODE = 'WB002',
            MESSAGE = format('plan limit "%s" reached: %s of %s used on plan "%s"',
                             limit_name, used, quota, wib.current_plan()),
            DETAIL = format('The request would add %s.', adding),
            HINT = 'Upgrade the organization''s plan or free some of the quota.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.require_limit(text, bigint, bigint) IS
    'Raises WB002 when adding to used would exceed the plan''s quota for limit_name.';
