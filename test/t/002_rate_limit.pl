# wib.rate_limit under concurrency: several backends hammering one key never
# get more than max_hits admissions in a window, all together.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

my $node = wib_node('rate_limit');
$node->safe_psql('postgres', 'CREATE TABLE admitted (n int)');
my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Busy Co', 'pro')");

my $script = "$PostgreSQL::Test::Utils::tmp_check/rate_limit.sql";
PostgreSQL::Test::Utils::append_to_file($script,
	"SET wib.org_id = '$org';\n"
	  . "INSERT INTO admitted SELECT 1 WHERE wib.rate_limit('shared-key', 1000, '1 hour');\n");

# 8 clients x 500 attempts = 4,000 attempts at a quota of 1,000.
$node->command_ok(
	[ 'pgbench', '-n', '-c', '8', '-j', '2', '-t', '500', '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'pgbench_hammers_one_key_from_8_backends');
is($node->safe_psql('postgres', 'SELECT count(*) FROM admitted'), '1000',
	'rate_limit_admits_exactly_max_hits_across_backends');

$node->stop;
done_testing();
