-- Retention: each policy is a statement returning the number of rows it removed.

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('idempotency_keys',
     $q$WITH gone AS (DELETE FROM wib.idempotency_keys
                       WHERE created_at < now() - current_setting('wib.idempotency_ttl')::interval
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Idempotency keys older than wib.idempotency_ttl.')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;

CREATE OR REPLACE FUNCTION wib.purge_expired() RETURNS TABLE (policy text, removed bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    p wib.retention_policies;
BEGIN
    FOR p IN SELECT * FROM wib.retention_policies ORDER BY name LOOP
        policy := p.name;
        EXECUTE p.command INTO removed;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.purge_expired() IS
    'Applies every retention policy (old idempotency keys, delivery logs, expired exports, ...) and returns what each removed.';

INSERT INTO wib.scheduled_jobs (name, command, run_every, description) VALUES
    ('purge_expired', 'SELECT count(*) FROM wib.purge_expired()', interval '1 hour',
     'Applies the retention policies of wib.retention_policies.')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;
