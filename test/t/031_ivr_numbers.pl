# Inbound numbers through Telnyx's API v2, against the Telnyx peer over HTTPS
# (test/peers/telnyx.py serve): the operator's account, the number search,
# orders (pending then success, a failure, a refusal, answers lost or 5xx
# retried without a second order), the number answering calls once active,
# releases (retried until Telnyx confirms), the plan limit counting numbers
# being ordered, and the releases an organization's deletion leaves behind.
use strict;
use warnings;
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;
use WibWebhooks;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $json = JSON::PP->new->utf8->canonical;
my $peer = wib_root() . '/test/peers/telnyx.py';
my ($ca, $cert, $key) = make_test_ca($dir);
my $api_key = 'KEYtest' . join('', map { ('a' .. 'z')[ rand 26 ] } 1 .. 24);

# The Telnyx API peer.
unlink "$dir/api.port";
my $peer_pid = fork();
die "fork: $!" unless defined $peer_pid;
if ($peer_pid == 0)
{
	open(STDOUT, '>', "$dir/api.out");
	open(STDERR, '>&', \*STDOUT);
	exec('python3', $peer, 'serve', '--port-file', "$dir/api.port", '--tls', $cert, $key,
		'--api-key', $api_key, '--connection-id', 'conn-wib', '--pending-polls', '2', '--log', "$dir/api.log")
	  or die "exec: $!";
}
END { kill 'TERM', $peer_pid if $peer_pid }
for (1 .. 100) { last if -s "$dir/api.port"; usleep(100_000); }
my $port = slurp_file("$dir/api.port");
my $api_url = "https://127.0.0.1:$port";

# Admin calls to the peer (loopback, no key).
sub admin
{
	my ($method, $path, $body) = @_;
	my ($out, $err);
	my @cmd = ('curl', '-s', '--cacert', $ca, '-X', $method, "$api_url$path");
	push @cmd, '-d', $json->encode($body) if $body;
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err) or die "curl $path: $err";
	return $json->decode($out);
}

# The account's own API, as someone else using the account would.
sub api
{
	my ($method, $path, $body) = @_;
	my ($out, $err);
	my @cmd = ('curl', '-s', '--cacert', $ca, '-X', $method, '-H', "Authorization: Bearer $api_key",
		'-H', 'Content-Type: application/json', "$api_url$path");
	push @cmd, '-d', $json->encode($body) if $body;
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err) or die "curl $path: $err";
	return $json->decode($out);
}

sub peer_cli
{
	my ($input, @args) = @_;
	my ($out, $err);
	IPC::Run::run([ 'python3', $peer, @args ], '<', \$input, '>', \$out, '2>', \$err)
	  or die "peer @args failed: $err";
	return $json->decode($out);
}

system('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', "$dir/telnyx.pem") == 0 or die;
my $public_key = peer_cli('', 'pubkey', "$dir/telnyx.pem")->{public_key};

my $node = wib_node('ivr_numbers', conf => join("\n",
	"wib.http_ca_file = '$ca'",
	"wib.telnyx_public_key = '$public_key'",
	"wib.telnyx_retry_delay = 1s",
	"wib.telnyx_poll_interval = 1s"));

sub sql { return $node->safe_psql('postgres', $_[0]) }

# Runs SQL; returns its stderr (errors with their SQLSTATE), '' when it succeeded.
sub sql_error
{
	my ($q) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', $q, stdout => \$out, stderr => \$err, on_error_stop => 1,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return $err;
}

sub wait_for
{
	my ($q, $what) = @_;
	ok($node->poll_query_until('postgres', $q), $what);
}

my $acme = sql("SELECT wib.organization_create('Acme', 'business')");
my $ctx = "SET wib.org_id = '$acme'; SET wib.user_id = 'admin-1';";
sql("$ctx SELECT wib.ivr_menu_create('{\"name\": \"Main\", \"greeting_text\": \"Welcome to Acme.\", \"options\": [{\"digit\": \"1\", \"action_type\": \"hangup\"}]}')");
my $menu = sql("SELECT id FROM wib.ivr_menus WHERE name = 'Main'");

# -- Configuration --------------------------------------------------------
like(sql_error("$ctx SELECT * FROM wib.ivr_number_search('local', '415')"), qr/WB307: the Telnyx API is not configured/,
	'search_refused_until_configured');
like(sql_error(q{SELECT wib.telnyx_configure('{"apikey": "x"}')}), qr/22023: unknown field "apikey" in settings/,
	'configure_refuses_unknown_keys_naming_them');
like(sql_error(q{SELECT wib.telnyx_configure('{"api_url": "http://api.telnyx.com"}')}), qr/22023: invalid api_url/,
	'configure_refuses_a_url_that_is_not_https');
is(sql(qq{SELECT wib.telnyx_configure('{"api_key": "wrong-key-1234", "api_url": "$api_url/", "connection_id": "conn-wib"}') ->> 'api_url'}),
	$api_url, 'configure_sets_the_account');
is(sql("SELECT strpos(encode(api_key, 'escape'), 'wrong-key-1234') = 0 AND api_key IS NOT NULL FROM wib.telnyx_config"),
	't', 'the_api_key_is_stored_sealed');
$node->safe_psql('postgres', 'CREATE ROLE ops LOGIN; GRANT wib_admin TO ops;');
like(sql_error("SET ROLE ops; SELECT api_key FROM wib.telnyx_config"), qr/permission denied/,
	'operators_cannot_read_the_api_key_back');

# -- Search -----------------------------------------------------------------
my $err = sql_error("$ctx SELECT * FROM wib.ivr_number_search('local', '415')");
like($err, qr/WB308: the Telnyx number search failed/, 'a_refused_key_fails_the_search');
like($err, qr/HTTP 401: Authentication failed/, 'the_search_error_says_telnyx_refused_the_key');
sql(qq{SELECT wib.telnyx_configure('{"api_key": "$api_key"}')});
is(sql("$ctx SELECT string_agg(phone_number || ' ' || monthly_cost_cents, ',') FROM wib.ivr_number_search('local', '415', 3)"),
	'+14155550100 100,+14155550101 100,+14155550102 100', 'search_returns_numbers_and_monthly_cost_in_cents');
is(sql("$ctx SELECT string_agg(phone_number || ' ' || monthly_cost_cents, ',') FROM wib.ivr_number_search('toll_free', NULL, 1)"),
	'+18885550100 215', 'search_returns_toll_free_numbers');
like(sql_error("$ctx SELECT * FROM wib.ivr_number_search('local', '41')"), qr/22023: invalid area_code/,
	'search_refuses_a_bad_area_code');
like(sql_error("$ctx SELECT * FROM wib.ivr_number_search('local', NULL, 51)"), qr/22023: invalid max_rows/,
	'search_refuses_too_many_rows');
like(sql_error("$ctx SELECT wib.ivr_number_order('+14155550199', 'Not offered')"), qr/WB309: phone number \+14155550199 was not offered/,
	'order_refuses_a_number_not_offered');

# A Telnyx that takes the connection and never answers: the user waiting on the
# settings page gets WB308 once wib.telnyx_search_timeout is up, not later.
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 5, Proto => 'tcp')
  or die "listen: $!";
my $silent_url = 'https://127.0.0.1:' . $silent->sockport;
sql(qq{SELECT wib.telnyx_configure('{"api_url": "$silent_url"}')});
my $t0 = Time::HiRes::time();
$err = sql_error("$ctx SET wib.telnyx_search_timeout = '1s'; SELECT * FROM wib.ivr_number_search('local', '415')");
my $waited = Time::HiRes::time() - $t0;
like($err, qr/WB308: the Telnyx number search failed.*no answer from Telnyx/s, 'a_silent_telnyx_fails_the_search');
ok($waited >= 0.9 && $waited < 4, sprintf('the_search_gives_up_after_its_timeout (%.1f s for 1 s)', $waited));
close $silent;
sql(qq{SELECT wib.telnyx_configure('{"api_url": "$api_url"}')});

# -- Order: pending, then success; idempotent ---------------------------------
my $main = sql("$ctx SELECT wib.ivr_number_order('+14155550100', 'Main line', NULL, 'order-main-1')");
is(sql("$ctx SELECT wib.ivr_number_order('+14155550100', 'Main line', NULL, 'order-main-1')"), $main,
	'a_retried_order_returns_the_same_number');
is(sql("SELECT count(*) || ' ' || min(status) || ' ' || min(monthly_cost_cents) FROM wib.inbound_numbers WHERE phone_number = '+14155550100'"),
	'1 ordering 100', 'the_order_is_recorded_as_ordering_with_its_cost');
wait_for("SELECT status = 'active' AND telnyx_number_id IS NOT NULL FROM wib.inbound_numbers WHERE id = '$main'",
	'the_number_becomes_active_when_telnyx_reports_success');
my $state = admin('GET', '/__admin/state');
my @orders = grep { $_->{customer_reference} eq $main } @{ $state->{orders} };
is(scalar(@orders), 1, 'one_order_was_placed_for_a_retried_request');
is($orders[0]{connection_id}, 'conn-wib', 'the_order_attaches_the_number_to_the_connection');
my ($resource) = grep { $_->{phone_number} eq '+14155550100' } @{ $state->{phone_numbers} };
is(sql("SELECT telnyx_order_id || ' ' || telnyx_number_id FROM wib.inbound_numbers WHERE id = '$main'"),
	"$orders[0]{id} $resource->{id}", 'the_row_holds_the_order_id_and_the_phone_number_resource_id');
is(sql("SELECT count(*) FROM wib.audit_log WHERE action = 'ivr:number_provisioned' AND resource_id = '$main'"), '1',
	'the_order_is_audited_ivr_number_provisioned');

# -- The number answers calls, then is released --------------------------------
sql("$ctx SELECT wib.ivr_number_assign('$main', '$menu')");
sub call
{
	my ($to, $sid) = @_;
	my $cb = peer_cli('', 'callback', "$dir/telnyx.pem", 'inbound', "CallSid=$sid", "To=$to", 'From=+15559990001');
	my ($out, $e) = ('', '');
	$node->psql('postgres', "SELECT wib.ivr_webhook('inbound', '\\x$cb->{body_hex}'::bytea, '$cb->{signature}', '$cb->{timestamp}')",
		stdout => \$out, stderr => \$e, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return $e ne '' ? $e : $out;
}
like(call('+14155550100', 'v3:main-1'), qr/<Gather .*Welcome to Acme\./, 'an_inbound_call_to_the_ordered_number_is_answered');
sql("$ctx SELECT wib.ivr_number_release('$main')");
like(call('+14155550100', 'v3:main-2'), qr/WB305: dialled number \+14155550100 is not provisioned/,
	'a_released_number_no_longer_routes');
wait_for("SELECT status = 'released' FROM wib.inbound_numbers WHERE id = '$main'", 'the_release_is_confirmed_by_telnyx');
is(scalar(grep { $_->{id} eq $resource->{id} } @{ admin('GET', '/__admin/state')->{released} }), 1,
	'telnyx_released_the_phone_number_resource');

# -- Failures: an order that fails, an order refused, a refused key --------------
admin('POST', '/__admin/fail_numbers', { numbers => ['+14155550101'] });
my $failing = sql("$ctx SELECT wib.ivr_number_order('+14155550101', 'Will fail')");
wait_for("SELECT status = 'failed' FROM wib.inbound_numbers WHERE id = '$failing'", 'an_order_telnyx_fails_fails_the_number');
like(sql("SELECT telnyx_error FROM wib.inbound_numbers WHERE id = '$failing'"), qr/Telnyx could not fulfil the order \(failure\)/,
	'the_failure_is_recorded_with_its_reason');
is(sql("SELECT count(*) FROM wib.audit_log WHERE action = 'ivr:number_order_failed' AND resource_id = '$failing'"), '1',
	'the_failure_is_audited');
# Someone else takes +14155550102 between the search and the order: Telnyx answers 422.
api('POST', '/v2/number_orders', { phone_numbers => [ { phone_number => '+14155550102' } ], connection_id => 'conn-wib' });
my $taken = sql("$ctx SELECT wib.ivr_number_order('+14155550102', 'Taken')");
wait_for("SELECT status = 'failed' FROM wib.inbound_numbers WHERE id = '$taken'", 'an_order_telnyx_refuses_fails_the_number');
like(sql("SELECT telnyx_error FROM wib.inbound_numbers WHERE id = '$taken'"), qr/^HTTP 422: Number not available: \+14155550102 is not available for ordering\. \(10035\)/,
	'the_refusal_is_recorded_with_telnyxs_error');
sql("$ctx SELECT * FROM wib.ivr_number_search('local', '212', 2)");
sql(q{SELECT wib.telnyx_configure('{"api_key": "revoked-key-123"}')});
my $badkey = sql("$ctx SELECT wib.ivr_number_order('+12125550100', 'Bad key')");
wait_for("SELECT status = 'failed' FROM wib.inbound_numbers WHERE id = '$badkey'", 'an_order_with_a_refused_key_fails');
like(sql("SELECT telnyx_error FROM wib.inbound_numbers WHERE id = '$badkey'"), qr/^HTTP 401: Authentication failed/,
	'the_401_is_recorded');
sql(qq{SELECT wib.telnyx_configure('{"api_key": "$api_key"}')});

# -- 5xx: retried, never ordered twice ---------------------------------------
admin('POST', '/__admin/inject', { method => 'POST', path => '/v2/number_orders', status => 503, count => 2 });
my $retried = sql("$ctx SELECT wib.ivr_number_order('+12125550101', 'Retried')");
wait_for("SELECT status = 'active' FROM wib.inbound_numbers WHERE id = '$retried'", 'an_order_answered_503_twice_goes_through');
# The order is placed, but its answer is lost (a 500 after the fact): found by its reference, not placed again.
sql("$ctx SELECT * FROM wib.ivr_number_search('local', '646', 1)");
admin('POST', '/__admin/inject', { method => 'POST', path => '/v2/number_orders', status => 500, count => 1, after => JSON::PP::true });
my $lost = sql("$ctx SELECT wib.ivr_number_order('+16465550100', 'Answer lost')");
wait_for("SELECT status = 'active' FROM wib.inbound_numbers WHERE id = '$lost'", 'an_order_whose_answer_was_lost_goes_through');
$state = admin('GET', '/__admin/state');
is(scalar(grep { ($_->{customer_reference} // '') eq $retried } @{ $state->{orders} }), 1, 'the_503_order_was_placed_once');
is(scalar(grep { ($_->{customer_reference} // '') eq $lost } @{ $state->{orders} }), 1, 'the_lost_answer_order_was_placed_once');
is(admin('GET', '/__admin/stats')->{counts}{injected}{503}, 2, 'the_peer_answered_503_twice');

# A release answered 500 twice is retried until Telnyx confirms it.
wait_for("SELECT telnyx_number_id IS NOT NULL FROM wib.inbound_numbers WHERE id = '$retried'", 'the_resource_id_is_known');
admin('POST', '/__admin/inject', { method => 'DELETE', path => '/v2/phone_numbers/.*', status => 500, count => 2 });
sql("$ctx SELECT wib.ivr_number_release('$retried')");
wait_for("SELECT status = 'released' FROM wib.inbound_numbers WHERE id = '$retried'", 'a_release_answered_500_twice_is_retried_until_confirmed');
is(admin('GET', '/__admin/stats')->{counts}{'DELETE /v2/phone_numbers/{id}'}{200}, 2, 'each_release_deleted_its_number_once');

# -- The plan limit counts numbers being ordered -------------------------------
admin('POST', '/__admin/config', { pending_polls => 1000 });
my $small = sql("SELECT wib.organization_create('Small', 'business')");
my $sctx = "SET wib.org_id = '$small'; SET wib.user_id = 'admin-1';";
sql("$sctx SELECT wib.ivr_number_add('+1555444000' || n, 'local', 'Line ' || n) FROM generate_series(1, 4) n");
sql("$sctx SELECT * FROM wib.ivr_number_search('local', '718', 2)");
my $pending = sql("$sctx SELECT wib.ivr_number_order('+17185550100', 'Fifth')");
wait_for("SELECT telnyx_order_id IS NOT NULL FROM wib.inbound_numbers WHERE id = '$pending'", 'the_pending_order_is_placed');
like(sql_error("$sctx SELECT wib.ivr_number_order('+17185550101', 'Sixth')"), qr/WB002: plan limit "inbound_numbers" reached: 5 of 5/,
	'a_number_still_being_ordered_counts_against_the_plan');

# -- Deleting an organization releases its numbers at Telnyx ------------------
my $leaving = sql("SELECT wib.organization_create('Leaving', 'enterprise')");
my $lctx = "SET wib.org_id = '$leaving'; SET wib.user_id = 'admin-1';";
sql("$lctx SELECT wib.ivr_number_add('+15554440100', 'local', 'Held elsewhere')");
sql("$lctx SELECT * FROM wib.ivr_number_search('local', '917', 1)");
admin('POST', '/__admin/config', { pending_polls => 1 });
my $held = sql("$lctx SELECT wib.ivr_number_order('+19175550100', 'Held')");
wait_for("SELECT telnyx_number_id IS NOT NULL FROM wib.inbound_numbers WHERE id = '$held'", 'the_organization_holds_an_ordered_number');
admin('POST', '/__admin/config', { pending_polls => 1000 });
sql("$lctx SELECT * FROM wib.ivr_number_search('local', '305', 1)");
my $open = sql("$lctx SELECT wib.ivr_number_order('+13055550100', 'Open')");
wait_for("SELECT telnyx_order_id IS NOT NULL FROM wib.inbound_numbers WHERE id = '$open'", 'and_an_order_still_pending');
# Seen inside the deleting transaction, before the deliverer can start on them.
is(sql("BEGIN; DELETE FROM wib.organizations WHERE id = '$leaving';
        SELECT (SELECT count(*) FROM wib.inbound_numbers WHERE organization_id = '$leaving') || ' '
               || (SELECT string_agg(phone_number, ',' ORDER BY phone_number) FROM wib.telnyx_jobs
                    WHERE organization_ref = '$leaving' AND kind = 'release');
        COMMIT;"),
	'0 +13055550100,+19175550100', 'the_numbers_go_with_the_organization_and_their_releases_outlive_it');
admin('POST', '/__admin/config', { pending_polls => 1 });
wait_for("SELECT count(*) = 0 FROM wib.telnyx_jobs WHERE organization_ref = '$leaving'", 'every_release_of_the_deleted_organization_completes');
my %released = map { $_->{phone_number} => 1 } @{ admin('GET', '/__admin/state')->{released} };
ok($released{'+19175550100'} && $released{'+13055550100'},
	'telnyx_released_the_deleted_organizations_numbers_including_the_one_ordered_as_it_went');
wait_for("SELECT status = 'active' FROM wib.inbound_numbers WHERE id = '$pending'", 'the_small_organizations_pending_order_completes');

# Nothing was left leased or due.
wait_for("SELECT count(*) = 0 FROM wib.telnyx_jobs", 'no_telnyx_work_is_left');
# The API key is in no log: neither the peer's nor the server's (but for the
# statement log of this test's own wib.telnyx_configure calls).
unlike(slurp_file("$dir/api.log") . join('', grep { !/statement: |STATEMENT: / } split /^/, slurp_file($node->logfile)),
	qr/\Q$api_key\E/, 'the_api_key_appears_in_no_log');

$node->stop;
done_testing();
