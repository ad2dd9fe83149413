#!/usr/bin/env bash
# Exports: Acme's application requests a CSV export of its calls, the scheduler
# writes the file, the application reads it in chunks and hands out a signed,
# expiring download link; then streaming, and the errors users meet.
set -euo pipefail
q() { psql -X -q -v ON_ERROR_STOP=1 -v SHOW_CONTEXT=never "$@"; }

acme=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Acme Corp'")
globex=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Globex'")
as_acme() { PGOPTIONS="-c wib.org_id=$acme -c wib.user_id=acme-admin" q -U demo_app "$@"; }
as_globex() { PGOPTIONS="-c wib.org_id=$globex -c wib.user_id=globex-admin" q -U demo_app "$@"; }

echo "Acme (business plan) asks for its outbound calls as CSV (idempotency key 'demo-export-1'):"
job=$(as_acme -At -c "SELECT wib.export_create('calls', 'csv', '{\"direction\": \"outbound\"}', 'demo-export-1')")
again=$(as_acme -At -c "SELECT wib.export_create('calls', 'csv', '{\"direction\": \"outbound\"}', 'demo-export-1')")
echo "  job $job (asking again with the same key returns $again)"

echo "The scheduler worker picks the job up at once (export_create woke it):"
for _ in $(seq 1 60); do
	status=$(as_acme -At -c "SELECT status FROM wib.export_jobs WHERE id = '$job'")
	[ "$status" = completed ] || [ "$status" = failed ] && break
	sleep 0.5
done
as_acme -c "SELECT export_type, format, status, total_rows, pg_size_pretty(file_size_bytes) AS size,
                   left(sha256, 16) || '…' AS sha256,
                   round(extract(epoch FROM expires_at - completed_at) / 3600) || ' h' AS kept_for
              FROM wib.export_jobs WHERE id = '$job'"

echo "The first lines of the file, read through wib.export_read (CRLF line ends shown as they are):"
as_acme -At -c "SELECT left(replace(l, E'\\r', '\\r'), 150)
                  FROM unnest((string_to_array(convert_from(wib.export_read('$job', 0, 65536), 'UTF8'), E'\\n'))[1:4]) l"
echo "  (phone numbers start with '+', so the formula-injection guard prefixes them with ' for spreadsheets;"
echo "   pass {\"formula_guard\": false} in the filters to turn it off)"

echo
echo "The application hands out a download link valid 15 minutes (a signed token):"
token=$(as_acme -At -c "SELECT wib.export_download_token('$job', '15 minutes')")
echo "  $token"
echo "Whoever holds it can open and read that export, without a tenant session:"
q -At <<SQL
BEGIN;
SELECT '  opened export ' || wib.export_open('$token');
SELECT '  first chunk: ' || octet_length(wib.export_read('$job', 0, 1048576)) || ' bytes';
COMMIT;
SQL
echo "A token with one character changed is refused (WB201; an expired one gets WB202):"
last=${token: -1}; [ "$last" = 0 ] && flip=1 || flip=0
q -At -c "SELECT wib.export_open('${token%?}$flip')" 2>&1 | sed 's/^/  /' || true

echo
echo "Streaming (no file): the calls of the last hour as JSON Lines, straight to the caller:"
as_acme -At -c "SELECT left(l, 160) FROM wib.export_stream('calls', 'json', jsonb_build_object('date_from', now() - interval '1 hour')) c,
                       unnest(string_to_array(rtrim(c, E'\\n'), E'\\n')) l"

echo
echo "What users are told when an export is not allowed or not valid:"
as_globex -c "SELECT wib.export_create('analytics')" 2>&1 | sed 's/^/  Globex (starter): /' || true
as_acme -c "SELECT wib.export_create('calls', 'csv', '{\"campaign\": \"spring\"}')" 2>&1 | sed 's/^/  Acme: /' || true
as_acme -c "SELECT wib.export_create('calls', 'csv', '{\"date_from\": \"next week\"}')" 2>&1 | sed 's/^/  Acme: /' || true

echo
echo "Audit trail of Acme's exports:"
as_acme -c "SELECT action, resource_id, created_at::time(0) AS at FROM wib.audit_log WHERE action LIKE 'export:%' ORDER BY created_at"
