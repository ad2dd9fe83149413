#!/usr/bin/env bash
# Mobile: an Acme agent registers a phone, subscribes it to Web Push at a local
# push service (test/peers/push_service.py over HTTPS, holding the browser's
# keys), and receives pushes the deliverer encrypted and signed, which the
# service decrypts as the phone would; an event becomes a push without any
# personal data; then the agent signs in on a desktop by QR code.
set -euo pipefail
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
out=$DEMO_OUT/mobile
mkdir -p "$out"

# A demo CA and a certificate for 127.0.0.1, made with openssl.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj '/CN=wib demo CA' \
	-keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' \
	-keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$out/server.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial -days 1 \
	-extfile "$out/server.ext" -out "$out/server.pem" 2>/dev/null

rm -f "$out/push.port"
python3 "$WIB_ROOT/test/peers/push_service.py" --port-file "$out/push.port" --log "$out/push.log" \
	--tls "$out/server.pem" "$out/server.key" >"$out/push_service.out" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null; q -c "ALTER SYSTEM RESET wib.http_ca_file" -c "ALTER SYSTEM RESET wib.http_allow_cidrs" -c "ALTER SYSTEM RESET wib.push_allowed_hosts" -c "SELECT pg_reload_conf()" >/dev/null' EXIT
for _ in $(seq 50); do [ -s "$out/push.port" ] && break; sleep 0.1; done
origin=https://127.0.0.1:$(cat "$out/push.port")
admin() { curl -sS --fail --cacert "$out/ca.pem" "$@"; }

# The operator trusts the demo CA, lets the deliverer reach loopback, names the
# local service a push service, and creates the platform's VAPID key.
q -c "ALTER SYSTEM SET wib.http_ca_file = '$out/ca.pem'" -c "ALTER SYSTEM SET wib.http_allow_cidrs = '127.0.0.0/8'" \
	-c "ALTER SYSTEM SET wib.push_allowed_hosts = '127.0.0.1'" -c "SELECT pg_reload_conf()" >/dev/null
vapid=$(q -At -c "SELECT wib.vapid_configure('mailto:ops@acme.example.test')")
echo "The operator created the VAPID key (private half sealed by the vault); browsers subscribe with:"
echo "  $vapid"
for _ in $(seq 1 40); do
	[ "$(q -At -c "SELECT state FROM wib.worker_status WHERE name = 'deliverer'")" = idle ] && break
	sleep 0.25
done

acme=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Acme Corp'")
export PGOPTIONS="-c wib.org_id=$acme -c wib.user_id=acme-agent-1"

echo
echo "acme-agent-1 installs the app on a phone; the browser subscribes (PushManager.subscribe with the key):"
device=$(q -At -c "SELECT wib.device_register('Agent 1 phone', 'pwa', 'demo-fingerprint-1')")
subscription=$(admin -X POST "$origin/__admin/subscriptions" -d "{\"count\": 1, \"application_server_key\": \"$vapid\"}" |
	python3 -c 'import json, sys; s = json.load(sys.stdin)[0]; print(json.dumps({"endpoint": s["endpoint"], "expirationTime": None, "keys": s["keys"]}))')
echo "  $subscription" | cut -c1-150
q -At -c "SELECT 'subscription ' || wib.push_subscribe('$device', '$subscription') || ' for events ' || array_to_string(wib.push_default_events(), ', ')"
q -c "SELECT device_name, device_type, revoked_at IS NULL AS active FROM wib.mobile_devices"

echo "The application notifies the agent, tests the phone, and an export finishes (an event):"
q <<SQL
SELECT wib.push_send('acme-agent-1', '{"title": "Callback due", "body": "Your 3 pm callback is due.", "url": "/calls", "tag": "callback"}') AS pushes_queued;
SELECT wib.push_test('$device') IS NOT NULL AS test_queued;
SELECT wib.emit_event('export.completed', '{"export_id": "6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10", "requested_by": "Jane Customer", "note": "+15550100"}') IS NOT NULL AS event_emitted;
SQL
for _ in $(seq 1 60); do
	[ "$(q -At -c "SELECT count(*) FROM wib.push_deliveries WHERE status = 'delivered'")" -ge 3 ] && break
	sleep 0.25
done
echo "What the push service received and decrypted with the phone's private key (RFC 8291), after checking the VAPID token:"
admin "$origin/__admin/messages" | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    print("  TTL %s, Urgency %s, VAPID aud %s sub %s" % (m["ttl"], m["urgency"], m["jwt_claims"]["aud"], m["jwt_claims"]["sub"]))
    print("    " + m["payload"])'
echo "  (the export event's push names neither the customer nor the number its payload carried)"
q -c "SELECT coalesce(event_type, 'push_send') AS push, status, attempt_number AS attempts, response_status AS http
        FROM wib.push_deliveries ORDER BY created_at"

echo "QR sign-in: the desktop shows a code, the phone approves it, the desktop claims the identity once:"
read -r nonce expires < <(PGOPTIONS= q -At -F ' ' -c "SELECT nonce, expires_at FROM wib.qr_auth_create('demo-desktop-192.0.2.7')")
echo "  nonce $nonce (expires $expires; only its SHA-256 is stored)"
PGOPTIONS= q -c "SELECT count(*) AS rows_before_approval FROM wib.qr_auth_claim('$nonce')"
q -c "SELECT wib.qr_auth_verify('$nonce', '$device')" >/dev/null
echo "  the phone approved it"
PGOPTIONS= q -c "SELECT * FROM wib.qr_auth_claim('$nonce')"
PGOPTIONS= q -c "SELECT * FROM wib.qr_auth_claim('$nonce')" 2>&1 | sed 's/^/  a second claim: /' || true

echo "The phone is lost: revoking it stops its pushes at once:"
q -c "SELECT wib.device_revoke('$device')" >/dev/null
q -c "SELECT wib.push_send('acme-agent-1', '{\"title\": \"Anyone there?\"}') AS pushes_queued_after_revoke"

echo "Audit trail of the mobile API:"
q -c "SELECT action, user_id, resource_type FROM wib.audit_log WHERE action LIKE 'mobile:%' ORDER BY created_at"
