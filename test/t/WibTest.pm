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
# wib preloaded and fast worker polling; with extension, wib is created in
# database "postgres" and the launcher starts its workers there.  Each served
# database runs one worker per kind: max_worker_processes leaves room for
# several databases, probes and parallel workers.
sub wib_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'wib'",
		"max_worker_processes = 32",
		"wib.worker_poll_interval = 100ms",
		"fsync = off",
		"restart_after_crash = on",
		$opts{conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION wib')
	  if $opts{extension} // 1;
	return $node;
}

# The pid of a wib worker of a database (default "postgres"), or '' when it is not running.
sub worker_pid
{
	my ($node, $worker, $db) = @_;
	$db //= 'postgres';
	return $node->safe_psql($db,
		"SELECT coalesce(max(pid)::text, '') FROM wib.worker_status"
		  . " WHERE name = '$worker' AND database = current_database()");
}

# Waits until the worker of a database (default "postgres") runs with a pid
# other than $not_pid; returns the pid.
sub wait_for_worker_pid
{
	my ($node, $worker, $not_pid, $db) = @_;
	$not_pid //= '';
	$db //= 'postgres';
	$node->poll_query_until($db,
		"SELECT pid IS NOT NULL AND pid::text <> '$not_pid' AND state <> 'starting'"
		  . " FROM wib.worker_status WHERE name = '$worker' AND database = current_database()")
	  or die "worker $worker did not (re)start in database $db";
	return worker_pid($node, $worker, $db);
}

1;
