# Web Push on a Citus cluster: the coordinator's deliverer claims pushes one
# organization at a time, opens the subscriptions' auth secrets on the
# coordinator, encrypts and sends them to the push service peer
# (test/peers/push_service.py), which decrypts what was queued; a 410
# deactivates the subscription, a 500 is retried.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks qw(make_test_ca);
use WibPush;
use WibCitus;

my $dir = PostgreSQL::Test::Utils::tempdir();
my ($ca, $cert, $key) = make_test_ca($dir);
my $ps = start_push_service(dir => $dir, name => 'push', tls => [ $cert, $key ], ca => $ca);
my ($node, $workers) = citus_cluster(conf => join("\n",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.http_ca_file = '$ca'",
	"wib.push_allowed_hosts = '127.0.0.1'",
	"wib.push_retry_base = 1s",
	"wib.http_timeout = 5s"));
sub sql { return $node->safe_psql('postgres', $_[0]) }

my $vapid = sql("SELECT wib.vapid_configure('mailto:push-ops\@example.test')");
my (%peer_id, %sub, %org_of);
for my $o ('One', 'Two')
{
	my $org = sql("SELECT wib.organization_create('Push $o', 'business')");
	for my $user ("alice$o", "bob$o")
	{
		sql("INSERT INTO wib.users (organization_id, id, name, email, role) VALUES ('$org', '$user', '$user', '$user\@example.test', 'agent')");
		my ($s) = @{ push_admin($ps, 'POST', '/__admin/subscriptions', { count => 1, application_server_key => $vapid }) };
		my $json = encode_json({ endpoint => $s->{endpoint}, expirationTime => undef, keys => $s->{keys} });
		$json =~ s/'/''/g;
		my $ctx = "BEGIN; SELECT wib.set_context('$org', '$user', true) \\g /dev/null\n";
		my $dev = sql("$ctx SELECT wib.device_register('$user phone', 'pwa'); COMMIT");
		$sub{$user} = sql("$ctx SELECT wib.push_subscribe('$dev', '$json', NULL); COMMIT");
		$peer_id{$user} = $s->{id};
		$org_of{$user} = $org;
	}
}
my $as = sub { my ($user, $q) = @_; return sql("BEGIN; SELECT wib.set_context('$org_of{$user}', '$user', true) \\g /dev/null\n$q; COMMIT") };

# Pushes to a user of each organization: what the peer decrypts is what was queued.
for my $user ('aliceOne', 'aliceTwo')
{
	is($as->($user, "SELECT wib.push_send('$user', '{\"title\": \"Hello $user\", \"body\": \"from the cluster\"}')"),
		'1', "push_send_queues_one_push_for_$user");
	my ($m) = wait_for_messages($ps, 1, sub { $_[0]{id} eq $peer_id{$user} && $_[0]{payload} =~ /Hello $user/ }, 60);
	ok($m, "the_push_to_${user}_arrives_at_the_push_service");
	my ($push_id, $queued) = split /\|/, sql("SELECT id || '|' || notification::text FROM wib.push_deliveries WHERE subscription_id = '$sub{$user}'"), 2;
	is_deeply($m && decode_json($m->{payload}), { %{ decode_json($queued) }, id => $push_id, type => 'notification' },
		"the_decrypted_payload_of_${user}_is_the_queued_notification");
	is($m && $m->{vapid_k}, $vapid, "the_push_to_${user}_is_signed_with_the_vapid_key");
	ok($node->poll_query_until('postgres', "SELECT status = 'delivered' AND response_status = 201 FROM wib.push_deliveries WHERE id = '$push_id'"),
		"the_push_to_${user}_is_recorded_delivered_on_its_shard");
}

# 410: the subscription is deactivated and audited; 500 once: retried and delivered.
push_admin($ps, 'POST', '/__admin/behaviour', { id => $peer_id{bobOne}, status => 410 });
$as->('aliceOne', "SELECT wib.push_send('bobOne', '{\"title\": \"Are you there?\"}')");
ok($node->poll_query_until('postgres', "SELECT NOT active FROM wib.push_subscriptions WHERE id = '$sub{bobOne}'"),
	'a_410_deactivates_the_subscription_on_the_cluster');
is(sql("SELECT count(*) FROM wib.audit_log WHERE action = 'mobile:push_subscription_expired' AND resource_id = '$sub{bobOne}'"),
	'1', 'the_deactivation_is_audited');
push_admin($ps, 'POST', '/__admin/behaviour', { id => $peer_id{bobTwo}, status => 500, times => 1 });
$as->('aliceTwo', "SELECT wib.push_send('bobTwo', '{\"title\": \"Retry me\"}')");
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' AND attempt_number = 2 FROM wib.push_deliveries WHERE subscription_id = '$sub{bobTwo}'"),
	'a_500_is_retried_and_delivered_on_the_cluster');

my $log = log_since_distribute($node);
my @failed = $log =~ /(could not run distributed query with FOR UPDATE|could not create distributed plan)/g;
is(scalar(@failed), 0, 'the_push_channel_never_fails_on_the_cluster');

$node->stop;
$_->stop for @$workers;
done_testing();
