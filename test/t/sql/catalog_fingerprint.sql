-- Everything of the wib extension that an install defines, one line per fact,
-- for comparing an updated install with a fresh one.  OIDs and attnums are left
-- out (they differ between equal catalogs); order is by the facts themselves.
WITH members AS (
    SELECT d.classid, d.objid
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
     WHERE e.extname = 'wib' AND d.deptype = 'e'
), rels AS (
    SELECT c.* FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'wib'::regnamespace
), facts AS (
    SELECT 'member ' || pg_catalog.pg_describe_object(m.classid, m.objid, 0) AS fact FROM members m
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure || E'\n' || pg_catalog.pg_get_functiondef(p.oid)
      FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'wib'::regnamespace AND p.prokind <> 'a'
    UNION ALL
    SELECT 'aggregate ' || a.aggfnoid::regprocedure || ' ' || a.aggtransfn::regproc || ' ' || a.aggfinalfn::regproc
           || ' ' || a.aggtranstype::regtype || ' ' || coalesce(a.agginitval, '')
      FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
     WHERE p.pronamespace = 'wib'::regnamespace
    UNION ALL
    SELECT 'function acl ' || p.oid::regprocedure || ' '
           || coalesce((SELECT string_agg(x.grantee::regrole || ':' || x.privilege_type, ',' ORDER BY 1)
                          FROM aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) x), 'none')
      FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'wib'::regnamespace
    UNION ALL
    SELECT 'function owner ' || p.oid::regprocedure || ' ' || (p.proowner = e.extowner)::text
      FROM pg_catalog.pg_proc p, pg_catalog.pg_extension e
     WHERE p.pronamespace = 'wib'::regnamespace AND e.extname = 'wib'
    UNION ALL
    SELECT 'comment ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) || ': ' || d.description
      FROM pg_catalog.pg_description d
      JOIN members m ON m.classid = d.classoid AND m.objid = d.objoid
    UNION ALL
    SELECT 'relation ' || r.relname || ' ' || r.relkind::text || ' ' || r.relpersistence::text
           || ' rls=' || r.relrowsecurity || ' force=' || r.relforcerowsecurity
           || ' options=' || coalesce(r.reloptions::text, '')
           || ' acl=' || coalesce((SELECT string_agg(x.grantee::regrole || ':' || x.privilege_type, ',' ORDER BY 1)
                                     FROM aclexplode(coalesce(r.relacl, acldefault(CASE WHEN r.relkind = 'S' THEN 's' ELSE 'r' END::"char", r.relowner))) x), 'none')
      FROM rels r WHERE r.relkind IN ('r', 'p', 'v', 'm', 'S', 'c')
    UNION ALL
    SELECT 'column ' || r.relname || ' #' || row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum) || ' '
           || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '')
           || CASE a.attgenerated WHEN 's' THEN ' generated' ELSE '' END
           || coalesce(' comment ' || pg_catalog.col_description(r.oid, a.attnum), '')
           || coalesce(' acl ' || (SELECT string_agg(x.grantee::regrole || ':' || x.privilege_type, ',' ORDER BY 1)
                                     FROM aclexplode(a.attacl) x), '')
      FROM rels r
      JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE r.relkind IN ('r', 'p', 'v', 'm', 'c')
    UNION ALL
    SELECT 'constraint ' || r.relname || ' ' || co.conname || ' ' || pg_catalog.pg_get_constraintdef(co.oid)
      FROM pg_catalog.pg_constraint co JOIN rels r ON r.oid = co.conrelid
    UNION ALL
    SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
      FROM pg_catalog.pg_index i JOIN rels r ON r.oid = i.indrelid
    UNION ALL
    SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid)
      FROM pg_catalog.pg_trigger t JOIN rels r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'policy ' || p.tablename || ' ' || p.policyname || ' ' || p.permissive || ' ' || p.cmd || ' '
           || p.roles::text || ' ' || coalesce(p.qual, '') || ' / ' || coalesce(p.with_check, '')
      FROM pg_catalog.pg_policies p WHERE p.schemaname = 'wib'
    UNION ALL
    SELECT 'view ' || r.relname || ' ' || pg_catalog.pg_get_viewdef(r.oid)
      FROM rels r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'dumped ' || c::regclass || ' ' || coalesce(e.extcondition[i], '')
      FROM pg_catalog.pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS u(c, i)
     WHERE e.extname = 'wib'
    UNION ALL
    SELECT 'schema acl ' || coalesce((SELECT string_agg(x.grantee::regrole || ':' || x.privilege_type, ',' ORDER BY 1)
                                        FROM aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) x), 'none')
      FROM pg_catalog.pg_namespace n WHERE n.nspname = 'wib'
    UNION ALL
    SELECT 'type ' || t.typname || ' ' || t.typtype::text || coalesce(' ' || pg_catalog.format_type(t.typbasetype, t.typtypmod), '')
      FROM pg_catalog.pg_type t WHERE t.typnamespace = 'wib'::regnamespace AND t.typtype IN ('d', 'e')
)
SELECT fact FROM facts ORDER BY fact COLLATE "C";
