#!/usr/bin/env bash
# Exports: 1,000,000 call rows written as CSV through the job path
# (wib.run_export_jobs into a file) and through wib.export_stream, beside
# COPY (same query) TO STDOUT (FORMAT csv) in the same run; rows per second and
# the backend's peak memory (VmHWM from /proc/<pid>/status, a fresh backend each).
set -euo pipefail
ROWS=${EXPORT_BENCH_ROWS:-1000000}

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

org=$(q -c "SELECT id FROM wib.organizations WHERE name = 'Bench Exports'")
if [ -z "$org" ]; then
	org=$(q -c "SELECT wib.organization_create('Bench Exports', 'enterprise')")
fi
q <<SQL
UPDATE wib.scheduled_jobs SET enabled = false WHERE name = 'export_jobs';
SELECT wib.set_context('$org', 'bench');
INSERT INTO wib.users (organization_id, id, name, email)
SELECT '$org', 'agent-' || g, 'Agent ' || g, 'agent' || g || '@example.com' FROM generate_series(1, 50) g
ON CONFLICT DO NOTHING;
INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status, disposition,
                       telnyx_call_id, started_at, ended_at, duration_seconds)
SELECT '$org', 'agent-' || (g % 50 + 1), CASE WHEN g % 3 = 0 THEN 'inbound' ELSE 'outbound' END,
       '+1555' || lpad(g::text, 7, '0'), '+1666' || lpad((g * 7)::text, 7, '0'), 'completed',
       CASE g % 4 WHEN 0 THEN 'sale' WHEN 1 THEN 'callback, later' WHEN 2 THEN 'said "no"' ELSE NULL END,
       'v3:' || md5(g::text), '2025-01-01'::timestamptz + g * interval '17 seconds',
       '2025-01-01'::timestamptz + g * interval '17 seconds' + (g % 600) * interval '1 second', g % 600
  FROM generate_series((SELECT count(*) FROM wib.calls WHERE organization_id = '$org') + 1, $ROWS) g;
ANALYZE wib.calls;
SQL
query=$(q -c "SELECT wib.export_query('calls', '{}', '$org')")

# One measurement in a fresh backend: prints "rows_per_second private_peak_mb vmhwm_mb".
# VmHWM counts the shared buffers the backend touched (the same for every
# method reading the same rows), so the private peak is VmHWM - RssShmem.
measure() {
	local setup=$1 statement=$2
	q <<SQL
\o /dev/null
$setup
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
$statement
\o
SELECT pg_read_file('/proc/' || pg_backend_pid() || '/status') AS st \gset
SELECT round($ROWS / (extract(epoch FROM clock_timestamp()) - :t0)) || ' ' ||
       round(((regexp_match(:'st', 'VmHWM:\s+(\d+)'))[1]::numeric - (regexp_match(:'st', 'RssShmem:\s+(\d+)'))[1]::numeric) / 1024, 1) || ' ' ||
       round((regexp_match(:'st', 'VmHWM:\s+(\d+)'))[1]::numeric / 1024, 1);
SQL
}

measure "" "COPY ($query) TO STDOUT (FORMAT csv, HEADER);" >/dev/null	# warm the cache
read -r copy_rps copy_mb copy_hwm < <(measure "" "COPY ($query) TO STDOUT (FORMAT csv, HEADER);")
read -r stream_rps stream_mb stream_hwm < <(measure "SELECT wib.set_context('$org', 'bench');" \
	"COPY (SELECT c FROM wib.export_stream('calls', 'csv') c) TO STDOUT (FORMAT binary);")
# Flat memory: the same stream over a tenth of the rows (rows/s figure unused).
tenth=$(q -c "SELECT started_at FROM wib.calls WHERE organization_id = '$org' ORDER BY started_at OFFSET $((ROWS / 10)) LIMIT 1")
read -r _ small_mb _ < <(measure "SELECT wib.set_context('$org', 'bench');" \
	"COPY (SELECT c FROM wib.export_stream('calls', 'csv', '{\"date_to\": \"$tenth\"}') c) TO STDOUT (FORMAT binary);")
job=$(q -c "SELECT wib.set_context('$org', 'bench'); SELECT wib.export_create('calls', 'csv');" | tail -1)
read -r job_rps job_mb job_hwm < <(measure "" "SELECT wib.run_export_jobs(1);")
q -c "SELECT 'job ' || id || ': ' || status || ', ' || total_rows || ' rows, ' || pg_size_pretty(file_size_bytes) || coalesce(', ' || error_detail, '')
        FROM wib.export_jobs WHERE id = '$job'"
q -c "SELECT wib.export_file_remove(storage_key) FROM wib.export_jobs WHERE id = '$job'" >/dev/null

echo "ROW|CSV export of $ROWS calls, job path (rows/s)|$job_rps|$copy_rps|rows/s|higher|>= 0.8x COPY"
echo "ROW|CSV export of $ROWS calls, wib.export_stream (rows/s)|$stream_rps|$copy_rps|rows/s|higher|>= 0.8x COPY"
echo "ROW|backend peak private memory (VmHWM - RssShmem), job path|$job_mb|$copy_mb|MB|lower|< 64 MB"
echo "ROW|backend peak private memory (VmHWM - RssShmem), wib.export_stream|$stream_mb|$copy_mb|MB|lower|< 64 MB"
echo "raw VmHWM (includes shared buffers touched): job $job_hwm MB, stream $stream_hwm MB, COPY $copy_hwm MB"
echo "memory does not grow with the row count: wib.export_stream private peak $small_mb MB for $((ROWS / 10)) rows (another plan: date filter), $stream_mb MB for $ROWS rows"
