#!/usr/bin/env bash
# Webhooks: deliveries/s of signed webhooks drained by the deliverer worker to
# a local keep-alive receiver (50,000 events), over HTTPS (TLS 1.3, a test CA
# made here) and over plain HTTP; the same 50,000 bodies sent by pg_net to the
# same receiver, with its default settings and with the best batch_size of a
# small sweep; how many of 5,000 queued requests each keeps across a kill -9
# of its worker; commit-to-receipt latency at light load; deliverer memory
# across the runs; wib.sign_webhook against the same signature built with
# pgcrypto in SQL on 1 KB bodies.
#
# The receiver is bench/webhook_sink.c (epoll, HTTP/1.1 keep-alive, plain or
# TLS 1.3), built here, so the figures measure the senders rather than a slow
# receiver.  It logs a hash of every body, so "the same bodies" is checked.
# pg_net's parts run when bench/run.sh preloaded it (WIB_BENCH_PG_NET=1); they
# are in bench/lib/webhooks_pg_net.sh.
set -euo pipefail

out=${BENCH_OUT:-/tmp}/webhooks
mkdir -p "$out"
events=${WIB_BENCH_WEBHOOK_EVENTS:-50000}
crash_requests=${WIB_BENCH_CRASH_REQUESTS:-5000}
psql() { "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# ---------------------------------------------------------------- receivers
cc -O2 -o "$out/webhook_sink" "$WIB_ROOT/bench/webhook_sink.c" -lssl -lcrypto
# A test CA and a certificate for 127.0.0.1, made for this run.
tls=$out/tls
rm -rf "$tls" && mkdir -p "$tls"
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n' >"$tls/server.ext"
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj '/CN=wib bench CA' \
		-keyout "$tls/ca.key" -out "$tls/ca.pem"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' \
		-keyout "$tls/server.key" -out "$tls/server.csr"
	openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
		-extfile "$tls/server.ext" -out "$tls/server.pem"
} >"$tls/openssl.log" 2>&1

sinks=()
# start_sink NAME [CERT KEY]: a receiver logging to $out/NAME.log; sets sink_port.
start_sink() {
	local name=$1
	shift
	rm -f "$out/$name.port"
	"$out/webhook_sink" "$out/$name.port" "$out/$name.log" "$@" &
	sinks+=($!)
	for _ in $(seq 50); do [ -s "$out/$name.port" ] && break; sleep 0.1; done
	sink_port=$(cat "$out/$name.port")
}
start_sink sink
port=$sink_port
start_sink sink_tls "$tls/server.pem" "$tls/server.key"
tls_port=$sink_port
cleanup() {
	kill "${sinks[@]}" 2>/dev/null || true
	psql -c "ALTER SYSTEM RESET wib.http_allow_http" -c "ALTER SYSTEM RESET wib.http_allow_cidrs" \
		-c "ALTER SYSTEM RESET wib.http_ca_file" -c "ALTER SYSTEM RESET pg_net.batch_size" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The receivers are on loopback: open the SSRF guard for them (and plain http) only here.
psql -c "ALTER SYSTEM SET wib.http_allow_http = on" -c "ALTER SYSTEM SET wib.http_allow_cidrs = '127.0.0.0/8'" \
	-c "ALTER SYSTEM SET wib.http_ca_file = '$tls/ca.pem'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
org=$(psql -c "SELECT wib.organization_create('Webhook Bench', 'enterprise')")
ctx="SET wib.org_id = '$org';"
secret=$(psql -c "$ctx SELECT secret FROM wib.webhook_subscribe('sink', 'http://127.0.0.1:$port/in', ARRAY['custom.bench', 'custom.bench_crash'])")
psql -c "$ctx SELECT id FROM wib.webhook_subscribe('sink-tls', 'https://127.0.0.1:$tls_port/in', ARRAY['custom.bench_tls'])" >/dev/null
# The launcher starts this database's workers once CREATE EXTENSION wib has committed.
deliverer_state="SELECT state FROM wib.worker_status WHERE name = 'deliverer' AND database = current_database()"
wait_deliverer() {
	for _ in $(seq 150); do
		[ "$(psql -c "$deliverer_state" 2>/dev/null)" = idle ] && return 0
		sleep 0.2
	done
	echo "deliverer is not running in this database (see SELECT * FROM wib.worker_status and the server log)" >&2
	return 1
}
wait_deliverer

# Waits in the server, polling every 100 ms, until no delivery is due or leased.
psql <<'SQL'
CREATE OR REPLACE FUNCTION bench_wib_drained() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WHILE EXISTS (SELECT 1 FROM wib.webhook_deliveries WHERE status IN ('pending', 'retrying')) LOOP
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SQL
rss_anon() { awk '/^RssAnon/ {print $2}' "/proc/$(deliverer_pid)/status"; }
emit="count(wib.emit_event(%s, jsonb_build_object('t', 0, 'n', g, 'note', repeat('x', 200))))"

# cpu_us PID: the CPU time (user + system) the process has used, in microseconds (0 when it is gone).
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000000 / hz}' "/proc/$1/stat" 2>/dev/null || echo 0; }
deliverer_pid() { psql -c "SELECT pid FROM wib.worker_status WHERE name = 'deliverer' AND database = current_database()"; }

# wib_run TYPE N: queues N events of TYPE in one transaction; the time from its
# commit to the last recorded delivery, and the deliverer's CPU time meanwhile.
# Prints "deliveries/s delivered t0 cpu_us_per_delivery".
wib_run() {
	local type=$1 n=$2 t0 pid c0
	pid=$(deliverer_pid)
	c0=$(cpu_us "$pid")
	# shellcheck disable=SC2059
	t0=$(psql -c "$ctx SELECT $(printf "$emit" "'$type'") FROM generate_series(1, $n) g; SELECT extract(epoch FROM clock_timestamp())" | tail -1)
	psql -c "SELECT bench_wib_drained()" >/dev/null
	psql -F' ' -c "SELECT round($n / (extract(epoch FROM max(delivered_at)) - $t0)), count(*) FILTER (WHERE status = 'delivered'), $t0,
	                      ($(cpu_us "$pid") - $c0) / $n
	                 FROM wib.webhook_deliveries WHERE event_type = '$type' AND created_at >= to_timestamp($t0) - interval '1 hour'
	                  AND (delivered_at IS NULL OR delivered_at > to_timestamp($t0))"
}
# sink_rate LOG T0 N: N over the time from T0 to the last request the receiver logged.
sink_rate() { awk -v t0="$2" -v n="$3" '$1 > t0 && $1 > last {last = $1} END {printf "%d", n / (last - t0)}' "$1"; }

# Warm-up with the same events: connections, TLS sessions, caches, plans, allocator high-water mark.
psql -c "$ctx SELECT $(printf "$emit" "'custom.bench'") FROM generate_series(1, 10000) g" >/dev/null
psql -c "$ctx SELECT $(printf "$emit" "'custom.bench_tls'") FROM generate_series(1, 10000) g" >/dev/null
psql -c "SELECT bench_wib_drained()" >/dev/null
rss_before=$(rss_anon)

sleep 0.3
http_first_line=$(($(wc -l <"$out/sink.log") + 1))
read -r http_rate http_delivered http_t0 http_cpu < <(wib_run custom.bench "$events")
sleep 0.3
http_last_line=$(wc -l <"$out/sink.log")
echo "webhooks over HTTP: $http_delivered of $events recorded delivered, $http_rate/s to the last recorded delivery ($(sink_rate "$out/sink.log" "$http_t0" "$events")/s to the last request received); deliverer CPU $http_cpu us per delivery"
read -r https_rate https_delivered https_t0 https_cpu < <(wib_run custom.bench_tls "$events")
echo "webhooks over HTTPS (TLS 1.3): $https_delivered of $events recorded delivered, $https_rate/s to the last recorded delivery ($(sink_rate "$out/sink_tls.log" "$https_t0" "$events")/s to the last request received); deliverer CPU $https_cpu us per delivery"
rss_after=$(rss_anon)
echo "deliverer RssAnon ${rss_before} kB -> ${rss_after} kB over $((2 * events)) deliveries"

# Latency at light load over HTTPS: 300 events, one every 20 ms, each in its own transaction.
lines_before=$(wc -l <"$out/sink_tls.log")
{
	for i in $(seq 300); do
		echo "SELECT wib.emit_event('custom.bench_tls', jsonb_build_object('t', extract(epoch FROM clock_timestamp()), 'n', $i));"
		echo "SELECT pg_sleep(0.02);"
	done
} | psql -c "$ctx" -f - >/dev/null
psql -c "SELECT bench_wib_drained()" >/dev/null
sleep 0.5
read -r p50 p99 < <(tail -n +"$((lines_before + 1))" "$out/sink_tls.log" | awk '$2 > 0 {print ($1 - $2) * 1000}' | sort -n |
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

echo "ROW|webhook deliveries/s, signed, HTTPS (TLS 1.3) to a local keep-alive receiver ($events events)|$https_rate|-|deliveries/s|higher|>= 3000/s"
echo "ROW|webhook deliveries/s, signed, plain HTTP to the same receiver ($events events)|$http_rate|-|deliveries/s|higher|-"
echo "ROW|deliverer CPU time per signed delivery, HTTPS (claim, sign, send, record)|$https_cpu|-|us|lower|-"
echo "ROW|webhook commit-to-receipt latency p50, light load, HTTPS|$p50|-|ms|lower|< 20 ms"
echo "ROW|webhook commit-to-receipt latency p99, light load, HTTPS|$p99|-|ms|lower|-"
echo "ROW|deliverer private memory growth over $((2 * events)) deliveries (HTTP, then HTTPS)|$((rss_after - rss_before))|-|kB|lower|flat (~0)"
echo "ROW|sign_webhook vs pgcrypto hmac in SQL, 1 KB bodies|$sign_ours|$sign_anchor|signatures/s|higher|>= 1.5x"

# ---------------------------------------------------------------- pg_net, kill -9
# shellcheck source=lib/webhooks_crash.sh
source "$WIB_ROOT/bench/lib/webhooks_crash.sh"
if [ "${WIB_BENCH_PG_NET:-0}" = 1 ]; then
	# shellcheck source=lib/webhooks_pg_net.sh
	source "$WIB_ROOT/bench/lib/webhooks_pg_net.sh"
	pg_net_compare
fi
wib_crash
if [ "${WIB_BENCH_PG_NET:-0}" = 1 ]; then
	pg_net_crash
	echo "ROW|of $crash_requests queued requests, kept across a kill -9 of the worker (delivered + still queued after recovery): wib vs pg_net, default settings|$wib_kept|$pg_net_kept|requests|higher|all $crash_requests"
else
	echo "pg_net was not built (see bench/lib/pg_net_build.sh): no pg_net comparison in this run"
	echo "ROW|of $crash_requests queued requests, kept across a kill -9 of the worker (delivered + still queued after recovery)|$wib_kept|-|requests|higher|all $crash_requests"
fi
