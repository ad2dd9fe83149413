-- Tenant isolation of every tenant table, found by catalog query so that new
-- tables are covered without touching this file: row-level security enabled and
-- forced, keys that include the tenant, and, as an application login acting for
-- tenant A, tenant B's rows invisible, not insertable, not updatable, not deletable.
BEGIN;
\ir lib/fixtures.sql

CREATE TEMP VIEW tenant_tables AS
SELECT c.oid::regclass AS tbl
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'wib' AND c.relkind IN ('r', 'p')
   AND EXISTS (SELECT 1 FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped);
GRANT SELECT ON tenant_tables TO PUBLIC;

-- Runs a statement as the current role: 'ok:<rows>' or the SQLSTATE it raised.
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE stmt;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN 'ok:' || n;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- Rows of tbl the current role sees for org (-1: not even allowed to look).
CREATE FUNCTION pg_temp.visible(tbl regclass, org uuid) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s WHERE organization_id = %L', tbl, org) INTO n;
    RETURN n;
EXCEPTION WHEN insufficient_privilege THEN
    RETURN -1;
END
$$;

-- The insertable columns of tbl (generated ones excluded).
CREATE FUNCTION pg_temp.columns(tbl regclass) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
      FROM pg_attribute WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
$$;

-- Copies of tenant B's rows, to try inserting them while acting for tenant A.
CREATE FUNCTION pg_temp.copy_rows(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TEMP TABLE %I AS SELECT %s FROM %s WHERE organization_id = %L LIMIT 1',
                   'copy_' || replace(tbl::text, '.', '_'), pg_temp.columns(tbl), tbl, pg_temp.org('b'));
    EXECUTE format('GRANT SELECT ON %I TO PUBLIC', 'copy_' || replace(tbl::text, '.', '_'));
END
$$;
SELECT pg_temp.copy_rows(tbl) FROM tenant_tables;

-- The INSERT of tbl's copy with its values spelled out: a plain INSERT ...
-- VALUES, as applications write rows (Citus would copy the rows of an INSERT
-- ... SELECT from a local table with COPY, which row-level security refuses
-- for any row).
CREATE FUNCTION pg_temp.insert_copy(tbl regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    vals text;
BEGIN
    -- Each value as its text form, which the column's type reads back.
    EXECUTE format('SELECT concat_ws('', '', %s) FROM %I c',
                   (SELECT string_agg(format('quote_nullable(c.%I::text)', attname), ', ' ORDER BY attnum)
                      FROM pg_attribute WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped AND attgenerated = ''),
                   'copy_' || replace(tbl::text, '.', '_')) INTO vals;
    RETURN format('INSERT INTO %s (%s) VALUES (%s)', tbl, pg_temp.columns(tbl), vals);
END
$$;

SELECT plan((SELECT 12 * count(*)::int + 4 FROM tenant_tables));

-- Structure.
SELECT ok(c.relrowsecurity, tbl || ' has row-level security enabled')
  FROM tenant_tables t JOIN pg_class c ON c.oid = t.tbl;
SELECT ok(c.relforcerowsecurity, tbl || ' forces row-level security on its owner')
  FROM tenant_tables t JOIN pg_class c ON c.oid = t.tbl;
-- Routing tables name a tenant by a value that has none yet (the dialled
-- number): their key is that value, unique across tenants, and applications
-- cannot read them.
CREATE TEMP VIEW routing_tables AS SELECT 'wib.inbound_number_routes'::regclass AS tbl;
-- Keyless logs are only appended to and consumed whole by wib's own jobs:
-- applications cannot read them, and deleting from them needs the whole row
-- as replica identity.
CREATE TEMP VIEW keyless_logs AS SELECT 'wib.analytics_changes'::regclass AS tbl;
SELECT ok(EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                   WHERE i.indrelid = t.tbl AND i.indisprimary AND a.attname = 'organization_id')
          OR (t.tbl IN (SELECT tbl FROM routing_tables) AND NOT has_table_privilege('wib_app', t.tbl, 'SELECT'))
          OR (t.tbl IN (SELECT tbl FROM keyless_logs) AND NOT has_table_privilege('wib_app', t.tbl, 'SELECT')
              AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.tbl)
              AND (SELECT relreplident FROM pg_class WHERE oid = t.tbl) = 'f'),
          tbl || ' primary key includes organization_id (or it is a routing table or a keyless log applications cannot read)')
  FROM tenant_tables t;
SELECT is((SELECT count(*) FROM pg_index i
            WHERE i.indrelid = t.tbl AND i.indisunique AND NOT (i.indisprimary AND t.tbl IN (SELECT tbl FROM routing_tables))
              AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                               WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) AND a.attname = 'organization_id')),
          0::bigint, tbl || ' has no unique index without organization_id (but a routing table''s key)')
  FROM tenant_tables t;
SELECT cmp_ok(pg_temp.visible(tbl, pg_temp.org('b')), '>', 0::bigint, tbl || ' fixture has rows of tenant B')
  FROM tenant_tables;

-- As an application login acting for tenant A.
SET ROLE wib_test_app;
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');

SELECT ok(NOT has_table_privilege('wib_app', tbl, 'SELECT') OR pg_temp.visible(tbl, pg_temp.org('a')) > 0,
          tbl || ': tenant A sees its own rows where the application may read the table')
  FROM tenant_tables;
SELECT cmp_ok(pg_temp.visible(tbl, pg_temp.org('b')), '<=', 0::bigint, tbl || ': tenant A sees none of tenant B''s rows')
  FROM tenant_tables;
SELECT is(pg_temp.try(pg_temp.insert_copy(tbl)), '42501', tbl || ': tenant A cannot insert a row for tenant B')
  FROM tenant_tables;
SELECT ok(pg_temp.try(format('UPDATE %s SET organization_id = organization_id WHERE organization_id = %L', tbl, pg_temp.org('b')))
          IN ('ok:0', '42501'), tbl || ': tenant A cannot update tenant B''s rows')
  FROM tenant_tables;
SELECT ok(pg_temp.try(format('DELETE FROM %s WHERE organization_id = %L', tbl, pg_temp.org('b')))
          IN ('ok:0', '42501'), tbl || ': tenant A cannot delete tenant B''s rows')
  FROM tenant_tables;
SELECT ok(pg_temp.try(format('UPDATE %s SET organization_id = %L WHERE organization_id = %L', tbl, pg_temp.org('b'), pg_temp.org('a')))
          !~ '^ok:[1-9]', tbl || ': tenant A cannot move its rows to tenant B')
  FROM tenant_tables;

-- With no tenant in context, nothing is visible at all.
SELECT wib.clear_context();
SELECT ok(pg_temp.try(format('SELECT 1 FROM %s', tbl)) IN ('ok:0', '42501'), tbl || ': nothing visible without a tenant')
  FROM tenant_tables;

SELECT is(pg_temp.try('INSERT INTO wib.calls (organization_id) VALUES (' || quote_literal(pg_temp.org('a')) || ')'),
          '42501', 'no row is writable without a tenant');
SELECT is((SELECT count(*) FROM wib.organizations), 0::bigint, 'organizations are invisible without a tenant');
SELECT wib.set_context(pg_temp.org('a'), 'agent-1');
SELECT is((SELECT array_agg(name) FROM wib.organizations), ARRAY['Tenant A'], 'a tenant sees only its own organization');
SELECT throws_ok('UPDATE wib.organizations SET plan = ''enterprise''', '42501', NULL,
                 'an application cannot change its own plan');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
