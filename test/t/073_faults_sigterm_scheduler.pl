# SIGTERM to the scheduler in each phase of its unit of work: while it claims
# a due job (held on a lock), while a job runs (an export, held on a lock of
# the table it reads) and while it records a job's result (held on a row
# lock).  The launcher starts another scheduler.  A job claimed but not run
# runs after the restart, once; an export interrupted while it was written is
# still pending and is written whole after the restart, leaving no partial
# file; a job that ran but whose result was not recorded is not run twice
# (jobs are at most once per slot: the claim moves the next run ahead).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

my $node = wib_node('faults_sigterm_scheduler');
my $pid = wait_for_worker_pid($node, 'scheduler');
my $exports = $node->data_dir . '/wib_exports';

my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Sigterm Co', 'enterprise')");
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'tester';";
$node->safe_psql('postgres', qq{
	CREATE TABLE public.job_runs (job text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
	INSERT INTO wib.scheduled_jobs (name, command, run_every, description, next_run_at) VALUES
		('probe', 'INSERT INTO public.job_runs (job) VALUES (''probe'')', interval '1 hour', 'test job', 'infinity'),
		('slow_probe', 'SELECT pg_sleep(1); INSERT INTO public.job_runs (job) VALUES (''slow_probe'')',
		 interval '1 hour', 'test job', 'infinity');
	UPDATE wib.scheduled_jobs SET run_every = interval '1 second', enabled = false WHERE name = 'export_jobs';
	$ctx
	INSERT INTO wib.calls (organization_id, from_number, to_number, disposition, started_at)
	SELECT '$org', '555' || g, '556' || g, 'row ' || g, '2026-01-01'::timestamptz + g * interval '1 second'
	  FROM generate_series(1, 2000) g;
});

sub runs_of
{
	my ($job) = @_;
	return $node->safe_psql('postgres', "SELECT count(*) FROM public.job_runs WHERE job = '$job'");
}

my $session = wib_session($node);

# 1. Claiming: the claim plans an update of wib.scheduled_jobs, which a session
# holds locked while it makes the job due (committed after the SIGTERM).
session_query($session, "BEGIN; LOCK TABLE wib.scheduled_jobs IN ACCESS EXCLUSIVE MODE;"
	  . " UPDATE wib.scheduled_jobs SET next_run_at = now() WHERE name = 'probe';");
is(wait_for_phase($node, 'wib scheduler', 'wib scheduler: claiming due job', 1), $pid, 'scheduler_is_caught_claiming');
terminate_worker($node, $pid);
session_query($session, 'COMMIT');
$pid = wait_for_worker_pid($node, 'scheduler', $pid);
ok($node->poll_query_until('postgres', "SELECT run_count = 1 FROM wib.scheduled_jobs WHERE name = 'probe'"),
	'sigterm_while_claiming_the_job_runs_after_the_restart');
is(runs_of('probe'), 1, 'sigterm_while_claiming_the_job_runs_once');

# 2. A job running: an export whose query waits for a lock on wib.calls, its
# file open (the export job is enabled only once the lock is held).
my $job = $node->safe_psql('postgres', "$ctx SELECT wib.export_create('calls', 'csv')");
session_query($session, "BEGIN; LOCK TABLE wib.calls IN ACCESS EXCLUSIVE MODE;");
$node->safe_psql('postgres',
	"UPDATE wib.scheduled_jobs SET enabled = true, next_run_at = now() WHERE name = 'export_jobs'; SELECT wib.wake('scheduler');");
is(wait_for_phase($node, 'wib scheduler', 'wib export %', 1), $pid, 'scheduler_is_caught_running_an_export');
my $part = "$exports/" . $node->safe_psql('postgres', "SELECT storage_key FROM wib.export_jobs WHERE id = '$job'") . '.part';
ok(-e $part, 'the_export_file_is_open_when_the_scheduler_is_terminated');
terminate_worker($node, $pid);
is($node->safe_psql('postgres', "SELECT status || ' ' || attempts FROM wib.export_jobs WHERE id = '$job'"), 'pending 0',
	'sigterm_while_exporting_leaves_the_export_pending');
session_query($session, 'ROLLBACK');
$pid = wait_for_worker_pid($node, 'scheduler', $pid);
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM wib.export_jobs WHERE id = '$job'"),
	'sigterm_while_exporting_the_export_completes_after_the_restart');
my ($rows, $size, $key, $attempts) = split /\|/,
  $node->safe_psql('postgres', "SELECT total_rows, file_size_bytes, storage_key, attempts FROM wib.export_jobs WHERE id = '$job'");
is("$rows $attempts", '2000 1', 'sigterm_while_exporting_every_row_is_written_in_one_recorded_attempt');
is(-s "$exports/$key", $size, 'sigterm_while_exporting_the_file_has_the_recorded_size');
ok(!-e $part, 'sigterm_while_exporting_leaves_no_partial_file');
$node->safe_psql('postgres', "UPDATE wib.scheduled_jobs SET enabled = false WHERE name = 'export_jobs'");

# 3. Recording: while the job sleeps (its claim committed), a session locks
# the job's row, so recording its result waits.
$node->safe_psql('postgres', "UPDATE wib.scheduled_jobs SET next_run_at = now() WHERE name = 'slow_probe'; SELECT wib.wake('scheduler');");
is(wait_for_phase($node, 'wib scheduler', 'SELECT pg_sleep(1);%'), $pid, 'scheduler_is_caught_running_a_job');
session_query($session, "BEGIN; SELECT 1 FROM wib.scheduled_jobs WHERE name = 'slow_probe' FOR UPDATE;");
is(wait_for_phase($node, 'wib scheduler', 'wib scheduler: recording job result', 1), $pid, 'scheduler_is_caught_recording');
terminate_worker($node, $pid);
session_query($session, 'ROLLBACK');
$pid = wait_for_worker_pid($node, 'scheduler', $pid);
is(runs_of('slow_probe'), 1, 'sigterm_while_recording_the_jobs_work_is_kept');
is($node->safe_psql('postgres',
	"SELECT run_count || ' ' || (last_started_at > coalesce(last_finished_at, '-infinity')) || ' ' || (next_run_at > now())"
	  . " FROM wib.scheduled_jobs WHERE name = 'slow_probe'"),
	'0 true true', 'sigterm_while_recording_the_run_shows_as_started_not_finished');
# The scheduler carries on: another due job runs, and slow_probe is not run again.
$node->safe_psql('postgres', "UPDATE wib.scheduled_jobs SET next_run_at = now() WHERE name = 'probe'; SELECT wib.wake('scheduler');");
ok($node->poll_query_until('postgres', "SELECT run_count = 2 FROM wib.scheduled_jobs WHERE name = 'probe'"),
	'the_restarted_scheduler_runs_the_next_due_job');
is(runs_of('slow_probe'), 1, 'sigterm_while_recording_the_job_does_not_run_twice');
$session->quit;

is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'wib scheduler'"), '1',
	'one_scheduler_runs_after_the_restarts');

$node->stop;
done_testing();
