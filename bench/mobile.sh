#!/usr/bin/env bash
# Web Push: pushes per second the deliverer worker encrypts (RFC 8291), signs
# (VAPID) and sends to a local push service for 20,000 notifications, beside
# the npm web-push library (the platform design's choice, installed from npm
# here) sending the same notifications to the same service in the same run;
# the deliverer's memory across the run; and encryptions per second on one
# core, wib.webpush_encrypt against web-push's encrypt.
#
# The push service is bench/push_sink.c (epoll, HTTP/1.1 keep-alive, 201 for
# every push with TTL, aes128gcm and a vapid Authorization), so the figures
# measure the senders.  Every push of both measured runs is then checked off
# the clock by bench/push_verify.py with the push service peer's code: the
# VAPID token verified under its k, the body decrypted with the
# subscription's private key, each notification's title found exactly once.
set -euo pipefail

out=${BENCH_OUT:-/tmp}/mobile
mkdir -p "$out"
subs=${WIB_BENCH_PUSH_SUBSCRIPTIONS:-200}
per_sub=${WIB_BENCH_PUSH_PER_SUB:-100}
total=$((subs * per_sub))
concurrency=64
psql() { "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# The anchor: web-push from npm, with the Node.js of the machine.
npm_dir=$out/npm
anchor=
if command -v node >/dev/null && command -v npm >/dev/null; then
	if [ ! -d "$npm_dir/node_modules/web-push" ]; then
		npm_config_cache=$out/npm-cache npm install --prefix "$npm_dir" --no-audit --no-fund web-push@3.6.7 >"$out/npm.log" 2>&1 ||
			echo "npm install web-push failed (see $out/npm.log): no anchor" >&2
	fi
	[ -d "$npm_dir/node_modules/web-push" ] && anchor=yes
else
	echo "node and npm are not installed: no anchor" >&2
fi

gcc -O2 -o "$out/push_sink" "$WIB_ROOT/bench/push_sink.c"
rm -f "$out/sink.port"
"$out/push_sink" "$out/sink.port" "$out/sink.log" &
sink=$!
trap 'kill $sink 2>/dev/null; psql -c "ALTER SYSTEM RESET wib.http_allow_http" -c "ALTER SYSTEM RESET wib.http_allow_cidrs" -c "ALTER SYSTEM RESET wib.push_allowed_hosts" -c "SELECT pg_reload_conf()" >/dev/null' EXIT
for _ in $(seq 50); do [ -s "$out/sink.port" ] && break; sleep 0.1; done
port=$(cat "$out/sink.port")
origin=http://127.0.0.1:$port

# The push service is on loopback over plain http: open the SSRF guard and the host list for it only here.
psql -c "ALTER SYSTEM SET wib.http_allow_http = on" -c "ALTER SYSTEM SET wib.http_allow_cidrs = '127.0.0.0/8'" \
	-c "ALTER SYSTEM SET wib.push_allowed_hosts = '127.0.0.1'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
for _ in $(seq 100); do
	[ "$(psql -c "SELECT state FROM wib.worker_status WHERE name = 'deliverer'")" = idle ] && break
	sleep 0.2
done
[ "$(psql -c "SELECT state FROM wib.worker_status WHERE name = 'deliverer'")" = idle ] ||
	{ echo "deliverer is not running (is wib.database_name this database?)" >&2; exit 1; }

# The browsers' side: one subscription each for $subs users (keys kept for the check).
python3 "$WIB_ROOT/bench/push_verify.py" keys "$subs" "$origin" "$out/keys.json"
psql -c "SELECT wib.vapid_configure('mailto:bench@example.test')" >/dev/null
org=$(psql -c "SELECT wib.organization_create('Push Bench', 'enterprise')")
psql -v keys="$(cat "$out/keys.json")" <<SQL >/dev/null
SET wib.org_id = '$org';
CREATE TEMP TABLE bench_keys AS SELECT value FROM jsonb_array_elements(:'keys'::jsonb);
INSERT INTO wib.users (organization_id, id, role) SELECT '$org', value ->> 'id', 'agent' FROM bench_keys;
DO \$\$
DECLARE
    k jsonb;
BEGIN
    FOR k IN SELECT value FROM bench_keys LOOP
        PERFORM set_config('wib.user_id', k ->> 'id', true);
        PERFORM wib.push_subscribe(wib.device_register('bench ' || (k ->> 'id'), 'pwa'), k -> 'subscription', ARRAY['*']);
    END LOOP;
END
\$\$;
SQL

sink_lines() { wc -l <"$out/sink.log"; }
wait_drained() {
	until [ "$(psql -c "SELECT NOT EXISTS (SELECT 1 FROM wib.push_deliveries WHERE status IN ('pending', 'retrying'))")" = t ]; do
		sleep 0.2
	done
}
rss_anon() { awk '/^RssAnon/ {print $2}' "/proc/$(psql -c "SELECT pid FROM wib.worker_status WHERE name = 'deliverer'")/status"; }
# Queues n notifications, titled "<prefix> <g>", round-robin over the users.
queue() {
	psql -c "SET wib.org_id = '$org';
	         SELECT count(wib.push_send('s' || lpad(((g - 1) % $subs)::text, 5, '0'),
	                                    jsonb_build_object('title', '$1 ' || g, 'body', 'Open the app to call back.', 'url', '/calls')))
	           FROM generate_series(1, $2) g;
	         SELECT extract(epoch FROM clock_timestamp())" | tail -1
}

# wib: warm-up (connections, plans, allocator), then the measured run from the commit of the queue.
queue warm $((subs * 10)) >/dev/null
wait_drained
rss_before=$(rss_anon)
wib_first=$(($(sink_lines) + 1))
t0=$(queue wib "$total")
wait_drained
rate=$(psql -c "SELECT round($total / (extract(epoch FROM max(delivered_at)) - $t0)) FROM wib.push_deliveries
                 WHERE notification ->> 'title' LIKE 'wib %'")
rss_after=$(rss_anon)
delivered=$(psql -c "SELECT count(*) FILTER (WHERE status = 'delivered') || ' of ' || count(*) FROM wib.push_deliveries
                      WHERE notification ->> 'title' LIKE 'wib %'")
echo "wib: $delivered pushes recorded delivered at $rate/s; deliverer RssAnon ${rss_before} kB -> ${rss_after} kB"

# web-push: the same notifications to the same subscriptions, after a warm-up of its own.
node_rate=-
node_enc=-
if [ -n "$anchor" ]; then
	node "$WIB_ROOT/bench/webpush_node.js" "$npm_dir" send "$out/keys.json" 10 "$concurrency" warm-node >/dev/null
	node_first=$(($(sink_lines) + 1))
	node_out=$(node "$WIB_ROOT/bench/webpush_node.js" "$npm_dir" send "$out/keys.json" "$per_sub" "$concurrency" node)
	node_rate=$(echo "$node_out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["rate"])')
	echo "web-push: $node_out"
	node_enc=$(node "$WIB_ROOT/bench/webpush_node.js" "$npm_dir" encrypt "$out/keys.json" 20000 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["rate"])')
fi
sleep 0.5

# Off the clock: every measured push verified and decrypted, each title exactly once.
check() {
	python3 "$WIB_ROOT/bench/push_verify.py" check "$out/keys.json" "$origin" "$out/sink.log" "$1" "$total" |
		python3 -c "import json, sys; r = json.load(sys.stdin); t = r['titles']
ok = r['checked'] == $total and len(t) == $total and all(v == 1 for v in t.values()) and all(k.startswith('$2 ') for k in t)
print('%s: %d pushes checked: VAPID tokens verify, bodies decrypt, %d distinct titles' % ('$2', r['checked'], len(t)))
sys.exit(0 if ok else 1)"
}
check "$wib_first" wib || { echo "the pushes wib sent do not check out" >&2; exit 1; }
[ -n "$anchor" ] && { check "$node_first" node || { echo "the pushes web-push sent do not check out" >&2; exit 1; }; }

# Encryption alone, one core: the same notification for one subscription.
enc=$(psql -c "
	WITH k AS (SELECT wib.base64url_decode(value #>> '{subscription,keys,p256dh}') AS p256dh,
	                  wib.base64url_decode(value #>> '{subscription,keys,auth}') AS auth
	             FROM jsonb_array_elements(pg_read_file('$out/keys.json')::jsonb) LIMIT 1),
	     t0 AS MATERIALIZED (SELECT clock_timestamp() AS t),
	     run AS MATERIALIZED (SELECT count(wib.webpush_encrypt(k.p256dh, k.auth,
	                                   convert_to('{\"title\": \"n' || g || '\", \"body\": \"Open the app to call back.\", \"url\": \"/calls\", \"id\": \"' || gen_random_uuid() || '\", \"type\": \"notification\"}', 'UTF8'))) AS n
	                            FROM t0, k, generate_series(1, 20000) g)
	SELECT round(20000 / extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))) FROM run")

echo "ROW|Web Push pushes/s, encrypted and VAPID-signed, to a local push service ($total notifications, $subs subscriptions) vs npm web-push|$rate|$node_rate|pushes/s|higher|>= 3x web-push"
echo "ROW|deliverer private memory growth over $total pushes|$((rss_after - rss_before))|-|kB|lower|flat (~0)"
echo "ROW|RFC 8291 encryptions/s, one core: wib.webpush_encrypt vs web-push encrypt|$enc|$node_enc|encryptions/s|higher|-"
