# Helpers of the Citus TAP files (make test-citus): a coordinator and two
# workers on loopback, wib installed on the coordinator and distributed with
# wib.distribute().
package WibCitus;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use WibTest;

our @EXPORT = qw(citus_cluster tenancy_suite_for_cluster run_tap_sql log_since_distribute);

# citus_cluster(conf => "wib settings of every node", coordinator_conf => "the
# coordinator's only"): ($coordinator, [worker1, worker2]), started, wib
# installed and distributed, the deliverer running.  Settings read by code
# that runs on the shards go in conf (they must be set on the workers too).
sub citus_cluster
{
	my (%o) = @_;
	my $citus_conf = join("\n",
		"listen_addresses = '127.0.0.1'",
		"wal_level = logical",
		"max_replication_slots = 10",
		"max_wal_senders = 10",
		"max_worker_processes = 32",
		"fsync = off",
		"citus.shard_count = 8",
		# The servers' HOME may be unreadable; loopback needs no TLS.
		"citus.node_conninfo = 'sslmode=disable'",
		$o{conf} // '');
	my @workers;
	for my $name ('worker1', 'worker2')
	{
		my $w = PostgreSQL::Test::Cluster->new($name);
		$w->init;
		$w->append_conf('postgresql.conf', "shared_preload_libraries = 'citus'\n$citus_conf");
		$w->start;
		$w->safe_psql('postgres', 'CREATE EXTENSION citus');
		push @workers, $w;
	}
	my $node = PostgreSQL::Test::Cluster->new('coordinator');
	$node->init;
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'citus,wib'",
		"wib.worker_poll_interval = 100ms",
		"restart_after_crash = on",
		$citus_conf, $o{coordinator_conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	$node->safe_psql('postgres', join(";\n",
		"SELECT citus_set_coordinator_host('127.0.0.1', " . $node->port . ")",
		(map { "SELECT citus_add_node('127.0.0.1', " . $_->port . ")" } @workers),
		'CREATE EXTENSION wib'));
	wait_for_worker_pid($node, 'deliverer');
	my $t0 = time;
	$node->safe_psql('postgres', 'SELECT count(*) FROM wib.distribute()');
	note(sprintf('wib.distribute() took %.1f s', time - $t0));
	# A pass of a background worker that began before the tables were
	# distributed may fail once as they are: the log is read from here on.
	sleep 2;
	$node->{wib_log_start} = -s $node->logfile;
	return ($node, \@workers);
}

# The coordinator's log since wib.distribute() (and the passes it interrupted) ended.
sub log_since_distribute
{
	my ($node) = @_;
	my $log = slurp_file($node->logfile);
	return substr($log, $node->{wib_log_start} // 0);
}

# The catalog-driven isolation suite (test/pgtap/00_tenancy.sql and its
# fixture) as it runs on a cluster: (sql, number of changes made).  The tenant
# reaches the workers only as a transaction-local setting, so the context is
# set with wib.set_context(..., true) where the suite sets it per session, and
# cleared with SET LOCAL of empty values; Citus refuses to let a second user
# touch placements one user modified in the same transaction, so the fixture
# (written by the operator) is committed in a transaction of its own before
# the checks' transaction; a transaction that changed numbers must commit on
# one worker (docs/scale-out.md, "IVR on a cluster"), so each organization's
# numbers are added in a transaction of their own; and Citus refuses to write
# a reference table after a parallel multi-shard statement in the same
# transaction, so the platform's VAPID key is set in a transaction of its
# own.  The checks themselves are unchanged.
sub tenancy_suite_for_cluster
{
	my $pgtap = wib_root() . '/test/pgtap';
	my $suite = slurp_file("$pgtap/00_tenancy.sql");
	my $fixture = slurp_file("$pgtap/lib/fixtures.sql");
	my $n = 0;
	$n += ($fixture =~ s{^SELECT (pg_temp\.seed_ivr\(.*?\)), (pg_temp\.seed_ivr\(.*\));$}
		{COMMIT;\nBEGIN;\nSELECT $1;\nCOMMIT;\nBEGIN;\nSELECT $2;\nCOMMIT;\nBEGIN;}m);
	$n += ($fixture =~ s{^(SELECT wib\.vapid_configure\(.*)$}{COMMIT;\nBEGIN;\n$1\nCOMMIT;\nBEGIN;}m);
	$n += ($suite =~ s{^BEGIN;\n\\ir lib/fixtures\.sql\n}{BEGIN;\n$fixture\nCOMMIT;\nBEGIN;\n}m);
	$n += ($suite =~ s{^(SELECT wib\.set_context\(.*)\);$}{$1, true);}mg);
	$n += ($suite =~ s{^SELECT wib\.clear_context\(\);$}{SET LOCAL wib.org_id = ''; SET LOCAL wib.user_id = '';}mg);
	return ($suite, $n);
}

# run_tap_sql(node, sql): runs a pgTAP script in database postgres; returns
# { planned, ok, not_ok => [lines], stderr, seconds }.
sub run_tap_sql
{
	my ($node, $sql) = @_;
	my ($out, $err) = ('', '');
	my $t0 = time;
	$node->psql('postgres', $sql, stdout => \$out, stderr => \$err, on_error_stop => 0);
	my $took = time - $t0;
	my ($planned) = $out =~ /^\s*1\.\.(\d+)/m;
	my @ok = $out =~ /^\s*ok \d+/mg;
	my @not_ok = $out =~ /^\s*(not ok \d+.*)$/mg;
	return { planned => $planned // 0, ok => scalar(@ok), not_ok => \@not_ok, stderr => $err, seconds => $took };
}

1;
