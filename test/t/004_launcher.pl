# The launcher: the workers of every database where CREATE EXTENSION wib has
# run, started without a restart, up to wib.max_databases; stopped by DROP
# EXTENSION and before DROP DATABASE, ALTER DATABASE RENAME and CREATE
# DATABASE ... TEMPLATE; back after kill -9 of a worker or of the launcher,
# never twice; nothing resident in a database without wib.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use WibTest;
use WibWebhooks;

my $dir = PostgreSQL::Test::Utils::tempdir();
my ($ca, $cert, $key) = make_test_ca($dir);
my $rx = start_receiver(dir => $dir, name => 'rx', tls => [ $cert, $key ]);

my $node = wib_node('launcher', extension => 0, conf => join("\n",
	"wib.max_databases = 2",
	"wib.launcher_poll_interval = 1s",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.http_ca_file = '$ca'"));

my $kinds = "('wib scheduler', 'wib deliverer')";

# How many wib workers are connected to a database.
sub workers_in
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND backend_type IN $kinds");
}

sub wait_for_workers
{
	my ($db, $n) = @_;
	return $node->poll_query_until('postgres',
		"SELECT count(*) = $n FROM pg_stat_activity WHERE datname = '$db' AND backend_type IN $kinds");
}

# "name@database" of every row of wib.worker_status, read from database $db.
sub status_rows
{
	my ($db) = @_;
	return $node->safe_psql($db,
		"SELECT string_agg(name || '\@' || coalesce(database, '-'), ',' ORDER BY database NULLS FIRST, name)"
		  . " FROM wib.worker_status");
}

# Every worker pid by database and kind, from pg_stat_activity: "db/kind=pid,...".
sub worker_pids
{
	return $node->safe_psql('postgres',
		"SELECT string_agg(datname || '/' || backend_type || '=' || pid, ',' ORDER BY datname, backend_type)"
		  . " FROM pg_stat_activity WHERE backend_type IN $kinds");
}

sub no_duplicates
{
	return $node->safe_psql('postgres',
		"SELECT count(*) = count(DISTINCT (datname, backend_type)) FROM pg_stat_activity"
		  . " WHERE backend_type IN $kinds");
}

sub launcher_pid
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(max(pid)::text, '') FROM pg_stat_activity WHERE backend_type = 'wib launcher'");
}

# Subscribes a receiver endpoint in a database and emits one event there; returns its message id.
my @secrets;
sub deliver_one
{
	my ($db) = @_;
	my $org = $node->safe_psql($db, "SELECT wib.organization_create('Org of $db', 'enterprise')");
	my $ctx = "SET wib.org_id = '$org';";
	my $secret = $node->safe_psql($db,
		"$ctx SELECT secret FROM wib.webhook_subscribe('rx', 'https://127.0.0.1:$rx->{port}/ok', ARRAY['custom.launcher'])");
	push @secrets, $secret;
	open(my $sf, '>', $rx->{secrets_file}) or die;
	print $sf join("\n", @secrets), "\n";
	close $sf;
	$node->safe_psql($db, "$ctx SELECT wib.emit_event('custom.launcher', '{\"from\": \"$db\"}')");
	return $node->safe_psql($db, "SELECT message_id FROM wib.webhook_deliveries");
}

# The launcher runs alone, connected to no database.
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'wib launcher' AND datname IS NULL"),
	'launcher_runs_connected_to_no_database');
$node->safe_psql('postgres', 'CREATE DATABASE plain');
for my $db (qw(db_a db_b db_c))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
}

# CREATE EXTENSION starts the workers of that database, no restart needed.
$node->safe_psql('postgres', 'CREATE EXTENSION wib');
ok(wait_for_workers('postgres', 2), 'create_extension_starts_the_workers_without_a_restart');
$node->safe_psql('db_a', 'CREATE EXTENSION wib');
ok(wait_for_workers('db_a', 2), 'a_second_database_gets_its_own_workers');
wait_for_worker_pid($node, $_, undef, 'db_a') for qw(scheduler deliverer);
is(status_rows('db_a'), 'launcher@-,crm_sync@db_a,deliverer@db_a,scheduler@db_a,crm_sync@postgres,deliverer@postgres,scheduler@postgres',
	'worker_status_shows_the_launcher_and_each_database_workers');
is($node->safe_psql('db_a',
	"SELECT bool_and(a.datname = s.database) FROM wib.worker_status s JOIN pg_stat_activity a USING (pid)"
	  . " WHERE s.database IS NOT NULL"),
	't', 'worker_status_database_is_the_database_each_worker_is_connected_to');
ok($node->poll_query_until('db_a', "SELECT state = 'serving 2 databases' FROM wib.worker_status WHERE name = 'launcher'"),
	'launcher_state_counts_the_served_databases');

# Both databases' deliverers deliver their own webhooks.
my %msg = map { $_ => deliver_one($_) } qw(postgres db_a);
for my $db (qw(postgres db_a))
{
	my ($r) = wait_for_receipts($rx, 1, sub { $_[0]{id} eq $msg{$db} });
	ok($r && $r->{valid} && $r->{body} =~ /"from": "$db"/, "webhook_of_${db}_is_delivered_signed");
	ok($node->poll_query_until($db, "SELECT status = 'delivered' FROM wib.webhook_deliveries"),
		"delivery_of_${db}_is_recorded_in_${db}");
}

# wib.wake wakes the worker of the current database only.
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.worker_poll_interval = '60s'; SELECT pg_reload_conf();");
sleep 1;
for my $db (qw(postgres db_a))
{
	$node->safe_psql($db, q{
		CREATE TABLE job_runs (at timestamptz DEFAULT clock_timestamp());
		INSERT INTO wib.scheduled_jobs (name, command, run_every, description)
		VALUES ('mark', 'INSERT INTO public.job_runs DEFAULT VALUES', '1 hour', 'test');
	});
}
$node->safe_psql('db_a', 'SELECT wib.wake(\'scheduler\')');
ok($node->poll_query_until('db_a', 'SELECT count(*) = 1 FROM job_runs'), 'wake_runs_the_job_of_the_current_database');
sleep 2;
is($node->safe_psql('postgres', 'SELECT count(*) FROM job_runs'), '0', 'wake_leaves_other_databases_workers_asleep');
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.worker_poll_interval = '100ms'; SELECT pg_reload_conf();");
ok($node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM job_runs'), 'other_database_job_runs_at_its_poll');

# wib.max_databases = 2: a third database is not served, and the log says why.
my $log_offset = -s $node->logfile;
$node->safe_psql('db_b', 'CREATE EXTENSION wib');
ok($node->wait_for_log(
		qr/wib does not serve database "db_b": all 2 database slots are in use.*\n.*DETAIL:  wib.max_databases limits.*\n.*HINT:  Raise wib.max_databases/,
		$log_offset),
	'max_databases_refusal_is_logged_with_what_to_raise');
is(workers_in('db_b'), '0', 'database_past_max_databases_runs_no_worker');
ok($node->poll_query_until('postgres',
	"SELECT state = 'serving 2 databases, 1 waiting for a slot' FROM wib.worker_status WHERE name = 'launcher'"),
	'launcher_state_shows_the_database_waiting');

# DROP EXTENSION stops that database's workers; the freed slot serves db_b.
$log_offset = -s $node->logfile;
$node->safe_psql('db_a', 'DROP EXTENSION wib CASCADE');
ok(wait_for_workers('db_a', 0), 'drop_extension_stops_that_databases_workers');
# The first of the database's workers to notice says why; the others stop on its report.
ok($node->wait_for_log(qr/wib (scheduler|deliverer|crm_sync) stops in database "db_a": the extension was dropped/, $log_offset),
	'workers_say_why_they_stop');
is(workers_in('postgres'), '2', 'drop_extension_leaves_other_databases_workers');
ok(wait_for_workers('db_b', 2), 'freed_slot_serves_the_waiting_database');
ok($node->wait_for_log(qr/wib now serves database "db_b"/, $log_offset), 'serving_a_waiting_database_is_logged');

# DROP DATABASE succeeds while its workers run.
wait_for_worker_pid($node, 'deliverer', undef, 'db_b');
my $t0 = time;
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE db_b');
is($ret, 0, 'drop_database_succeeds_while_workers_run') or diag($err);
cmp_ok(time - $t0, '<', 5, 'drop_database_waits_only_for_the_workers_to_exit');
is(status_rows('postgres'), 'launcher@-,crm_sync@postgres,deliverer@postgres,scheduler@postgres',
	'dropped_database_leaves_worker_status');

# ALTER DATABASE RENAME and DROP DATABASE while a worker is busy in a job.
$node->safe_psql('db_c', 'CREATE EXTENSION wib');
ok(wait_for_workers('db_c', 2), 'db_c_is_served');
sub start_sleeping_job
{
	my ($db, $name) = @_;
	$node->safe_psql($db, "INSERT INTO wib.scheduled_jobs (name, command, run_every, description)"
		  . " VALUES ('$name', 'SELECT pg_sleep(60)', '1 hour', 'busy'); SELECT wib.wake('scheduler');");
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = '$db' AND backend_type = 'wib scheduler'"
		  . " AND query LIKE '%pg_sleep%'");
}
ok(start_sleeping_job('db_c', 'sleep1'), 'scheduler_of_db_c_is_busy');
($ret, $out, $err) = $node->psql('postgres', 'ALTER DATABASE db_c RENAME TO db_d');
is($ret, 0, 'rename_database_succeeds_while_a_worker_is_busy') or diag($err);
ok(wait_for_workers('db_d', 2), 'renamed_database_is_served_again');
wait_for_worker_pid($node, $_, undef, 'db_d') for qw(scheduler deliverer);
like(status_rows('db_d'), qr/deliverer\@db_d,scheduler\@db_d/, 'worker_status_shows_the_new_name');
ok(start_sleeping_job('db_d', 'sleep2'), 'scheduler_of_db_d_is_busy');
$t0 = time;
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE db_d');
is($ret, 0, 'drop_database_succeeds_while_a_worker_is_busy') or diag($err);
cmp_ok(time - $t0, '<', 8, 'busy_worker_is_stopped_promptly');

# CREATE DATABASE ... TEMPLATE of a served database: the copy has wib and is served.
($ret, $out, $err) = $node->psql('plain', 'CREATE DATABASE db_copy TEMPLATE postgres');
is($ret, 0, 'create_database_from_a_served_database_succeeds') or diag($err);
ok(wait_for_workers('db_copy', 2), 'copy_of_a_database_with_wib_is_served');
ok(wait_for_workers('postgres', 2), 'template_database_is_served_again');

# ALTER DATABASE ... SET TABLESPACE needs the database without connections too.
my $ts = "$dir/ts";
mkdir $ts or die;
$node->safe_psql('postgres', "CREATE TABLESPACE ts LOCATION '$ts'");
($ret, $out, $err) = $node->psql('postgres', 'ALTER DATABASE db_copy SET TABLESPACE ts');
is($ret, 0, 'set_tablespace_succeeds_while_workers_run') or diag($err);
ok(wait_for_workers('db_copy', 2), 'moved_database_is_served_again');

# A database without wib has no resident worker (it was probed once).
my $seen = 0;
for (1 .. 10)
{
	$seen += $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE datname IN ('plain', 'db_a') AND pid <> pg_backend_pid()");
	usleep(200_000);
}
is($seen, 0, 'database_without_wib_has_no_resident_worker');

# kill -9 of a worker: the postmaster resets the cluster, the launcher brings every worker back.
my $pid = worker_pid($node, 'deliverer');
kill 'KILL', $pid;
my $new_pid = wait_for_worker_pid($node, 'deliverer', $pid);
isnt($new_pid, $pid, 'worker_killed_with_sigkill_comes_back');
ok(wait_for_workers('db_copy', 2), 'other_database_workers_come_back_after_the_crash');
is(no_duplicates(), 't', 'no_duplicate_workers_after_the_crash');

# The launcher terminated: the postmaster restarts it, and it adopts the running workers.
wait_for_worker_pid($node, 'scheduler');
wait_for_worker_pid($node, $_, undef, 'db_copy') for qw(scheduler deliverer);
my $before = worker_pids();
my $old_launcher = launcher_pid();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old_launcher)");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'wib launcher' AND pid <> $old_launcher"),
	'terminated_launcher_is_restarted');
ok($node->poll_query_until('postgres',
	"SELECT state = 'serving 2 databases' FROM wib.worker_status WHERE name = 'launcher'"),
	'restarted_launcher_serves_both_databases');
sleep 2;    # a few turns of the new launcher
is(worker_pids(), $before, 'restarted_launcher_adopts_the_running_workers');
is(no_duplicates(), 't', 'no_duplicate_workers_after_the_launcher_restart');

# An adopted worker that exits is restarted by the new launcher.
$pid = worker_pid($node, 'scheduler', 'db_copy');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
$new_pid = wait_for_worker_pid($node, 'scheduler', $pid, 'db_copy');
isnt($new_pid, $pid, 'adopted_worker_is_restarted_when_it_exits');

# kill -9 of the launcher: the cluster resets and the new launcher starts every worker again, once.
$old_launcher = launcher_pid();
kill 'KILL', $old_launcher;
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'wib launcher' AND pid <> $old_launcher"),
	'launcher_killed_with_sigkill_is_restarted');
ok(wait_for_workers('postgres', 2) && wait_for_workers('db_copy', 2), 'workers_are_back_after_the_launcher_crash');
sleep 2;
is(no_duplicates(), 't', 'no_duplicate_workers_after_the_launcher_crash');
is(workers_in('plain'), '0', 'still_nothing_in_the_database_without_wib');

$node->stop;
done_testing();
