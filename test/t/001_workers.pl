# The background worker framework: the launcher starts with the server, the
# workers once CREATE EXTENSION has run; they run scheduled jobs, wake at
# COMMIT, reload on SIGHUP, stop on SIGTERM, come back after kill -9, and hand
# the jobs to pg_cron when told to.  (test/t/004_launcher.pl: many databases.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

# Started before the extension exists: only the launcher runs.
my $node = wib_node('workers', extension => 0,
	conf => "shared_preload_libraries = 'wib,pg_cron'\ncron.database_name = 'postgres'");

$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'wib launcher'")
  or die 'launcher did not start';
pass('launcher_starts_with_the_server');
sleep 2;    # time for the launcher to probe "postgres"
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('wib scheduler', 'wib deliverer', 'wib probe')"),
	'0', 'no_worker_runs_before_create_extension');

# CREATE EXTENSION after start-up is picked up: a job due now runs.
$node->safe_psql('postgres', q{
	CREATE EXTENSION wib;
	CREATE TABLE job_runs (at timestamptz DEFAULT now(), note text);
	INSERT INTO wib.scheduled_jobs (name, command, run_every, description)
	VALUES ('test_job', 'INSERT INTO job_runs (note) VALUES (''ran'')', '1 hour', 'test');
});
ok($node->poll_query_until('postgres', "SELECT count(*) > 0 FROM job_runs"),
	'scheduler_picks_up_extension_created_after_start');
is($node->safe_psql('postgres',
	"SELECT last_status || ' ' || run_count || ' ' || (next_run_at > now() + interval '50 minutes') FROM wib.scheduled_jobs WHERE name = 'test_job'"),
	'succeeded 1 true', 'job_result_and_next_run_are_recorded');
my $pid = wait_for_worker_pid($node, 'scheduler');
like($pid, qr/^\d+$/, 'worker_status_shows_the_scheduler_pid');
# Only the scheduler has updated wib.scheduled_jobs so far: its statistics are
# flushed after each unit of work, not only when it exits.
ok($node->poll_query_until('postgres',
	"SELECT n_tup_upd >= 2 FROM pg_stat_user_tables WHERE relid = 'wib.scheduled_jobs'::regclass"),
	'worker_table_statistics_reach_pg_stat_while_it_runs');
is(worker_pid($node, 'scheduler'), $pid, 'statistics_came_from_the_running_worker');

# A failing job is recorded and the worker carries on.
$node->safe_psql('postgres', q{
	INSERT INTO wib.scheduled_jobs (name, command, run_every, description)
	VALUES ('bad_job', 'SELECT 1/0', '1 hour', 'fails');
});
ok($node->poll_query_until('postgres',
	"SELECT last_status = 'failed' AND last_error LIKE '%division by zero%' AND error_count = 1 FROM wib.scheduled_jobs WHERE name = 'bad_job'"),
	'failing_job_is_recorded_with_its_error');
is(worker_pid($node, 'scheduler'), $pid, 'failing_job_does_not_stop_the_worker');

# SIGHUP: wib.scheduler = 'off' stops running jobs; back to 'internal' resumes.
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.scheduler = 'off'; SELECT pg_reload_conf();");
$node->poll_query_until('postgres', "SELECT current_setting('wib.scheduler') = 'off'");
sleep 1;    # let the worker's own reload happen
$node->safe_psql('postgres', "UPDATE wib.scheduled_jobs SET next_run_at = now() WHERE name = 'test_job'");
sleep 2;
is($node->safe_psql('postgres', "SELECT count(*) FROM job_runs"), '1', 'reloaded_setting_off_stops_jobs');
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.scheduler = 'internal'; SELECT pg_reload_conf();");
ok($node->poll_query_until('postgres', "SELECT count(*) = 2 FROM job_runs"), 'reloaded_setting_internal_resumes_jobs');

# Wake at COMMIT: with a one-minute poll, a job still runs at once when woken.
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.worker_poll_interval = '60s'; SELECT pg_reload_conf();");
sleep 1;
$node->safe_psql('postgres', q{
	CREATE TABLE wake_marks (committed_at timestamptz);
	BEGIN;
	UPDATE wib.scheduled_jobs SET next_run_at = now() WHERE name = 'test_job';
	INSERT INTO wake_marks VALUES (now());
	SELECT wib.wake('scheduler');
	COMMIT;
});
ok($node->poll_query_until('postgres', "SELECT count(*) = 3 FROM job_runs"), 'woken_job_runs');
is($node->safe_psql('postgres',
	"SELECT max(at) - (SELECT committed_at FROM wake_marks) < interval '5 seconds' FROM job_runs"),
	't', 'commit_wakes_the_worker_long_before_its_60s_poll_interval');
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.worker_poll_interval = '100ms'; SELECT pg_reload_conf();");

# kill -9: the postmaster restarts the cluster, then the launcher the scheduler.
kill 'KILL', $pid;
my $new_pid = wait_for_worker_pid($node, 'scheduler', $pid);
isnt($new_pid, $pid, 'scheduler_restarts_after_kill_9');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'cluster_keeps_serving_after_worker_crash');

# SIGTERM stops the worker promptly; the launcher starts another.
$node->safe_psql('postgres', "SELECT pg_terminate_backend($new_pid)");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $new_pid"), 'sigterm_stops_the_worker');
my $third_pid = wait_for_worker_pid($node, 'scheduler', $new_pid);
isnt($third_pid, $new_pid, 'launcher_restarts_a_terminated_worker');

# pg_cron takes the jobs only when told to, never both.
like(scalar $node->psql('postgres', 'CREATE EXTENSION pg_cron; SELECT wib.cron_schedule()', stderr => \my $err),
	qr/^3$/, 'cron_schedule_refused_while_internal_scheduler_runs');
like($err, qr/wib.scheduler must be 'pg_cron'/, 'cron_schedule_refusal_says_why');
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.scheduler = 'pg_cron'; SELECT pg_reload_conf();");
$node->poll_query_until('postgres', "SELECT current_setting('wib.scheduler') = 'pg_cron'");
# Every enabled job: the test's own and those the features register.
my $jobs = $node->safe_psql('postgres',
	"SELECT string_agg('wib:' || name, ',' ORDER BY 'wib:' || name) FROM wib.scheduled_jobs WHERE enabled");
like($jobs, qr/(^|,)wib:bad_job,.*wib:purge_expired,wib:test_job(,|$)/, 'test_jobs_are_enabled');
is($node->safe_psql('postgres', 'SELECT string_agg(j, \',\' ORDER BY j) FROM wib.cron_schedule() j'),
	$jobs, 'cron_schedule_installs_every_job');
is($node->safe_psql('postgres', "SELECT schedule || ' ' || command FROM cron.job WHERE jobname = 'wib:purge_expired'"),
	'0 * * * * SELECT count(*) FROM wib.purge_expired()', 'pg_cron_job_runs_the_same_sql');
is($node->safe_psql('postgres', 'SELECT count(*) FROM wib.cron_unschedule()'), scalar(split(/,/, $jobs)),
	'cron_unschedule_removes_them');

$node->stop;
done_testing();
