# Receivers that fail the way networks do (test/peers/faulty_receiver.py): a
# connection reset in the middle of the response, a TLS handshake that fails
# (a certificate from a CA wib does not trust, a peer that does not speak
# TLS), and a receiver that trickles its answer one byte a second.  Each
# attempt is recorded with a last_error that says what happened, retried on
# the schedule with the same webhook-id, and delivered once the receiver
# behaves (or failed when its retries are spent); nothing is lost.
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;
use WibWebhooks;

my $faulty = wib_root() . '/test/peers/faulty_receiver.py';
my $dir = PostgreSQL::Test::Utils::tempdir();
my $other = PostgreSQL::Test::Utils::tempdir();
my ($ca, $cert, $key) = make_test_ca($dir);
my (undef, $wrong_cert, $wrong_key) = make_test_ca($other);
copy($wrong_cert, "$dir/live.pem") or die;
copy($wrong_key, "$dir/live.key") or die;

my $rx = start_receiver(dir => $dir, name => 'faulty', script => $faulty, tls => [ $cert, $key ]);
my $badtls = start_receiver(dir => $dir, name => 'badtls', script => $faulty, tls => [ "$dir/live.pem", "$dir/live.key" ]);
my $garbage = start_receiver(dir => $dir, name => 'garbage', script => $faulty, args => ['--tls-garbage']);

# The first retry waits 3 s: long enough to read the state a failed attempt left.
my $node = wib_node('faults_network', conf => join("\n",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.http_ca_file = '$ca'",
	"wib.webhook_retry_schedule = '3 s, 3 s'",
	"wib.http_timeout = 2000ms",
	"wib.http_connect_timeout = 1000ms"));
wait_for_worker_pid($node, 'deliverer');

my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Network Co', 'enterprise')");
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'tester';";
my %sub;
for my $s (['reset', $rx, '/reset/1', 5], ['trickle', $rx, '/trickle/1', 5],
	['badtls', $badtls, '/ok', 5], ['garbage', $garbage, '/ok', 1])
{
	my ($name, $r, $path, $retries) = @$s;
	$sub{$name} = $node->safe_psql('postgres',
		"$ctx SELECT id FROM wib.webhook_subscribe('$name', 'https://127.0.0.1:$r->{port}$path', "
		  . "ARRAY['custom.$name'], 'exponential', $retries)");
}

# Emits every event in one transaction: the faults run side by side.
$node->safe_psql('postgres', "$ctx SELECT wib.emit_event('custom.' || n, jsonb_build_object('fault', n))"
	  . " FROM unnest(ARRAY['reset', 'trickle', 'badtls', 'garbage']) n");
my %msg = map {
	$_ => $node->safe_psql('postgres', "SELECT message_id FROM wib.webhook_deliveries WHERE subscription_id = '$sub{$_}'")
} keys %sub;

# The state each failed attempt leaves, caught while it waits for its retry:
# $seen{name}{attempt} = [status, attempt, last_error, response_status,
# seconds to the retry, duration_ms].  Every delivery is watched at once: all
# of a pass's attempts are recorded together and retried 3 s later.  on_seen
# runs once when an attempt is first seen (the user acting on an error).
my %seen;
sub watch
{
	my ($want, $on_seen) = @_;
	for (1 .. 1200)
	{
		my $rows = $node->safe_psql('postgres',
			"SELECT event_type || '|' || status || '|' || attempt_number || '|' || coalesce(last_error, '') || '|'"
			  . " || coalesce(response_status::text, 'none') || '|' || round(extract(epoch FROM next_retry_at - last_attempt_at))"
			  . " || '|' || coalesce(duration_ms, 0) FROM wib.webhook_deliveries WHERE attempt_number > 0 AND leased_until IS NULL");
		for my $row (split /\n/, $rows)
		{
			my ($type, @state) = split(/\|/, $row, -1);
			(my $name = $type) =~ s/^custom\.//;
			next if $seen{$name}{ $state[1] };
			$seen{$name}{ $state[1] } = \@state;
			$on_seen->($name, $state[1]) if $on_seen;
		}
		my $missing = grep { !$seen{ $_->[0] }{ $_->[1] } } @$want;
		return 1 unless $missing;
		usleep(50_000);
	}
	return 0;
}

sub delivered
{
	my ($name) = @_;
	return $node->poll_query_until('postgres',
		"SELECT status = 'delivered' FROM wib.webhook_deliveries WHERE message_id = '$msg{$name}'");
}

# The receiver's operator installs the right certificate as soon as the
# untrusted one has failed; the retry then goes through.
my $badtls_seen_before_fix;
ok(watch([ [ 'reset', 1 ], [ 'trickle', 1 ], [ 'badtls', 1 ], [ 'garbage', 1 ], [ 'garbage', 2 ] ],
		sub {
			my ($name, $attempt) = @_;
			return unless $name eq 'badtls' && $attempt == 1;
			$badtls_seen_before_fix = scalar(receiver_log($badtls));
			copy($cert, "$dir/live.pem") or die;
			copy($key, "$dir/live.key") or die;
			kill 'HUP', $badtls->{pid};
		}), 'every_failed_attempt_is_recorded_before_its_retry');
sub after_attempt { return @{ $seen{ $_[0] }{ $_[1] } // [ ('') x 6 ] } }
note("$_ attempt 1: last_error = " . (after_attempt($_, 1))[2]) for qw(reset trickle badtls garbage);

# Connection reset mid-response: a response head and 4 of 100 bytes, then RST.
my ($status, $attempt, $error, $http, $wait) = after_attempt('reset', 1);
is("$status $attempt $http", 'retrying 1 none', 'reset_mid_response_is_a_failed_attempt_without_a_status');
like($error, qr/reset by peer|Recv failure|Failure when receiving/i, 'reset_mid_response_last_error_says_the_connection_was_reset')
  or diag("last_error: $error");
is($wait, 3, 'reset_mid_response_is_retried_after_the_first_step_of_the_schedule');
ok(delivered('reset'), 'reset_mid_response_is_delivered_on_the_retry');
my @got = grep { $_->{id} eq $msg{reset} } receiver_log($rx);
is(scalar(@got), 2, 'reset_mid_response_receiver_saw_the_same_webhook_id_twice');

# A receiver that trickles one byte a second: the total timeout cuts it at 2 s.
($status, $attempt, $error, $http, $wait, my $ms) = after_attempt('trickle', 1);
is("$status $attempt $http", 'retrying 1 none', 'trickle_is_a_failed_attempt_without_a_status');
like($error, qr/^Timeout was reached/, 'trickle_last_error_is_the_timeout') or diag("last_error: $error");
cmp_ok($ms, '<', 6000, 'trickle_is_cut_short_by_wib_http_timeout');
is($wait, 3, 'trickle_is_retried_after_the_first_step_of_the_schedule');
ok(delivered('trickle'), 'trickle_is_delivered_on_the_retry');

# A certificate from a CA wib does not trust: nothing is sent to that peer.
($status, $attempt, $error, $http) = after_attempt('badtls', 1);
is("$status $attempt $http", 'retrying 1 none', 'untrusted_certificate_is_a_failed_attempt');
like($error, qr/SSL certificate problem: unable to get local issuer certificate/,
	'untrusted_certificate_last_error_names_the_certificate_problem') or diag("last_error: $error");
is($badtls_seen_before_fix, 0, 'untrusted_certificate_peer_receives_nothing');
ok(delivered('badtls'), 'untrusted_certificate_once_fixed_the_retry_is_delivered');
my ($r) = receiver_log($badtls);
is($r && $r->{id}, $msg{badtls}, 'untrusted_certificate_once_fixed_the_same_webhook_id_arrives');

# A peer that answers the TLS handshake with plain text: retried, then failed
# when its retries (1) are spent, with the error kept for the user.
($status, $attempt, $error) = after_attempt('garbage', 1);
is("$status $attempt", 'retrying 1', 'tls_handshake_failure_is_retried');
like($error, qr/SSL|TLS/, 'tls_handshake_failure_last_error_names_tls') or diag("last_error: $error");
($status, $attempt, $error, $http) = after_attempt('garbage', 2);
is("$status $attempt $http", 'failed 2 none', 'tls_handshake_failure_fails_once_retries_are_spent');
like($error, qr/SSL|TLS/, 'tls_handshake_failure_failed_delivery_keeps_its_error');

# Nothing lost: every delivery ended delivered or, where the user must act, failed.
is($node->safe_psql('postgres',
	"SELECT string_agg(event_type || '=' || status, ',' ORDER BY event_type) FROM wib.webhook_deliveries"),
	'custom.badtls=delivered,custom.garbage=failed,custom.reset=delivered,custom.trickle=delivered',
	'every_delivery_ends_delivered_or_failed');
is($node->safe_psql('postgres', "SELECT bool_and(is_active) FROM wib.webhook_subscriptions"), 't',
	'faults_below_the_disable_threshold_keep_subscriptions_active');

$node->stop;
done_testing();
