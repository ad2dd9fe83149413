-- Load test: the platform records a completed call (its trigger emits call.started and call.completed).
\set t random(1, :tenants)
\set a random(1, 5)
\set d random(30, 900)
BEGIN;
SELECT set_config('wib.org_id', org::text, true), set_config('wib.user_id', 'app', true)
  FROM public.load_tenants WHERE n = :t;
INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status,
                       disposition, started_at, ended_at, duration_seconds)
SELECT org, 'agent-' || :a, 'inbound', '+1555010' || lpad((:client_id)::text, 4, '0'), '+15550200000', 'completed',
       'resolved', now() - make_interval(secs => :d), now(), :d
  FROM public.load_tenants WHERE n = :t;
COMMIT;
