# Helpers shared by the TAP suites: a PostgreSQL::Test::Cluster node with wib
# preloaded, and small polling helpers.
package WibTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use File::Spec;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(wib_node wib_root worker_pid wait_for_worker_pid wait_for_phase terminate_worker wib_session session_query quietly);

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

# Waits until pg_stat_activity shows the wib worker of that backend_type
# ('wib deliverer', 'wib scheduler', ...) of database "postgres" running
# $activity (a LIKE pattern of what its unit reports it is doing), waiting on
# a lock when $on_lock; returns its pid.  Tests widen a phase by holding a
# lock it needs, or with a slow peer, so the worker can be caught in it.
sub wait_for_phase
{
	my ($node, $backend_type, $activity, $on_lock) = @_;
	my $lock = $on_lock ? " AND wait_event_type = 'Lock'" : '';
	for (1 .. 600)
	{
		my $pid = $node->safe_psql('postgres',
			"SELECT coalesce(max(pid)::text, '') FROM pg_stat_activity WHERE backend_type = '$backend_type'"
			  . " AND datname = 'postgres' AND state = 'active' AND query LIKE '$activity'$lock");
		return $pid if $pid ne '';
		usleep(50_000);
	}
	die "$backend_type never reached \"$activity\"";
}

# Runs $code without the notes PostgreSQL::Test::BackgroundPsql writes about
# every query it sends (they would fill make test's output).
sub quietly
{
	my ($code) = @_;
	my $tb = Test::More->builder;
	my $out = $tb->output;
	open(my $null, '>', File::Spec->devnull) or die;
	$tb->output($null);
	my $result = eval { $code->() };
	my $err = $@;
	$tb->output($out);
	die $err if $err;
	return $result;
}

# A background psql session on database "postgres", for holding a lock or a
# transaction open while a worker runs; use session_query on it.
sub wib_session
{
	my ($node) = @_;
	return quietly(sub { $node->background_psql('postgres') });
}

# Runs $sql in a wib_session and returns its output.
sub session_query
{
	my ($session, $sql) = @_;
	return quietly(sub { $session->query_safe($sql) });
}

# Sends SIGTERM to a server process and waits until it has exited.
sub terminate_worker
{
	my ($node, $pid) = @_;
	kill 'TERM', $pid or die "could not signal $pid";
	$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
	  or die "process $pid did not exit on SIGTERM";
}

1;
