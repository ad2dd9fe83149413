# Sourced by bench/webhooks.sh: the same 50,000 POSTs sent by pg_net (preloaded
# beside wib by bench/run.sh) to the same plain-HTTP receiver.
#
# The bodies are those of wib's measured HTTP run, byte for byte (built from
# its deliveries as wib.webhook_claim builds them; the receiver's hashes of
# both runs are compared).  pg_net runs with its default settings, then a
# sweep of pg_net.batch_size on fewer requests picks its best setting (the
# most successful requests per second), which then sends all 50,000, once
# unsigned and once with the same signature headers wib sends (signed with
# wib.sign_webhook when queued, outside the timed part).  Timed like wib's
# runs: from the commit that queued the requests to the moment the server
# sees every response recorded (polled every 100 ms in the server).  A
# request is failed when its response row has no 2xx status (pg_net records
# timeouts and connection errors there) or never appears.
# shellcheck shell=bash

pg_net_url="http://127.0.0.1:$port/in"
pg_net_sweep_sizes=${WIB_BENCH_PG_NET_SWEEP:-1000 2000 4000 8000 16000}
pg_net_sweep_requests=${WIB_BENCH_PG_NET_SWEEP_REQUESTS:-20000}

# pg_net_batch SIZE|default: sets pg_net.batch_size and lets the worker reload.
pg_net_batch() {
	if [ "$1" = default ]; then
		psql -c "ALTER SYSTEM RESET pg_net.batch_size" -c "SELECT pg_reload_conf()" >/dev/null
	else
		psql -c "ALTER SYSTEM SET pg_net.batch_size = $1" -c "SELECT pg_reload_conf()" >/dev/null
	fi
	sleep 1.5
}

# pg_net_run N HEADERS: queues the first N bodies with headers HEADERS (SQL over
# b, a row of bench_bodies) in one transaction; prints
# "successful/s successful failed first_line last_line cpu_us_per_request errors"
# (the CPU time of pg_net's worker meanwhile).
pg_net_run() {
	local n=$1 headers=$2 t0 t1 first last pid c0 cpu
	psql -c "TRUNCATE net._http_response" >/dev/null
	sleep 0.3
	pid=$(psql -c "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'pg_net%'")
	c0=$(cpu_us "$pid")
	first=$(($(wc -l <"$out/sink.log") + 1))
	t0=$(psql -c "SELECT count(net.http_post(url := '$pg_net_url', body := b.body, headers := $headers))
	                FROM bench_bodies b WHERE b.n <= $n;
	              SELECT extract(epoch FROM clock_timestamp())" | tail -1)
	t1=$(psql -c "SELECT bench_pg_net_wait($n, 30)")
	sleep 0.3
	last=$(wc -l <"$out/sink.log")
	# The worker's CPU time, when it is the same process at the end (a worker that failed restarts).
	cpu=$(( $(cpu_us "$pid") - c0 ))
	[ "$cpu" -gt 0 ] && [ "$pid" = "$(psql -c "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'pg_net%'")" ] || cpu=-1
	psql -F' ' -c "SELECT round(ok / ($t1 - $t0)), ok, $n - ok, $first, $last, CASE WHEN $cpu < 0 THEN '-' ELSE ($cpu / $n)::text END, errors
	                 FROM (SELECT count(*) FILTER (WHERE status_code BETWEEN 200 AND 299) AS ok,
	                              coalesce(string_agg(DISTINCT regexp_replace(coalesce(error_msg, 'HTTP ' || status_code),
	                                                                          '[0-9][0-9.]*', 'N', 'g'), '; ')
	                                       FILTER (WHERE status_code IS NULL OR status_code NOT BETWEEN 200 AND 299), 'none') AS errors
	                         FROM net._http_response) r"
}

# body_hashes FIRST LAST: the sorted body hashes the receiver logged on those lines.
body_hashes() { sed -n "$1,$2p" "$out/sink.log" | awk '{print $4}' | sort; }

pg_net_compare() {
	local ver default_rate default_ok default_failed f l errors size rate ok failed best=0 best_rate=-1
	local best_full best_ok best_failed signed_rate signed_ok signed_failed same default_cpu cpu best_cpu signed_cpu
	psql -c "CREATE EXTENSION IF NOT EXISTS pg_net" >/dev/null
	ver=$(psql -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_net'")
	psql <<SQL
DROP TABLE IF EXISTS bench_bodies;
-- wib's measured HTTP run, the bodies as wib.webhook_claim built them.
CREATE TABLE bench_bodies AS
SELECT (d.payload ->> 'n')::integer AS n, d.message_id,
       jsonb_build_object('type', d.event_type,
                          'timestamp', to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                          'data', d.payload) AS body
  FROM wib.webhook_deliveries d
 WHERE d.event_type = 'custom.bench' AND d.delivered_at > to_timestamp($http_t0);
CREATE INDEX ON bench_bodies (n);
ANALYZE bench_bodies;
-- Waits until n responses are recorded, polling every 100 ms; returns when
-- (epoch), or the time of the last progress when none came for stall seconds.
CREATE OR REPLACE FUNCTION bench_pg_net_wait(n bigint, stall integer) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
    done bigint;
    last bigint := -1;
    since timestamptz := clock_timestamp();
BEGIN
    LOOP
        SELECT count(*) INTO done FROM net._http_response;
        IF done >= n THEN
            RETURN extract(epoch FROM clock_timestamp());
        END IF;
        IF done <> last THEN
            last := done;
            since := clock_timestamp();
        ELSIF clock_timestamp() - since > make_interval(secs => stall) THEN
            RETURN extract(epoch FROM since);
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
END
\$\$;
SQL
	local unsigned="'{\"Content-Type\": \"application/json\"}'::jsonb"
	local signed="(SELECT jsonb_build_object('Content-Type', 'application/json', 'webhook-id', b.message_id,
	                                        'webhook-timestamp', s.ts, 'webhook-signature', s.sig, 'X-WIB-Signature', s.sig)
	                 FROM (SELECT ts, wib.sign_webhook('$secret', b.message_id, ts, b.body::text) AS sig
	                         FROM (SELECT extract(epoch FROM now())::bigint AS ts) t) s)"

	pg_net_batch default
	read -r default_rate default_ok default_failed f l default_cpu errors < <(pg_net_run "$events" "$unsigned")
	same=$(cmp -s <(body_hashes "$http_first_line" "$http_last_line") <(body_hashes "$f" "$l") && echo "identical" || echo "NOT identical")
	echo "pg_net $ver, default settings (batch_size $(psql -c 'SHOW pg_net.batch_size')): $default_ok of $events successful, $default_failed failed ($errors), $default_rate/s, worker CPU $default_cpu us per request; bodies received $same to wib's HTTP run"

	for size in $pg_net_sweep_sizes; do
		pg_net_batch "$size"
		read -r rate ok failed f l cpu errors < <(pg_net_run "$pg_net_sweep_requests" "$unsigned")
		echo "pg_net sweep: batch_size $size, $pg_net_sweep_requests requests: $ok successful, $failed failed ($errors), $rate successful/s, worker CPU $cpu us per request"
		echo "ROW|pg_net sweep: batch_size $size, $pg_net_sweep_requests requests, successful/s ($failed failed)|-|$rate|deliveries/s|higher|-"
		if [ "$rate" -gt "$best_rate" ]; then
			best=$size
			best_rate=$rate
		fi
	done

	pg_net_batch "$best"
	read -r best_full best_ok best_failed f l best_cpu errors < <(pg_net_run "$events" "$unsigned")
	echo "pg_net at batch_size $best: $best_ok of $events successful, $best_failed failed ($errors), $best_full/s, worker CPU $best_cpu us per request"
	read -r signed_rate signed_ok signed_failed f l signed_cpu errors < <(pg_net_run "$events" "$signed")
	echo "pg_net at batch_size $best with wib's signature headers (signed when queued): $signed_ok of $events successful, $signed_failed failed ($errors), $signed_rate/s, worker CPU $signed_cpu us per request"
	pg_net_batch default

	local what="HTTP deliveries/s of the same $events bodies, same receiver: wib (signs each request when sent, leases, records every result WAL-logged, schedules retries) vs pg_net $ver"
	echo "ROW|$what with default settings (batch_size 200; unsigned; $default_failed failed)|$http_rate|$default_rate|deliveries/s|higher|-"
	echo "ROW|$what at its best batch_size of the sweep, $best (unsigned; $best_failed failed)|$http_rate|$best_full|deliveries/s|higher|-"
	echo "ROW|$what at batch_size $best sending wib's signature headers, signed when queued, untimed ($signed_failed failed)|$http_rate|$signed_rate|deliveries/s|higher|-"
	echo "ROW|worker CPU time per HTTP request: wib's deliverer (signed) vs pg_net's worker at batch_size $best (unsigned)|$http_cpu|$best_cpu|us|lower|-"
}
