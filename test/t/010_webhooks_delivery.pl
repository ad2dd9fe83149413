# Webhook delivery for real: the deliverer worker sends signed requests with
# libcurl over HTTPS (a test CA made here with openssl) to the receiver peer,
# and follows the retry rules of the Standard Webhooks specification and the
# SSRF rules of docs/webhooks.md at connect time.
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
my $port = $rx->{port};

my $node = wib_node('webhooks', conf => join("\n",
	"wib.http_allow_cidrs = '127.0.0.0/8, ::1/128'",
	"wib.http_ca_file = '$ca'",
	"wib.webhook_retry_schedule = '1 s, 2 s, 3 s'",
	"wib.http_timeout = 1500ms",
	"wib.http_connect_timeout = 1000ms",
	"wib.webhook_disable_after = 2"));
wait_for_worker_pid($node, 'deliverer');

my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Receiver Co', 'enterprise')");
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'tester';";
my %sub;
my @secrets;
for my $s (['ok', '/ok', 'exponential', 5], ['fail', '/fail/1', 'exponential', 5], ['gone', '/gone', 'exponential', 5],
	['slow', '/slow/3', 'none', 0], ['redirect', '/redirect', 'none', 0], ['retry_after', '/retry-after/3', 'linear', 3],
	['broken', '/status/500', 'none', 0])
{
	my ($name, $path, $policy, $retries) = @$s;
	my ($id, $secret) = split /\|/, $node->safe_psql('postgres',
		"$ctx SELECT id || '|' || secret FROM wib.webhook_subscribe('$name', 'https://127.0.0.1:$port$path', "
		  . "ARRAY['custom.$name'], '$policy', $retries)");
	$sub{$name} = $id;
	push @secrets, $secret;
}
open(my $sf, '>', $rx->{secrets_file}) or die;
print $sf join("\n", @secrets), "\n";
close $sf;

# Emits a custom event for one subscription and returns the delivery's message id.
sub emit
{
	my ($name, $payload) = @_;
	$payload //= '{"n": 1}';
	$node->safe_psql('postgres', "$ctx SELECT wib.emit_event('custom.$name', '$payload')");
	return $node->safe_psql('postgres',
		"SELECT message_id FROM wib.webhook_deliveries WHERE subscription_id = '$sub{$name}' ORDER BY created_at DESC LIMIT 1");
}

sub delivery
{
	my ($msg, $cols) = @_;
	return $node->safe_psql('postgres', "SELECT $cols FROM wib.webhook_deliveries WHERE message_id = '$msg'");
}

# Signed delivery over HTTPS.
my $m_ok = emit('ok', '{"call_id": "c-1", "note": "caf\u00e9"}');
my ($r) = wait_for_receipts($rx, 1, sub { $_[0]{id} eq $m_ok });
ok($r, 'webhook_arrives_over_https_with_the_test_ca');
ok($r && $r->{valid}, 'webhook_signature_verifies_at_the_receiver');
ok($r && $r->{x_wib_same}, 'x_wib_signature_repeats_the_signature');
is($r && $r->{content_type}, 'application/json', 'webhook_content_type_is_json');
like($r && $r->{user_agent}, qr/^wib\//, 'webhook_user_agent_names_wib');
like($r && $r->{body}, qr/"type": "custom\.ok"/, 'webhook_body_carries_the_event_type');
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM wib.webhook_deliveries WHERE message_id = '$m_ok'"),
	'webhook_delivery_is_recorded_delivered');
is(delivery($m_ok, "response_status || ' ' || response_body || ' ' || attempt_number"), '200 ok 1',
	'webhook_response_is_recorded');

# A host name is resolved, checked and pinned; TLS still checks the name.
my ($named_id, $named_secret) = split /\|/, $node->safe_psql('postgres',
	"$ctx SET wib.http_allow_cidrs = '127.0.0.0/8, ::1/128'; "
	  . "SELECT id || '|' || secret FROM wib.webhook_subscribe('named', 'https://localhost:$port/ok', ARRAY['custom.named'])");
open(my $nf, '>>', $rx->{secrets_file}) or die;
print $nf "$named_secret\n";
close $nf;
$sub{named} = $named_id;
my $m_named = emit('named');
($r) = wait_for_receipts($rx, 1, sub { $_[0]{id} eq $m_named });
ok($r && $r->{valid}, 'webhook_to_a_host_name_is_resolved_pinned_and_delivered')
  or diag(delivery($m_named, "status || ' ' || coalesce(last_error, '')"));

# A rolled-back emit sends nothing; the next committed one is sent.
$node->safe_psql('postgres', "$ctx BEGIN; SELECT wib.emit_event('custom.ok', '{\"rolled\": \"back\"}'); ROLLBACK;");
my $m_after = emit('ok', '{"rolled": "no"}');
wait_for_receipts($rx, 1, sub { $_[0]{id} eq $m_after });
is(scalar(grep { $_->{body} =~ /"back"/ } receiver_log($rx)), 0, 'webhook_rolled_back_emit_sends_nothing');

# 500 then 200: retried on the schedule with the same webhook-id.
my $m_fail = emit('fail');
my @fail = wait_for_receipts($rx, 2, sub { $_[0]{id} eq $m_fail });
is(scalar(@fail), 2, 'webhook_500_is_retried_with_the_same_id');
ok(@fail == 2 && $fail[1]{t} - $fail[0]{t} >= 0.9, 'webhook_retry_waits_the_first_step_of_the_schedule');
ok($node->poll_query_until('postgres',
	"SELECT status = 'delivered' AND attempt_number = 2 FROM wib.webhook_deliveries WHERE message_id = '$m_fail'"),
	'webhook_retry_then_200_is_delivered');

# 410: stopped at once.
my $m_gone = emit('gone');
ok($node->poll_query_until('postgres', "SELECT status = 'failed' FROM wib.webhook_deliveries WHERE message_id = '$m_gone'"),
	'webhook_410_fails_the_delivery');
sleep 2;
is(scalar(grep { $_->{id} eq $m_gone } receiver_log($rx)), 1, 'webhook_410_is_not_retried');

# Retry-After longer than the schedule is honoured.
my $m_ra = emit('retry_after');
my @ra = wait_for_receipts($rx, 2, sub { $_[0]{id} eq $m_ra }, 20);
ok(@ra == 2 && $ra[1]{t} - $ra[0]{t} >= 2.9, 'webhook_retry_honours_retry_after')
  or diag(@ra == 2 ? "retried after " . ($ra[1]{t} - $ra[0]{t}) . " s" : "got " . scalar(@ra) . " attempts");

# Slow receiver: the timeout is recorded.
my $m_slow = emit('slow');
ok($node->poll_query_until('postgres', "SELECT status = 'failed' FROM wib.webhook_deliveries WHERE message_id = '$m_slow'"),
	'webhook_slow_receiver_fails_without_retries_under_policy_none');
like(delivery($m_slow, "coalesce(response_status::text, 'none') || ' ' || last_error"), qr/^none Timeout/,
	'webhook_slow_receiver_timeout_is_recorded');
cmp_ok(delivery($m_slow, 'duration_ms'), '<', 3000, 'webhook_timeout_cuts_the_request_short');

# Redirect: not followed.
my $m_redir = emit('redirect');
ok($node->poll_query_until('postgres', "SELECT status = 'failed' FROM wib.webhook_deliveries WHERE message_id = '$m_redir'"),
	'webhook_redirect_is_a_failure');
is(delivery($m_redir, 'response_status'), '302', 'webhook_redirect_status_is_recorded');
is(scalar(grep { $_->{id} eq $m_redir && $_->{path} eq '/ok' } receiver_log($rx)), 0, 'webhook_redirect_is_not_followed');

# Secret rotation: both secrets sign for a day.
$node->safe_psql('postgres', "$ctx SELECT wib.webhook_rotate_secret('$sub{ok}')");
open($sf, '>', $rx->{secrets_file}) or die;
print $sf join("\n", @secrets), "\n";    # only the old secrets: the old signature must still verify
close $sf;
my $m_rot = emit('ok');
($r) = wait_for_receipts($rx, 1, sub { $_[0]{id} eq $m_rot });
is($r && $r->{signatures}, 2, 'webhook_rotation_sends_two_signatures');
ok($r && $r->{valid}, 'webhook_old_secret_still_verifies_after_rotation');

# TLS is verified: without the test CA the request fails.
my $out = $node->safe_psql('postgres', "$ctx
	BEGIN;
	SELECT wib.emit_event('custom.ok', '{\"tls\": \"untrusted\"}');
	SET LOCAL wib.http_ca_file = '';
	SELECT wib.deliver_due(10);
	SELECT last_error FROM wib.webhook_deliveries WHERE payload ->> 'tls' = 'untrusted';
	COMMIT;");
like($out, qr/SSL|certificate/i, 'webhook_tls_certificate_is_verified');

# SSRF at connect time: a host name that resolves to loopback passes subscribe
# (no network then) but is refused when resolved, and nothing is sent.
my $host = `hostname`;
chomp $host;
my $resolves = `getent ahosts $host 2>/dev/null`;
SKIP:
{
	skip "host name $host does not resolve to loopback", 3 unless $resolves =~ /^127\./m;
	my $res = $node->safe_psql('postgres', "$ctx
		BEGIN;
		SELECT id FROM wib.webhook_subscribe('rebind', 'https://$host:$port/ok', ARRAY['custom.rebind']);
		SELECT wib.emit_event('custom.rebind', '{}');
		SET LOCAL wib.http_allow_cidrs = '';
		SELECT wib.deliver_due(10);
		SELECT 'ERR:' || last_error FROM wib.webhook_deliveries WHERE event_type = 'custom.rebind';
		SELECT 'MSG:' || message_id FROM wib.webhook_deliveries WHERE event_type = 'custom.rebind';
		COMMIT;");
	like($res, qr/ERR:.*address 127\.[0-9.]+ is in the blocked range 127\.0\.0\.0\/8/,
		'webhook_hostname_resolving_to_private_address_is_refused_at_connect_time');
	my ($msg) = $res =~ /MSG:(\S+)/;
	sleep 1;
	is(scalar(grep { $_->{id} eq $msg } receiver_log($rx)), 0, 'webhook_refused_address_receives_nothing');
	like($node->safe_psql('postgres', "SELECT status FROM wib.webhook_deliveries WHERE message_id = '$msg'"),
		qr/retrying|failed/, 'webhook_refused_delivery_is_not_delivered');
}

# A run of failed deliveries deactivates the subscription, audits it, and tells the others.
my ($watch_id, $watch_secret) = split /\|/, $node->safe_psql('postgres',
	"$ctx SELECT id || '|' || secret FROM wib.webhook_subscribe('watcher', 'https://127.0.0.1:$port/ok', ARRAY['webhook.disabled'])");
open($sf, '>>', $rx->{secrets_file}) or die;
print $sf "$watch_secret\n";
close $sf;
my $m_b1 = emit('broken');
ok($node->poll_query_until('postgres', "SELECT status = 'failed' FROM wib.webhook_deliveries WHERE message_id = '$m_b1'"),
	'webhook_500_under_policy_none_fails_at_once');
is($node->safe_psql('postgres', "SELECT is_active FROM wib.webhook_subscriptions WHERE id = '$sub{broken}'"), 't',
	'one_failure_leaves_the_subscription_active');
emit('broken');
ok($node->poll_query_until('postgres', "SELECT NOT is_active FROM wib.webhook_subscriptions WHERE id = '$sub{broken}'"),
	'webhook_failures_in_a_row_deactivate_the_subscription');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.audit_log WHERE action = 'webhook:disabled' AND resource_id = '$sub{broken}'"),
	'1', 'webhook_deactivation_is_audited');
($r) = wait_for_receipts($rx, 1, sub { $_[0]{body} =~ /"type": "webhook\.disabled"/ });
ok($r && $r->{valid} && $r->{body} =~ /$sub{broken}/, 'webhook_disabled_event_reaches_the_other_subscriptions');
$node->safe_psql('postgres', "$ctx SELECT wib.emit_event('custom.broken', '{}')");
is($node->safe_psql('postgres',
	"SELECT count(*) FROM wib.webhook_deliveries WHERE subscription_id = '$sub{broken}'"), '2',
	'a_deactivated_subscription_gets_no_new_deliveries');

# The deliverer reports its work.
cmp_ok($node->safe_psql('postgres', "SELECT items_done FROM wib.worker_status WHERE name = 'deliverer'"), '>=', 8,
	'deliverer_counts_its_deliveries');

$node->stop;
done_testing();
