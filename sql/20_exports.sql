-- Exports: the exact output of the CSV and JSON Lines writers.
-- <CR>, <LF> and <TAB> stand for the bytes \r, \n and \t so every byte is visible.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE FUNCTION pg_temp.show(query text, format text, guard boolean DEFAULT true) RETURNS text
    LANGUAGE sql
    RETURN (SELECT replace(replace(replace(string_agg(c, '' ORDER BY n), E'\r', '<CR>'), E'\n', '<LF>'), E'\t', '<TAB>')
              FROM wib.export_render(query, format, guard) WITH ORDINALITY AS t(c, n));
-- CSV: header row, CRLF line ends; plain fields unquoted.
SELECT pg_temp.show($$SELECT 1 AS n, 'plain text' AS t, ' spaced ' AS s$$, 'csv');
-- A comma, a quote, LF, CR or CRLF forces quotes; quotes are doubled.
SELECT pg_temp.show($$SELECT 'a,b' AS comma, 'say "hi"' AS quote, E'l1\nl2' AS lf, E'l1\rl2' AS cr, E'l1\r\nl2' AS crlf, '"' AS lone_quote$$, 'csv');
-- Tabs, semicolons and UTF-8 (emoji included) are written as they are, unquoted.
SELECT pg_temp.show($$SELECT E'a\tb' AS tab, 'x;y' AS semi, 'héllo 😀' AS utf8$$, 'csv');
-- NULL is an empty unquoted field; the empty string is "".
SELECT pg_temp.show($$SELECT NULL::text AS null_text, '' AS empty_text, NULL::integer AS null_int, 'x' AS last$$, 'csv');
SELECT pg_temp.show($$SELECT ''::text AS only_empty$$, 'csv');
SELECT pg_temp.show($$SELECT NULL::text AS only_null$$, 'csv');
-- Formula guard (on by default): text starting with = + - @ tab or CR gets a leading '.
SELECT pg_temp.show($$SELECT '=SUM(A1)' AS eq, '+1555' AS plus, '-x' AS minus, '@cmd' AS at, E'\tx' AS tab, E'\rx' AS cr, 'a=b' AS inner_eq$$, 'csv');
-- The guard goes inside the quotes when the field needs them.
SELECT pg_temp.show($$SELECT '=1,2' AS guarded_quoted, E'=a\nb' AS guarded_newline$$, 'csv');
-- Numbers, timestamps and ids are never guarded.
SELECT pg_temp.show($$SELECT -5 AS neg_int, -1.5::numeric AS neg_num, '-infinity'::timestamptz AS neg_inf$$, 'csv');
-- Guard off: the text as it is.
SELECT pg_temp.show($$SELECT '=SUM(A1)' AS eq, '+1555' AS plus$$, 'csv', false);
-- Types: integers and numerics unformatted, booleans true/false, NaN and infinities as PostgreSQL spells them.
SELECT pg_temp.show($$SELECT 32767::int2 AS i2, '-2147483648'::int4 AS i4, 9223372036854775807::int8 AS i8, 1234567.8900::numeric AS num, 'NaN'::numeric AS nan, 'Infinity'::float8 AS inf, 0.1::float8 AS f8, true AS t, false AS f$$, 'csv');
-- Timestamps with time zone: ISO 8601 in UTC with Z, whatever TimeZone says; fractions trimmed.
SET TimeZone = 'America/New_York';
SELECT pg_temp.show($$SELECT '2026-03-01 12:00:00+05:30'::timestamptz AS ts, '2026-03-01 12:00:00.5+00'::timestamptz AS half, '2026-03-01 12:00:00.000001+00'::timestamptz AS micro, 'infinity'::timestamptz AS inf$$, 'csv');
-- Years outside 0000-9999 (ISO 8601 expanded years, astronomical: 1 BC is 0000).
SELECT pg_temp.show($$SELECT '0001-01-01 00:00:00+00 BC'::timestamptz AS bc1, '0044-03-15 12:00:00+00 BC'::timestamptz AS bc44, '12026-01-01 00:00:00+00'::timestamptz AS far$$, 'csv');
-- Timestamps without time zone: ISO 8601 without a zone; dates as PostgreSQL prints them.
SELECT pg_temp.show($$SELECT '2026-03-01 12:00:00'::timestamp AS ts, '2026-03-01'::date AS d$$, 'csv');
RESET TimeZone;
-- UUIDs, jsonb (its text, quoted as needed) and arrays (PostgreSQL's text, quoted as needed).
SELECT pg_temp.show($$SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, '{"k": "v,w"}'::jsonb AS j, ARRAY['a', 'b c'] AS arr$$, 'csv');
-- Column names follow the same quoting rules in the header.
SELECT pg_temp.show($$SELECT 1 AS "a,b", 2 AS "say ""x""", 3 AS "=guard not applied to names"$$, 'csv');
-- Several rows.
SELECT pg_temp.show($$SELECT g AS n, repeat('x', g) AS xs FROM generate_series(1, 3) g$$, 'csv');
-- An empty result is the header alone.
SELECT pg_temp.show($$SELECT 1 AS n WHERE false$$, 'csv');

-- JSON Lines: one object per row, keys in column order, LF line ends.
SELECT pg_temp.show($$SELECT 1 AS n, 'text' AS t, NULL::text AS nul, '' AS empty, true AS b FROM generate_series(1, 2)$$, 'json');
-- Quotes, backslashes and every control character are escaped; DEL and UTF-8 are kept.
SELECT pg_temp.show($$SELECT E'q"b\\s/' AS s, E'\n\r\t\b\f' AS named, E'\x01\x02\x1f' AS ctl, E'\x7f' AS del, 'é😀' AS utf8$$, 'json');
-- The formula guard never applies to JSON.
SELECT pg_temp.show($$SELECT '=SUM(A1)' AS eq$$, 'json', true);
-- Numbers bare; NaN and infinities (not JSON numbers) as strings; json and jsonb embedded.
SELECT pg_temp.show($$SELECT -5 AS i, 1.50::numeric AS num, 'NaN'::numeric AS nan, '-Infinity'::float8 AS ninf, '{"a": [1, "x"]}'::jsonb AS jb, '[1,2]'::json AS js, ARRAY[1, 2] AS arr$$, 'json');
-- Timestamps and UUIDs as strings.
SELECT pg_temp.show($$SELECT '2026-03-01 12:00:00+05:30'::timestamptz AS ts, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id$$, 'json');
-- Keys are escaped like strings.
SELECT pg_temp.show($$SELECT 1 AS "k""ey", 2 AS "back\slash"$$, 'json');
-- An empty result is no output at all.
SELECT pg_temp.show($$SELECT 1 AS n WHERE false$$, 'json') IS NULL AS no_output;

-- Chunks hold whole lines only: every chunk ends at a line end.
SELECT count(*) > 1 AS several_chunks, bool_and(right(c, 2) = E'\r\n') AS whole_lines,
       sum(octet_length(c)) AS bytes
  FROM wib.export_render($$SELECT g, md5(g::text) FROM generate_series(1, 20000) g$$, 'csv') c;
SELECT count(*) > 1 AS several_chunks, bool_and(right(c, 1) = E'\n') AS whole_lines
  FROM wib.export_render($$SELECT g, md5(g::text) FROM generate_series(1, 20000) g$$, 'json') c;
-- A row longer than a chunk stays whole.
SELECT count(*) AS chunks, sum(octet_length(c)) AS bytes
  FROM wib.export_render($$SELECT repeat('y', 300000) AS big$$, 'csv') c;

-- Errors (SQLSTATE: message): the row limit stops the export (never cut short), bad
-- format, more than one statement, anything but a read-only query.
CREATE FUNCTION pg_temp.err(query text, format text, max_rows bigint DEFAULT 0) RETURNS text
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM count(*) FROM wib.export_render(query, format, true, max_rows);
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT pg_temp.err($$SELECT g FROM generate_series(1, 11) g$$, 'csv', 10);
SELECT pg_temp.err($$SELECT g FROM generate_series(1, 10) g$$, 'csv', 10);
SELECT pg_temp.err('SELECT 1', 'xml');
SELECT pg_temp.err('SELECT 1', NULL);
SELECT pg_temp.err('SELECT 1; SELECT 2', 'csv');
SELECT pg_temp.err('SET work_mem = 1000', 'csv');
CREATE TEMP TABLE t (x int);
SELECT pg_temp.err('INSERT INTO t VALUES (1) RETURNING x', 'csv');
SELECT count(*) AS rows_written_by_refused_insert FROM t;
