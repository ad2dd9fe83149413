-- The rows wib ships in its catalogue tables, for comparing an updated install with a fresh one.
SELECT row FROM (
SELECT 'feature ' || feature || ' ' || min_plan || ' ' || description AS row FROM wib.feature_plans
UNION ALL SELECT 'limit ' || plan || ' ' || limit_name || ' ' || coalesce(value::text, 'unlimited') FROM wib.plan_limits
UNION ALL SELECT 'event ' || event_type || ' ' || description || ' ' || example::text FROM wib.event_types
UNION ALL SELECT 'retention ' || name || ' ' || description || ' ' || command FROM wib.retention_policies
UNION ALL SELECT 'job ' || name || ' ' || run_every || ' ' || coalesce(run_at::text, '') || ' ' || enabled || ' '
                 || description || ' ' || command FROM wib.scheduled_jobs
UNION ALL SELECT 'phrase ' || phrase || ' ' || reason FROM wib.ivr_prohibited_phrases
UNION ALL SELECT 'vault ' || context || ' ' || table_name || ' ' || column_name || ' ' || coalesce(organization_column, '')
                 || ' ' || row_id_column || ' ' || description FROM wib.vault_columns
) r ORDER BY row COLLATE "C";
