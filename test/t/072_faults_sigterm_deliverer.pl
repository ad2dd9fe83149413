# SIGTERM to the deliverer in each phase of a pass: while it claims (held on
# a lock), while it sends (to a slow receiver), while it records (held on a
# lock).  The launcher starts another deliverer; every delivery arrives
# with its webhook-id; one interrupted before anything was sent arrives once,
# one interrupted after sending arrives again (at least once), and never more
# often than its recorded attempts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $rx = start_receiver(dir => $dir, name => 'rx', script => wib_root() . '/test/peers/faulty_receiver.py');
my $node = wib_node('faults_sigterm_deliverer', conf => join("\n",
	"wib.http_allow_http = on",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.webhook_lease = 60s",
	"wib.webhook_retry_schedule = '1 s'"));
my $pid = wait_for_worker_pid($node, 'deliverer');

my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Sigterm Co', 'enterprise')");
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'tester';";
# The first attempt of each message to /slow/3 waits 3 s for its answer; a resend is answered at once.
$node->safe_psql('postgres', "$ctx
	SELECT wib.webhook_subscribe('fast', 'http://127.0.0.1:$rx->{port}/ok', ARRAY['custom.claim']);
	SELECT wib.webhook_subscribe('slow', 'http://127.0.0.1:$rx->{port}/slow/3', ARRAY['custom.send', 'custom.record']);");

sub message_of
{
	my ($type) = @_;
	return $node->safe_psql('postgres', "SELECT message_id FROM wib.webhook_deliveries WHERE event_type = '$type'");
}

sub receipts
{
	my ($msg) = @_;
	return scalar(grep { $_->{id} eq $msg } receiver_log($rx));
}

my $session = wib_session($node);

# 1. Claiming: the claim plans a read of webhook_subscriptions, on which a
# session holds a lock while it emits the event (committed after the SIGTERM).
session_query($session, "BEGIN; LOCK TABLE wib.webhook_subscriptions IN ACCESS EXCLUSIVE MODE;"
	  . " $ctx SELECT wib.emit_event('custom.claim', '{\"phase\": \"claim\"}');");
my $caught = wait_for_phase($node, 'wib deliverer', 'wib deliverer: claiming due work', 1);
is($caught, $pid, 'deliverer_is_caught_claiming');
terminate_worker($node, $pid);
session_query($session, 'COMMIT');
$pid = wait_for_worker_pid($node, 'deliverer', $pid);
my $m_claim = message_of('custom.claim');
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM wib.webhook_deliveries WHERE message_id = '$m_claim'"),
	'sigterm_while_claiming_the_delivery_is_made_by_the_next_deliverer');
is(receipts($m_claim), 1, 'sigterm_while_claiming_nothing_was_sent_twice');

# 2. Sending: the receiver holds the request for 3 s.
$node->safe_psql('postgres', "$ctx SELECT wib.emit_event('custom.send', '{\"phase\": \"send\"}')");
my $m_send = message_of('custom.send');
is(scalar(wait_for_receipts($rx, 1, sub { $_[0]{id} eq $m_send })), 1, 'the_request_reached_the_receiver');
$caught = wait_for_phase($node, 'wib deliverer', 'wib deliverer: sending');
is($caught, $pid, 'deliverer_is_caught_sending');
terminate_worker($node, $pid);
$pid = wait_for_worker_pid($node, 'deliverer', $pid);
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM wib.webhook_deliveries WHERE message_id = '$m_send'"),
	'sigterm_while_sending_the_delivery_is_sent_again_and_recorded');

# 3. Recording: once the request is out (its claim committed), a session locks
# webhook_subscriptions, which recording reads, so recording the answer waits.
# (Releasing the dead deliverer's leases does not read it: the next deliverer
# starts sending at once.)
$node->safe_psql('postgres', "$ctx SELECT wib.emit_event('custom.record', '{\"phase\": \"record\"}')");
my $m_record = message_of('custom.record');
wait_for_receipts($rx, 1, sub { $_[0]{id} eq $m_record });
session_query($session, "BEGIN; LOCK TABLE wib.webhook_subscriptions IN ACCESS EXCLUSIVE MODE;");
$caught = wait_for_phase($node, 'wib deliverer', 'wib deliverer: recording results', 1);
is($caught, $pid, 'deliverer_is_caught_recording');
terminate_worker($node, $pid);
session_query($session, 'ROLLBACK');
$pid = wait_for_worker_pid($node, 'deliverer', $pid);
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM wib.webhook_deliveries WHERE message_id = '$m_record'"),
	'sigterm_while_recording_the_delivery_is_sent_again_and_recorded');
$session->quit;

# At least once, and no more: each receipt is a recorded attempt, same webhook-id.
for my $m ([ 'send', $m_send ], [ 'record', $m_record ])
{
	my ($name, $msg) = @$m;
	my $attempts = $node->safe_psql('postgres', "SELECT attempt_number FROM wib.webhook_deliveries WHERE message_id = '$msg'");
	is(receipts($msg), 2, "sigterm_while_${name}ing_the_message_arrives_again_with_its_webhook_id");
	is($attempts, 2, "sigterm_while_${name}ing_each_receipt_is_a_recorded_attempt");
}
is($node->safe_psql('postgres',
	"SELECT count(*) FILTER (WHERE status = 'delivered') || '/' || count(*) FROM wib.webhook_deliveries"),
	'3/3', 'sigterm_loses_no_delivery');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'wib deliverer'"), '1',
	'one_deliverer_runs_after_the_restarts');

$node->stop;
done_testing();
