#!/usr/bin/env bash
# Salesforce sync: a first sync of 100,000 Contacts from the local Salesforce
# peer (test/peers/salesforce.py over HTTPS: SOQL in batches of 2,000, the
# instance_url through the SSRF guard), in records per second, and the API
# requests it used per 1,000 records against the floor SOQL's 2,000-record
# batches allow (0.5 per 1,000), counted by the peer.
#
# Under make bench (bench/run.sh) it gets the cluster of the run; run alone
# (bench/crm_salesforce.sh, as root) it starts a throwaway cluster of its own.
set -euo pipefail

source "$(dirname "$0")/lib/run_alone.sh"
bench_run_alone "$0" "$@"

out=${BENCH_OUT:-/tmp}/crm_salesforce
mkdir -p "$out"
contacts=${SF_BENCH_CONTACTS:-100000}
psql() { "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# A CA and a certificate for the peer, made here.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj '/CN=wib bench CA' \
	-keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' \
	-keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$out/server.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial -days 1 \
	-extfile "$out/server.ext" -out "$out/server.pem" 2>/dev/null

rm -f "$out/sf.port"
python3 "$WIB_ROOT/test/peers/salesforce.py" --port-file "$out/sf.port" --tls "$out/server.pem" "$out/server.key" \
	--rotate-refresh-tokens --daily-limit 1000000 >"$out/sf.out" 2>&1 &
peer=$!
trap 'kill $peer 2>/dev/null; psql -c "ALTER SYSTEM RESET wib.http_ca_file" -c "ALTER SYSTEM RESET wib.http_allow_cidrs" -c "SELECT pg_reload_conf()" >/dev/null' EXIT
for _ in $(seq 100); do [ -s "$out/sf.port" ] && break; sleep 0.1; done
base="https://127.0.0.1:$(cat "$out/sf.port")"
admin() { curl -s --cacert "$out/ca.pem" -X "${3:-POST}" -H 'Content-Type: application/json' -d "${2:-{\}}" "$base/__admin/$1"; }

# The peer is the org's instance too: its loopback address is let through the SSRF guard for this run.
psql -c "ALTER SYSTEM SET wib.http_ca_file = '$out/ca.pem'" -c "ALTER SYSTEM SET wib.http_allow_cidrs = '127.0.0.1/32'" \
	-c "SELECT pg_reload_conf()" >/dev/null
psql -c "SET log_statement = 'none'" -c "SELECT wib.crm_provider_set('salesforce', '{\"client_id\": \"wib-test-client\",
	\"client_secret\": \"wib-test-secret\", \"login_url\": \"$base\", \"instance_domains\": [\"127.0.0.1\"]}')" >/dev/null
for _ in $(seq 100); do
	[ "$(psql -c "SELECT state FROM wib.worker_status WHERE name = 'crm_sync' AND database = current_database()")" = idle ] && break
	sleep 0.2
done

# The org holds the Contacts before the organization connects; a tenth share one SystemModstamp.
admin contacts "{\"count\": $contacts, \"same_modstamp\": $((contacts / 10))}" >/dev/null
org=$(psql -c "SELECT wib.organization_create('Salesforce Bench', 'business')")
ctx="SET wib.org_id = '$org'; SET wib.user_id = 'bench';"
url=$(psql -c "$ctx" -c "SELECT wib.crm_connect('salesforce', 'https://app.example.com/crm/callback')")
loc=$(curl -s --cacert "$out/ca.pem" -o /dev/null -w '%{redirect_url}' "$url")
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$loc" | python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.stdin.read().strip()))')
state=$(sed -n 's/.*[?&]state=\([^&]*\).*/\1/p' <<<"$loc")
admin reset_stats >/dev/null
psql -c "$ctx" -c "SELECT wib.crm_callback('salesforce', '$code', '$state')" >/dev/null
for _ in $(seq 1800); do
	[ "$(psql -c "SELECT count(*) FROM wib.crm_sync_log WHERE organization_id = '$org' AND trigger = 'connect' AND status <> 'running'")" = 1 ] && break
	sleep 1
done
read -r status synced seconds < <(psql -F ' ' -c "SELECT status, records_synced, extract(epoch FROM finished_at - started_at)
	FROM wib.crm_sync_log WHERE organization_id = '$org' AND trigger = 'connect'")
[ "$status" = success ] && [ "$synced" = "$contacts" ] ||
	{ echo "the first sync did not sync every contact: $status, $synced of $contacts" >&2; exit 1; }
rate=$(awk -v n="$synced" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
api=$(admin stats '' GET | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_usage"])')
per1000=$(awk -v a="$api" -v n="$synced" 'BEGIN { printf "%.3f", a * 1000 / n }')
echo "crm_salesforce: first sync of $synced Contacts in ${seconds} s; $api API requests counted by the peer"

echo "ROW|Salesforce first sync, $contacts Contacts from the peer (SOQL, 2,000 a batch)|$rate|-|records/s|higher|-"
echo "ROW|Salesforce API requests per 1,000 records in that sync (anchor: the 2,000-record batch floor)|$per1000|0.5|requests|lower|<= 0.51"
