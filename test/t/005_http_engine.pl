# The outbound HTTP engine for real, through wib.http_fetch and the webhook
# deliverer, against local peers over HTTPS with a test CA: whole and capped
# response bodies, response headers, binary bodies and every method, HTTP/2
# when the server offers it (nghttpd), the SSRF guard on the address actually
# connected to, and no proxy taken from the server's environment.
use strict;
use warnings;
use Digest::SHA qw(sha256 sha256_hex);
use IO::Socket::INET;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;
use WibWebhooks;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $host = `hostname`;
chomp $host;
my @host_addresses = grep { /\S/ } split /\n/, `getent ahosts $host 2>/dev/null`;
my $host_is_loopback = $host ne '' && $host !~ /localhost/i && @host_addresses
  && !(grep { !/^127\./ } @host_addresses);
my ($ca, $cert, $key) = make_test_ca($dir, $host);
my $peer = wib_root() . '/test/peers/http_echo.py';
my $echo = start_receiver(dir => $dir, name => 'echo', tls => [ $cert, $key ], script => $peer);
my $proxy = start_receiver(dir => $dir, name => 'proxy', script => $peer, args => ['--record']);
my $port = $echo->{port};

# HTTP/2 over TLS (ALPN h2): nghttpd serving one file.
my $h2port = do
{
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1) or die;
	my $p = $s->sockport;
	close $s;
	$p;
};
mkdir "$dir/h2" or die;
open(my $h2f, '>', "$dir/h2/h2.txt") or die;
print $h2f "served over HTTP/2\n";
close $h2f;
my $h2pid = fork();
die "fork: $!" unless defined $h2pid;
if ($h2pid == 0)
{
	open(STDOUT, '>', "$dir/nghttpd.out");
	open(STDERR, '>&', \*STDOUT);
	exec('nghttpd', '-a', '127.0.0.1', '-d', "$dir/h2", $h2port, $key, $cert) or die "exec nghttpd: $!";
}
END { kill 'TERM', $h2pid if $h2pid }
for (1 .. 100)
{
	last if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $h2port);
	usleep(100_000);
}

# Every proxy variable libcurl reads points at the recorder; PostgreSQL::Test::Cluster
# starts the server with this environment.
my $proxy_url = "http://127.0.0.1:$proxy->{port}";
$ENV{$_} = $proxy_url for qw(HTTPS_PROXY https_proxy ALL_PROXY all_proxy http_proxy);

my $node = wib_node('http_engine', conf => join("\n",
	"wib.http_ca_file = '$ca'",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.http_max_concurrency = 1",
	"wib.http_timeout = 10s"));

# One wib.http_fetch(args) AS f; returns the columns cols (SQL over f), after the statements pre.
sub fetch
{
	my ($args, $cols, $pre) = @_;
	return $node->safe_psql('postgres', ($pre // '') . " SELECT $cols FROM wib.http_fetch($args) f");
}

# SQL for the value of response header name in f (the first one).
sub header_sql
{
	my ($name) = @_;
	return "(SELECT h ->> 1 FROM jsonb_array_elements(f.headers) h WHERE h ->> 0 = '$name' LIMIT 1)";
}

# Requests the echo peer logged whose request target matches re.
sub logged
{
	my ($re) = @_;
	return grep { $_->{target} =~ $re } receiver_log($echo);
}

$node->safe_psql('postgres', 'CREATE ROLE someone');
is($node->safe_psql('postgres',
	"SELECT has_function_privilege('someone', 'wib.http_fetch(text, text, jsonb, bytea, integer, boolean)', 'EXECUTE')"),
	'f', 'http_fetch_is_not_granted_to_public');

my $postmaster = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];
my $environ = slurp_file("/proc/$postmaster/environ");
ok((grep { $_ eq "HTTPS_PROXY=$proxy_url" } split /\0/, $environ) && (grep { $_ eq "ALL_PROXY=$proxy_url" } split /\0/, $environ),
	'server_environment_names_a_proxy');

# Bodies: whole up to the cap, binary, byte for byte.
my $two_mb = join('', map { sha256(pack('Q>', $_)) } 0 .. 65535);
my ($st, $len, $sha, $peer_sha, $ver) = split /\|/, fetch(
	"'GET', 'https://127.0.0.1:$port/bytes/2097152', max_response => 4194304",
	"status, length(body), encode(sha256(body), 'hex'), " . header_sql('X-Body-SHA256') . ", http_version");
is("$st $len", '200 2097152', 'two_megabyte_body_is_kept_whole');
is($sha, sha256_hex($two_mb), 'two_megabyte_body_is_byte_for_byte_what_was_sent');
is($peer_sha, $sha, 'peer_and_engine_agree_on_the_body_digest');
is($ver, '1.1', 'http_1_1_with_a_server_that_does_not_offer_h2');

is(fetch("'GET', 'https://127.0.0.1:$port/bytes/2097152?chunked=1', max_response => 2097152",
	"status || ' ' || length(body) || ' ' || encode(sha256(body), 'hex')"),
	"200 2097152 " . sha256_hex($two_mb), 'chunked_body_of_exactly_the_cap_is_kept_whole');
is(fetch("'GET', 'https://127.0.0.1:$port/bytes/2097152'",
	"status || ' ' || coalesce(length(body)::text, 'no body') || ' ' || error"),
	'0 no body response body exceeds 1048576 bytes', 'body_over_the_default_cap_fails_with_a_clear_error');
is(fetch("'GET', 'https://127.0.0.1:$port/bytes/2097152?chunked=1'", "status || ' ' || error"),
	'0 response body exceeds 1048576 bytes', 'chunked_body_over_the_cap_fails_with_a_clear_error');
is(fetch("'GET', 'https://127.0.0.1:$port/bytes/1001', max_response => 1000", "status || ' ' || error"),
	'0 response body exceeds 1000 bytes', 'body_one_byte_over_a_small_cap_fails');

# Response headers: all of them, in order, duplicates kept, names as received.
my $headers = decode_json(fetch("'GET', 'https://127.0.0.1:$port/headers'", 'headers'));
my @mine = grep { $_->[0] =~ /^(x-|set-cookie$|retry-after$)/i } @$headers;
is_deeply([ @mine[0 .. 5] ],
	[ [ 'X-Dup', 'one' ], [ 'x-lower-case', 'lower' ], [ 'X-Dup', 'two' ], [ 'Set-Cookie', 'a=1; Path=/' ],
	  [ 'Set-Cookie', 'b=2; Path=/' ], [ 'X-MiXeD-Case', 'Value With  Spaces' ] ],
	'response_headers_come_in_order_with_duplicates_and_names_as_received');
ok(@mine == 7 && $mine[6][0] eq 'Retry-After' && $mine[6][1] =~ /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/,
	'retry_after_http_date_is_a_response_header') or diag(encode_json($headers));
is($headers->[-1][0], 'Content-Length', 'headers_end_with_the_last_one_sent');

my $early = decode_json(fetch("'GET', 'https://127.0.0.1:$port/early-hints'", 'headers'));
ok((grep { $_->[0] eq 'X-Final' } @$early) && !(grep { $_->[0] eq 'Link' } @$early),
	'only_the_final_response_headers_are_kept_not_a_103') or diag(encode_json($early));

# Request bodies of any bytes, and every method.
my $all_bytes = "(SELECT decode(string_agg(lpad(to_hex(g), 2, '0'), '' ORDER BY g), 'hex') FROM generate_series(0, 255) g)";
is($node->safe_psql('postgres',
	"SELECT f.status || ' ' || (f.body = b.v) || ' ' || " . header_sql('X-Body-Length') . " || ' ' || " . header_sql('X-Method')
	  . " FROM (SELECT $all_bytes AS v) b, wib.http_fetch('POST', 'https://127.0.0.1:$port/echo?binary=1', body => b.v) f"),
	'200 true 256 POST', 'binary_request_body_of_all_256_byte_values_is_echoed_byte_for_byte');
my ($bin) = logged(qr/binary=1/);
ok($bin && !(grep { lc($_->[0]) eq 'content-type' } @{ $bin->{headers} }),
	'engine_adds_no_content_type_of_its_own');

is(fetch("'PUT', 'https://127.0.0.1:$port/echo', '{\"Content-Type\": \"text/plain\", \"X-Custom\": \"yes\"}', convert_to('put body', 'UTF8')",
	"status || ' ' || " . header_sql('X-Method') . " || ' ' || convert_from(body, 'UTF8')"),
	'200 PUT put body', 'put_sends_its_body');
my ($put) = grep { $_->{method} eq 'PUT' } receiver_log($echo);
ok($put && (grep { $_->[0] eq 'X-Custom' && $_->[1] eq 'yes' } @{ $put->{headers} })
	  && (grep { $_->[0] eq 'Content-Type' && $_->[1] eq 'text/plain' } @{ $put->{headers} }),
	'request_headers_are_sent');
is(fetch("'patch', 'https://127.0.0.1:$port/echo', body => '\\x00ff'::bytea", "status || ' ' || " . header_sql('X-Method') . " || ' ' || encode(body, 'hex')"),
	'200 PATCH 00ff', 'patch_sends_its_body');
is(fetch("'DELETE', 'https://127.0.0.1:$port/echo'", "status || ' ' || " . header_sql('X-Method') . " || ' ' || length(body)"),
	'200 DELETE 0', 'delete_without_a_body');
is(fetch("'HEAD', 'https://127.0.0.1:$port/echo'", "status || ' ' || " . header_sql('X-Method') . " || ' ' || length(body)"),
	'200 HEAD 0', 'head_gets_headers_and_no_body');

# HTTP/2 where offered; the second request reuses (multiplexes on) the connection.
is($node->safe_psql('postgres',
	"SELECT status || ' ' || http_version || ' ' || convert_from(body, 'UTF8') FROM wib.http_fetch('GET', 'https://127.0.0.1:$h2port/h2.txt');"
	  . "SELECT status || ' ' || http_version FROM wib.http_fetch('GET', 'https://127.0.0.1:$h2port/h2.txt')"),
	"200 2 served over HTTP/2\n\n200 2", 'http2_is_used_when_the_server_offers_it');

# The SSRF guard: on the address connected to, for guarded requests only.
like(fetch("'GET', 'https://localhost:$port/echo'", 'status || \' \' || error', "SET wib.http_allow_cidrs = '';"),
	qr/^0 refused: address 127\.0\.0\.1 is in the blocked range 127\.0\.0\.0\/8/, 'localhost_is_refused_before_any_connection');
SKIP:
{
	skip "host name $host does not resolve to loopback only", 5 unless $host_is_loopback;
	like(fetch("'GET', 'https://$host:$port/echo?ssrf=1'", 'status || \' \' || error', "SET wib.http_allow_cidrs = '';"),
		qr/^0 refused: address 127\.0\.0\.1 is in the blocked range 127\.0\.0\.0\/8 \(loopback\)$/,
		'host_name_resolving_to_loopback_is_refused_at_connect_time');
	is(scalar(logged(qr/ssrf=1/)), 0, 'refused_address_receives_nothing');
	is(fetch("'GET', 'https://$host:$port/echo?ssrf=2'", 'status', "SET wib.http_allow_cidrs = '127.0.0.0/8';"),
		'200', 'host_name_resolving_to_loopback_is_allowed_by_the_allow_list');
	like($node->safe_psql('postgres', "SET wib.http_allow_cidrs = '';"
		  . " SELECT status FROM wib.http_fetch('GET', 'https://$host:$port/echo?pool=1', guarded => false);"
		  . " SELECT status || ' ' || error FROM wib.http_fetch('GET', 'https://$host:$port/echo?pool=2')"),
		qr/^200\n0 refused: address 127\.0\.0\.1 is in the blocked range/,
		'guarded_request_does_not_ride_a_pooled_connection_to_a_blocked_address');
	is(scalar(logged(qr/pool=2/)), 0, 'nothing_is_sent_on_that_connection');
}
is(fetch("'GET', 'https://127.0.0.1:$port/echo?unguarded=1', guarded => false", 'status', "SET wib.http_allow_cidrs = '';"),
	'200', 'unguarded_request_reaches_loopback_without_the_allow_list');
is(fetch("'GET', 'http://127.0.0.1:$port/echo', guarded => false", 'error'),
	'refused: scheme must be https', 'unguarded_request_is_still_https_only');
like(fetch("'GET', 'https://127.0.0.1:$port/echo', guarded => false", "status || ' ' || error", "SET wib.http_ca_file = '';"),
	qr/^0 .*(SSL|certificate)/i, 'unguarded_request_still_verifies_tls');

# The deliverer through the engine: truncated answers, Retry-After dates, signing at send time.
my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Engine Co', 'enterprise')");
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'tester';";
for my $s ([ 'long', '/text/5000', 'none', 0 ], [ 'later', '/retry-after-date/120', 'linear', 3 ], [ 'paced', '/sleep/1500', 'none', 0 ])
{
	$node->safe_psql('postgres', "$ctx SELECT wib.webhook_subscribe('$s->[0]', 'https://127.0.0.1:$port$s->[1]', "
		  . "ARRAY['custom.$s->[0]'], '$s->[2]', $s->[3])");
}
$node->safe_psql('postgres', "$ctx SELECT wib.emit_event('custom.long', '{}')");
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM wib.webhook_deliveries WHERE event_type = 'custom.long'"),
	'webhook_with_a_long_answer_is_delivered');
is($node->safe_psql('postgres', "SELECT response_body FROM wib.webhook_deliveries WHERE event_type = 'custom.long'"),
	substr('abcdefghijklmnopqrstuvwxyz' x 200, 0, 1024), 'webhook_keeps_exactly_the_first_1024_bytes_of_the_answer');

$node->safe_psql('postgres', "$ctx SELECT wib.emit_event('custom.later', '{}')");
ok($node->poll_query_until('postgres', "SELECT status = 'retrying' FROM wib.webhook_deliveries WHERE event_type = 'custom.later'"),
	'webhook_503_is_retried');
my $wait = $node->safe_psql('postgres',
	"SELECT round(extract(epoch FROM next_retry_at - last_attempt_at)) FROM wib.webhook_deliveries WHERE event_type = 'custom.later'");
ok($wait >= 110 && $wait <= 125, 'webhook_retry_after_http_date_is_honoured') or diag("waits $wait s");

# Three deliveries of one batch, sent one at a time to a receiver taking 1.5 s each:
# each is signed with the time it leaves, not the time the batch was claimed.
$node->safe_psql('postgres', "$ctx SELECT count(wib.emit_event('custom.paced', jsonb_build_object('n', g))) FROM generate_series(1, 3) g");
my @paced;
for (1 .. 200)
{
	@paced = logged(qr{^/sleep/1500$});
	last if @paced >= 3;
	usleep(100_000);
}
my @ts = map { $_->{webhook_timestamp} } @paced;
ok(@paced == 3 && $ts[2] - $ts[0] >= 2, 'webhooks_of_one_batch_are_signed_when_each_is_sent')
  or diag("timestamps @ts");
ok(@paced == 3 && !(grep { abs($_->{t} - $_->{webhook_timestamp}) > 1.5 } @paced),
	'webhook_timestamp_is_the_moment_of_sending');

# Identity and proxies.
my ($version) = slurp_file(wib_root() . '/wib.control') =~ /default_version\s*=\s*'([^']+)'/;
my $major = int($node->safe_psql('postgres', 'SHOW server_version_num') / 10000);
my @all = receiver_log($echo);
is(scalar(grep { ($_->{user_agent} // '') ne "wib/$version (PostgreSQL $major)" } @all), 0,
	'user_agent_names_the_extension_version');
is(scalar(grep { $_->{target} !~ m{^/} } @all), 0, 'requests_go_direct_in_origin_form');
ok(-e $proxy->{log} && -z $proxy->{log}, 'proxy_in_the_server_environment_is_never_used')
  or diag(slurp_file($proxy->{log}));

$node->stop;
done_testing();
