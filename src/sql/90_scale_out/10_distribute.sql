-- Scale-out: turning an installed wib into a distributed one on a Citus
-- coordinator.  Tenant tables are distributed by organization_id and
-- co-located (organizations by id), so a tenant's rows of every table live in
-- one shard group and every tenant statement routes to one worker; global
-- catalogues become reference tables (a copy on every node, readable by the
-- triggers that run on the shards); the state of the coordinator's own
-- workers stays local.  See docs/scale-out.md.

-- Where each global table of wib goes, and why.  A table that is not listed
-- here and has no organization_id makes wib.distribute() refuse, so a new
-- table cannot be forgotten.
CREATE OR REPLACE FUNCTION wib.distribution_plan()
    RETURNS TABLE (table_name regclass, placement text, reason text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    SELECT c.oid::regclass,
           CASE WHEN g.placement IS NOT NULL THEN g.placement
                WHEN c.relname = 'organizations' OR a.attname IS NOT NULL THEN 'distributed' END,
           CASE WHEN g.placement IS NOT NULL THEN g.reason
                WHEN c.relname = 'organizations' THEN 'the tenants themselves, distributed by id'
                WHEN a.attname IS NOT NULL THEN 'tenant rows, distributed by organization_id' END
      FROM pg_catalog.pg_class c
      LEFT JOIN pg_catalog.pg_attribute a
             ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
      LEFT JOIN (VALUES
            ('plan_limits', 'reference', 'plan catalogue, read by quota checks on every node'),
            ('feature_plans', 'reference', 'plan catalogue, read by feature checks on every node'),
            ('event_types', 'reference', 'event catalogue, read by the event triggers on the shards'),
            ('event_channels', 'reference', 'channel catalogue, read by the event triggers on the shards'),
            ('ivr_prohibited_phrases', 'reference', 'compliance catalogue, read by IVR validation'),
            ('push_event_templates', 'reference', 'push catalogue, read by the push event triggers on the shards'),
            ('vapid_keys', 'reference', 'the platform''s VAPID keys, referenced by push subscriptions'),
            ('crm_providers', 'reference', 'CRM provider catalogue, referenced by CRM integrations'),
            ('inbound_number_routes', 'reference', 'number to organization lookup keyed by the number alone (one organization per number); its foreign key to inbound_numbers is dropped, the trigger on inbound_numbers keeps it'),
            ('vault_columns', 'local', 'catalogue of sealed columns, read only by wib.vault_rotate() on the coordinator'),
            ('retention_policies', 'local', 'commands the coordinator''s scheduler runs'),
            ('scheduled_jobs', 'local', 'the coordinator''s scheduler queue (FOR UPDATE SKIP LOCKED on one node)'),
            ('analytics_refreshes', 'local', 'the coordinator''s record of nightly runs'),
            ('ivr_callback_signatures', 'local', 'replay guard of Telnyx callbacks, which the coordinator receives'),
            ('qr_auth_nonces', 'local', 'replay guard of QR sign-ins, checked on the coordinator'),
            ('export_storage', 'local', 'the platform''s object storage settings, read by the coordinator''s export runner and deliverer; its secret is sealed by the coordinator''s key ring'),
            ('telnyx_config', 'local', 'the platform''s Telnyx account, read by the coordinator''s deliverer and by number searches; its API key is sealed by the coordinator''s key ring'),
            ('telnyx_jobs', 'local', 'the coordinator''s queue of Telnyx orders and releases (FOR UPDATE SKIP LOCKED across organizations); a release outlives its organization, so it belongs to no shard'))
            AS g (name, placement, reason) ON g.name = c.relname
     WHERE c.relnamespace = 'wib'::regnamespace AND c.relkind IN ('r', 'p', 'm')
     ORDER BY 2, c.relname;
END;
COMMENT ON FUNCTION wib.distribution_plan() IS
    'Where wib.distribute() puts each table of wib on a Citus cluster (distributed, reference or local) and why; placement is NULL for a table nobody has placed yet.';

-- Whether the user in context may see a push subscription of the
-- organization in context (their own, or any as owner or admin): the push
-- deliveries' policy on a cluster, where Citus refuses policies with
-- subqueries.  Definer rights: applications read subscriptions through
-- column privileges, which Citus does not give the shards.
CREATE OR REPLACE FUNCTION wib.push_subscription_visible(org uuid, subscription uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM wib.push_subscriptions s
                    WHERE s.organization_id = org AND s.id = subscription AND org = wib.current_org_id()
                      AND (s.user_id = wib.current_user_id() OR wib.mobile_sees_all()));
END
$$;
COMMENT ON FUNCTION wib.push_subscription_visible(uuid, uuid) IS
    'Internal (row-level security on a Citus cluster): true when the user in context sees the push subscription (the organization in context''s, their own or any as owner or admin), as the subscriptions'' own policies decide.';

-- Runs a statement on the coordinator and on every worker: the workers hold
-- wib's tables too (Citus creates the extension there), and a table still
-- local is changed on one node only.  (Not for a distributed table: Citus
-- propagates those changes itself, and the workers' own connection would wait
-- for the locks of this one.)
CREATE OR REPLACE FUNCTION wib.distribute_ddl(stmt text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    failed text;
BEGIN
    EXECUTE stmt;
    SELECT string_agg(format('%s:%s: %s', r.nodename, r.nodeport, r.result), '; ') INTO failed
      FROM run_command_on_workers(stmt) r WHERE NOT r.success;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = format('on a worker: %s', failed);
    END IF;
END
$$;
COMMENT ON FUNCTION wib.distribute_ddl(text) IS
    'Internal (wib.distribute): runs a statement on the Citus coordinator and on every worker, raising 55000 when a worker fails.';

-- Distributes wib on a Citus coordinator (see the header).  Materialized views
-- cannot depend on a table while it is distributed: they are dropped and
-- created again, with their indexes, owner, grants and extension membership.
CREATE OR REPLACE FUNCTION wib.distribute()
    RETURNS TABLE (table_name regclass, placement text, reason text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    -- Triggers run on the shards (their functions are wib's and stay within
    -- the row's organization); Citus asks for this switch to allow them.
    SET citus.enable_unsafe_triggers = on
    SET citus.multi_shard_modify_mode = 'sequential'
AS $$
DECLARE
    missing text;
    mv record;
    mvs jsonb := '[]';
    fks jsonb := '[]';
    fk record;
    idx text;
    pending regclass[];
    progressed boolean;
    t regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'wib.distribute() needs the citus extension in this database',
            HINT = 'Run it on a Citus coordinator after CREATE EXTENSION citus and citus_add_node().';
    END IF;
    SELECT string_agg(p.table_name::text, ', ') INTO missing
      FROM wib.distribution_plan() p WHERE p.placement IS NULL;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = format('no placement for the tables %s', missing),
            HINT = 'Add them to wib.distribution_plan().';
    END IF;

    -- Every table at once, first: the background workers keep using them, and
    -- a lock taken table by table would deadlock with them.
    FOR t IN SELECT p.table_name FROM wib.distribution_plan() p
               WHERE p.placement <> 'local' ORDER BY p.table_name::oid
    LOOP
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', t);
    END LOOP;

    -- Materialized views: remember, drop, and create again at the end.
    FOR mv IN SELECT c.oid, c.relname, pg_catalog.pg_get_viewdef(c.oid) AS def,
                     pg_catalog.pg_get_userbyid(c.relowner) AS owner, c.relacl,
                     obj_description(c.oid, 'pg_class') AS comment,
                     (SELECT coalesce(jsonb_agg(pg_catalog.pg_get_indexdef(i.indexrelid)), '[]')
                        FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid) AS indexes
                FROM pg_catalog.pg_class c
               WHERE c.relnamespace = 'wib'::regnamespace AND c.relkind = 'm'
    LOOP
        mvs := mvs || jsonb_build_object('name', mv.relname, 'def', mv.def, 'owner', mv.owner,
                                         'acl', mv.relacl::text[], 'comment', mv.comment,
                                         'indexes', mv.indexes);
        EXECUTE format('ALTER EXTENSION wib DROP MATERIALIZED VIEW wib.%I', mv.relname);
        EXECUTE format('DROP MATERIALIZED VIEW wib.%I', mv.relname);
    END LOOP;

    -- The mobile tables' restrictive policy (own_or_admin: applications see
    -- their own devices unless owner or admin) cannot stay as it is: Citus
    -- refuses policies with subqueries on distributed tables, and creates the
    -- shards' policies without AS RESTRICTIVE, which would make the test widen
    -- access instead of narrowing it.  Its test is folded into the permissive
    -- tenant_select policy instead, for the role it applied to (wib_app), as
    -- plain function calls.
    IF NOT EXISTS (SELECT 1 FROM pg_dist_partition d WHERE d.logicalrelid = 'wib.push_deliveries'::regclass) THEN
        PERFORM wib.distribute_ddl(format(
                    'ALTER POLICY tenant_select ON wib.%I USING (organization_id = wib.current_org_id() AND (%s))', m.tbl,
                    'NOT pg_catalog.pg_has_role(''wib_app'', ''USAGE'') OR ' || m.test)),
                wib.distribute_ddl(format('DROP POLICY own_or_admin ON wib.%I', m.tbl))
           FROM (VALUES ('mobile_devices', 'user_id = wib.current_user_id() OR wib.mobile_sees_all()'),
                        ('push_subscriptions', 'user_id = wib.current_user_id() OR wib.mobile_sees_all()'),
                        ('qr_auth_sessions', 'user_id = wib.current_user_id() OR wib.mobile_sees_all()'),
                        ('push_deliveries', 'wib.push_subscription_visible(organization_id, subscription_id)')) m(tbl, test);
    END IF;

    -- The routes' foreign key would tie a reference table to a distributed one.
    IF NOT wib.is_distributed('wib.inbound_number_routes') THEN
        PERFORM wib.distribute_ddl('ALTER TABLE wib.inbound_number_routes DROP CONSTRAINT IF EXISTS inbound_number_routes_number_fkey');
    END IF;

    -- A key from a table still local to a reference table would make Citus
    -- convert the local table (and refuse its policies): such keys are dropped
    -- and added again once both sides are distributed.
    FOR fk IN SELECT format('wib.%I', (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = k.conrelid)) AS tbl, k.conname, pg_catalog.pg_get_constraintdef(k.oid) AS def
                FROM pg_catalog.pg_constraint k
                JOIN wib.distribution_plan() r ON r.table_name = k.confrelid AND r.placement = 'reference'
                JOIN wib.distribution_plan() d ON d.table_name = k.conrelid AND d.placement = 'distributed'
               WHERE k.contype = 'f'
                 AND NOT EXISTS (SELECT 1 FROM pg_dist_partition x WHERE x.logicalrelid = k.conrelid)
    LOOP
        fks := fks || jsonb_build_object('tbl', fk.tbl, 'name', fk.conname, 'def', fk.def);
        PERFORM wib.distribute_ddl(format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', fk.tbl, fk.conname));
    END LOOP;

    FOR t IN SELECT p.table_name FROM wib.distribution_plan() p WHERE p.placement = 'reference'
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_dist_partition d WHERE d.logicalrelid = t) THEN
            PERFORM create_reference_table(t);
        END IF;
    END LOOP;

    IF NOT EXISTS (SELECT 1 FROM pg_dist_partition d WHERE d.logicalrelid = 'wib.organizations'::regclass) THEN
        PERFORM create_distributed_table('wib.organizations', 'id');
    END IF;
    -- Referenced tables first: Citus distributes a table only after those its keys point to.
    SELECT array_agg(p.table_name) INTO pending
      FROM wib.distribution_plan() p
     WHERE p.placement = 'distributed'
       AND NOT EXISTS (SELECT 1 FROM pg_dist_partition d WHERE d.logicalrelid = p.table_name);
    WHILE pending IS NOT NULL AND cardinality(pending) > 0 LOOP
        progressed := false;
        FOREACH t IN ARRAY pending LOOP
            CONTINUE WHEN EXISTS (
                SELECT 1 FROM pg_catalog.pg_constraint k
                 WHERE k.conrelid = t AND k.contype = 'f' AND k.confrelid <> t
                   AND k.confrelid = ANY (pending));
            PERFORM create_distributed_table(t, 'organization_id', colocate_with => 'wib.organizations');
            pending := array_remove(pending, t);
            progressed := true;
        END LOOP;
        IF NOT progressed THEN
            RAISE EXCEPTION USING ERRCODE = '55000',
                MESSAGE = format('foreign keys form a cycle among %s', pending::text);
        END IF;
    END LOOP;

    -- The rows copied to the shards are still on the coordinator's disk, invisible.
    FOR t IN SELECT p.table_name FROM wib.distribution_plan() p WHERE p.placement <> 'local'
    LOOP
        PERFORM truncate_local_data_after_distributing_table(t);
    END LOOP;

    FOR fk IN SELECT * FROM jsonb_array_elements(fks) e(v)
    LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.v->>'tbl', fk.v->>'name', fk.v->>'def');
    END LOOP;

    FOR mv IN SELECT * FROM jsonb_array_elements(mvs) e(v)
    LOOP
        EXECUTE format('CREATE MATERIALIZED VIEW wib.%I AS %s', mv.v->>'name', rtrim(mv.v->>'def', ';'));
        FOR idx IN SELECT jsonb_array_elements_text(mv.v->'indexes') LOOP
            EXECUTE idx;
        END LOOP;
        EXECUTE format('ALTER MATERIALIZED VIEW wib.%I OWNER TO %I', mv.v->>'name', mv.v->>'owner');
        EXECUTE format('COMMENT ON MATERIALIZED VIEW wib.%I IS %L', mv.v->>'name', mv.v->>'comment');
        IF mv.v->'acl' IS NOT NULL AND jsonb_typeof(mv.v->'acl') = 'array' THEN
            UPDATE pg_catalog.pg_class c SET relacl = ARRAY(SELECT jsonb_array_elements_text(mv.v->'acl'))::aclitem[]
             WHERE c.oid = format('wib.%I', mv.v->>'name')::regclass;
        END IF;
        EXECUTE format('ALTER EXTENSION wib ADD MATERIALIZED VIEW wib.%I', mv.v->>'name');
    END LOOP;

    -- Applications' transaction-local context (wib.set_context(..., true) in a
    -- transaction block) travels to the workers as SET LOCAL statements.
    EXECUTE format('ALTER DATABASE %I SET citus.propagate_set_commands = local', current_database());
    -- The core tables' triggers run on the shards and queue events in other
    -- tables of the same organization (co-located: the same worker).
    PERFORM wib.distribute_ddl(format('ALTER DATABASE %I SET citus.allow_nested_distributed_execution = on',
                                      current_database()));

    RETURN QUERY SELECT * FROM wib.distribution_plan();
END
$$;
COMMENT ON FUNCTION wib.distribute() IS
    'Operators, on a Citus coordinator: distributes every tenant table by organization_id, co-located with organizations; makes the global catalogues reference tables; leaves the coordinator''s own state local; returns wib.distribution_plan(). Runs again harmlessly.';
