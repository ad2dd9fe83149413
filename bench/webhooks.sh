#!/usr/bin/env bash
# Webhooks: deliveries/s of signed webhooks drained by the deliverer worker to a
# local keep-alive receiver (50,000 events), commit-to-receipt latency at light
# load, deliverer memory across the run, and wib.sign_webhook against the same
# signature built with pgcrypto in SQL on 1 KB bodies.
#
# The receiver is bench/webhook_sink.c (epoll, HTTP/1.1 keep-alive), built here,
# so the figure measures the deliverer rather than a slow receiver.
set -euo pipefail

out=${BENCH_OUT:-/tmp}/webhooks
mkdir -p "$out"
events=${WIB_BENCH_WEBHOOK_EVENTS:-50000}
psql() { "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

gcc -O2 -o "$out/webhook_sink" "$WIB_ROOT/bench/webhook_sink.c"
rm -f "$out/sink.port"
"$out/webhook_sink" "$out/sink.port" "$out/sink.log" &
sink=$!
trap 'kill $sink 2>/dev/null; psql -c "ALTER SYSTEM RESET wib.http_allow_http" -c "ALTER SYSTEM RESET wib.http_allow_cidrs" -c "SELECT pg_reload_conf()" >/dev/null' EXIT
for _ in $(seq 50); do [ -s "$out/sink.port" ] && break; sleep 0.1; done
port=$(cat "$out/sink.port")

# The receiver is on loopback over plain http: open the SSRF guard for it only here.
psql -c "ALTER SYSTEM SET wib.http_allow_http = on" -c "ALTER SYSTEM SET wib.http_allow_cidrs = '127.0.0.0/8'" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 1
org=$(psql -c "SELECT wib.organization_create('Webhook Bench', 'enterprise')")
ctx="SET wib.org_id = '$org';"
psql -c "$ctx SELECT id FROM wib.webhook_subscribe('sink', 'http://127.0.0.1:$port/in', ARRAY['custom.bench'])" >/dev/null
# The launcher starts this database's workers once CREATE EXTENSION wib has committed.
deliverer_state="SELECT state FROM wib.worker_status WHERE name = 'deliverer' AND database = current_database()"
for _ in $(seq 100); do
	[ "$(psql -c "$deliverer_state")" = idle ] && break
	sleep 0.2
done
[ "$(psql -c "$deliverer_state")" = idle ] ||
	{ echo "deliverer is not running in this database (see SELECT * FROM wib.worker_status and the server log)" >&2; exit 1; }

wait_drained() {
	until [ "$(psql -c "SELECT NOT EXISTS (SELECT 1 FROM wib.webhook_deliveries WHERE status IN ('pending', 'retrying'))")" = t ]; do
		sleep 0.2
	done
}
rss_anon() { awk '/^RssAnon/ {print $2}' "/proc/$(psql -c "SELECT pid FROM wib.worker_status WHERE name = 'deliverer' AND database = current_database()")/status"; }

# Warm-up with the same events: connections, caches, plans, allocator high-water mark.
psql -c "$ctx SELECT count(wib.emit_event('custom.bench', jsonb_build_object('t', 0, 'n', g, 'note', repeat('x', 200)))) FROM generate_series(1, 10000) g" >/dev/null
wait_drained
rss_before=$(rss_anon)

# Throughput: queue the events in one transaction; time from its commit to the last recorded delivery.
t0=$(psql -c "$ctx SELECT count(wib.emit_event('custom.bench', jsonb_build_object('t', 0, 'n', g, 'note', repeat('x', 200)))) FROM generate_series(1, $events) g; SELECT extract(epoch FROM clock_timestamp())" | tail -1)
wait_drained
rate=$(psql -c "SELECT round($events / (extract(epoch FROM max(delivered_at)) - $t0)) FROM wib.webhook_deliveries WHERE event_type = 'custom.bench'")
rss_after=$(rss_anon)
delivered=$(psql -c "SELECT count(*) FILTER (WHERE status = 'delivered') || ' of ' || count(*) FROM wib.webhook_deliveries")
echo "webhooks: $delivered deliveries recorded delivered; deliverer RssAnon ${rss_before} kB -> ${rss_after} kB"

# Latency at light load: 300 events, one every 20 ms, each in its own transaction.
: >"$out/sink.log.mark"
lines_before=$(wc -l <"$out/sink.log")
{
	for i in $(seq 300); do
		echo "SELECT wib.emit_event('custom.bench', jsonb_build_object('t', extract(epoch FROM clock_timestamp()), 'n', $i));"
		echo "SELECT pg_sleep(0.02);"
	done
} | psql -c "$ctx" -f - >/dev/null
wait_drained
sleep 0.5
read -r p50 p99 < <(tail -n +"$((lines_before + 1))" "$out/sink.log" | awk '$2 > 0 {print ($1 - $2) * 1000}' | sort -n |
	awk '{v[NR] = $1} END {printf "%.1f %.1f\n", v[int(NR * 0.5 + 0.5)], v[int(NR * 0.99 + 0.5)]}')

# Signing: wib.sign_webhook against pgcrypto's hmac in SQL, 1 KB bodies.
sign_rate() {
	psql -c "
		WITH t0 AS MATERIALIZED (SELECT clock_timestamp() AS t),
		     run AS MATERIALIZED (SELECT count($1) AS n
		                            FROM t0, generate_series(1, $2) i,
		                                 (SELECT repeat('x', 1024) AS body,
		                                         'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' AS secret) k)
		SELECT round($2 / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))) FROM run"
}
same=$(psql -c "SELECT wib.sign_webhook(secret, 'msg_1', 1700000000, body)
                     = 'v1,' || encode(hmac(convert_to('msg_1.1700000000.' || body, 'UTF8'), decode(substr(secret, 7), 'base64'), 'sha256'), 'base64')
                FROM (SELECT repeat('x', 1024) AS body, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' AS secret) k")
[ "$same" = t ] || { echo "sign_webhook and pgcrypto disagree" >&2; exit 1; }
sign_ours=$(sign_rate "wib.sign_webhook(secret, 'msg_' || i, 1700000000, body)" 200000)
sign_anchor=$(sign_rate "'v1,' || encode(hmac(convert_to('msg_' || i || '.1700000000.' || body, 'UTF8'), decode(substr(secret, 7), 'base64'), 'sha256'), 'base64')" 200000)

echo "ROW|webhook deliveries/s, signed, to a local keep-alive receiver ($events events)|$rate|-|deliveries/s|higher|>= 3000/s (pg_net publishes ~400/s)"
echo "ROW|webhook commit-to-receipt latency p50, light load|$p50|-|ms|lower|< 20 ms"
echo "ROW|webhook commit-to-receipt latency p99, light load|$p99|-|ms|lower|-"
echo "ROW|deliverer private memory growth over $events deliveries|$((rss_after - rss_before))|-|kB|lower|flat (~0)"
echo "ROW|sign_webhook vs pgcrypto hmac in SQL, 1 KB bodies|$sign_ours|$sign_anchor|signatures/s|higher|>= 1.5x"
