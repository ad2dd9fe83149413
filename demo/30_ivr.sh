#!/usr/bin/env bash
# Inbound IVR: Acme Corp builds a menu (a promise in the greeting is refused),
# provisions a number, and a simulated Telnyx call comes in: signed callbacks
# for the ring, key 2 (support submenu), key 1 (transfer), then the hang-up.
set -euo pipefail
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
peer=$WIB_ROOT/test/peers/telnyx.py
out=${DEMO_OUT:-/tmp}/ivr
mkdir -p "$out"

# The Telnyx account key (the demo's stand-in for Telnyx holds the private half).
openssl genpkey -algorithm ed25519 -out "$out/telnyx.pem" 2>/dev/null
key=$(python3 "$peer" pubkey "$out/telnyx.pem" | python3 -c 'import json, sys; print(json.load(sys.stdin)["public_key"])')
q -c "ALTER DATABASE $PGDATABASE SET wib.telnyx_public_key = '$key'" \
  -c "ALTER DATABASE $PGDATABASE SET wib.ivr_callback_url = 'https://app.acme.example/api/telnyx/ivr'"
acme=$(q -At -c "SELECT id FROM wib.organizations WHERE name = 'Acme Corp'")

echo "Acme Corp (business plan) builds its menus; a greeting that promises is refused:"
PGOPTIONS="-c wib.org_id=$acme -c wib.user_id=acme-admin" q -U demo_app <<'SQL'
\set VERBOSITY terse
\set ON_ERROR_STOP 0
SELECT wib.ivr_menu_create('{"name": "Main", "greeting_text": "Call now and I promise you a guaranteed discount!"}');
\set ON_ERROR_STOP 1
SELECT wib.ivr_menu_create('{"name": "Support", "greeting_text": "Acme support.",
    "options": [{"digit": "1", "action_type": "transfer", "target": "+15551230001", "prompt": "For an engineer, press 1."},
                {"digit": "2", "action_type": "voicemail", "prompt": "To leave a message, press 2."}]}') AS support \gset
SELECT wib.ivr_menu_create(jsonb_build_object('name', 'Main', 'greeting_text', 'Thank you for calling Acme.',
    'max_retries', 2, 'fallback_action', 'voicemail',
    'options', jsonb_build_array(
        jsonb_build_object('digit', '1', 'action_type', 'transfer', 'target', '+15551230002', 'prompt', 'For sales, press 1.'),
        jsonb_build_object('digit', '2', 'action_type', 'submenu', 'target', :'support', 'prompt', 'For support, press 2.'),
        jsonb_build_object('digit', '#', 'action_type', 'hangup', 'prompt', 'To end this call, press pound.')))) AS main \gset
SELECT wib.ivr_number_add('+15550100100', 'toll_free', 'Acme main line', :'main') AS number_id;
SQL

# One signed callback, as Telnyx sends it, answered by wib.ivr_webhook as the
# platform's route does (login demo_app, no tenant context: the number decides).
call() {
	local kind=$1; shift
	local cb body sig ts
	cb=$(python3 "$peer" callback "$out/telnyx.pem" "$kind" "$@")
	body=$(echo "$cb" | python3 -c 'import json, sys; print(json.load(sys.stdin)["body_hex"])')
	sig=$(echo "$cb" | python3 -c 'import json, sys; print(json.load(sys.stdin)["signature"])')
	ts=$(echo "$cb" | python3 -c 'import json, sys; print(json.load(sys.stdin)["timestamp"])')
	echo "--> POST $kind  (telnyx-timestamp: $ts)  $(echo "$body" | xxd -r -p)"
	q -U demo_app -At -c "SELECT wib.ivr_webhook('$kind', '\\x$body'::bytea, '$sig', '$ts')" |
		python3 -c 'import sys, xml.dom.minidom as m; print(m.parseString(sys.stdin.read()).toprettyxml(indent="  ").split("\n", 1)[1].rstrip())' |
		sed 's/^/    /'
}

echo
echo "A caller dials +15550100100:"
sid=v3:demo-$(date +%s)
call inbound "CallSid=$sid" From=+15559876543 To=+15550100100
echo "The caller presses 2 (support):"
call gather "CallSid=$sid" To=+15550100100 Digits=2
echo "then 1 (an engineer):"
call gather "CallSid=$sid" To=+15550100100 Digits=1
echo "The call ends; Telnyx reports its status:"
call status "CallSid=$sid" To=+15550100100 CallStatus=completed CallDuration=184

echo
echo "A forged callback (body changed after signing) is refused and writes nothing:"
cb=$(python3 "$peer" callback "$out/telnyx.pem" inbound CallSid=v3:forged To=+15550100100 --tamper)
body=$(echo "$cb" | python3 -c 'import json, sys; print(json.load(sys.stdin)["body_hex"])')
sig=$(echo "$cb" | python3 -c 'import json, sys; print(json.load(sys.stdin)["signature"])')
ts=$(echo "$cb" | python3 -c 'import json, sys; print(json.load(sys.stdin)["timestamp"])')
q -U demo_app -c "\\set VERBOSITY terse" -c "SELECT wib.ivr_webhook('inbound', '\\x$body'::bytea, '$sig', '$ts')" 2>&1 | sed 's/^/    /' || true

echo
echo "Acme's call log:"
PGOPTIONS="-c wib.org_id=$acme" q -U demo_app <<'SQL'
SELECT l.call_sid, l.from_number, l.status, l.final_action, l.duration_seconds AS secs,
       (SELECT string_agg(format('%s in %s', e->>'digit', m.name), ' -> ' ORDER BY n)
          FROM jsonb_array_elements(l.ivr_path) WITH ORDINALITY p(e, n)
          JOIN wib.ivr_menus m ON m.id = (e->>'menu')::uuid) AS ivr_path
  FROM wib.inbound_call_log l ORDER BY l.started_at;
SELECT action, resource_type, created_at::time(0) AS at FROM wib.audit_log WHERE action LIKE 'ivr:%' ORDER BY created_at;
SQL
