#!/usr/bin/env bash
# Inbound IVR, against the targets of docs/ivr.md ("Latency"):
#  (1) wib.telnyx_verify, one backend, against OpenSSL's own Ed25519 verify
#      rate on this machine (openssl speed -seconds 3 ed25519), same run, both
#      per CPU second; and the server's CPU time per inbound call;
#  (2) wib.ivr_webhook answering inbound calls (Ed25519 verify, replay check,
#      number lookup, toll-fraud and spike checks, call log insert, menu
#      render), each call a distinct Telnyx-signed request, with pgbench:
#      2 clients (no more clients than cores) for the latency a call sees,
#      8 clients saturated for the most calls per second;
#  (3) the server-side time of wib.ivr_webhook, entry to return, taken with
#      clock_timestamp() around the call inside the server (2 clients);
#  (4) wib.texml_render_menu for a 12-option menu against the same document
#      built in plain SQL with xmlelement.
# Needs python3-cryptography (tools/deps.sh) to sign the requests quickly.
set -euo pipefail

out=${BENCH_OUT:-/tmp}/ivr
mkdir -p "$out"
seconds=${IVR_BENCH_SECONDS:-10}
requests=${IVR_BENCH_REQUESTS:-300000}
verifies=${IVR_BENCH_VERIFIES:-20000}
renders=${IVR_BENCH_RENDERS:-20000}

# A fresh Ed25519 key and the signed inbound callbacks, one per call.  They are
# signed now and must be used within wib.telnyx_timestamp_tolerance (5 min).
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
GRANT SELECT ON bench_ivr_requests TO bench_ivr_route;
-- Server-side time of each call, microseconds, written after the clock is read.
DROP TABLE IF EXISTS bench_ivr_server_us;
CREATE UNLOGGED TABLE bench_ivr_server_us (us float8);
GRANT INSERT ON bench_ivr_server_us TO bench_ivr_route;
CREATE OR REPLACE FUNCTION bench_ivr_timed(request_id bigint) RETURNS text
    LANGUAGE plpgsql
AS $$
DECLARE
    r   bench_ivr_requests;
    t0  timestamptz;
    doc text;
BEGIN
    SELECT * INTO r FROM bench_ivr_requests q WHERE q.id = request_id;
    t0 := clock_timestamp();
    doc := wib.ivr_webhook('inbound', r.body, r.signature, r.ts);
    INSERT INTO bench_ivr_server_us VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000000);
    RETURN doc;
END
$$;
SELECT wib.set_context(wib.organization_create('IVR Bench', 'enterprise'), 'bench');
SELECT wib.ivr_menu_create(jsonb_build_object('name', 'Bench 12', 'greeting_text', 'Thank you for calling the bench line.',
    'voice', 'Polly.Joanna-Neural', 'timeout_seconds', 8,
    'options', (SELECT jsonb_agg(jsonb_build_object('digit', d, 'action_type', 'transfer',
                                 'action_target', '+1555020000' || n % 10, 'label', format('For department %s, press %s.', n, d)) ORDER BY n)
                  FROM unnest(ARRAY['1','2','3','4','5','6','7','8','9','0','*','#']) WITH ORDINALITY AS o(d, n)))) AS menu \gset
SELECT wib.ivr_number_add('+15550100000', 'local', 'Bench line', :'menu');
SQL
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy bench_ivr_requests FROM '$out/requests.csv' WITH (FORMAT csv)"

# (1) Ed25519: wib.telnyx_verify over distinct signed requests in one backend,
# and OpenSSL's verify rate on the same machine in the same run.  openssl speed
# counts the CPU time it used (not elapsed time), so the backend's CPU time is
# what its rate is taken over too (/proc/<pid>/stat): a machine busy with
# other work slows both alike instead of only the one that is measured by the
# clock.  The same backend then answers $cpu_calls inbound calls, for the
# server's CPU time per call.
cpu_calls=${IVR_BENCH_CPU_CALLS:-5000}
hz=$(getconf CLK_TCK)
cpu=$(psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 -v key="$(cat "$out/public_key")" <<SQL
-- All the work in this backend, where its CPU time is counted.
SET max_parallel_workers_per_gather = 0;
CREATE TEMP VIEW cpu AS
SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint AS ticks, clock_timestamp() AS t
  FROM pg_read_file('/proc/' || pg_backend_pid() || '/stat') s;
CREATE TEMP TABLE marks AS SELECT 0 AS step, * FROM cpu;
SELECT count(*) FILTER (WHERE wib.telnyx_verify(r.body, r.signature, r.ts, :'key')) = $verifies AS verified
  FROM bench_ivr_requests r WHERE r.id <= $verifies \gset
INSERT INTO marks SELECT 1, * FROM cpu;
SELECT count(wib.ivr_webhook('inbound', r.body, r.signature, r.ts))
  FROM bench_ivr_requests r WHERE r.id > $verifies AND r.id <= $verifies + $cpu_calls;
INSERT INTO marks SELECT 2, * FROM cpu;
SELECT CASE WHEN :'verified' THEN round($verifies * $hz / nullif(b.ticks - a.ticks, 0)) ELSE -1 END,
       round($verifies / extract(epoch FROM b.t - a.t)),
       round((c.ticks - b.ticks) * 1000000.0 / $hz / $cpu_calls)
  FROM marks a, marks b, marks c WHERE a.step = 0 AND b.step = 1 AND c.step = 2;
SQL
)
read -r verify_rate verify_wall_rate server_cpu_us <<<"$(echo "$cpu" | tail -1)"
openssl_rate=$(openssl speed -seconds 3 ed25519 2>/dev/null | awk '/Ed25519/ {v = $NF} END {printf "%.0f", v}')

# Each client takes the next request of a range of its own (pgbench keeps a
# client's variables from one transaction to the next): the clients share
# nothing on their way to wib.ivr_webhook (a shared sequence would be one
# more row every call locks, the bench's own, not the server's).  A run's
# ranges start at :first, :per requests per client; requests (1) verified or
# answered are not sent again.  A client that ran past its range would find
# no request and call nothing: the call log count below catches that.
cat >"$out/inbound.sql" <<'SQL'
\set n :n + 1
\set id :first + :client_id * :per + :n
SELECT wib.ivr_webhook('inbound', r.body, r.signature, r.ts)
  FROM bench_ivr_requests r WHERE r.id = :id;
SQL
cat >"$out/timed.sql" <<'SQL'
\set n :n + 1
\set id :first + :client_id * :per + :n
SELECT bench_ivr_timed(:id);
SQL
# Requests left for the three runs: 2 + 8 + 2 client ranges, the 2-client runs' 2.5 times longer.
left=$(( requests - verifies - cpu_calls ))
per_two=$(( left * 5 / 36 ))
per_eight=$(( left / 18 ))
next_first=$(( verifies + cpu_calls ))

# pctl P FILE: the P-th percentile (0-1) of the sorted latencies (microseconds) in FILE, in ms.
pctl() { awk -v n="$(wc -l <"$2")" -v p="$1" 'NR == int(n * p) + 1 {printf "%.3f", $1 / 1000; exit}' "$2"; }

# run_pgbench NAME CLIENTS SCRIPT: CLIENTS clients for $seconds, as fast as they go;
# per-call latencies to $out/NAME.lat, pgbench's summary to $out/NAME.txt.
run_pgbench() {
	local name=$1 clients=$2 script=$3 per
	per=$(( clients > 2 ? per_eight : per_two ))
	rm -f "$out/$name"_log.*
	(cd "$out" && "$PG_BINDIR/pgbench" -n -U bench_ivr_route -c "$clients" -j "$(( clients < 2 ? clients : 2 ))" \
		-T "$seconds" -M prepared -D n=0 -D first="$next_first" -D per="$per" \
		-f "$script" -l --log-prefix="${name}_log" >"$out/$name.txt" 2>&1) ||
		{ cat "$out/$name.txt" >&2; exit 1; }
	next_first=$(( next_first + clients * per ))
	cat "$out/$name"_log.* | awk '{print $3}' | sort -n >"$out/$name.lat"
}
tps_of() { printf "%.0f" "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out/$1.txt" | head -1)"; }
failed_of() { sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out/$1.txt"; }

# (2) Latency with 2 clients, then throughput with 8.
run_pgbench two 2 inbound.sql
two_tps=$(tps_of two)
two_p50=$(pctl 0.50 "$out/two.lat")
two_p99=$(pctl 0.99 "$out/two.lat")
run_pgbench eight 8 inbound.sql
eight_tps=$(tps_of eight)
eight_p50=$(pctl 0.50 "$out/eight.lat")
eight_p99=$(pctl 0.99 "$out/eight.lat")

# (3) Server-side time, 2 clients: each call timed inside the server.
psql -X -q -c "TRUNCATE bench_ivr_server_us" >/dev/null
run_pgbench timed 2 timed.sql
server=$(psql -X -q -At -F ' ' -c "SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY us))::text,
                                          round(percentile_disc(0.99) WITHIN GROUP (ORDER BY us))::text, count(*)
                                     FROM bench_ivr_server_us")
read -r server_p50 server_p99 server_n <<<"$server"

calls=$(( $(wc -l <"$out/two.lat") + $(wc -l <"$out/eight.lat") + $(wc -l <"$out/timed.lat") + cpu_calls ))
failed=$(( $(failed_of two) + $(failed_of eight) + $(failed_of timed) ))
logged=$(psql -X -q -At -c "SELECT count(*) FROM wib.inbound_call_log WHERE call_sid LIKE 'v3:bench-%'")
echo "ivr_webhook inbound: $calls calls ($cpu_calls in one backend, then 3 pgbench runs of ${seconds}s), $failed failed, $logged call log rows written"
echo "telnyx_verify: $verify_rate verifies per CPU second in one backend ($verify_wall_rate per elapsed second); openssl speed ed25519: $openssl_rate verifies per CPU second"
echo "ivr_webhook: $server_cpu_us us of server CPU per inbound call (one backend)"
echo "ivr_webhook server-side: p50 ${server_p50} us, p99 ${server_p99} us over $server_n calls (2 clients)"
if [ "$logged" -ne "$calls" ]; then
	echo "ivr.sh: $calls calls but $logged call log rows: a client ran past its range of signed requests; raise IVR_BENCH_REQUESTS" >&2
	exit 1
fi

# (4) Render: the C writer against xmlelement, same menu, same query shape, one backend.
render=$(psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SELECT wib.set_context((SELECT id FROM wib.organizations WHERE name = 'IVR Bench'), 'bench');
CREATE OR REPLACE FUNCTION bench_texml_sql(menu uuid) RETURNS text LANGUAGE sql STABLE AS \$\$
SELECT '<?xml version="1.0" encoding="UTF-8"?>' || xmlelement(name "Response",
           xmlelement(name "Say", xmlattributes(m.voice AS voice, m.language AS language), m.disclosure_text),
           xmlelement(name "Gather", xmlattributes('gather' AS action, 'POST' AS method, m.timeout_seconds AS timeout,
                                                   '1' AS "numDigits", 'dtmf' AS input, o.digits AS "validDigits"),
               xmlelement(name "Say", xmlattributes(m.voice AS voice, m.language AS language), m.greeting_text),
               o.labels),
           xmlelement(name "Redirect", xmlattributes('POST' AS method), 'gather'))::text
  FROM wib.ivr_menus m
  LEFT JOIN LATERAL (SELECT string_agg(x.digit, '' ORDER BY x.sort_order, x.digit) AS digits,
                            xmlagg(xmlelement(name "Say", xmlattributes(m.voice AS voice, m.language AS language), x.label)
                                   ORDER BY x.sort_order, x.digit) AS labels
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

echo "ROW|telnyx_verify Ed25519 verifies per CPU second, one backend (anchor: openssl speed ed25519, same run)|$verify_rate|$openssl_rate|verifies/s|higher|within 1.3x of openssl (>= 0.77x)"
echo "ROW|ivr_webhook server CPU time per inbound call, one backend|$server_cpu_us|-|us|lower|-"
echo "ROW|ivr_webhook inbound p50 / p99 latency, 2 clients|$two_p50 / $two_p99|-|ms|lower|p99 < 2 ms"
echo "ROW|ivr_webhook inbound calls/s, 2 clients|$two_tps|-|calls/s|higher|-"
echo "ROW|ivr_webhook inbound calls/s, 8 clients, saturated|$eight_tps|-|calls/s|higher|>= 3000/s"
echo "ROW|ivr_webhook inbound p50 / p99 latency, 8 clients, saturated|$eight_p50 / $eight_p99|-|ms|lower|-"
echo "ROW|ivr_webhook server-side time p50 / p99, entry to return, 2 clients|$(awk -v a="$server_p50" -v b="$server_p99" 'BEGIN {printf "%.3f / %.3f", a / 1000, b / 1000}')|-|ms|lower|p99 < 1 ms"
echo "ROW|TeXML render of a 12-option menu, one backend (cached, as calls see it)|$ours|$anchor|renders/s|higher|>= 5x xmlelement"
echo "ROW|TeXML render of a 12-option menu, one backend (uncached: index read + write)|$uncached|$anchor|renders/s|higher|>= 5x xmlelement"
