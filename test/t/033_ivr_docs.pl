# The SQL examples of docs/ivr.md run as written, in order, in one psql
# session, against the Telnyx API peer (the account the examples configure:
# key KEY0123456789, connection 1494404757140276705): what they show is what
# they print.  Only two things are added between the blocks: the API URL of
# the peer after wib.telnyx_configure (the examples use Telnyx's own), and a
# few signed calls to the number once it has a menu, for the call log.
use strict;
use warnings;
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

# The SQL blocks of the page, and the XML block that shows a rendered menu.
my $doc = slurp_file(wib_root() . '/docs/ivr.md');
my (@blocks, $xml);
while ($doc =~ /^```(\w+)\n(.*?)^```$/msg)
{
	push @blocks, $2 if $1 eq 'sql';
	$xml //= $2 if $1 eq 'xml';
}
ok(@blocks >= 15, 'the_page_has_its_sql_examples (' . scalar(@blocks) . ')');

unlink "$dir/api.port";
my $peer_pid = fork();
die "fork: $!" unless defined $peer_pid;
if ($peer_pid == 0)
{
	open(STDOUT, '>', "$dir/api.out");
	open(STDERR, '>&', \*STDOUT);
	exec('python3', $peer, 'serve', '--port-file', "$dir/api.port", '--tls', $cert, $key,
		'--api-key', 'KEY0123456789', '--connection-id', '1494404757140276705')
	  or die "exec: $!";
}
END { kill 'TERM', $peer_pid if $peer_pid }
for (1 .. 100) { last if -s "$dir/api.port"; usleep(100_000); }
my $port = slurp_file("$dir/api.port");

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

my $node = wib_node('ivr_docs', conf => join("\n",
	"wib.http_ca_file = '$ca'",
	"wib.telnyx_public_key = '$public_key'",
	"wib.telnyx_poll_interval = 1s"));

# Two calls to the page's number, the second one ended.
my $calls = peer_cli($json->encode([
	{ kind => 'inbound', fields => { CallSid => 'v3:docs-1', From => '+15559990001', To => '+15550100100' } },
	{ kind => 'inbound', fields => { CallSid => 'v3:docs-2', From => '+15559990002', To => '+15550100100' } },
	{ kind => 'status', fields => { CallSid => 'v3:docs-2', From => '+15559990002', To => '+15550100100',
		CallStatus => 'completed', CallDuration => '42' } } ]), 'callbacks', "$dir/telnyx.pem");
my $place_calls = join('', map {
	"SELECT length(wib.ivr_webhook('$_->{kind}', '\\x$_->{body_hex}'::bytea, '$_->{signature}', '$_->{timestamp}')) > 0 AS answered;\n"
} @$calls);

# The script: each block after a marker line, so that its output can be told apart.
my $script = "\\set ON_ERROR_STOP 1\n";
for my $i (0 .. $#blocks)
{
	$script .= "\\echo \@\@block $i\n$blocks[$i]\n";
	$script .= "SELECT wib.telnyx_configure('{\"api_url\": \"https://127.0.0.1:$port\"}') ->> 'api_url' AS peer;\n"
	  if $blocks[$i] =~ /wib\.telnyx_configure\(/;
	$script .= $place_calls if $blocks[$i] =~ /wib\.ivr_number_assign\(/;
}
my ($out, $err) = ('', '');
my $ret = $node->psql('postgres', $script, stdout => \$out, stderr => \$err,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
is($ret, 0, 'every_example_runs_without_error') or diag($err);
my %output;
my $cur;
for my $line (split /\n/, $out)
{
	if ($line =~ /^\@\@block (\d+)$/) { $cur = $1; $output{$cur} = ''; next; }
	$output{$cur} .= "$line\n" if defined $cur;
}
sub output_of
{
	my ($re) = @_;
	for my $i (0 .. $#blocks) { return $output{$i} // '' if $blocks[$i] =~ $re; }
	return '';
}

# What the page says the examples print.
my ($first_option) = output_of(qr/ivr_menu_json\(:'main'\) -> 'options' -> 0/) =~ /^(\{.*\})$/m;
is_deeply($json->decode($first_option // '{}'),
	{ digit => '1', label => 'For sales, press 1.', tts_text => 'Connecting you to sales.', sort_order => 0,
	  action_type => 'transfer', action_target => '+15551230002' },
	'the_first_option_reads_back_as_shown');
like(output_of(qr/wib\.telnyx_configure\('\{"api_key"/),
	qr/^\{"api_url": "https:\/\/api\.telnyx\.com", "updated_at": "[^"]+", "api_key_set": true, "connection_id": "1494404757140276705"\}$/m,
	'telnyx_configure_answers_as_shown');
like(output_of(qr/wib\.ivr_number_search\('local', '415', 3\)/), qr/^\+14155550100\|100$/m,
	'the_search_offers_the_number_shown_with_its_cost');
chomp(my $want_xml = $xml // '');
is((output_of(qr/wib\.texml_render_menu\(:'support'\)/) =~ /^(<\?xml.*)$/m)[0], $want_xml,
	'the_support_menu_renders_as_shown');
like(output_of(qr/wib\.telnyx_verify\(/), qr/^f$/m, 'the_verify_example_is_false');
like(output_of(qr/FROM wib\.ivr_calls\(/), qr/\|v3:docs-2\|\+15559990002\|\+15550100100\|completed\|abandoned\|42\|/,
	'the_call_log_lists_the_calls_newest_first');

# The number the page orders becomes active at Telnyx's success.
ok($node->poll_query_until('postgres',
	"SELECT status = 'active' AND telnyx_number_id IS NOT NULL FROM wib.inbound_numbers WHERE phone_number = '+14155550100'"),
	'the_ordered_number_becomes_active');

$node->stop;
done_testing();
