# Helpers of the CRM TAP suites: the HubSpot and Salesforce peers
# (test/peers/hubspot.py, salesforce.py) over HTTPS with a test CA, its admin API (through curl), a node set up for CRM
# sync against it, and the OAuth round trip the platform's routes make.
package WibCrm;

use strict;
use warnings;
use Exporter 'import';
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;
use WibWebhooks qw(make_test_ca);

our @EXPORT = qw(start_hubspot start_salesforce stop_hubspot hs_admin crm_node crm_org crm_connect_flow
  wait_for_run wait_for_status run_row hs_follow_authorize uri_unescape crm_webhook_sql hs_webhook_changes);

my @peers;
my $json = JSON::PP->new->canonical;

# start_hubspot(dir => ..., name => ..., ca => [ca, cert, key], args => [...]): the peer over
# HTTPS; returns { port, base, log, pid, ca }.
sub start_hubspot
{
	my (%o) = @_;
	my $base = "$o{dir}/$o{name}";
	my ($ca, $cert, $key) = @{ $o{ca} };
	unlink "$base.port";
	my @cmd = ('python3', wib_root() . '/test/peers/' . ($o{script} // 'hubspot.py'), '--port-file', "$base.port",
		'--log', "$base.log", '--tls', $cert, $key, @{ $o{args} // [] });
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDOUT, '>', "$base.out");
		open(STDERR, '>&', \*STDOUT);
		exec(@cmd) or die "exec: $!";
	}
	for (1 .. 100)
	{
		last if -s "$base.port";
		usleep(100_000);
	}
	die "peer $o{name} did not start" unless -s "$base.port";
	my $port = slurp_file("$base.port");
	my $p = { port => $port, base => "https://127.0.0.1:$port", log => "$base.log", out => "$base.out",
		pid => $pid, ca => $ca };
	push @peers, $p;
	return $p;
}

# start_salesforce(same options): the Salesforce peer (stopped with stop_hubspot, driven with hs_admin).
sub start_salesforce
{
	my (%o) = @_;
	return start_hubspot(%o, script => 'salesforce.py');
}

sub stop_hubspot
{
	my ($p) = @_;
	kill 'TERM', $p->{pid};
	waitpid($p->{pid}, 0);
}

# hs_admin(peer, path, body hashref or undef, method): the admin API's JSON answer.
# The changes a HubSpot webhook reports, made at the peer first (the contacts
# $ids->[5] and $ids->[6] changed and archived, one created) and the signed
# request of the three events for $uri: ($changed, $deleted, $new, $request).
sub hs_webhook_changes
{
	my ($hs, $ids, $uri) = @_;
	my ($changed, $deleted) = @$ids[ 5, 6 ];
	hs_admin($hs, 'update', { ids => [$changed], properties => { phone => '+1 (555) 777-0001' } });
	hs_admin($hs, 'archive', { ids => [$deleted] });
	my ($new) = @{ hs_admin($hs, 'contacts', { count => 1 })->{ids} };
	my $req = hs_admin($hs, 'webhook_request', { uri => $uri, events => [
		{ subscriptionType => 'contact.propertyChange', objectId => $changed, propertyName => 'phone',
		  propertyValue => '+1 (555) 777-0001', eventId => 9001 },
		{ subscriptionType => 'contact.deletion', objectId => $deleted, eventId => 9002 },
		{ subscriptionType => 'contact.creation', objectId => $new, eventId => 9003 } ] });
	return ($changed, $deleted, $new, $req);
}

sub hs_admin
{
	my ($p, $path, $body, $method) = @_;
	$method //= defined $body ? 'POST' : 'GET';
	my @cmd = ('curl', '-s', '--cacert', $p->{ca}, '-X', $method, '-H', 'Content-Type: application/json');
	push @cmd, '-d', $json->encode($body) if defined $body;
	push @cmd, "$p->{base}/__admin/$path";
	open(my $fh, '-|', @cmd) or die "curl: $!";
	local $/;
	my $out = <$fh>;
	close $fh;
	return decode_json($out);
}

# Follows an authorize URL as the user's browser would; returns (code, state) from the redirect.
sub hs_follow_authorize
{
	my ($p, $url) = @_;
	open(my $fh, '-|', 'curl', '-s', '--cacert', $p->{ca}, '-o', '/dev/null', '-w', '%{redirect_url}', $url)
	  or die "curl: $!";
	my $loc = <$fh>;
	close $fh;
	my ($code) = $loc =~ /[?&]code=([^&]+)/;
	my ($state) = $loc =~ /[?&]state=([^&]+)/;
	return ($code, $state, $loc);
}

# crm_node(name, peer, conf => ...): a node whose CRM worker serves database postgres,
# trusting the test CA, with the provider pointed at the peer.
sub crm_node
{
	my ($name, $p, %o) = @_;
	my $node = wib_node($name, conf => join("\n",
		"wib.http_ca_file = '$p->{ca}'",
		"wib.crm_push_delay = 0",
		"wib.crm_reread_window = 1s",
		"wib.crm_push_reconcile_delay = 1s",
		"wib.crm_backoff_max = 3s",
		$o{conf} // ''));
	# The operator keeps the client secret out of the statement log.
	$node->safe_psql('postgres', qq{
		SET log_statement = 'none';
		SELECT wib.crm_provider_set('hubspot', '{"client_id": "wib-test-client", "client_secret": "wib-test-secret",
		        "api_url": "$p->{base}", "auth_url": "$p->{base}/oauth/authorize"}')});
	wait_for_worker_pid($node, 'crm_sync');
	return $node;
}

# A new organization on plan (default pro); returns its id.
sub crm_org
{
	my ($node, $name, $plan) = @_;
	return $node->safe_psql('postgres', "SELECT wib.organization_create('$name', '" . ($plan // 'pro') . "')");
}

# The OAuth round trip of the platform's routes: crm_connect, the browser at the
# authorize URL, crm_callback with the code (URL-decoded) and state; waits until
# connected.  Returns the integration id.
sub crm_connect_flow
{
	my ($node, $p, $org, $user, $crm) = @_;
	$user //= 'admin-1';
	$crm //= 'hubspot';
	my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = '$user';";
	my $url = $node->safe_psql('postgres', "$ctx SELECT wib.crm_connect('$crm', 'https://app.example.com/crm/callback')");
	my ($code, $state) = hs_follow_authorize($p, $url);
	die "no code in the authorize redirect for $url" unless $code;
	my $id = $node->safe_psql('postgres', "$ctx SELECT wib.crm_callback('$crm', '" . uri_unescape($code) . "', '$state')");
	wait_for_status($node, $org, 'connected', undef, $crm);
	return $id;
}

# Waits until the integration of org (HubSpot unless crm says) has status.
sub wait_for_status
{
	my ($node, $org, $status, $timeout, $crm) = @_;
	$crm //= 'hubspot';
	local $PostgreSQL::Test::Utils::timeout_default = $timeout // 60;
	$node->poll_query_until('postgres',
		"SELECT status = '$status' FROM wib.crm_integrations WHERE organization_id = '$org' AND crm_type = '$crm'")
	  or die "integration of $org did not become $status: "
	  . $node->safe_psql('postgres', "SELECT status || ' ' || coalesce(error_detail, '') FROM wib.crm_integrations WHERE organization_id = '$org' AND crm_type = '$crm'");
}

# A query string value decoded (%XX).
sub uri_unescape
{
	my ($s) = @_;
	$s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
	return $s;
}

# The SQL call of the platform's HubSpot webhook route for a request (body and
# headers as HubSpot sent them, to uri).
sub crm_webhook_sql
{
	my ($body, $headers, $uri) = @_;
	my $h = $json->encode($headers);
	$body =~ s/'/''/g;
	$h =~ s/'/''/g;
	return "SELECT wib.crm_webhook('hubspot', 'POST', '$uri', convert_to('$body', 'UTF8'), '$h'::jsonb)";
}

# Waits until a sync run is no longer running; returns its status.
sub wait_for_run
{
	my ($node, $org, $run, $timeout) = @_;
	local $PostgreSQL::Test::Utils::timeout_default = $timeout // 180;
	$node->poll_query_until('postgres',
		"SELECT status <> 'running' FROM wib.crm_sync_log WHERE organization_id = '$org' AND id = '$run'")
	  or die "run $run did not finish";
	return $node->safe_psql('postgres', "SELECT status FROM wib.crm_sync_log WHERE id = '$run'");
}

# A sync run as a hash.
sub run_row
{
	my ($node, $run) = @_;
	my $row = $node->safe_psql('postgres',
		"SELECT row_to_json(l) FROM wib.crm_sync_log l WHERE id = '$run'");
	return decode_json($row);
}

END
{
	kill 'TERM', $_->{pid} for @peers;
}

1;
