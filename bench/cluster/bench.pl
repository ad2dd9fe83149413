# make bench-citus: the same data on a single node and on the 3-node loopback
# Citus cluster (a coordinator and two workers), in the same run: webhook
# deliveries per second (signed, plain HTTP to bench/webhook_sink.c, a
# keep-alive receiver fast enough to measure the sender), export rows per
# second (the job path, wib.run_export_jobs, CSV into a file) and the time of
# the catalog-driven isolation suite (test/pgtap/00_tenancy.sql; on the
# cluster with the tenant per transaction, WibCitus::tenancy_suite_for_cluster).
# Figures are reported, not targeted: three nodes on the same cores measure
# the cluster's overhead, not its scale.  Writes BENCH_OUT/table.md.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use WibTest;
use WibCitus;

my $events = $ENV{WIB_BENCH_CITUS_EVENTS} // 10000;
my $rows = $ENV{WIB_BENCH_CITUS_ROWS} // 200000;
my $out = $ENV{BENCH_OUT} // PostgreSQL::Test::Utils::tempdir();
my $tmp = PostgreSQL::Test::Utils::tempdir();

system('cc', '-O2', '-o', "$tmp/webhook_sink", wib_root() . '/bench/webhook_sink.c', '-lssl', '-lcrypto') == 0
  or die 'cannot build the sink';
my $sink = fork();
if ($sink == 0)
{
	exec("$tmp/webhook_sink", "$tmp/sink.port", "$tmp/sink.log") or die "exec: $!";
}
for (1 .. 50) { last if -s "$tmp/sink.port"; usleep(100_000) }
my $port = slurp_file("$tmp/sink.port");
chomp $port;
END { kill 'TERM', $sink if $sink }

my $conf = join("\n",
	"wib.http_allow_http = on",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.webhook_batch_size = 200");
my $single = wib_node('single', conf => $conf);
my ($coord, $workers) = citus_cluster(conf => $conf);
my %fig;

for my $case ([ 'single', $single ], [ 'cluster', $coord ])
{
	my ($label, $node) = @$case;
	my $sql = sub { return $node->safe_psql('postgres', $_[0]) };
	$sql->('CREATE EXTENSION pgtap');
	# The export runner is called below, not by the scheduler.
	$sql->("UPDATE wib.scheduled_jobs SET enabled = false WHERE name = 'export_jobs'");
	my $org = $sql->("SELECT wib.organization_create('Bench $label', 'enterprise')");
	my $ctx = "BEGIN; SELECT wib.act_as('$org', 'bench') \\g /dev/null\n";
	$sql->("$ctx SELECT id FROM wib.webhook_subscribe('sink', 'http://127.0.0.1:$port/in', ARRAY['custom.bench']) \\g /dev/null\nCOMMIT");

	# Warm-up, then the run: queued in one transaction, delivered by the deliverer.
	for my $n (1000, $events)
	{
		my $t0 = $sql->("$ctx SELECT count(wib.emit_event('custom.bench', jsonb_build_object('n', g, 'note', repeat('x', 200)))) "
			  . "FROM generate_series(1, $n) g \\g /dev/null\nCOMMIT; SELECT extract(epoch FROM clock_timestamp())");
		local $PostgreSQL::Test::Utils::timeout_default = 600;
		$node->poll_query_until('postgres',
			"SELECT count(*) = 0 FROM wib.webhook_deliveries WHERE status IN ('pending', 'retrying')") or die "$label: not drained";
		my ($rate, $delivered) = split /\|/, $sql->(
			"SELECT round($n / (extract(epoch FROM max(delivered_at)) - $t0)) || '|' || count(*) FROM wib.webhook_deliveries "
			  . "WHERE status = 'delivered' AND delivered_at > to_timestamp($t0)");
		next if $n == 1000 && $n != $events;
		is($delivered, $n, "$label: every delivery recorded delivered");
		$fig{$label}{webhooks} = $rate;
	}

	# Exports: the same rows, one job, timed by the job's own start and end.
	# The rows are loaded without their triggers (events, change log), on
	# both: the export is measured, not the load (on the cluster each row's
	# triggers would run on its shard).  SET LOCAL reaches the workers.
	$sql->("$ctx SET LOCAL session_replication_role = replica; INSERT INTO wib.users (organization_id, id, name, email) "
		  . "SELECT '$org', 'agent-' || g, 'Agent ' || g, 'agent' || g || '\@example.com' FROM generate_series(1, 50) g; COMMIT");
	$sql->("$ctx SET LOCAL session_replication_role = replica; INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status, disposition, "
		  . "telnyx_call_id, started_at, ended_at, duration_seconds) "
		  . "SELECT '$org', 'agent-' || (g % 50 + 1), CASE WHEN g % 3 = 0 THEN 'inbound' ELSE 'outbound' END, "
		  . "'+1555' || lpad(g::text, 7, '0'), '+1666' || lpad((g * 7)::text, 7, '0'), 'completed', "
		  . "CASE g % 4 WHEN 0 THEN 'sale' WHEN 1 THEN 'callback, later' WHEN 2 THEN 'said \"no\"' ELSE NULL END, "
		  . "'v3:' || md5(g::text), '2025-01-01'::timestamptz + g * interval '17 seconds', "
		  . "'2025-01-01'::timestamptz + g * interval '17 seconds' + (g % 600) * interval '1 second', g % 600 "
		  . "FROM generate_series(1, $rows) g; COMMIT");
	$sql->('VACUUM ANALYZE wib.calls');
	my $job = $sql->("$ctx SELECT wib.export_create('calls', 'csv'); COMMIT");
	$sql->('SELECT wib.run_export_jobs(1)');
	my ($status, $total, $secs) = split /\|/, $sql->(
		"SELECT status || '|' || total_rows || '|' || extract(epoch FROM completed_at - started_at) FROM wib.export_jobs WHERE id = '$job'");
	is("$status $total", "completed $rows", "$label: the export wrote every row");
	$fig{$label}{exports} = sprintf('%.0f', $total / $secs);

	# The isolation suite.
	my $suite;
	if ($label eq 'cluster')
	{
		($suite) = tenancy_suite_for_cluster();
	}
	else
	{
		my $pgtap = wib_root() . '/test/pgtap';
		$suite = slurp_file("$pgtap/00_tenancy.sql");
		$suite =~ s{^\\ir lib/fixtures\.sql$}{\\i $pgtap/lib/fixtures.sql}m;
	}
	my $r = run_tap_sql($node, $suite);
	my $passes = $r->{planned} > 0 && $r->{ok} == $r->{planned};
	ok($passes, "$label: every isolation check passes") or diag(join("\n", @{ $r->{not_ok} }) . $r->{stderr});
	$fig{$label}{isolation} = $passes ? sprintf('%.1f s', $r->{seconds}) : 'fails';
	$fig{$label}{checks} ||= $r->{planned};
}
kill 'TERM', $sink;

open(my $fh, '>', "$out/table.md") or die $!;
print $fh "| figure | single node | 3-node loopback cluster |\n|---|---|---|\n";
printf $fh "| webhook deliveries/s (%d events of one organization, signed, plain HTTP to a keep-alive receiver) | %s | %s |\n",
  $events, $fig{single}{webhooks}, $fig{cluster}{webhooks};
printf $fh "| export rows/s (%d call rows, CSV, job path into a file) | %s | %s |\n",
  $rows, $fig{single}{exports}, $fig{cluster}{exports};
printf $fh "| isolation suite (test/pgtap/00_tenancy.sql, %d checks) | %s | %s |\n",
  $fig{single}{checks}, $fig{single}{isolation}, $fig{cluster}{isolation};
close $fh;
note(slurp_file("$out/table.md"));

$single->stop;
$coord->stop;
$_->stop for @$workers;
done_testing();
