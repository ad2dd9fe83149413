# SIGTERM to the launcher (the postmaster starts another after 5 s): while it
# idles, deliveries go on, and the new launcher adopts the running workers;
# while it is down, a database gets wib (the COMMIT's notification finds no
# launcher); and right after CREATE EXTENSION, while it probes the database
# and starts its workers.  Every database ends up with exactly one worker of
# each kind, and each delivers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $rx = start_receiver(dir => $dir, name => 'rx', script => wib_root() . '/test/peers/faulty_receiver.py');
my $node = wib_node('faults_sigterm_launcher', conf => join("\n",
	"wib.http_allow_http = on",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.launcher_poll_interval = 1s"));
wait_for_worker_pid($node, $_) for qw(scheduler deliverer crm_sync);

my $kinds = "('wib scheduler', 'wib deliverer', 'wib crm_sync')";

sub launcher_pid
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(max(pid)::text, '') FROM pg_stat_activity WHERE backend_type = 'wib launcher'");
}

sub wait_for_new_launcher
{
	my ($old) = @_;
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'wib launcher' AND pid <> $old");
}

sub worker_pids
{
	return $node->safe_psql('postgres',
		"SELECT string_agg(datname || '/' || backend_type || '=' || pid, ',' ORDER BY datname, backend_type)"
		  . " FROM pg_stat_activity WHERE backend_type IN $kinds");
}

# Subscribes the receiver in a database and emits one event there; returns the message id.
my %org;
sub emit_in
{
	my ($db, $n) = @_;
	$org{$db} //= $node->safe_psql($db, "SELECT wib.organization_create('Org of $db', 'enterprise')");
	my $ctx = "SET wib.org_id = '$org{$db}'; SET wib.user_id = 'tester';";
	$node->safe_psql($db, "$ctx SELECT wib.webhook_subscribe('rx', 'http://127.0.0.1:$rx->{port}/ok', ARRAY['custom.launcher'])")
	  if $n == 1;
	$node->safe_psql($db, "$ctx SELECT wib.emit_event('custom.launcher', '{\"db\": \"$db\", \"n\": $n}')");
	return $node->safe_psql($db, "SELECT message_id FROM wib.webhook_deliveries WHERE payload ->> 'n' = '$n'");
}

sub arrives
{
	my ($msg) = @_;
	return scalar(wait_for_receipts($rx, 1, sub { $_[0]{id} eq $msg }, 60)) == 1;
}

# 1. Idle launcher: the workers go on without it, the new one adopts them.
my $before = worker_pids();
my $launcher = launcher_pid();
terminate_worker($node, $launcher);
ok(arrives(emit_in('postgres', 1)), 'without_the_launcher_deliveries_go_on');
ok(wait_for_new_launcher($launcher), 'the_postmaster_starts_a_new_launcher');
$launcher = launcher_pid();
sleep 2;    # a few turns of the new launcher
is(worker_pids(), $before, 'the_new_launcher_adopts_the_running_workers');

# 2. A database gets wib while no launcher runs.
terminate_worker($node, $launcher);
$node->safe_psql('postgres', 'CREATE DATABASE while_down');
$node->safe_psql('while_down', 'CREATE EXTENSION wib');
ok(wait_for_new_launcher($launcher), 'a_new_launcher_starts_after_the_database_got_wib');
$launcher = launcher_pid();
wait_for_worker_pid($node, $_, undef, 'while_down') for qw(scheduler deliverer crm_sync);
ok(arrives(emit_in('while_down', 1)), 'a_database_that_got_wib_while_the_launcher_was_down_is_served');

# 3. SIGTERM right after CREATE EXTENSION, as the launcher probes the database
# and starts its workers.
$node->safe_psql('postgres', 'CREATE DATABASE just_created');
$node->safe_psql('just_created', 'CREATE EXTENSION wib');
terminate_worker($node, $launcher);
ok(wait_for_new_launcher($launcher), 'a_new_launcher_starts_after_one_stopped_while_starting_workers');
wait_for_worker_pid($node, $_, undef, 'just_created') for qw(scheduler deliverer crm_sync);
ok(arrives(emit_in('just_created', 1)), 'the_database_whose_workers_were_being_started_is_served');

# Exactly one worker of each kind per database, and all of them deliver.
sleep 2;
is($node->safe_psql('postgres',
	"SELECT string_agg(datname || ':' || n, ',' ORDER BY datname) FROM"
	  . " (SELECT datname, count(*) AS n FROM pg_stat_activity WHERE backend_type IN $kinds GROUP BY datname) s"),
	'just_created:3,postgres:3,while_down:3', 'one_worker_of_each_kind_per_database');
ok(arrives(emit_in($_, 2)), "after_the_restarts_${_}_delivers") for qw(postgres while_down just_created);

$node->stop;
done_testing();
