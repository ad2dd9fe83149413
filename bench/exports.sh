#!/usr/bin/env bash
# Exports: call rows written as CSV through the job path (wib.run_export_jobs
# into a file) and through wib.export_stream, beside COPY (same query) TO
# STDOUT (FORMAT csv, HEADER) in the same run: rows per second, and each
# backend's peak private memory sampled from /proc while the export runs.
# At the large size the job path also writes into object storage (the S3 peer,
# test/peers/s3.py, over HTTPS on loopback, every signature checked with
# botocore), measured beside the local-file job path of the same run.
#
# Isolation: the script works in a database of its own (wib_bench_exports,
# created here and dropped at exit) holding one organization and exactly its
# calls, so its figures and plans do not depend on what the other bench
# scripts left in wib_bench or on the order they ran in.
#
# Sizes: the same organization, query and filter are measured at 100,000 rows
# and again after the table is grown to 1,000,000 rows (ANALYZE after each
# load); the plans of both are printed and compared, so "memory does not grow
# with the row count" is printed only when the numbers show it.
#
# Memory: a sampler reads /proc/<backend pid>/status every 5 ms, from just
# before the statement until the backend exits, and keeps the peaks of
#   RssAnon            the backend's resident anonymous memory: its memory
#                      contexts and malloc heap, stack, copied-on-write pages
#                      (about 2-3 MB of it is the postmaster's, as in any
#                      fresh backend).  No shared memory: shared buffers and
#                      dynamic shared memory are RssShmem, left out whatever
#                      the backend touched.
#   RssAnon + RssFile  the same plus the file pages it maps: program and
#                      library code, LLVM's when the plan is JIT-compiled.
# Those counters are kept by the kernel for every page, so each sample is
# exact and costs microseconds (a /proc/<pid>/smaps read costs milliseconds);
# a peak shorter than 5 ms can be missed.  Every measurement, COPY's and ours
# alike, uses a fresh backend.
set -euo pipefail
SMALL=${EXPORT_BENCH_SMALL_ROWS:-100000}
ROWS=${EXPORT_BENCH_ROWS:-1000000}
DB=${EXPORT_BENCH_DB:-wib_bench_exports}
OUT=${BENCH_OUT:-/tmp}/exports
mkdir -p "$OUT"

export PGOPTIONS="-c client_min_messages=warning"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# ---------------------------------------------------------------- own database
q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
S3_PID=
# The S3 peer keeps its objects in memory: the store's disk is not the server's,
# and its writes (200 MB an export) would compete with the local file's.
S3_DATA=$(mktemp -d /dev/shm/wib-bench-s3.XXXXXX)
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
      [ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null; rm -rf "$S3_DATA"' EXIT
export PGDATABASE=$DB
q -c 'CREATE EXTENSION pgcrypto' -c 'CREATE EXTENSION wib' >/dev/null
org=$(q -c "SELECT wib.organization_create('Bench Exports', 'enterprise')")
q <<SQL
UPDATE wib.scheduled_jobs SET enabled = false;
SELECT wib.set_context('$org', 'bench');
INSERT INTO wib.users (organization_id, id, name, email)
SELECT '$org', 'agent-' || g, 'Agent ' || g, 'agent' || g || '@example.com' FROM generate_series(1, 50) g;
SQL

# load FROM TO: calls number FROM..TO of the organization, then ANALYZE.
load() {
	q <<SQL
SELECT wib.set_context('$org', 'bench');
INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status, disposition,
                       telnyx_call_id, started_at, ended_at, duration_seconds)
SELECT '$org', 'agent-' || (g % 50 + 1), CASE WHEN g % 3 = 0 THEN 'inbound' ELSE 'outbound' END,
       '+1555' || lpad(g::text, 7, '0'), '+1666' || lpad((g * 7)::text, 7, '0'), 'completed',
       CASE g % 4 WHEN 0 THEN 'sale' WHEN 1 THEN 'callback, later' WHEN 2 THEN 'said "no"' ELSE NULL END,
       'v3:' || md5(g::text), '2025-01-01'::timestamptz + g * interval '17 seconds',
       '2025-01-01'::timestamptz + g * interval '17 seconds' + (g % 600) * interval '1 second', g % 600
  FROM generate_series($1, $2) g;
VACUUM ANALYZE wib.calls;
SQL
}

# ---------------------------------------------------------------- sampler
cat >"$OUT/memsample.py" <<'PY'
import os, sys, time
pid, ready, result = sys.argv[1], sys.argv[2], sys.argv[3]
fd = os.open("/proc/%s/status" % pid, os.O_RDONLY)
peak_anon, peak_all, samples = 0, 0, 0
while True:
    try:
        st = os.pread(fd, 4096, 0).decode()
    except OSError:
        break
    if not st:
        break
    kb = {}
    for line in st.splitlines():
        if line.startswith(("RssAnon:", "RssFile:")):
            kb[line[:7]] = int(line.split()[1])
    if len(kb) < 2:
        break
    peak_anon = max(peak_anon, kb["RssAnon"])
    peak_all = max(peak_all, kb["RssAnon"] + kb["RssFile"])
    samples += 1
    if samples == 1:
        open(ready, "w").close()
    time.sleep(0.005)
with open(result + ".tmp", "w") as f:
    f.write("%d %d %d\n" % (peak_anon, peak_all, samples))
os.rename(result + ".tmp", result)
PY

# measure ROWS SETUP STATEMENT: one measurement in a fresh backend; prints
# "rows_per_second rssanon_peak_mb rssanon_plus_rssfile_peak_mb samples".
n=0
measure() {
	local rows=$1 setup=$2 statement=$3
	n=$((n + 1))
	local ready=$OUT/m$n.ready result=$OUT/m$n.result
	rm -f "$ready" "$result"
	q <<SQL | tr -d '\n'
\o /dev/null
$setup
SELECT pg_backend_pid() AS backend_pid \gset
\setenv BACKEND_PID :backend_pid
\! python3 '$OUT/memsample.py' "\$BACKEND_PID" '$ready' '$result' </dev/null >/dev/null 2>&1 &
\! for i in \$(seq 2000); do [ -e '$ready' ] && break; sleep 0.005; done
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
$statement
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS secs \gset
\o
SELECT round($rows / :secs);
SQL
	# The backend exits with the session; the sampler writes its peaks then.
	for _ in $(seq 500); do [ -e "$result" ] && break; sleep 0.01; done
	awk '{ printf " %.1f %.1f %d\n", $1 / 1024, $2 / 1024, $3 }' "$result"
}

# ---------------------------------------------------------------- S3 peer
# A CA and a certificate for 127.0.0.1, then the peer; the job path trusts the
# CA through wib.http_ca_file in its session.
s3_start() {
	local ssl_ext=$OUT/s3.ext
	printf 'subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' >"$ssl_ext"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=bench-ca \
		-keyout "$OUT/ca.key" -out "$OUT/ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
		-keyout "$OUT/s3.key" -out "$OUT/s3.csr" 2>/dev/null
	openssl x509 -req -in "$OUT/s3.csr" -CA "$OUT/ca.pem" -CAkey "$OUT/ca.key" -CAcreateserial -days 2 \
		-extfile "$ssl_ext" -out "$OUT/s3.pem" 2>/dev/null
	rm -rf "$S3_DATA"/* "$OUT/s3.port"
	/usr/bin/python3 "$WIB_ROOT/test/peers/s3.py" --port-file "$OUT/s3.port" --data-dir "$S3_DATA" \
		--access-key bench0access0key --secret-key bench-secret-key-0123456789 --region auto \
		--tls "$OUT/s3.pem" "$OUT/s3.key" >"$OUT/s3.out" 2>&1 &
	S3_PID=$!
	for _ in $(seq 100); do [ -s "$OUT/s3.port" ] && break; sleep 0.1; done
	[ -s "$OUT/s3.port" ] || { cat "$OUT/s3.out" >&2; return 1; }
}

query=$(q -c "SELECT wib.export_query('calls', '{}', '$org')")
copy_stmt="COPY ($query) TO STDOUT (FORMAT csv, HEADER);"
ctx="SELECT wib.set_context('$org', 'bench');"
stream_stmt="COPY (SELECT c FROM wib.export_stream('calls', 'csv') c) TO STDOUT (FORMAT binary);"
# The plan of the query as the exports run it (jit = off, see src/export/run.c),
# and whether COPY's plan of it is JIT-compiled (EXPLAIN shows JIT only with costs).
plan() { q -c "SET jit = off" -c "EXPLAIN (COSTS OFF) $query" | sed 's/^ *//; s/-> *//' | paste -sd ';' -; }
copy_jit() { q -c "EXPLAIN $query" | grep -q '^JIT:' && echo "JIT-compiled" || echo "not JIT-compiled"; }

# run_size ROWS PREFIX: COPY (after a warm-up), the stream and the job path at
# the current table size; sets PREFIX_copy, PREFIX_stream and PREFIX_job to
# "rows_per_second rssanon_mb rssanon_plus_rssfile_mb samples".
run_size() {
	local rows=$1 prefix=$2 job
	measure "$rows" "" "$copy_stmt" >/dev/null	# warm the cache
	printf -v "${prefix}_copy" '%s' "$(measure "$rows" "" "$copy_stmt")"
	printf -v "${prefix}_stream" '%s' "$(measure "$rows" "$ctx" "$stream_stmt")"
	job=$(q -c "$ctx" -c "SELECT wib.export_create('calls', 'csv')" | tail -1)
	printf -v "${prefix}_job_id" '%s' "$job"
	printf -v "${prefix}_job" '%s' "$(measure "$rows" "" "SELECT wib.run_export_jobs(1);")"
	q -c "SELECT 'job at $rows rows: ' || status || ', ' || total_rows || ' rows, ' || pg_size_pretty(file_size_bytes) || coalesce(', ' || error_detail, '')
	        FROM wib.export_jobs WHERE id = '$job'"
	q -c "SELECT wib.export_file_remove(storage_key) FROM wib.export_jobs WHERE id = '$job'" >/dev/null
}

load 1 "$SMALL" >/dev/null
small_plan=$(plan)
small_jit=$(copy_jit)
run_size "$SMALL" small
load $((SMALL + 1)) "$ROWS" >/dev/null
large_plan=$(plan)
large_jit=$(copy_jit)
run_size "$ROWS" large
# The same job into object storage beside the local-file job, three pairs in
# turn (single runs of the object-storage path vary more than the gap
# measured: it shares the two cores with the S3 peer), medians of each.  In a
# pair, the local job runs whole; the first run of the object-storage job
# begins the multipart upload (and commits its id), the measured run streams
# the rows into it in parts of wib.export_part_size, wib.export_upload_concurrency
# at a time (the defaults, 8 MB and 4), and completes it.
s3_start
s3_configure() {
	q -c "SELECT wib.export_storage_configure(jsonb_build_object('kind', 's3', 'endpoint', 'https://127.0.0.1:$(cat "$OUT/s3.port")',
	        'region', 'auto', 'bucket', 'wib-bench', 'prefix', 'exports/', 'access_key_id', 'bench0access0key',
	        'secret_access_key', 'bench-secret-key-0123456789'))" >/dev/null
}
s3_ca="SET wib.http_ca_file = '$OUT/ca.pem';"
pair_local=()
pair_s3=()
for _ in 1 2 3; do
	job=$(q -c "$ctx" -c "SELECT wib.export_create('calls', 'csv')" | tail -1)
	pair_local+=("$(measure "$ROWS" "" "SELECT wib.run_export_jobs(1);")")
	q -c "SELECT wib.export_file_remove(storage_key) FROM wib.export_jobs WHERE id = '$job'" >/dev/null
	s3_configure
	job=$(q -c "$ctx" -c "SELECT wib.export_create('calls', 'csv')" | tail -1)
	pair_s3+=("$(measure "$ROWS" "$s3_ca SELECT wib.run_export_jobs(1);" "SELECT wib.run_export_jobs(1);")")
	q -c "SELECT 'job into object storage at $ROWS rows: ' || j.status || ', ' || j.total_rows || ' rows, ' || pg_size_pretty(j.file_size_bytes)
	             || CASE WHEN j.sha256 = l.sha256 THEN ', the same bytes as the local file' ELSE ', NOT the bytes of the local file' END
	             || coalesce(', ' || j.error_detail, '')
	        FROM wib.export_jobs j, wib.export_jobs l WHERE j.id = '$job' AND l.id = '$large_job_id'"
	q -c "SELECT wib.export_storage_configure('{\"kind\": \"local\"}')" >/dev/null
done
# The run of the median rows/s of a set ("rows_per_second rssanon ..." each).
median_run() { printf '%s\n' "$@" | sort -n -k1,1 | sed -n "$((($# + 1) / 2))p"; }
pair_local_median=$(median_run "${pair_local[@]}")
large_s3=$(median_run "${pair_s3[@]}")
s3_peak=$(printf '%s\n' "${pair_s3[@]}" | awk '$2 > m {m = $2} END {print m}')
kill "$S3_PID" 2>/dev/null
wait "$S3_PID" 2>/dev/null
S3_PID=
rm -rf "$S3_DATA"
# The export query's plan past jit_above_cost, as a tenant's export of a large
# multi-tenant table gets it (1000: above the cost of the statements around
# it, below the query's own): COPY loads LLVM, the exports plan without JIT.
jit="SET jit_above_cost = 1000;"
jit_copy=$(measure "$ROWS" "$jit" "$copy_stmt")
jit_stream=$(measure "$ROWS" "$ctx $jit" "$stream_stmt")
job=$(q -c "$ctx" -c "SELECT wib.export_create('calls', 'csv')" | tail -1)
jit_job=$(measure "$ROWS" "$jit" "SELECT wib.run_export_jobs(1);")
q -c "SELECT wib.export_file_remove(storage_key) FROM wib.export_jobs WHERE id = '$job'" >/dev/null

f() { echo "$1" | awk -v i="$2" '{ print $i }'; }
show() { echo "$(f "$1" 1) rows/s, peak RssAnon $(f "$1" 2) MB, RssAnon + RssFile $(f "$1" 3) MB ($(f "$1" 4) samples)"; }
for m in copy stream job; do
	s=small_$m l=large_$m
	echo "$m: $SMALL rows $(show "${!s}"); $ROWS rows $(show "${!l}")"
done
rates() { for r in "$@"; do f "$r" 1; done | paste -sd ' ' -; }
echo "job path, local file and object storage in turn: $(rates "${pair_local[@]}") and $(rates "${pair_s3[@]}") rows/s"
echo "job path into object storage (median run): $ROWS rows $(show "$large_s3"); highest peak RssAnon of the three $s3_peak MB"
echo "with jit_above_cost = 1000: copy $(show "$jit_copy"); stream $(show "$jit_stream"); job path $(show "$jit_job")"
echo "plan at $SMALL rows: $small_plan; COPY's plan $small_jit"
echo "plan at $ROWS rows: $large_plan; COPY's plan $large_jit"

growth() { awk -v a="$(f "$1" 2)" -v b="$(f "$2" 2)" 'BEGIN { printf "%.1f", b - a }'; }
stream_growth=$(growth "$small_stream" "$large_stream")
job_growth=$(growth "$small_job" "$large_job")
copy_growth=$(growth "$small_copy" "$large_copy")
worst_growth=$(awk -v a="$stream_growth" -v b="$job_growth" 'BEGIN { print (a > b) ? a : b }')
if [ "$small_plan" != "$large_plan" ]; then
	echo "memory against row count: not shown, the plans at $SMALL and $ROWS rows differ (peak RssAnon growth: stream $stream_growth MB, job path $job_growth MB)"
elif awk -v g="$worst_growth" 'BEGIN { exit !(g < 1.0) }'; then
	echo "memory does not grow with the row count: same plan, $SMALL -> $ROWS rows changes the peak RssAnon by $stream_growth MB (stream) and $job_growth MB (job path); COPY: $copy_growth MB"
else
	echo "memory GROWS with the row count: same plan, $SMALL -> $ROWS rows adds $stream_growth MB (stream) and $job_growth MB (job path) of peak RssAnon; COPY: $copy_growth MB"
fi

echo "ROW|CSV export of $ROWS calls, job path (rows/s)|$(f "$large_job" 1)|$(f "$large_copy" 1)|rows/s|higher|>= 0.8x COPY"
echo "ROW|CSV export of $ROWS calls, job path into object storage (S3 peer, HTTPS), median of 3 pairs (rows/s)|$(f "$large_s3" 1)|$(f "$pair_local_median" 1)|rows/s|higher|>= 0.8x local file"
echo "ROW|CSV export of $ROWS calls, wib.export_stream (rows/s)|$(f "$large_stream" 1)|$(f "$large_copy" 1)|rows/s|higher|>= 0.8x COPY"
echo "ROW|backend peak RssAnon, $ROWS rows, job path|$(f "$large_job" 2)|$(f "$large_copy" 2)|MB|lower|< 64 MB"
echo "ROW|backend peak RssAnon, $ROWS rows, job path into object storage (highest of 3)|$s3_peak|$(f "$large_job" 2)|MB|lower|< 64 MB"
echo "ROW|backend peak RssAnon, $ROWS rows, wib.export_stream|$(f "$large_stream" 2)|$(f "$large_copy" 2)|MB|lower|< 64 MB"
echo "ROW|backend peak RssAnon + RssFile, $ROWS rows, plan past jit_above_cost (1000), job path|$(f "$jit_job" 3)|$(f "$jit_copy" 3)|MB|lower|< 64 MB"
echo "ROW|backend peak RssAnon + RssFile, $ROWS rows, plan past jit_above_cost (1000), wib.export_stream|$(f "$jit_stream" 3)|$(f "$jit_copy" 3)|MB|lower|< 64 MB"
echo "ROW|peak RssAnon growth $SMALL -> $ROWS rows (same plan), worse of job path and stream|$worst_growth|-|MB|lower|< 1 MB"
