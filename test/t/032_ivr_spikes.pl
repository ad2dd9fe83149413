# Call spikes found as the calls arrive (wib.ivr_webhook, src/ivr/spike.c):
# a planted burst on one number is reported once as ivr.call_spike; numbers
# that keep their usual rate, busy or quiet, stay quiet.  Intervals are 2 s
# here (wib.ivr_spike_interval) so that a baseline builds up in seconds.
use strict;
use warnings;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
use WibTest;

my $peer = wib_root() . '/test/peers/telnyx.py';
my $dir = PostgreSQL::Test::Utils::tempdir();
my $json = JSON::PP->new->utf8->canonical;
my $interval = 2;

system('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', "$dir/telnyx.pem") == 0
  or die "openssl genpkey failed";

sub peer
{
	my ($input, @args) = @_;
	my ($out, $err);
	IPC::Run::run([ 'python3', $peer, @args ], '<', \$input, '>', \$out, '2>', \$err)
	  or die "peer @args failed: $err";
	return $json->decode($out);
}

my $public_key = peer('', 'pubkey', "$dir/telnyx.pem")->{public_key};
my $node = wib_node('ivr_spikes', conf => join("\n",
	"wib.telnyx_public_key = '$public_key'",
	"wib.ivr_calls_per_minute = 0",
	"wib.ivr_spike_interval = ${interval}s",
	"wib.ivr_spike_baseline = 4",
	"wib.ivr_spike_factor = 4",
	"wib.ivr_spike_min_calls = 8"));

my %numbers = (busy => '+15550005000', quiet => '+15550006000', target => '+15550007000');
$node->safe_psql('postgres', qq{
	CREATE ROLE ivr_route LOGIN;
	GRANT wib_app TO ivr_route;
	SELECT wib.set_context(wib.organization_create('Acme', 'business'), 'admin-1');
	SELECT id FROM wib.webhook_subscribe('fraud desk', 'https://hooks.example.test/fraud', ARRAY['ivr.call_spike']);
	SELECT wib.ivr_menu_create('{"name": "Main", "greeting_text": "Hello.", "options": [{"digit": "1", "action_type": "hangup"}]}') AS menu \\gset
	SELECT wib.ivr_number_add('$numbers{busy}', 'local', 'Busy', :'menu');
	SELECT wib.ivr_number_add('$numbers{quiet}', 'local', 'Quiet', :'menu');
	SELECT wib.ivr_number_add('$numbers{target}', 'local', 'Target', :'menu');
});

my $seq = 0;

# Signs the given calls (number => how many), waits for the start of the next
# interval, then places them in one session, as the route would.
sub calls
{
	my (%per) = @_;
	my @wanted;
	for my $name (sort keys %per)
	{
		push @wanted, { kind => 'inbound', fields => { CallSid => 'v3:spike-' . ++$seq, To => $numbers{$name},
					From => '+15559990001' } }
		  for 1 .. $per{$name};
	}
	my $signed = peer($json->encode(\@wanted), 'callbacks', "$dir/telnyx.pem");
	my $sql = join('', map {
		"SELECT length(wib.ivr_webhook('inbound', '\\x$_->{body_hex}'::bytea, '$_->{signature}', '$_->{timestamp}')) > 0;\n"
	} @$signed);
	next_interval();
	$node->safe_psql('postgres', $sql, extra_params => [ '-U', 'ivr_route' ]);
}

# Waits for the start of the next interval (intervals are aligned to the epoch).
sub next_interval
{
	my $t = time;
	sleep($interval - ($t - int($t / $interval) * $interval) + 0.05);
}

my $events = "SELECT count(*) FROM wib.webhook_deliveries WHERE event_type = 'ivr.call_spike'";

# Four intervals of the usual traffic: busy gets 6 calls an interval, quiet
# and target 2.  The first interval seeds each baseline.
calls(busy => 6, quiet => 2, target => 2) for 1 .. 4;
is($node->safe_psql('postgres', $events), '0', 'steady_traffic_reports_no_spike');

# The usual traffic again, and a burst of 25 on the target in the same
# interval: it crosses the threshold (8) once and stays above it.
calls(busy => 6, quiet => 2, target => 25);
is($node->safe_psql('postgres', $events), '1', 'a_burst_on_one_number_is_reported_once');
my $payload = $json->decode($node->safe_psql('postgres',
	"SELECT payload FROM wib.webhook_deliveries WHERE event_type = 'ivr.call_spike'"));
is($payload->{phone_number}, $numbers{target}, 'the_spike_names_the_burst_number');
ok($payload->{calls} >= 8 && $payload->{calls} <= 25 && $payload->{baseline} < 3,
	"the_spike_carries_the_count_and_the_baseline ($payload->{calls} calls, baseline $payload->{baseline})");
is($payload->{interval_seconds}, $interval, 'the_spike_carries_the_interval_length');

# The busy number keeps its rate: 6 calls an interval is its baseline, not a spike.
calls(busy => 6);
is($node->safe_psql('postgres', $events), '1', 'a_busy_number_at_its_usual_rate_stays_quiet');

# Detection off: no report however large the burst.
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.ivr_spike_factor = 0; SELECT pg_reload_conf();");
sleep 0.5;
calls(quiet => 20);
is($node->safe_psql('postgres', $events), '1', 'no_report_when_detection_is_off');

# Every call was answered and logged.
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.inbound_call_log"), "$seq", 'every_call_is_logged');

$node->stop;
done_testing();
