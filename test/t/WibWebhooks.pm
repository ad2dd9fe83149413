# Helpers of the webhook TAP suites: a test CA made with openssl at test time,
# the receiver peer (test/peers/webhook_receiver.py), and its request log.
package WibWebhooks;

use strict;
use warnings;
use Exporter 'import';
use JSON::PP;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);
use WibTest;

our @EXPORT = qw(make_test_ca start_receiver stop_receiver receiver_log wait_for_receipts wait_for_count);

my @receivers;

# make_test_ca(dir, extra DNS names): a CA and a server certificate for
# 127.0.0.1, localhost and the extra names; returns (ca_file, cert_file, key_file).
sub make_test_ca
{
	my ($dir, @names) = @_;
	my $ssl = sub { system('openssl', @_) == 0 or die "openssl @_ failed" };
	my $san = join(', ', 'IP:127.0.0.1', map { "DNS:$_" } ('localhost', @names));
	open(my $ext, '>', "$dir/server.ext") or die;
	print $ext "subjectAltName = $san\nbasicConstraints = CA:FALSE\n"
	  . "keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n";
	close $ext;
	$ssl->('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=wib test CA',
		'-keyout', "$dir/ca.key", '-out', "$dir/ca.pem");
	$ssl->('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
		'-keyout', "$dir/server.key", '-out', "$dir/server.csr");
	$ssl->('x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.pem", '-CAkey', "$dir/ca.key",
		'-CAcreateserial', '-days', '2', '-extfile', "$dir/server.ext", '-out', "$dir/server.pem");
	return ("$dir/ca.pem", "$dir/server.pem", "$dir/server.key");
}

# start_receiver(dir => ..., name => ..., tls => [cert, key], script => ..., args => [...]):
# starts a receiver peer; returns { port, log, secrets_file, pid }.
sub start_receiver
{
	my (%o) = @_;
	my $base = "$o{dir}/$o{name}";
	my $script = $o{script} // wib_root() . '/test/peers/webhook_receiver.py';
	unlink "$base.port";
	my @cmd = ('python3', $script, '--port-file', "$base.port", '--log', "$base.log",
		'--secrets-file', "$base.secrets");
	push @cmd, '--tls', @{ $o{tls} } if $o{tls};
	push @cmd, @{ $o{args} } if $o{args};
	open(my $touch, '>', "$base.log") or die;
	close $touch;
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
	die "receiver $o{name} did not start" unless -s "$base.port";
	my $port = slurp_file("$base.port");
	my $r = { port => $port, log => "$base.log", secrets_file => "$base.secrets", pid => $pid };
	push @receivers, $r;
	return $r;
}

sub stop_receiver
{
	my ($r) = @_;
	kill 'TERM', $r->{pid};
	waitpid($r->{pid}, 0);
}

# The receiver's log: a list of hashes, one per request.
sub receiver_log
{
	my ($r) = @_;
	my @entries;
	open(my $fh, '<', $r->{log}) or return ();
	while (my $line = <$fh>)
	{
		next unless $line =~ /\}\s*$/;
		push @entries, decode_json($line);
	}
	return @entries;
}

# Waits until the receiver logged at least n requests passing the filter; returns them.
sub wait_for_receipts
{
	my ($r, $n, $filter, $timeout) = @_;
	$filter //= sub { 1 };
	$timeout //= 30;
	my @got;
	for (1 .. $timeout * 10)
	{
		@got = grep { $filter->($_) } receiver_log($r);
		return @got if @got >= $n;
		usleep(100_000);
	}
	return @got;
}

# Waits until at least n logged requests match a regex (no JSON decoding: cheap on big logs).
sub wait_for_count
{
	my ($r, $n, $re, $timeout) = @_;
	my $count = 0;
	for (1 .. ($timeout // 30) * 5)
	{
		$count = 0;
		open(my $fh, '<', $r->{log}) or die;
		while (my $line = <$fh>)
		{
			$count++ if $line =~ $re;
		}
		close $fh;
		return $count if $count >= $n;
		usleep(200_000);
	}
	return $count;
}

END
{
	kill 'TERM', $_->{pid} for @receivers;
}

1;
