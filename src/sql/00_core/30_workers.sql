-- Background workers: their status, the commit-time wake-up, the launcher's notice of
-- CREATE / ALTER EXTENSION, and periodic jobs run by the scheduler worker or by pg_cron.

CREATE OR REPLACE FUNCTION wib.worker_status_rows()
    RETURNS TABLE (name text, database text, pid integer, state text, started_at timestamptz,
                   last_activity timestamptz, items_done bigint, errors bigint)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_worker_status';
COMMENT ON FUNCTION wib.worker_status_rows() IS 'Internal: the rows of the wib.worker_status view.';

CREATE OR REPLACE VIEW wib.worker_status AS SELECT * FROM wib.worker_status_rows();
COMMENT ON VIEW wib.worker_status IS
    'One row for the launcher (database NULL), then one per worker of each database wib serves: pid (NULL when not running), state, start, last activity, items done and errors since start.';

CREATE OR REPLACE FUNCTION wib.wake(worker text) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_wake';
COMMENT ON FUNCTION wib.wake(text) IS 'Wakes the named worker of the current database when the current transaction commits.';

CREATE OR REPLACE FUNCTION wib.launcher_notify() RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_launcher_notify';
COMMENT ON FUNCTION wib.launcher_notify() IS
    'Internal: asks the launcher to look at the current database when the transaction commits (the install and update scripts call it, so CREATE EXTENSION wib starts the workers).';

-- Once CREATE EXTENSION wib (or ALTER EXTENSION wib UPDATE) commits, the launcher probes
-- this database and starts its workers.
SELECT wib.launcher_notify();

-- When a job runs next: run_every after from, or the next run_at (UTC) after from.
CREATE OR REPLACE FUNCTION wib.job_next_run(run_every interval, run_at time, from_ts timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN run_at IS NULL THEN from_ts + run_every
        ELSE (SELECT CASE WHEN t > from_ts THEN t ELSE t + interval '1 day' END
                FROM (SELECT (date_trunc('day', from_ts AT TIME ZONE 'UTC') + run_at) AT TIME ZONE 'UTC' AS t) s)
    END;
COMMENT ON FUNCTION wib.job_next_run(interval, time, timestamptz) IS 'Internal: the next run of a job after from_ts.';

-- The same schedule in cron syntax, for pg_cron (minute granularity, UTC).
CREATE OR REPLACE FUNCTION wib.job_cron_expr(run_every interval, run_at time) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    seconds numeric := extract(epoch FROM run_every);
    minutes integer := (seconds / 60)::integer;
BEGIN
    IF run_at IS NOT NULL THEN
        RETURN format('%s %s * * *', extract(minute FROM run_at)::int, extract(hour FROM run_at)::int);
    ELSIF minutes = 1 THEN
        RETURN '* * * * *';
    ELSIF seconds % 60 <> 0 THEN
        NULL;
    ELSIF minutes < 60 AND 60 % minutes = 0 THEN
        RETURN format('*/%s * * * *', minutes);
    ELSIF minutes = 60 THEN
        RETURN '0 * * * *';
    ELSIF minutes = 1440 THEN
        RETURN '0 0 * * *';
    ELSIF minutes < 1440 AND minutes % 60 = 0 AND 24 % (minutes / 60) = 0 THEN
        RETURN format('0 */%s * * *', minutes / 60);
    END IF;
    PERFORM wib.invalid_field('run_every',
        format('pg_cron cannot run a job every %s; use whole minutes dividing an hour, hours dividing a day, or 1 day.', run_every));
END
$$;
COMMENT ON FUNCTION wib.job_cron_expr(interval, time) IS 'Internal: a job''s schedule in cron syntax.';

-- Installs every enabled job in pg_cron as "wib:<name>", in this database.
CREATE OR REPLACE FUNCTION wib.cron_schedule() RETURNS SETOF text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    j wib.scheduled_jobs;
BEGIN
    IF current_setting('wib.scheduler') <> 'pg_cron' THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'wib.scheduler must be ''pg_cron'' to schedule jobs with pg_cron',
            DETAIL = 'The internal scheduler and pg_cron must never both run the jobs.',
            HINT = 'ALTER SYSTEM SET wib.scheduler = ''pg_cron''; SELECT pg_reload_conf();';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'pg_cron is not installed in this database',
            HINT = 'CREATE EXTENSION pg_cron in the database named by cron.database_name.';
    END IF;
    FOR j IN SELECT * FROM wib.scheduled_jobs WHERE enabled ORDER BY name LOOP
        -- pg_cron runs a job as its username: the role the job runs as here too.
        IF j.run_as <> current_user AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = format('job "%s" runs as role "%s", which only a superuser may schedule', j.name, j.run_as),
                HINT = 'Run wib.cron_schedule() as a superuser.';
        END IF;
        EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4, $5)'
            USING 'wib:' || j.name, wib.job_cron_expr(j.run_every, j.run_at), j.command, current_database(), j.run_as;
        RETURN NEXT 'wib:' || j.name;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.cron_schedule() IS
    'Installs wib''s periodic jobs in pg_cron (as wib:<name>, each run as its run_as role); requires wib.scheduler = pg_cron. Returns the job names.';

CREATE OR REPLACE FUNCTION wib.cron_unschedule() RETURNS SETOF text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    job text;
BEGIN
    FOR job IN EXECUTE 'SELECT jobname FROM cron.job WHERE jobname LIKE ''wib:%'' ORDER BY jobname' LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING job;
        RETURN NEXT job;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.cron_unschedule() IS 'Removes wib''s jobs from pg_cron. Returns the job names removed.';
