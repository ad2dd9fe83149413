#!/usr/bin/env bash
# Inbound IVR: (1) wib.ivr_webhook answering an inbound call (Ed25519 verify,
# number lookup, toll-fraud check, call log insert, menu render) under 8
# concurrent clients with pgbench, each call a distinct Telnyx-signed request;
# (2) wib.texml_render_menu for a 12-option menu against the same document
# built in plain SQL with xmlelement.
# Needs python3-cryptography (tools/deps.sh) to sign the requests quickly.
set -euo pipefail

out=${BENCH_OUT:-/tmp}/ivr
mkdir -p "$out"
clients=8
seconds=${IVR_BENCH_SECONDS:-10}
requests=${IVR_BENCH_REQUESTS:-80000}
rate=${IVR_BENCH_RATE:-2000}
renders=${IVR_BENCH_RENDERS:-20000}

# A fresh Ed25519 key and the signed inbound callbacks, one per call.
python3 - "$out" "$requests" <<'PY'
import base64, sys, time, urllib.parse
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
out, n = sys.argv[1], int(sys.argv[2])
key = Ed25519PrivateKey.generate()
pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
open(out + "/public_key", "w").write(base64.b64encode(pub).decode())
ts = str(int(time.time()))
with open(out + "/requests.csv", "w") as f:
    for i in range(1, n + 1):
        body = urllib.parse.urlencode([("AccountSid", "ACbench"), ("CallSid", "v3:bench-%d" % i),
                                       ("CallSidLegacy", "bench-%d" % i), ("From", "+1555%07d" % i),
                                       ("To", "+15550100000"), ("CallStatus", "ringing")]).encode()
        sig = base64.b64encode(key.sign(ts.encode() + b"|" + body)).decode()
        f.write("%d,\\x%s,%s,%s\n" % (i, body.hex(), sig, ts))
PY

psql -X -q -At -v ON_ERROR_STOP=1 -v key="$(cat "$out/public_key")" <<'SQL' >/dev/null
SET client_min_messages = warning;
ALTER DATABASE wib_bench SET wib.telnyx_public_key = :'key';
ALTER DATABASE wib_bench SET wib.ivr_calls_per_minute = 1000000;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_ivr_route') THEN
        CREATE ROLE bench_ivr_route LOGIN;
    END IF;
END $$;
GRANT wib_app TO bench_ivr_route;
DROP TABLE IF EXISTS bench_ivr_requests;
CREATE TABLE bench_ivr_requests (id bigint PRIMARY KEY, body bytea, signature text, ts text);
DROP SEQUENCE IF EXISTS bench_ivr_seq;
CREATE SEQUENCE bench_ivr_seq;
GRANT SELECT ON bench_ivr_requests TO bench_ivr_route;
GRANT USAGE ON SEQUENCE bench_ivr_seq TO bench_ivr_route;
SELECT wib.set_context(wib.organization_create('IVR Bench', 'enterprise'), 'bench');
SELECT wib.ivr_menu_create(jsonb_build_object('name', 'Bench 12', 'greeting_text', 'Thank you for calling the bench line.',
    'voice', 'Polly.Joanna-Neural', 'timeout_seconds', 8,
    'options', (SELECT jsonb_agg(jsonb_build_object('digit', d, 'action_type', 'transfer',
                                 'target', '+1555020000' || n % 10, 'prompt', format('For department %s, press %s.', n, d)) ORDER BY n)
                  FROM unnest(ARRAY['1','2','3','4','5','6','7','8','9','0','*','#']) WITH ORDINALITY AS o(d, n)))) AS menu \gset
SELECT wib.ivr_number_add('+15550100000', 'local', 'Bench line', :'menu');
SQL
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy bench_ivr_requests FROM '$out/requests.csv' WITH (FORMAT csv)"

cat >"$out/inbound.sql" <<'SQL'
SELECT wib.ivr_webhook('inbound', r.body, r.signature, r.ts)
  FROM bench_ivr_requests r WHERE r.id = (SELECT nextval('bench_ivr_seq'));
SQL
# pctl P FILE: the P-th percentile (0-1) of the sorted latencies (microseconds) in FILE, in ms.
pctl() { awk -v n="$(wc -l <"$2")" -v p="$1" 'NR == int(n * p) + 1 {printf "%.3f", $1 / 1000; exit}' "$2"; }

# run_pgbench NAME [pgbench options]: 8 clients for $seconds; per-call latencies
# (with the schedule lag of a rate-limited run: the wait a call spent queued) to $out/NAME.lat.
run_pgbench() {
	local name=$1
	shift
	rm -f "$out/$name"_log.*
	(cd "$out" && "$PG_BINDIR/pgbench" -n -U bench_ivr_route -c "$clients" -j 2 -T "$seconds" -M prepared \
		-f inbound.sql -l --log-prefix="${name}_log" "$@" >"$out/$name.txt" 2>&1) || { cat "$out/$name.txt" >&2; exit 1; }
	cat "$out/$name"_log.* | awk '{print $3 + ($7 == "" ? 0 : $7)}' | sort -n >"$out/$name.lat"
}

# Saturated: as many calls as 8 clients can push (latency is then mostly queueing on 2 cores).
run_pgbench saturated
tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out/saturated.txt" | head -1)
tps=$(printf "%.0f" "${tps:-0}")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out/saturated.txt")
n=$(wc -l <"$out/saturated.lat")
p50=$(pctl 0.50 "$out/saturated.lat")
p99=$(pctl 0.99 "$out/saturated.lat")
# At the target load: $rate calls/s offered by the same 8 clients, latency counted from
# each call's scheduled start, so time spent waiting for a busy server counts too.
run_pgbench rated -R "$rate"
rated_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out/rated.txt" | head -1)
rated_p50=$(pctl 0.50 "$out/rated.lat")
rated_p99=$(pctl 0.99 "$out/rated.lat")
logged=$(psql -X -q -At -c "SELECT count(*) FROM wib.inbound_call_log WHERE call_sid LIKE 'v3:bench-%'")
echo "ivr_webhook inbound: $n calls in ${seconds}s by $clients clients, ${failed:-0} failed; then ${rated_tps%.*} calls/s offered at $rate/s; $logged call log rows written"

# Render: the C writer against xmlelement, same menu, same query shape, one backend.
render=$(psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SELECT wib.set_context((SELECT id FROM wib.organizations WHERE name = 'IVR Bench'), 'bench');
CREATE OR REPLACE FUNCTION bench_texml_sql(menu uuid) RETURNS text LANGUAGE sql STABLE AS \$\$
SELECT '<?xml version="1.0" encoding="UTF-8"?>' || xmlelement(name "Response",
           xmlelement(name "Say", xmlattributes(m.voice AS voice, m.language AS language), m.disclosure_text),
           xmlelement(name "Gather", xmlattributes('gather' AS action, 'POST' AS method, m.timeout_seconds AS timeout,
                                                   '1' AS "numDigits", 'dtmf' AS input, o.digits AS "validDigits"),
               xmlelement(name "Say", xmlattributes(m.voice AS voice, m.language AS language), m.greeting_text),
               o.prompts),
           xmlelement(name "Redirect", xmlattributes('POST' AS method), 'gather'))::text
  FROM wib.ivr_menus m
  LEFT JOIN LATERAL (SELECT string_agg(x.digit, '' ORDER BY x.position, x.digit) AS digits,
                            xmlagg(xmlelement(name "Say", xmlattributes(m.voice AS voice, m.language AS language), x.prompt)
                                   ORDER BY x.position, x.digit) AS prompts
                       FROM wib.ivr_menu_options x
                      WHERE x.organization_id = m.organization_id AND x.menu_id = m.id) o ON true
 WHERE m.organization_id = wib.current_org_id() AND m.id = menu
\$\$;
SELECT id AS menu FROM wib.ivr_menus WHERE name = 'Bench 12' \gset
SELECT wib.texml_render_menu(:'menu') = bench_texml_sql(:'menu');
WITH t0 AS MATERIALIZED (SELECT clock_timestamp() AS t),
     run AS MATERIALIZED (SELECT count(wib.texml_render_menu(:'menu')) FROM t0, generate_series(1, $renders))
SELECT round($renders / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))) FROM run;
WITH t0 AS MATERIALIZED (SELECT clock_timestamp() AS t),
     run AS MATERIALIZED (SELECT count(bench_texml_sql(:'menu')) FROM t0, generate_series(1, $renders))
SELECT round($renders / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))) FROM run;
-- The same without the rendered-menu cache (not used under REPEATABLE READ): read + write every time.
BEGIN ISOLATION LEVEL REPEATABLE READ;
WITH t0 AS MATERIALIZED (SELECT clock_timestamp() AS t),
     run AS MATERIALIZED (SELECT count(wib.texml_render_menu(:'menu')) FROM t0, generate_series(1, $renders))
SELECT round($renders / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))) FROM run;
COMMIT;
SQL
)
same=$(echo "$render" | sed -n 2p)
ours=$(echo "$render" | sed -n 3p)
anchor=$(echo "$render" | sed -n 4p)
uncached=$(echo "$render" | sed -n 5p)
echo "texml_render_menu, 12 options: identical document to the xmlelement build: $same"

echo "ROW|ivr_webhook inbound calls/s, 8 clients, saturated|$tps|-|calls/s|higher|> 2000/s"
echo "ROW|ivr_webhook inbound p50 / p99 latency, 8 clients, saturated|$p50 / $p99|-|ms|lower|-"
echo "ROW|ivr_webhook inbound p50 latency, 8 clients at $rate calls/s|$rated_p50|-|ms|lower|-"
echo "ROW|ivr_webhook inbound p99 latency, 8 clients at $rate calls/s|$rated_p99|-|ms|lower|< 2 ms"
echo "ROW|TeXML render of a 12-option menu, one backend (cached, as calls see it)|$ours|$anchor|renders/s|higher|>= 5x xmlelement"
echo "ROW|TeXML render of a 12-option menu, one backend (uncached: index read + write)|$uncached|$anchor|renders/s|higher|>= 5x xmlelement"
