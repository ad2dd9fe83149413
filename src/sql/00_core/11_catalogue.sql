-- Plan gating as data: which plan a feature needs, and the limits of each plan.
-- Operators may change these rows; an update of the extension adds new rows and keeps theirs.

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
    ('analytics_snapshots', 'pro',       'Daily, weekly and monthly analytics snapshots'),
    ('ml_predictions',     'enterprise', 'Statistical predictions'),
    ('analytics_export',   'pro',        'Export of analytics data'),
    ('webhooks',           'pro',        'Outbound webhooks'),
    ('zapier_integration', 'pro',        'Zapier integration'),
    ('csv_export',         'starter',    'CSV and JSON exports'),
    ('bulk_export',        'business',   'Exports above the starter row limit')
ON CONFLICT (feature) DO NOTHING;

INSERT INTO wib.plan_limits (plan, limit_name, value) VALUES
    ('free', 'webhooks', 0), ('starter', 'webhooks', 0), ('pro', 'webhooks', 5),
    ('business', 'webhooks', 25), ('enterprise', 'webhooks', NULL),
    ('free', 'export_rows', 0), ('starter', 'export_rows', 100000), ('pro', 'export_rows', 100000),
    ('business', 'export_rows', 500000), ('enterprise', 'export_rows', 1000000),
    ('free', 'inbound_numbers', 0), ('starter', 'inbound_numbers', 0), ('pro', 'inbound_numbers', 0),
    ('business', 'inbound_numbers', 5), ('enterprise', 'inbound_numbers', 25)
ON CONFLICT (plan, limit_name) DO NOTHING;
