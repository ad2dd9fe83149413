-- Load test: a dashboard reads the tenant's analytics.
\set t random(1, :tenants)
BEGIN;
SELECT set_config('wib.org_id', org::text, true), set_config('wib.user_id', 'app', true)
  FROM public.load_tenants WHERE n = :t;
SELECT count(*) FROM wib.agent_leaderboard(current_date - 30, current_date);
SELECT count(*) FROM wib.sentiment_trends(current_date - 30, current_date);
COMMIT;
