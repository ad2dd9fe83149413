# Sourced by bench/webhooks.sh: what a crash of the worker costs.  5,000
# requests are queued; as soon as the receiver has the first of them, the
# worker is killed with SIGKILL, which makes the postmaster reset the whole
# cluster (every backend ends, crash recovery runs) as after any crash of a
# server process.  Once the server accepts connections again, a request is
# kept when it is still queued or the receiver already has it (counted by
# the "n" each body carries; queued first, received second, so a request
# sent meanwhile is counted either way).  wib's deliveries are WAL-logged
# rows; pg_net's queue is an UNLOGGED table, emptied by crash recovery.
# shellcheck shell=bash

# wait_recovered: the server accepts connections again after the reset.
wait_recovered() {
	sleep 1
	for _ in $(seq 600); do
		psql -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "the server did not come back after the crash" >&2
	return 1
}

# received LOG OFFSET LO HI: the distinct "n" in [LO, HI] the receiver logged past byte OFFSET.
received() { tail -c +"$(($2 + 1))" "$1" | awk -v lo="$3" -v hi="$4" '$3 >= lo && $3 <= hi {print $3}' | sort -u; }

# wait_first LOG OFFSET LO HI: until the receiver has logged one request of [LO, HI] (at most 60 s).
wait_first() {
	for _ in $(seq 6000); do
		[ -n "$(received "$@" | head -1)" ] && return 0
		sleep 0.01
	done
	echo "no request of $3..$4 reached the receiver" >&2
	return 1
}

# kill_and_count NAME PID LOG OFFSET LO HI QUEUED_SQL: kills PID once the
# first request arrived, waits for recovery; sets kept (and prints the story).
kill_and_count() {
	local name=$1 pid=$2 log=$3 offset=$4 lo=$5 hi=$6 queued_sql=$7 at_kill queued
	wait_first "$log" "$offset" "$lo" "$hi"
	kill -9 "$pid"
	at_kill=$(received "$log" "$offset" "$lo" "$hi" | wc -l)
	wait_recovered
	psql -c "$queued_sql" | sort -u >"$out/crash_$name.queued"
	sleep 0.5
	received "$log" "$offset" "$lo" "$hi" >"$out/crash_$name.received"
	queued=$(wc -l <"$out/crash_$name.queued")
	kept=$(sort -u "$out/crash_$name.queued" "$out/crash_$name.received" | wc -l)
	echo "$name: kill -9 of its worker (pid $pid) once the receiver had the first of $((hi - lo + 1)) queued requests; $at_kill had arrived by then; after crash recovery $queued were still queued; kept (delivered + queued): $kept"
}

# wib_crash: the deliverer killed mid-run; sets wib_kept, then waits until the run is delivered.
wib_crash() {
	local lo=1000001 hi=$((1000000 + crash_requests)) offset pid
	offset=$(stat -c %s "$out/sink.log")
	pid=$(psql -c "SELECT pid FROM wib.worker_status WHERE name = 'deliverer' AND database = current_database()")
	psql -c "$ctx SELECT $(printf "$emit" "'custom.bench_crash'") FROM generate_series($lo, $hi) g" >/dev/null
	kill_and_count wib "$pid" "$out/sink.log" "$offset" "$lo" "$hi" \
		"SELECT payload ->> 'n' FROM wib.webhook_deliveries WHERE event_type = 'custom.bench_crash' AND status IN ('pending', 'retrying')"
	wib_kept=$kept
	wait_deliverer
	psql -c "SELECT bench_wib_drained()" >/dev/null
	sleep 0.5
	echo "wib: after the restart the deliverer delivered the rest: $(received "$out/sink.log" "$offset" "$lo" "$hi" | wc -l) of $crash_requests distinct requests received in all"
}

# pg_net_crash: pg_net's worker killed mid-run, default settings; sets pg_net_kept.
pg_net_crash() {
	local lo=2000001 hi=$((2000000 + crash_requests)) offset pid
	psql -c "ALTER SYSTEM RESET pg_net.batch_size" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1.5
	offset=$(stat -c %s "$out/sink.log")
	psql -c "SELECT count(net.http_post(url := 'http://127.0.0.1:$port/in',
	                                    body := jsonb_build_object('type', 'custom.bench_crash', 'timestamp', now(),
	                                                               'data', jsonb_build_object('t', 0, 'n', g, 'note', repeat('x', 200)))))
	           FROM generate_series($lo, $hi) g" >/dev/null
	pid=$(psql -c "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'pg_net%'")
	kill_and_count pg_net "$pid" "$out/sink.log" "$offset" "$lo" "$hi" \
		"SELECT convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'n' FROM net.http_request_queue"
	pg_net_kept=$kept
}
