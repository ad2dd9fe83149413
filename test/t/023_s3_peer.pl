# The S3 peer itself (test/peers/s3_selftest.sh): requests signed by wib's
# SigV4 kernel and by botocore's own client are accepted, one changed byte of a
# signature, date, body, key or expiry is refused with S3's error, multipart
# uploads enforce S3's limits (part numbers, parts in order with their ETags,
# 5 MiB for every part but the last, a bucket quota answering 507
# QuotaExceeded), presigned links expire, and aborted uploads leave nothing in
# progress.  Each line of the self-test is one test here.
use strict;
use warnings;
use IPC::Run;
use Test::More;
use WibTest;

my ($out, $err);
my $ran = IPC::Run::run([ 'bash', wib_root() . '/test/peers/s3_selftest.sh' ], '>', \$out, '2>', \$err);
my ($plan) = $out =~ /^1\.\.(\d+)$/m;
ok($plan, 'the_peer_self_test_prints_its_plan') or diag($out . $err);
my $n = 0;
for my $line (split /\n/, $out)
{
	if ($line =~ /^(not )?ok \d+ - (.*)$/)
	{
		$n++;
		ok(!defined $1, "s3_peer: $2");
	}
	elsif ($line =~ /^#/)
	{
		diag($line);
	}
}
is($n, $plan // -1, 'every planned check of the peer ran');
ok($ran, 'the_peer_self_test_exits_0') or diag($err);

done_testing();
