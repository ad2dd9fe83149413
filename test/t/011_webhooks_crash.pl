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
	my %attempts = map { split /\|/ } split /\n/, $node->safe_psql('postgres',
		"SELECT message_id || '|' || attempt_number FROM wib.webhook_deliveries WHERE payload ->> 'run' = '$run'");
	my %seen;
	$seen{ $_->{id} }++ for receiver_log($rx);
	my @missing = grep { !$seen{$_} } keys %attempts;
	my @twice = grep { $seen{$_} && $seen{$_} > 1 } keys %attempts;
	is(scalar(keys %attempts), 20000, "${what}_20000_deliveries_were_queued");
	is(scalar(@missing), 0, "${what}_every_message_id_reaches_the_receiver");
	# A message arrives once per attempt the deliverer made: a repeat is one it
	# claimed again after the crash (same webhook-id), never a second send of one claim.
	is(scalar(grep { $seen{$_} > $attempts{$_} } @twice), 0, "${what}_each_receipt_is_one_recorded_attempt");
	is(scalar(grep { $seen{$_} > 2 } @twice), 0, "${what}_no_message_arrives_more_than_twice");
	cmp_ok(scalar(@twice), '<=', $batch, "${what}_repeats_are_at_most_the_one_batch_in_flight");
	note("$what: " . scalar(@twice) . " messages arrived twice: the batch in flight at the crash, sent again with the same webhook-id");
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
