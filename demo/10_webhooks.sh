#!/usr/bin/env bash
# Webhooks: Acme subscribes a local HTTPS receiver (its certificate signed by a
# demo CA made here), the platform's own tables emit events through triggers,
# the deliverer worker signs and sends them, and the receiver prints each event
# after verifying its Standard Webhooks signature.  Then: a rolled-back event
# that is never sent, the SSRF guard, and the delivery log.
set -euo pipefail
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
out=$DEMO_OUT/webhooks
mkdir -p "$out"

# A demo CA and a certificate for 127.0.0.1, made with openssl.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj '/CN=wib demo CA' \
	-keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' \
	-keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$out/server.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial -days 1 \
	-extfile "$out/server.ext" -out "$out/server.pem" 2>/dev/null

rm -f "$out/rx.port" "$out/rx.secrets"
python3 "$WIB_ROOT/test/peers/webhook_receiver.py" --port-file "$out/rx.port" --log "$out/rx.log" \
	--tls "$out/server.pem" "$out/server.key" --secrets-file "$out/rx.secrets" --print >"$out/receiver.out" 2>&1 &
receiver=$!
trap 'kill $receiver 2>/dev/null; q -c "ALTER SYSTEM RESET wib.http_ca_file" -c "ALTER SYSTEM RESET wib.http_allow_cidrs" -c "SELECT pg_reload_conf()" >/dev/null' EXIT
for _ in $(seq 50); do [ -s "$out/rx.port" ] && break; sleep 0.1; done
port=$(cat "$out/rx.port")

# The operator trusts the demo CA and lets the deliverer reach loopback (https stays mandatory).
q -c "ALTER SYSTEM SET wib.http_ca_file = '$out/ca.pem'" -c "ALTER SYSTEM SET wib.http_allow_cidrs = '127.0.0.0/8'" \
	-c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 40); do
	[ "$(q -At -c "SELECT state FROM wib.worker_status WHERE name = 'deliverer' AND database = current_database()")" = idle ] && break
	sleep 0.25
done

acme=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Acme Corp'")
export PGOPTIONS="-c wib.org_id=$acme -c wib.user_id=acme-admin -c wib.http_allow_cidrs=127.0.0.0/8"

echo "Acme subscribes its endpoint (the secret is shown this once):"
q -At -c "SELECT secret FROM wib.webhook_subscribe('Acme CRM bridge', 'https://127.0.0.1:$port/ok',
          ARRAY['call.completed', 'recording.ready', 'sentiment.analyzed', 'webhook.test'])" >"$out/rx.secrets"
echo "  secret: $(cut -c1-12 "$out/rx.secrets")... (handed to the receiver)"
q -c "SELECT name, target_url, events, retry_policy, max_retries FROM wib.webhook_subscriptions"

echo "The platform works as usual; triggers turn its changes into events:"
q <<SQL
SELECT wib.webhook_test(id) IS NOT NULL AS test_queued FROM wib.webhook_subscriptions WHERE name = 'Acme CRM bridge';
INSERT INTO wib.calls (organization_id, id, agent_id, direction, from_number, to_number, status, started_at)
VALUES ('$acme', 'd3e0c1a2-0000-4000-8000-000000000001', 'acme-agent-2', 'outbound', '+15550001234', '+15550005678',
        'in_progress', now() - interval '250 seconds');
UPDATE wib.calls SET status = 'completed', ended_at = now(), duration_seconds = 250, disposition = 'answered'
 WHERE id = 'd3e0c1a2-0000-4000-8000-000000000001';
INSERT INTO wib.recordings (organization_id, call_id, recording_url, duration_seconds, status)
VALUES ('$acme', 'd3e0c1a2-0000-4000-8000-000000000001', 'https://media.example.test/r/1.mp3', 248, 'ready');
INSERT INTO wib.ai_summaries (organization_id, call_id, summary, overall_sentiment, sentiment_score)
VALUES ('$acme', 'd3e0c1a2-0000-4000-8000-000000000001', 'Customer booked a demo.', 'positive', 0.71);
SELECT wib.emit_event('call.completed', '{"call_id": "from-the-application", "note": "emitted by application code"}') IS NOT NULL AS emitted;
BEGIN;
SELECT wib.emit_event('call.completed', '{"call_id": "rolled-back"}') IS NOT NULL AS emitted_then_rolled_back;
ROLLBACK;
SQL

for _ in $(seq 1 40); do
	[ "$(q -At -c "SELECT count(*) FROM wib.webhook_deliveries WHERE status = 'delivered'")" -ge 5 ] && break
	sleep 0.25
done
sleep 0.3
echo "What the receiver printed (each signature checked with the secret):"
cat "$out/receiver.out"
echo "  (the rolled-back event appears nowhere: nothing is sent unless the transaction commits)"

echo "The delivery log:"
q -c "SELECT event_type, status, attempt_number AS attempts, response_status AS http, duration_ms AS ms, message_id
        FROM wib.webhook_deliveries ORDER BY created_at, event_type"

echo "The SSRF guard refuses internal targets, however they are spelt (without the demo's loopback exception):"
PGOPTIONS= q -c "SET wib.http_allow_cidrs = ''" -c "SELECT u AS url, wib.url_check(u) AS refused_because
        FROM unnest(ARRAY['http://hooks.example.com/', 'https://169.254.169.254/latest/meta-data/',
                          'https://0x7f.1/', 'https://[::ffff:10.0.0.1]/', 'https://user@example.com/',
                          'https://hooks.zapier.com/x']) AS u"

echo "Signing and verifying in SQL (the receiver's side, e.g. for an inbound relay):"
q -c "SELECT wib.verify_webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', ts, '{\"ok\":true}',
          wib.sign_webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', ts, '{\"ok\":true}')) AS genuine,
        wib.verify_webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', ts, '{\"ok\":false}',
          wib.sign_webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', ts, '{\"ok\":true}')) AS tampered
   FROM (SELECT extract(epoch FROM now())::bigint AS ts) t"

echo "Audit trail of the webhook API:"
q -c "SELECT action, user_id, resource_type FROM wib.audit_log WHERE action LIKE 'webhook:%' ORDER BY created_at"
