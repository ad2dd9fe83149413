# pg_ctl restart -m immediate (every process killed, crash recovery at the
# next start) during an export and during a delivery pass.  The export is
# still pending after recovery and is then written whole, with no partial file
# left; the pass's deliveries, sent but never recorded, are sent again with
# the same webhook-ids, each receipt a recorded attempt, none lost.
# (CRM sync: test/t/076_faults_crm.pl.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $rx = start_receiver(dir => $dir, name => 'rx', script => wib_root() . '/test/peers/faulty_receiver.py');
my $node = wib_node('faults_immediate', conf => join("\n",
	"wib.http_allow_http = on",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.webhook_lease = 60s"));
my $exports = $node->data_dir . '/wib_exports';
wait_for_worker_pid($node, $_) for qw(scheduler deliverer);

my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Restart Co', 'enterprise')");
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'tester';";
$node->safe_psql('postgres', qq{
	UPDATE wib.scheduled_jobs SET run_every = interval '1 second', enabled = false WHERE name = 'export_jobs';
	$ctx
	SELECT wib.webhook_subscribe('fast', 'http://127.0.0.1:$rx->{port}/ok', ARRAY['custom.fast']);
	SELECT wib.webhook_subscribe('slow', 'http://127.0.0.1:$rx->{port}/slow/30', ARRAY['custom.slow']);
	INSERT INTO wib.calls (organization_id, from_number, to_number, disposition, started_at)
	SELECT '$org', '555' || g, '556' || g, 'row ' || g, '2026-01-01'::timestamptz + g * interval '1 second'
	  FROM generate_series(1, 2000) g;
});

# 1. During an export: its file open, its query waiting for a lock on wib.calls.
my $job = $node->safe_psql('postgres', "$ctx SELECT wib.export_create('calls', 'csv')");
my $part = "$exports/" . $node->safe_psql('postgres', "SELECT storage_key FROM wib.export_jobs WHERE id = '$job'") . '.part';
my $session = wib_session($node);
session_query($session, 'BEGIN; LOCK TABLE wib.calls IN ACCESS EXCLUSIVE MODE;');
$node->safe_psql('postgres',
	"UPDATE wib.scheduled_jobs SET enabled = true, next_run_at = now() WHERE name = 'export_jobs'; SELECT wib.wake('scheduler');");
wait_for_phase($node, 'wib scheduler', 'wib export %', 1);
ok(-e $part, 'the_export_file_is_open_at_the_restart');
$node->stop('immediate');
eval { quietly(sub { $session->quit }) };
$node->start;
is($node->safe_psql('postgres', "SELECT status || ' ' || attempts FROM wib.export_jobs WHERE id = '$job'"), 'pending 0',
	'after_an_immediate_restart_the_export_is_pending');
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM wib.export_jobs WHERE id = '$job'"),
	'after_an_immediate_restart_the_export_completes');
my ($rows, $size, $key) = split /\|/,
  $node->safe_psql('postgres', "SELECT total_rows, file_size_bytes, storage_key FROM wib.export_jobs WHERE id = '$job'");
is($rows, 2000, 'after_an_immediate_restart_every_row_is_exported');
is(-s "$exports/$key", $size, 'after_an_immediate_restart_the_file_has_the_recorded_size');
ok(!-e $part, 'after_an_immediate_restart_no_partial_file_is_left');

# 2. During a delivery pass: 50 deliveries answered at once and one the
# receiver holds (30 s), all in one pass, so none is recorded yet.
$node->safe_psql('postgres', "$ctx
	BEGIN;
	SELECT wib.emit_event('custom.slow', '{\"n\": 0}');
	SELECT count(wib.emit_event('custom.fast', jsonb_build_object('n', g))) FROM generate_series(1, 50) g;
	COMMIT;");
my %attempts;
my @ids = split /\n/, $node->safe_psql('postgres', 'SELECT message_id FROM wib.webhook_deliveries');
is(scalar(@ids), 51, '51_deliveries_are_queued');
my $slow = $node->safe_psql('postgres', "SELECT message_id FROM wib.webhook_deliveries WHERE event_type = 'custom.slow'");
my @first = wait_for_receipts($rx, 51, sub { $_[0]{path} ne '/ok' || $_[0]{body} =~ /custom\.fast/ });
is(scalar(@first), 51, 'the_pass_sent_every_delivery');
wait_for_phase($node, 'wib deliverer', 'wib deliverer: sending');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.webhook_deliveries WHERE status = 'delivered'"), '0',
	'nothing_is_recorded_while_the_pass_sends');
$node->stop('immediate');
$node->start;
ok($node->poll_query_until('postgres', "SELECT count(*) = 51 FROM wib.webhook_deliveries WHERE status = 'delivered'"),
	'after_an_immediate_restart_every_delivery_is_delivered');
%attempts = map { split /\|/ } split /\n/,
  $node->safe_psql('postgres', "SELECT message_id || '|' || attempt_number FROM wib.webhook_deliveries");
my %seen;
$seen{ $_->{id} }++ for receiver_log($rx);
is(scalar(grep { !$seen{$_} } @ids), 0, 'after_an_immediate_restart_every_message_id_reached_the_receiver');
is(scalar(grep { $seen{$_} > $attempts{$_} } @ids), 0, 'after_an_immediate_restart_each_receipt_is_a_recorded_attempt');
is(scalar(grep { $seen{$_} > 2 } @ids), 0, 'after_an_immediate_restart_no_message_arrives_more_than_twice');
is(scalar(grep { $seen{$_} == 2 } @ids), 51,
	'after_an_immediate_restart_the_pass_in_flight_is_sent_again_with_the_same_webhook_ids');

$node->stop;
done_testing();
