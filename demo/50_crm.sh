#!/usr/bin/env bash
# CRM sync with HubSpot: Acme connects its portal (the local HubSpot peer, over
# HTTPS with a demo CA) through the OAuth round trip, the crm_sync worker lists
# its 2,000 contacts at HubSpot's rate limit, a caller is looked up however the
# number is written, a completed call is logged in HubSpot as a call engagement
# associated with the caller's contact, and a signed HubSpot webhook updates a
# contact at once.
set -euo pipefail
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
out=$DEMO_OUT/crm
mkdir -p "$out"

# A demo CA and a certificate for 127.0.0.1, made with openssl.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj '/CN=wib demo CA' \
	-keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' \
	-keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$out/server.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial -days 1 \
	-extfile "$out/server.ext" -out "$out/server.pem" 2>/dev/null

rm -f "$out/hs.port"
python3 "$WIB_ROOT/test/peers/hubspot.py" --port-file "$out/hs.port" --tls "$out/server.pem" "$out/server.key" \
	--log "$out/hs.log" >"$out/hs.out" 2>&1 &
peer=$!
trap 'kill $peer 2>/dev/null; q -c "ALTER SYSTEM RESET wib.http_ca_file" -c "ALTER SYSTEM RESET wib.crm_push_delay" -c "SELECT pg_reload_conf()" >/dev/null' EXIT
for _ in $(seq 50); do [ -s "$out/hs.port" ] && break; sleep 0.1; done
base="https://127.0.0.1:$(cat "$out/hs.port")"
admin() { curl -s --cacert "$out/ca.pem" -X "${3:-POST}" -H 'Content-Type: application/json' -d "${2:-{\}}" "$base/__admin/$1"; }
admin contacts '{"count": 2000, "phone_formats": true}' >/dev/null
echo "The HubSpot peer runs at $base with 2,000 contacts (phone numbers written every which way)."

# The operator trusts the demo CA, pushes calls a second after they end, and sets the HubSpot app.
q -c "ALTER SYSTEM SET wib.http_ca_file = '$out/ca.pem'" -c "ALTER SYSTEM SET wib.crm_push_delay = '1s'" \
	-c "SELECT pg_reload_conf()" >/dev/null
q -c "SET log_statement = 'none'" -c "SELECT wib.crm_provider_set('hubspot', '{\"client_id\": \"wib-test-client\",
	\"client_secret\": \"wib-test-secret\", \"api_url\": \"$base\", \"auth_url\": \"$base/oauth/authorize\"}')" >/dev/null
echo "The operator's HubSpot app (the client secret is sealed and never shown again):"
q -c "SELECT crm_type, client_id, client_secret_set, array_to_string(scopes, ' ') AS scopes FROM wib.crm_providers_show()"

acme=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Acme Corp'")
export PGOPTIONS="-c wib.org_id=$acme -c wib.user_id=acme-admin"

echo "1. The connect route asks for the authorize URL and sends the browser there:"
url=$(q -At -c "SELECT wib.crm_connect('hubspot', 'https://app.example.com/integrations/hubspot/callback')")
echo "   $url" | sed 's/state=.*/state=.../'
loc=$(curl -s --cacert "$out/ca.pem" -o /dev/null -w '%{redirect_url}' "$url")
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$loc")
state=$(sed -n 's/.*[?&]state=\([^&]*\).*/\1/p' <<<"$loc")
echo "2. HubSpot sends the browser back to the callback route with a code and the state."
echo "3. The callback route hands them over (no network I/O in its transaction); the worker does the rest:"
q -c "SELECT wib.crm_callback('hubspot', '$code', '$state') AS integration_id"
echo "   The same state a second time is refused:"
q -c "SELECT wib.crm_callback('hubspot', '$code', '$state')" 2>&1 | sed 's/^/   /' || true
for _ in $(seq 1 120); do
	[ "$(q -At -c "SELECT count(*) FROM wib.crm_sync_log WHERE trigger = 'connect' AND status <> 'running'")" = 1 ] && break
	sleep 0.5
done
echo "4. Connected; the first sync listed every contact, paced below HubSpot's 110 requests per 10 s:"
q -c "SELECT crm_type, status, external_account_id AS portal, contact_count FROM wib.crm_integrations"
q -c "SELECT trigger, status, records_synced, requests, rate_limited, round(extract(epoch FROM finished_at - started_at), 1) AS seconds
        FROM wib.crm_sync_log ORDER BY started_at"
echo "   What the peer counted (most requests in any 10 s, refusals over the limit):"
admin stats '' GET | python3 -c 'import json, sys; d = json.load(sys.stdin); print("   max_in_10s=%(max_in_10s)s over_limit_total=%(over_limit_total)s" % d)'

echo "The caller popover: the same caller, however the number is written:"
q -c "SELECT n AS typed, c.display_name, c.company_name, c.phone_number AS in_hubspot
        FROM unnest(ARRAY['(555) 123-0000', '+1 555-123-0000 ext. 9', '5551230000', '555.123.0000']) n,
             LATERAL wib.crm_contact_lookup(n) c"

echo "A call with that caller completes; a second later it is a call engagement in HubSpot:"
call=$(q -At -c "INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status,
                        started_at, ended_at, duration_seconds)
                 VALUES ('$acme', 'acme-agent-1', 'inbound', '(555) 123-0000', '+15550100100', 'completed',
                         now() - interval '250 seconds', now(), 250) RETURNING id" | head -1)
for _ in $(seq 1 40); do
	[ "$(q -At -c "SELECT status FROM wib.crm_call_pushes WHERE call_id = '$call'")" = pushed ] && break
	sleep 0.25
done
q -c "SELECT status, crm_object_id, crm_contact_id FROM wib.crm_call_pushes WHERE call_id = '$call'"
admin calls '' GET | python3 -c '
import json, sys
for c in json.load(sys.stdin)["results"]:
    p = c["properties"]
    print("   engagement %s: %s, %s ms, %s, from %s to %s, associated with contacts %s" % (
        c["id"], p.get("hs_call_title"), p.get("hs_call_duration"), p.get("hs_call_status"),
        p.get("hs_call_from_number"), p.get("hs_call_to_number"), c["associations"]["contacts"]))'

echo "HubSpot reports a phone number change with a signed webhook; the platform's route hands it over:"
contact=$(q -At -c "SELECT crm_contact_id FROM wib.crm_contact_lookup('(555) 123-0000')")
admin update "{\"ids\": [\"$contact\"], \"properties\": {\"phone\": \"(555) 777-0100\"}}" >/dev/null
admin webhook_request "{\"uri\": \"https://app.example.com/hooks/hubspot\", \"events\": [{\"subscriptionType\": \"contact.propertyChange\",
	\"objectId\": $contact, \"propertyName\": \"phone\", \"propertyValue\": \"(555) 777-0100\"}]}" >"$out/webhook.json"
python3 - "$out/webhook.json" >"$out/webhook.sql" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
q = lambda s: "'" + s.replace("'", "''") + "'"
print("SELECT wib.crm_webhook('hubspot', 'POST', 'https://app.example.com/hooks/hubspot', convert_to(%s, 'UTF8'), %s::jsonb) AS events_applied;"
      % (q(w["body"]), q(json.dumps(w["headers"]))))
PY
q -f "$out/webhook.sql"
q -c "SELECT display_name, phone_number FROM wib.crm_contact_lookup('555-777-0100')"
echo "   The same request with a tampered body is refused before anything is read:"
sed 's/777-0100/777-0199/' "$out/webhook.sql" | q 2>&1 | grep ERROR | sed 's/^/   /' || true

echo "The dashboard widget and the audit trail:"
q -c "SELECT crm_type, status, last_sync_status, contacts, errors_24h FROM wib.crm_status()"
q -c "SELECT action, count(*) FROM wib.audit_log WHERE action LIKE 'crm:%' GROUP BY action ORDER BY min(created_at)"
