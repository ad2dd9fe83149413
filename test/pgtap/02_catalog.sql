-- The catalog keeps its promises: every table, view and function of the extension
-- is documented with COMMENT ON, and every function in schema wib is closed to PUBLIC.
BEGIN;
SELECT plan(3);

SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'wib' AND c.relkind IN ('r', 'p', 'v', 'm')
                   AND obj_description(c.oid, 'pg_class') IS NULL ORDER BY 1),
          '{}'::text[], 'every table and view of schema wib has a comment');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'wib' AND obj_description(p.oid, 'pg_proc') IS NULL ORDER BY 1),
          '{}'::text[], 'every function of schema wib has a comment');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'wib' AND has_function_privilege('public', p.oid, 'EXECUTE') ORDER BY 1),
          '{}'::text[], 'no function of schema wib is executable by PUBLIC');

SELECT * FROM finish();
ROLLBACK;
