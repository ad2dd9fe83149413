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
