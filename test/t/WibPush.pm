# Helpers of the mobile TAP suites: the push service peer
# (test/peers/push_service.py) over HTTPS with a test CA, its admin API (via
# curl), and its log of decrypted messages.
package WibPush;

use strict;
use warnings;
use Exporter 'import';
use JSON::PP;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);
use WibTest;

our @EXPORT = qw(start_push_service stop_push_service push_admin push_messages wait_for_messages);

my @services;

# start_push_service(dir => ..., name => ..., tls => [cert, key], ca => file):
# returns { port, origin, log, pid, ca }.
sub start_push_service
{
	my (%o) = @_;
	my $base = "$o{dir}/$o{name}";
	unlink "$base.port";
	open(my $touch, '>', "$base.log") or die;
	close $touch;
	my @cmd = ('python3', wib_root() . '/test/peers/push_service.py', '--port-file', "$base.port",
		'--log', "$base.log", '--tls', @{ $o{tls} });
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
	die "push service $o{name} did not start" unless -s "$base.port";
	my $port = slurp_file("$base.port");
	my $s = { port => $port, origin => "https://127.0.0.1:$port", log => "$base.log", pid => $pid, ca => $o{ca} };
	push @services, $s;
	return $s;
}

sub stop_push_service
{
	my ($s) = @_;
	kill 'TERM', $s->{pid};
	waitpid($s->{pid}, 0);
}

# push_admin(service, method, path, body): the decoded JSON answer of the admin API.
sub push_admin
{
	my ($s, $method, $path, $body) = @_;
	my @cmd = ('curl', '-sS', '--fail', '--cacert', $s->{ca}, '-X', $method, "$s->{origin}$path");
	push @cmd, '-H', 'Content-Type: application/json', '--data-binary', encode_json($body) if defined $body;
	open(my $fh, '-|', @cmd) or die "curl: $!";
	local $/;
	my $out = <$fh>;
	close $fh or die "admin call $method $path failed";
	return decode_json($out);
}

# The messages the service accepted (each decrypted), as logged, in order.
sub push_messages
{
	my ($s) = @_;
	my @entries;
	open(my $fh, '<', $s->{log}) or return ();
	while (my $line = <$fh>)
	{
		next unless $line =~ /\}\s*$/;
		push @entries, decode_json($line);
	}
	return @entries;
}

# Waits until at least n logged messages pass the filter; returns them.
sub wait_for_messages
{
	my ($s, $n, $filter, $timeout) = @_;
	$filter //= sub { 1 };
	my @got;
	for (1 .. ($timeout // 30) * 10)
	{
		@got = grep { $filter->($_) } push_messages($s);
		return @got if @got >= $n;
		usleep(100_000);
	}
	return @got;
}

END
{
	kill 'TERM', $_->{pid} for @services;
}

1;
