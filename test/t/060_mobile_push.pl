# Web Push for real: the deliverer encrypts (RFC 8291) and authorizes (VAPID,
# RFC 8292) each push and sends it over HTTPS to the push service peer, which
# checks the headers and the token and decrypts the body as the browser
# would.  What it decrypts must equal what was queued; 410 deactivates the
# subscription; 413, 429 and 5xx are handled as RFC 8030 says; a
# revoked device gets nothing; no push of any event type carries personal
# data; a deliverer killed with SIGKILL mid-run loses nothing.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use WibTest;
use WibWebhooks qw(make_test_ca);
use WibPush;

my $batch = 100;
my $dir = PostgreSQL::Test::Utils::tempdir();
my ($ca, $cert, $key) = make_test_ca($dir);
my $ps = start_push_service(dir => $dir, name => 'push', tls => [ $cert, $key ], ca => $ca);

my $node = wib_node('mobile_push', conf => join("\n",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.http_ca_file = '$ca'",
	"wib.push_allowed_hosts = '127.0.0.1'",
	"wib.push_retry_base = 1s",
	"wib.push_batch_size = $batch",
	"wib.http_timeout = 5s",
	"restart_after_crash = on"));
wait_for_worker_pid($node, 'deliverer');
sub sql { return $node->safe_psql('postgres', $_[0]) }

my $vapid = sql("SELECT wib.vapid_configure('mailto:push-ops\@example.test')");
like($vapid, qr/^[A-Za-z0-9_-]{87}$/, 'vapid_configure_returns_a_base64url_public_key');
my $org = sql("SELECT wib.organization_create('Push Co', 'business')");
sql("INSERT INTO wib.users (organization_id, id, name, email, role) VALUES
	('$org', 'alice', 'Alice Example', 'alice\@example.test', 'agent'),
	('$org', 'bob', 'Bob Example', 'bob\@example.test', 'agent'),
	('$org', 'carol', 'Carol Example', 'carol\@example.test', 'admin'),
	('$org', 'dave', 'Dave Example', 'dave\@example.test', 'agent')");

# One device and one subscription of the push service (bound to our VAPID key) per user.
my (%dev, %sub, %peer_id);
for my $user (qw(alice bob carol dave))
{
	my ($s) = @{ push_admin($ps, 'POST', '/__admin/subscriptions', { count => 1, application_server_key => $vapid }) };
	my $json = encode_json({ endpoint => $s->{endpoint}, expirationTime => undef, keys => $s->{keys} });
	$json =~ s/'/''/g;
	my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = '$user';";
	$dev{$user} = sql("$ctx SELECT wib.device_register('$user phone', 'pwa')");
	my $events = $user eq 'dave' ? "ARRAY['*']" : 'NULL';
	$sub{$user} = sql("$ctx SELECT wib.push_subscribe('$dev{$user}', '$json', $events)");
	$peer_id{$user} = $s->{id};
}
my $as = sub { my ($user, $q) = @_; return sql("SET wib.org_id = '$org'; SET wib.user_id = '$user'; $q") };

# Messages of the peer for a user's subscription, with their payload decoded.
sub messages_of
{
	my ($user, $n, $timeout) = @_;
	my @m = wait_for_messages($ps, $n, sub { $_[0]{id} eq $peer_id{$user} }, $timeout);
	$_->{note} = decode_json($_->{payload}) for @m;
	return @m;
}

# Waits for the push titled title to reach a user's subscription; returns its message.
sub message_titled
{
	my ($user, $title, $timeout) = @_;
	my ($msg) = wait_for_messages($ps, 1, sub { $_[0]{id} eq $peer_id{$user} && $_[0]{payload} =~ /\Q"$title"\E/ }, $timeout);
	$msg->{note} = decode_json($msg->{payload}) if $msg;
	return $msg;
}

# 1. What the peer decrypts is what was queued.
is($as->('carol', "SELECT wib.push_send('alice', '{\"title\": \"Callback due\", \"body\": \"Open the app to call back.\", \"url\": \"/calls\", \"tag\": \"callback\"}')"),
	'1', 'push_send_queues_one_push');
my ($m) = messages_of('alice', 1);
ok($m, 'the_push_arrives_at_the_push_service');
my $push = sql("SELECT id || '|' || notification::text FROM wib.push_deliveries WHERE subscription_id = '$sub{alice}'");
my ($push_id, $queued) = split /\|/, $push, 2;
is_deeply($m && $m->{note}, { %{ decode_json($queued) }, id => $push_id, type => 'notification' },
	'the_decrypted_payload_is_the_queued_notification_with_its_id_and_type');
is($m && $m->{vapid_k}, $vapid, 'the_token_is_signed_with_the_configured_vapid_key');
is($m && $m->{jwt_claims}{aud}, $ps->{origin}, 'the_token_audience_is_the_push_services_origin');
is($m && $m->{jwt_claims}{sub}, 'mailto:push-ops@example.test', 'the_token_names_the_configured_subject');
cmp_ok($m && $m->{jwt_claims}{exp} - time(), '<=', 86400, 'the_token_expires_within_24_hours');
is($m && $m->{ttl}, 86400, 'the_ttl_header_is_wib_push_ttl');
is($m && $m->{urgency}, 'normal', 'the_urgency_header_is_sent');
like($m && $m->{topic}, qr/^[A-Za-z0-9_-]{32}$/, 'a_tagged_notification_carries_a_topic');
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' AND response_status = 201 FROM wib.push_deliveries WHERE id = '$push_id'"),
	'the_push_is_recorded_delivered');

# The token is reused for the same push service until shortly before it expires.
$as->('carol', "SELECT wib.push_send('alice', '{\"title\": \"Second\"}')");
my $second = message_titled('alice', 'Second');
is($second && $second->{jwt_claims}{exp}, $m && $m->{jwt_claims}{exp}, 'the_vapid_token_is_cached_per_push_service');

# push_test and an event.
my $test_id = $as->('alice', "SELECT wib.push_test('$dev{alice}')");
my $tm = message_titled('alice', 'Test notification');
is($tm && $tm->{note}{id}, $test_id, 'push_test_arrives');
$as->('alice', "SELECT wib.emit_event('export.completed', '{\"export_id\": \"6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10\", \"requested_by\": \"Alice Example\"}')");
my $ev = message_titled('alice', 'Export ready');
is($ev && $ev->{note}{url}, '/exports/6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10', 'an_event_push_links_into_the_app');

# 2. 410: the subscription is deactivated at once, and audited.
push_admin($ps, 'POST', '/__admin/behaviour', { id => $peer_id{bob}, status => 410 });
$as->('carol', "SELECT wib.push_send('bob', '{\"title\": \"Are you there?\"}')");
ok($node->poll_query_until('postgres', "SELECT NOT active FROM wib.push_subscriptions WHERE id = '$sub{bob}'"),
	'a_410_deactivates_the_subscription');
like(sql("SELECT deactivated_reason FROM wib.push_subscriptions WHERE id = '$sub{bob}'"), qr/410/, 'the_reason_names_the_410');
is(sql("SELECT count(*) FROM wib.audit_log WHERE action = 'mobile:push_subscription_expired' AND resource_id = '$sub{bob}'"),
	'1', 'the_deactivation_is_audited');
is($as->('carol', "SELECT wib.push_send('bob', '{\"title\": \"Again\"}')"), '0', 'nothing_is_queued_for_a_gone_subscription');

# 3. 413 fails with a clear error; 429 waits for Retry-After; 500 is retried.
push_admin($ps, 'POST', '/__admin/behaviour', { id => $peer_id{carol}, status => 413, times => 1 });
$as->('carol', "SELECT wib.push_send('carol', '{\"title\": \"Too big, says the service\"}')");
ok($node->poll_query_until('postgres', "SELECT status = 'failed' AND last_error LIKE '%too large%' FROM wib.push_deliveries WHERE notification ->> 'title' = 'Too big, says the service'"),
	'a_413_fails_with_a_clear_error');
push_admin($ps, 'POST', '/__admin/behaviour', { id => $peer_id{carol}, status => 429, retry_after => 3, times => 1 });
my $t429 = time();
$as->('carol', "SELECT wib.push_send('carol', '{\"title\": \"After a 429\"}')");
my $after = message_titled('carol', 'After a 429', 30);
ok($after, 'a_push_refused_with_429_is_delivered_later');
cmp_ok($after ? $after->{ts} - $t429 : 0, '>=', 2.5, 'the_retry_honours_retry_after');
push_admin($ps, 'POST', '/__admin/behaviour', { id => $peer_id{carol}, status => 500, times => 1 });
$as->('carol', "SELECT wib.push_send('carol', '{\"title\": \"After a 500\"}')");
ok(message_titled('carol', 'After a 500', 30), 'a_push_refused_with_500_is_retried');
is(sql("SELECT attempt_number FROM wib.push_deliveries WHERE notification ->> 'title' = 'After a 500'"), '2',
	'it_took_a_second_attempt');

# 4. A revoked device gets nothing, not even what was queued before.
sql("BEGIN; SELECT wib.set_context('$org', 'carol', true);
	SELECT wib.push_send('carol', '{\"title\": \"Queued before the revoke\"}');
	SELECT wib.device_revoke('$dev{carol}'); COMMIT;");
$as->('carol', "SELECT wib.emit_event('anomaly.detected', '{}')");
is($as->('carol', "SELECT wib.push_send('carol', '{\"title\": \"After the revoke\"}')"), '0', 'push_send_skips_a_revoked_device');
usleep(1_500_000);
ok(!(grep { $_->{note}{title} =~ /revoke|Unusual/ } messages_of('carol', 0)), 'a_revoked_device_receives_nothing');

# 5. No personal data in any push, for every event type: the catalogue's
# examples and the core tables' own events (numbers, names, transcripts).
my @types = split /\n/, sql("SELECT event_type FROM wib.event_types ORDER BY 1");
sql("SET wib.org_id = '$org'; SET wib.user_id = 'dave';
	SELECT wib.emit_event(event_type, example) FROM wib.event_types ORDER BY event_type;
	SELECT wib.emit_event('ivr.call_ended', example || '{\"final_action\": \"voicemail\"}') FROM wib.event_types WHERE event_type = 'ivr.call_ended';
	SELECT wib.emit_event('custom.private', '{\"name\": \"Jane Private\", \"phone\": \"+15557654321\"}');
	INSERT INTO wib.calls (organization_id, id, agent_id, from_number, to_number, status)
	VALUES ('$org', 'aa000000-0000-4000-8000-000000000001', 'dave', '+15551230001', '+15559870002', 'in_progress');
	UPDATE wib.calls SET status = 'completed', ended_at = now() WHERE id = 'aa000000-0000-4000-8000-000000000001';
	INSERT INTO wib.recordings (organization_id, call_id, recording_url, status, transcript)
	VALUES ('$org', 'aa000000-0000-4000-8000-000000000001', 'https://media.example.test/r/secret.mp3', 'ready',
	        'Hi, this is Jane Private, my card number is 4111 1111 1111 1111');
	INSERT INTO wib.ai_summaries (organization_id, call_id, summary, overall_sentiment, sentiment_score)
	VALUES ('$org', 'aa000000-0000-4000-8000-000000000001', 'Jane Private wants a refund', 'negative', -0.5);
	INSERT INTO wib.call_outcomes (organization_id, call_id, outcome, notes) VALUES ('$org', 'aa000000-0000-4000-8000-000000000001', 'callback', 'Call Jane back');
	INSERT INTO wib.scorecards (organization_id, call_id, agent_id, total_score, notes) VALUES ('$org', 'aa000000-0000-4000-8000-000000000001', 'dave', 71, 'Jane was upset');");
my $queued_dave = sql("SELECT count(*) FROM wib.push_deliveries WHERE subscription_id = '$sub{dave}'");
my @dave = messages_of('dave', $queued_dave, 60);
is(scalar(@dave), $queued_dave, "every_queued_event_push_arrives ($queued_dave)");
my %seen_type = map { $_->{note}{type} => 1 } @dave;
is_deeply([ grep { !$seen_type{$_} && $_ ne 'ivr.call_ended' } @types ], [], 'every_event_type_of_the_catalogue_was_pushed');
ok($seen_type{'ivr.call_ended'}, 'a_voicemail_was_pushed');
# Every string of the payloads that is not a UUID, and the core rows' data.
my %pii;
for my $example (split /\n/, sql("SELECT example::text FROM wib.event_types"))
{
	my $walk;
	$walk = sub {
		my ($v) = @_;
		if (ref $v eq 'HASH') { $walk->($_) for values %$v }
		elsif (ref $v eq 'ARRAY') { $walk->($_) for @$v }
		elsif (defined $v && !ref $v && $v =~ /[A-Za-z+]/ && length($v) > 3
			&& $v !~ /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
			&& $v !~ /^(inbound|outbound|completed|queued|answered|positive|negative|sale|transfer|calls|csv|call_volume|no_answer|failed|success|partial|schedule|manual|hubspot|salesforce)$/
			&& $v !~ /^\d{4}-\d\d-\d\dT/) { $pii{$v} = 1 }
	};
	$walk->(decode_json($example));
}
$pii{$_} = 1 for ('Jane', '+1555', '4111', 'Alice Example', 'alice@example.test', 'refund', 'media.example.test');
my @leaks;
for my $msg (@dave)
{
	my $text = $msg->{payload};
	(my $stripped = $text) =~ s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}//g;
	push @leaks, "$msg->{note}{type}: $text" if $stripped =~ /\d{5,}/ || grep { index($text, $_) >= 0 } keys %pii;
}
is_deeply(\@leaks, [], 'no_push_of_any_event_type_carries_call_content_numbers_or_names');
diag(scalar(@dave) . ' event pushes decrypted and checked against ' . scalar(keys %pii) . ' payload values');

# 6. At least once across a SIGKILL of the deliverer mid-run.
my $n = 3000;
push_admin($ps, 'POST', '/__admin/reset', {});
$as->('carol', "SELECT count(wib.push_send('alice', jsonb_build_object('title', 'load ' || g))) FROM generate_series(1, $n) g");
my $flowing = 0;
for (1 .. 600)
{
	$flowing = grep { $_->{payload} =~ /load / } push_messages($ps);
	last if $flowing >= 300;
	usleep(100_000);
}
cmp_ok($flowing, '>=', 300, 'pushes_are_flowing_before_the_kill');
my $pid = worker_pid($node, 'deliverer');
kill 'KILL', $pid;
ok($node->poll_query_until('postgres', "SELECT count(*) < $n FROM wib.push_deliveries WHERE notification ->> 'title' LIKE 'load %' AND status = 'delivered'"),
	'the_kill_happened_mid_run');
wait_for_worker_pid($node, 'deliverer', $pid);
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM wib.push_deliveries WHERE notification ->> 'title' LIKE 'load %' AND status <> 'delivered'"),
	'every_push_is_recorded_delivered_after_the_restart');
my @ids = split /\n/, sql("SELECT id FROM wib.push_deliveries WHERE notification ->> 'title' LIKE 'load %'");
my %got;
$got{ decode_json($_->{payload})->{id} }++ for grep { $_->{payload} =~ /load / } push_messages($ps);
my @missing = grep { !$got{$_} } @ids;
my $dups = 0;
$dups += $got{$_} - 1 for grep { $got{$_} } @ids;
is(scalar(@ids), $n, "${n}_pushes_were_queued");
is(scalar(@missing), 0, 'every_push_reaches_the_push_service_decrypted');
cmp_ok($dups, '<=', $batch * 2, 'duplicates_only_among_the_batches_in_flight');
diag("kill -9: $dups duplicate receipts (same push id, for the service worker to drop)");
my $stats = push_admin($ps, 'GET', '/__admin/stats');
is_deeply([ grep { $_->{status} != 201 } @{ $stats->{rejections} } ], [], 'the_push_service_refused_nothing');

$node->stop;
done_testing();
