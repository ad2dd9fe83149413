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

-- The organizations a statement over several organizations runs for, one at a
-- time: on a single node one scope, NULL (all of them in one statement); on a
-- Citus cluster each organization alone, so that the statement, with every
-- table restricted to it, is routed to its shard.  Citus runs joins through
-- CTEs only when routed to one shard, and a statement a trigger runs on a
-- shard must stay on that worker (reaching the other workers from there, it
-- cannot be committed).  orgs: the organizations concerned (NULL: every
-- organization).
CREATE OR REPLACE FUNCTION wib.org_scopes(orgs uuid[] DEFAULT NULL) RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    IF NOT wib.is_distributed('wib.organizations') THEN
        RETURN NEXT NULL;
    ELSIF orgs IS NULL THEN
        RETURN QUERY SELECT o.id FROM wib.organizations o ORDER BY o.id;
    ELSE
        RETURN QUERY SELECT DISTINCT u.o FROM unnest(orgs) u(o) WHERE u.o IS NOT NULL ORDER BY 1;
    END IF;
END
$$;
COMMENT ON FUNCTION wib.org_scopes(uuid[]) IS
    'Internal: the organizations a statement over several organizations runs for one at a time: on a single node one NULL (all at once); on a Citus cluster each of orgs (NULL: every organization).';

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

-- Marks the current transaction as one that must not be prepared for
-- two-phase commit (C: src/core/prepare_guard.c).  On a Citus worker a
-- trigger that writes other nodes from inside a shard's statement marks it:
-- Citus prepares such a part without those writes (and then fails), so the
-- transaction must commit in one phase, which Citus does when it wrote on one
-- worker only.
CREATE OR REPLACE FUNCTION wib.refuse_prepare(reason text) RETURNS void
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_refuse_prepare';
COMMENT ON FUNCTION wib.refuse_prepare(text) IS
    'Internal: PREPARE TRANSACTION of the current transaction fails, with reason as the detail (on a Citus worker: a trigger wrote other nodes from a shard, which Citus cannot prepare).';
