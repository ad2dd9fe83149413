# Helpers shared by the TAP suites: a PostgreSQL::Test::Cluster node with wib
# preloaded, and small polling helpers.
package WibTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(wib_node wib_root worker_pid wait_for_worker_pid);

# The source tree (test/peers/, test data).
sub wib_root { return $ENV{WIB_ROOT} // die "WIB_ROOT is not set" }

# wib_node(name, conf => "extra lines", extension => 1): a started node with
# wib preloaded, serving database "postgres", with fast worker polling.
sub wib_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'wib'",
		"wib.worker_poll_interval = 100ms",
		"fsync = off",
		"restart_after_crash = on",
		$opts{conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION wib')
	  if $opts{extension} // 1;
	return $node;
}

# The pid of a wib worker, or '' when it is not running.
sub worker_pid
{
	my ($node, $worker) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(pid::text, '') FROM wib.worker_status WHERE name = '$worker'");
}

# Waits until the worker runs with a pid other than $not_pid; returns the pid.
sub wait_for_worker_pid
{
	my ($node, $worker, $not_pid) = @_;
	$not_pid //= '';
	$node->poll_query_until('postgres',
		"SELECT pid IS NOT NULL AND pid::text <> '$not_pid' AND state <> 'starting'"
		  . " FROM wib.worker_status WHERE name = '$worker'")
	  or die "worker $worker did not (re)start";
	return worker_pid($node, $worker);
}

1;
