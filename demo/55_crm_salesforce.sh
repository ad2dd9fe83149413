#!/usr/bin/env bash
# CRM sync with Salesforce: Acme connects its Salesforce org (the local
# Salesforce peer, over HTTPS with a demo CA) through the OAuth web server flow
# with PKCE, the crm_sync worker lists its Contacts and Leads in 2,000-record
# SOQL batches, a caller is looked up however the number is written, a
# completed call is logged in Salesforce as a Task on the caller's Contact,
# and an outbound message (unsigned SOAP, the integration's secret in the URL)
# updates a contact at once and is acknowledged.
set -euo pipefail
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
out=$DEMO_OUT/crm_salesforce
mkdir -p "$out"

# A demo CA and a certificate for 127.0.0.1, made with openssl.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj '/CN=wib demo CA' \
	-keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' \
	-keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$out/server.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial -days 1 \
	-extfile "$out/server.ext" -out "$out/server.pem" 2>/dev/null

rm -f "$out/sf.port"
python3 "$WIB_ROOT/test/peers/salesforce.py" --port-file "$out/sf.port" --tls "$out/server.pem" "$out/server.key" \
	--rotate-refresh-tokens --log "$out/sf.log" >"$out/sf.out" 2>&1 &
peer=$!
trap 'kill $peer 2>/dev/null; q -c "ALTER SYSTEM RESET wib.http_ca_file" -c "ALTER SYSTEM RESET wib.http_allow_cidrs" \
	-c "ALTER SYSTEM RESET wib.crm_push_delay" -c "SELECT pg_reload_conf()" >/dev/null' EXIT
for _ in $(seq 50); do [ -s "$out/sf.port" ] && break; sleep 0.1; done
base="https://127.0.0.1:$(cat "$out/sf.port")"
admin() { curl -s --cacert "$out/ca.pem" -X "${3:-POST}" -H 'Content-Type: application/json' -d "${2:-{\}}" "$base/__admin/$1"; }
admin contacts '{"count": 5000, "same_modstamp": 1000, "phone_formats": false}' >/dev/null
admin contacts '{"count": 200, "object": "Lead", "phone_formats": false}' >/dev/null
echo "The Salesforce peer runs at $base (login host and instance) with 5,000 Contacts and 200 Leads."

# The operator trusts the demo CA, lets the instance at 127.0.0.1 through the
# SSRF guard (a real instance_url is public), pushes calls a second after they
# end, and sets the connected app.
q -c "ALTER SYSTEM SET wib.http_ca_file = '$out/ca.pem'" -c "ALTER SYSTEM SET wib.http_allow_cidrs = '127.0.0.1/32'" \
	-c "ALTER SYSTEM SET wib.crm_push_delay = '1s'" -c "SELECT pg_reload_conf()" >/dev/null
q -c "SET log_statement = 'none'" -c "SELECT wib.crm_provider_set('salesforce', '{\"client_id\": \"wib-test-client\",
	\"client_secret\": \"wib-test-secret\", \"login_url\": \"$base\", \"api_version\": \"v60.0\",
	\"instance_domains\": [\"127.0.0.1\"]}')" >/dev/null
echo "The operator's Salesforce connected app (the consumer secret is sealed and never shown again):"
q -c "SELECT crm_type, client_id, client_secret_set, auth_url AS login_url,
             settings ->> 'api_version' AS api_version FROM wib.crm_providers_show() WHERE crm_type = 'salesforce'"

acme=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Acme Corp'")
t0=$(q -At -c "SELECT now()")
export PGOPTIONS="-c wib.org_id=$acme -c wib.user_id=acme-admin"

echo "1. The connect route asks for the authorize URL (with a PKCE S256 code challenge) and sends the browser there:"
url=$(q -At -c "SELECT wib.crm_connect('salesforce', 'https://app.example.com/integrations/salesforce/callback')")
echo "   $url" | sed -e 's/state=[^&]*/state=.../' -e 's/code_challenge=[^&]*/code_challenge=.../'
loc=$(curl -s --cacert "$out/ca.pem" -o /dev/null -w '%{redirect_url}' "$url")
code=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)["code"][0])' "$loc")
state=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)["state"][0])' "$loc")
echo "2. Salesforce sends the browser back with a code; the callback route hands it over (URL-decoded)."
echo "   The worker sends it with the code verifier, which only wib knew; the token answer names the instance:"
q -c "SELECT wib.crm_callback('salesforce', '$code', '$state') AS integration_id"
for _ in $(seq 1 120); do
	[ "$(q -At -c "SELECT count(*) FROM wib.crm_sync_log l JOIN wib.crm_integrations i ON i.id = l.integration_id
	               WHERE i.crm_type = 'salesforce' AND l.trigger = 'connect' AND l.status <> 'running'")" = 1 ] && break
	sleep 0.5
done
echo "3. Connected to the Salesforce org; the first sync listed every Contact in SOQL batches of 2,000:"
q -c "SELECT crm_type, status, external_account_id AS salesforce_org, contact_count,
             worker_state #>> '{sf_api,usage}' || '/' || (worker_state #>> '{sf_api,limit}') AS api_usage
        FROM wib.crm_integrations WHERE crm_type = 'salesforce'"

echo "4. Acme caches Leads too; the change starts a sync at once:"
q -c "SELECT wib.crm_config_set('salesforce', '{\"objects\": [\"Contact\", \"Lead\"], \"api_share\": 25}') AS config"
run=$(q -At -c "SELECT wib.crm_sync_now('salesforce')")
for _ in $(seq 1 120); do
	[ "$(q -At -c "SELECT status FROM wib.crm_sync_log WHERE id = '$run'")" != running ] && break
	sleep 0.5
done
q -c "SELECT l.trigger, l.status, l.records_synced, l.requests
        FROM wib.crm_sync_log l JOIN wib.crm_integrations i ON i.id = l.integration_id
       WHERE i.crm_type = 'salesforce' ORDER BY l.started_at"
q -c "SELECT raw_data ->> 'attributes.type' AS type, count(*) FROM wib.crm_contact_cache
       WHERE crm_type = 'salesforce' GROUP BY 1 ORDER BY 1"

echo "The caller popover: a Contact and a Lead, however their numbers are written:"
q -c "SELECT n AS typed, c.display_name, c.company_name, c.raw_data ->> 'attributes.type' AS type, c.crm_url
        FROM unnest(ARRAY['(555) 000-0042', '+1 555-000-0042', '555.000.5010']) n,
             LATERAL wib.crm_contact_lookup(n) c WHERE c.crm_type = 'salesforce'"

echo "A call with that Contact completes; a second later it is a Task in Salesforce:"
call=$(q -At -c "INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status,
                        started_at, ended_at, duration_seconds)
                 VALUES ('$acme', 'acme-agent-1', 'inbound', '(555) 000-0042', '+15550100100', 'completed',
                         now() - interval '95 seconds', now(), 95) RETURNING id" | head -1)
for _ in $(seq 1 40); do
	[ "$(q -At -c "SELECT p.status FROM wib.crm_call_pushes p JOIN wib.crm_integrations i ON i.id = p.integration_id
	               WHERE p.call_id = '$call' AND i.crm_type = 'salesforce'")" = pushed ] && break
	sleep 0.25
done
q -c "SELECT p.status, p.crm_object_id AS task_id, p.crm_contact_id AS who_id
        FROM wib.crm_call_pushes p JOIN wib.crm_integrations i ON i.id = p.integration_id
       WHERE p.call_id = '$call' AND i.crm_type = 'salesforce'"
admin tasks '' GET | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tasks"]:
    print("   Task %s: %s, %s %s call of %s s on %s, %s, WhoId %s" % (
        t["Id"], t.get("Subject"), t.get("Status"), t.get("CallType"), t.get("CallDurationInSeconds"),
        t.get("ActivityDate"), t.get("TaskSubtype"), t.get("WhoId")))'

echo "A Salesforce flow sends an outbound message when the Contact changes: unsigned SOAP, so wib accepts it"
echo "only at the URL ending with the integration's secret, from Acme's Salesforce org:"
secret=$(q -At -c "SELECT wib.crm_webhook_secret('salesforce')")
echo "   https://app.example.com/hooks/salesforce/${secret:0:6}... (43 characters)"
contact=$(q -At -c "SELECT crm_contact_id FROM wib.crm_contact_lookup('(555) 000-0042') WHERE crm_type = 'salesforce'")
admin update "{\"ids\": [\"$contact\"], \"fields\": {\"LastName\": \"Outbound\", \"Email\": \"new.address@example.com\"}}" >/dev/null
admin outbound_envelope "{\"records\": [\"$contact\"]}" >"$out/outbound.xml"
python3 - "$out/outbound.xml" "$secret" >"$out/outbound.sql" <<'PY'
import sys
body, secret = open(sys.argv[1]).read(), sys.argv[2]
q = lambda s: "'" + s.replace("'", "''") + "'"
print("SET log_statement = 'none';")  # the URL carries the secret
print("SELECT status, content_type, applied, body LIKE '%%<Ack>true</Ack>%%' AS acknowledged "
      "FROM wib.crm_webhook_response('salesforce', 'POST', %s, convert_to(%s, 'UTF8'), "
      "'{\"Content-Type\": \"text/xml; charset=utf-8\"}');"
      % (q("https://app.example.com/hooks/salesforce/" + secret), q(body)))
PY
q -f "$out/outbound.sql"
q -c "SELECT display_name, email, raw_data ->> 'LastName' AS last_name FROM wib.crm_contact_lookup('(555) 000-0042')
       WHERE crm_type = 'salesforce'"
echo "   The same message at a URL with another secret is refused before its body is read:"
sed "s#/salesforce/$secret#/salesforce/$(printf 'x%.0s' $(seq 43))#" "$out/outbound.sql" | q 2>&1 | grep ERROR | sed 's/^/   /' || true

echo "The dashboard widget and the audit trail:"
q -c "SELECT crm_type, status, last_sync_status, contacts, errors_24h FROM wib.crm_status() WHERE crm_type = 'salesforce'"
q -c "SELECT action, count(*) FROM wib.audit_log WHERE action LIKE 'crm:%' AND created_at >= '$t0'
       GROUP BY action ORDER BY min(created_at)"
