#!/usr/bin/env bash
# The platform core: two organizations on different plans, their users and a few
# thousand calls, then tenant isolation and plan gating at work.
set -euo pipefail
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

q <<'SQL'
CREATE EXTENSION wib;
CREATE ROLE demo_app LOGIN;
GRANT wib_app TO demo_app;

SELECT wib.organization_create('Acme Corp', 'business') \gset acme_
SELECT wib.organization_create('Globex', 'starter') \gset globex_

-- Each organization's users and calls are written as that tenant.
CREATE FUNCTION pg_temp.seed(org uuid, prefix text, n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wib.set_context(org, prefix || '-admin', true);
    PERFORM wib.user_create(prefix || '-agent-' || i, initcap(prefix) || ' Agent ' || i,
                            prefix || i || '@example.test') FROM generate_series(1, 5) i;
    INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status,
                           started_at, ended_at, duration_seconds)
    SELECT org, prefix || '-agent-' || (1 + i % 5), CASE WHEN i % 4 = 0 THEN 'inbound' ELSE 'outbound' END,
           '+1555' || lpad((i % 10000)::text, 7, '0'), '+1555' || lpad(((i * 7) % 10000)::text, 7, '0'),
           'completed', t, t + make_interval(secs => 30 + i % 600), 30 + i % 600
      FROM generate_series(1, n) i, LATERAL (SELECT now() - make_interval(mins => i * 13) AS t) s;
    INSERT INTO wib.ai_summaries (organization_id, call_id, summary, overall_sentiment, sentiment_score,
                                  positive_pct, negative_pct, neutral_pct)
    SELECT org, id, 'Call summary', CASE WHEN s > 0.2 THEN 'positive' WHEN s < -0.2 THEN 'negative' ELSE 'neutral' END,
           s, 50 + s * 40, 25 - s * 20, 25 - s * 20
      FROM (SELECT id, round((sin(extract(epoch FROM started_at) / 5000))::numeric, 3) AS s
              FROM wib.calls WHERE organization_id = org) c;
END
$$;
\o /dev/null
SELECT pg_temp.seed(:'acme_organization_create', 'acme', 3000);
SELECT pg_temp.seed(:'globex_organization_create', 'globex', 1200);
\o
SQL

echo "Organizations, as the operator sees them:"
q -c "SELECT o.name, o.plan, (SELECT count(*) FROM wib.calls c WHERE c.organization_id = o.id) AS calls
        FROM wib.organizations o ORDER BY o.name"

echo "The application (login demo_app, granted wib_app), acting for Globex, sees only Globex:"
acme=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Acme Corp'")
globex=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Globex'")
PGOPTIONS="-c wib.org_id=$globex -c wib.user_id=globex-admin" q -U demo_app <<SQL
SELECT (SELECT count(*) FROM wib.calls) AS calls_visible,
       (SELECT count(*) FROM wib.calls WHERE organization_id = '$acme') AS acme_calls_visible,
       (SELECT string_agg(name, ', ') FROM wib.organizations) AS organizations_visible;
\echo 'Writing a call for Acme while acting for Globex:'
\set ON_ERROR_STOP 0
INSERT INTO wib.calls (organization_id, status) VALUES ('$acme', 'completed');
\echo 'Plan gating: Globex (starter) asks for webhooks:'
SELECT wib.require_feature('webhooks');
\set ON_ERROR_STOP 1
SELECT feature, min_plan, wib.has_feature(feature) AS globex_has_it
  FROM wib.feature_plans WHERE feature IN ('csv_export', 'webhooks', 'inbound_ivr', 'advanced_analytics') ORDER BY feature;
SQL

echo "Acme Corp (business) has the business features; quotas come from wib.plan_limits:"
PGOPTIONS="-c wib.org_id=$acme -c wib.user_id=acme-admin" q -U demo_app -c "
SELECT wib.has_feature('inbound_ivr') AS inbound_ivr, wib.plan_limit('webhooks') AS webhooks_quota,
       wib.plan_limit('export_rows') AS export_rows_quota, wib.plan_limit('inbound_numbers') AS numbers_quota"

echo "Rate limiting (5 per minute) and the audit trail:"
PGOPTIONS="-c wib.org_id=$acme -c wib.user_id=acme-admin" q -U demo_app -c "
SELECT string_agg(CASE WHEN wib.rate_limit('demo:login:acme-admin', 5, '1 minute') THEN 'ok' ELSE 'refused' END, ' ' ORDER BY i) AS attempts
  FROM generate_series(1, 7) i" -c "
SELECT wib.user_update('acme-agent-1', '{\"role\": \"manager\"}')" -c "
SELECT action, resource_id, old_value->>'role' AS old_role, new_value->>'role' AS new_role, user_id
  FROM wib.audit_log WHERE action = 'user:updated'"

echo "Background workers (the launcher starts them once CREATE EXTENSION wib has committed):"
for _ in $(seq 1 20); do
	[ "$(q -At -c "SELECT state FROM wib.worker_status WHERE name = 'scheduler' AND database = current_database()")" = idle ] && break
	sleep 0.5
done
q -c "SELECT name, database, pid IS NOT NULL AS running, state FROM wib.worker_status"
