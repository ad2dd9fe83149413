-- What wib asks about a Citus cluster it may run on (see docs/scale-out.md).

-- Whether tbl is a distributed or reference table of Citus (false without Citus).
CREATE OR REPLACE FUNCTION wib.is_distributed(tbl regclass) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    found boolean := false;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
           INTO found USING tbl;
    END IF;
    RETURN found;
END
$$;
COMMENT ON FUNCTION wib.is_distributed(regclass) IS
    'Internal: true when the table is a Citus distributed or reference table (wib.distribute() ran); false on a single node.';

-- The clock time (clock_timestamp()), declared STABLE so that Citus accepts it
-- in UPDATE and DELETE statements on distributed tables (it refuses any
-- VOLATILE function there) and evaluates it once per statement on the
-- coordinator.  On a single node it reads the clock wherever it is called,
-- as clock_timestamp() does.
CREATE OR REPLACE FUNCTION wib.clock_now() RETURNS timestamptz
    LANGUAGE internal STABLE PARALLEL SAFE
    AS 'clock_timestamp';
COMMENT ON FUNCTION wib.clock_now() IS
    'Internal: clock_timestamp(), declared STABLE so that Citus accepts it in UPDATE and DELETE statements on distributed tables (evaluated once per statement on the coordinator).';
