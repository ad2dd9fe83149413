# At-least-once delivery across crashes: 20,000 queued deliveries, the
# deliverer killed with SIGKILL mid-run; then again with an immediate server
# restart.  Every message id must reach the receiver, duplicates only among
# the batch in flight.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks;

my $batch = 500;
my $dir = PostgreSQL::Test::Utils::tempdir();
my $rx = start_receiver(dir => $dir, name => 'crash_rx');
my $node = wib_node('webhooks_crash', conf => join("\n",
	"wib.http_allow_http = on",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.webhook_batch_size = $batch",
	"wib.webhook_lease = 30s",
	"restart_after_crash = on"));
wait_for_worker_pid($node, 'deliverer');

my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Crash Co', 'enterprise')");
my $ctx = "SET wib.org_id = '$org';";
$node->safe_psql('postgres',
	"$ctx SELECT id FROM wib.webhook_subscribe('load', 'http://127.0.0.1:$rx->{port}/ok', ARRAY['custom.load'])");

# Queues n deliveries tagged with run, in one transaction.
sub queue
{
	my ($run, $n) = @_;
	$node->safe_psql('postgres',
		"$ctx SELECT count(wib.emit_event('custom.load', jsonb_build_object('run', '$run', 'n', g))) FROM generate_series(1, $n) g");
}

# Checks that every message id of run reached the receiver, and how often.
sub check_run
{
	my ($run, $what) = @_;
	ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM wib.webhook_deliveries WHERE payload ->> 'run' = '$run' AND status <> 'delivered'"),
		"${what}_every_delivery_is_recorded_delivered");
	my @ids = split /\n/, $node->safe_psql('postgres',
		"SELECT message_id FROM wib.webhook_deliveries WHERE payload ->> 'run' = '$run'");
	my %seen;
	$seen{ $_->{id} }++ for receiver_log($rx);
	my @missing = grep { !$seen{$_} } @ids;
	my $dups = 0;
	$dups += $seen{$_} - 1 for grep { $seen{$_} } @ids;
	is(scalar(@ids), 20000, "${what}_20000_deliveries_were_queued");
	is(scalar(@missing), 0, "${what}_every_message_id_reaches_the_receiver");
	cmp_ok($dups, '<=', $batch, "${what}_duplicates_only_among_the_batch_in_flight");
	diag("$what: $dups duplicate receipts");
}

# 1. kill -9 the deliverer mid-run.
queue('kill9', 20000);
cmp_ok(wait_for_count($rx, 3000, qr/kill9/, 120), '>=', 3000, 'kill9_deliveries_are_flowing_before_the_kill');
my $pid = worker_pid($node, 'deliverer');
kill 'KILL', $pid;
ok($node->poll_query_until('postgres', "SELECT count(*) < 20000 FROM wib.webhook_deliveries WHERE payload ->> 'run' = 'kill9' AND status = 'delivered'"),
	'kill9_happened_mid_run');
wait_for_worker_pid($node, 'deliverer', $pid);
check_run('kill9', 'kill9');

# 2. Restart the server with -m immediate mid-run.
queue('immediate', 20000);
cmp_ok(wait_for_count($rx, 3000, qr/immediate/, 120), '>=', 3000, 'immediate_deliveries_are_flowing_before_the_restart');
$node->stop('immediate');
$node->start;
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM wib.webhook_deliveries WHERE payload ->> 'run' = 'immediate' AND status = 'delivered'"),
	'<', 20000, 'immediate_restart_happened_mid_run');
check_run('immediate', 'immediate');

$node->stop;
done_testing();
