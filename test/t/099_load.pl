# Load: 50 tenants of mixed application traffic for 5 minutes while the
# workers run.  pgbench, logged in as an application role (granted wib_app),
# runs the scripts of test/t/load/ at a fixed offered rate: events emitted,
# calls recorded (their triggers emit call.started and call.completed), IVR
# menus rendered, analytics and delivery lookups read, exports requested.
# Every tenant has two webhook subscriptions for every event, received by
# bench/webhook_sink.c.  Asserts zero errors, every delivery delivered and
# every export completed, and that the dead tuples of wib.webhook_deliveries
# stay bounded (autovacuum keeps up because the workers report their
# statistics after each unit), and that the workers' private memory (RssAnon)
# stays bounded with the same processes running throughout (none crashed or
# restarted).  Prints the figures for docs/benchmarks.md.
#
# Skipped unless WIB_LOAD=1 (it takes 5 minutes and both cores):
#   WIB_LOAD=1 WIB_SUITES=tap WIB_TAP=099_load tools/test.sh
# WIB_LOAD_SECONDS (300), WIB_LOAD_TENANTS (50), WIB_LOAD_CLIENTS (8) and
# WIB_LOAD_RATE (transactions per second offered, 200; 0 for as fast as it goes).
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use WibTest;

plan skip_all => 'the load test runs with WIB_LOAD=1' unless $ENV{WIB_LOAD};

my $seconds = $ENV{WIB_LOAD_SECONDS} // 300;
my $tenants = $ENV{WIB_LOAD_TENANTS} // 50;
my $clients = $ENV{WIB_LOAD_CLIENTS} // 8;
my $rate = $ENV{WIB_LOAD_RATE} // 200;
my @scripts = ([ 'emit', 35 ], [ 'call', 15 ], [ 'menu', 30 ], [ 'analytics', 10 ], [ 'lookup', 9 ], [ 'export', 1 ]);

# The receiver: bench/webhook_sink.c, one line per request received.
my $dir = PostgreSQL::Test::Utils::tempdir();
system('cc', '-O2', '-o', "$dir/webhook_sink", wib_root() . '/bench/webhook_sink.c') == 0 or die 'could not build webhook_sink';
my $sink = IPC::Run::start([ "$dir/webhook_sink", "$dir/sink.port", "$dir/sink.log" ]);
for (1 .. 100) { last if -s "$dir/sink.port"; usleep(100_000) }
my $port = slurp_file("$dir/sink.port");
chomp $port;

# Server settings as shipped, but for loopback webhooks and the export rate
# limit (20 per organization per hour would refuse the traffic).
my $node = wib_node('load', conf => join("\n",
	"wib.worker_poll_interval = 1s",
	"wib.http_allow_http = on",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.export_rate_limit = 1000000",
	"max_connections = 100",
	"log_autovacuum_min_duration = 0"));
my %workers = map { $_ => wait_for_worker_pid($node, $_) } qw(scheduler deliverer);
$node->safe_psql('postgres', 'CREATE EXTENSION pgstattuple');

# A process's private memory in kB (RssAnon: its heap and memory contexts, not
# the shared buffers it touches), 0 once it is gone.
sub rss_anon
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/status") or return 0;
	while (<$fh>)
	{
		return $1 if /^RssAnon:\s+(\d+) kB/;
	}
	return 0;
}

# Tenants: each with 5 agents, 2 subscriptions for every event, an IVR menu of
# 6 options, and 30 days of calls (analytics snapshots built by run_nightly).
$node->safe_psql('postgres', qq{
	CREATE ROLE load_app LOGIN IN ROLE wib_app;
	CREATE TABLE public.load_tenants (n integer PRIMARY KEY, org uuid NOT NULL, menu uuid);
	GRANT SELECT ON public.load_tenants TO load_app;
	INSERT INTO public.load_tenants (n, org)
	SELECT g, wib.organization_create('Load tenant ' || g, 'enterprise') FROM generate_series(1, $tenants) g;
});
for my $t (1 .. $tenants)
{
	$node->safe_psql('postgres', qq{
		SELECT wib.set_context(org, 'admin') FROM public.load_tenants WHERE n = $t;
		SELECT wib.user_create('agent-' || a, 'Agent ' || a, 'agent' || a || '\@tenant$t.example', 'agent') FROM generate_series(1, 5) a;
		UPDATE public.load_tenants SET menu = wib.ivr_menu_create(jsonb_build_object(
			'name', 'Main', 'greeting_text', 'Thank you for calling tenant $t.', 'voice', 'Polly.Joanna-Neural',
			'options', (SELECT jsonb_agg(jsonb_build_object('digit', d::text, 'action_type', 'transfer',
			                             'target', '+155502000' || d, 'prompt', 'For team ' || d || ', press ' || d || '.'))
			              FROM generate_series(1, 6) d)))
		 WHERE n = $t;
		INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status, started_at, ended_at, duration_seconds)
		SELECT wib.current_org_id(), 'agent-' || (1 + g % 5), 'inbound', '+15550100000', '+15550200000', 'completed',
		       now() - make_interval(days => g % 30, secs => g), now() - make_interval(days => g % 30), 60 + g % 300
		  FROM generate_series(1, 300) g;
		SELECT wib.webhook_subscribe('sink ' || s, 'http://127.0.0.1:$port/in', ARRAY['*']) FROM generate_series(1, 2) s;
	});
}
$node->safe_psql('postgres', 'SELECT wib.run_nightly_range(current_date - 30, current_date - 1)');
# The seed's own deliveries are delivered first, so the run starts from an empty queue.
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM wib.webhook_deliveries WHERE status <> 'delivered'")
  or die 'seed deliveries not drained';
$node->safe_psql('postgres', 'VACUUM ANALYZE wib.webhook_deliveries');
my ($deliveries_before, $exports_before) = split /\|/, $node->safe_psql('postgres',
	'SELECT (SELECT count(*) FROM wib.webhook_deliveries) || \'|\' || (SELECT count(*) FROM wib.export_jobs)');
my $av_before = $node->safe_psql('postgres',
	"SELECT autovacuum_count FROM pg_stat_user_tables WHERE relid = 'wib.webhook_deliveries'::regclass");

# pgbench as the application role, in the background.
my @cmd = ($node->installed_command('pgbench'), '-n', '-h', $node->host, '-p', $node->port, '-U', 'load_app',
	'-c', $clients, '-j', 2, '-T', $seconds, '-P', 30, '-D', "tenants=$tenants", '--failures-detailed',
	($rate ? ('-R', $rate) : ()),
	map { ('-f', wib_root() . "/test/t/load/$_->[0].sql\@$_->[1]") } @scripts);
push @cmd, 'postgres';
my ($out, $err) = ('', '');
my $t0 = time();
my $bench = IPC::Run::start(\@cmd, '>', \$out, '2>', \$err);

# Every 5 s: dead tuples as autovacuum sees them (statistics) and as they are
# (pgstattuple), live rows, the age of the oldest due delivery (the
# deliverer's lag), and autovacuum runs.
my @samples;
while ($bench->pumpable)
{
	$bench->pump_nb;
	my ($stat_dead, $live, $av, $dead, $lag, $size) = split /\|/, $node->safe_psql('postgres', q{
		SELECT s.n_dead_tup || '|' || s.n_live_tup || '|' || s.autovacuum_count || '|' || t.dead_tuple_count || '|'
		       || coalesce((SELECT extract(epoch FROM now() - min(d.created_at))::numeric(10, 2)
		                      FROM wib.webhook_deliveries d
		                     WHERE d.status IN ('pending', 'retrying') AND d.next_retry_at <= now()), 0) || '|'
		       || pg_relation_size('wib.webhook_deliveries')
		  FROM pg_stat_user_tables s, pgstattuple('wib.webhook_deliveries') t
		 WHERE s.relid = 'wib.webhook_deliveries'::regclass});
	push @samples, { t => time() - $t0, stat_dead => $stat_dead, live => $live, av => $av, dead => $dead, lag => $lag, size => $size,
		map { ("rss_$_" => rss_anon($workers{$_})) } keys %workers };
	sleep 5;
}
$bench->finish;
my $status = $? >> 8;
my $elapsed = time() - $t0;

is($status, 0, 'pgbench_exits_cleanly') or diag($err);
unlike($err, qr/aborted|ERROR/, 'no_client_aborted_and_no_error') or diag($err);
my ($failed) = $out =~ /number of failed transactions: (\d+)/;
is($failed, 0, 'no_transaction_failed');

# Drain: every delivery delivered, every export written.
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM wib.webhook_deliveries WHERE status <> 'delivered'"), 'every_delivery_is_delivered');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM wib.export_jobs WHERE status IN ('pending', 'processing')"), 'every_export_is_written');
my $drained = time() - $t0 - $elapsed;
my ($deliveries, $exports, $exports_failed, $p50, $p99, $max_latency) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT (SELECT count(*) FROM wib.webhook_deliveries) - $deliveries_before || '|'
	    || (SELECT count(*) FROM wib.export_jobs) - $exports_before || '|'
	    || (SELECT count(*) FROM wib.export_jobs WHERE status <> 'completed') || '|'
	    || (SELECT round(1000 * extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY delivered_at - created_at))) || '|'
	            || round(1000 * extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY delivered_at - created_at))) || '|'
	            || round(1000 * extract(epoch FROM max(delivered_at - created_at)))
	          FROM wib.webhook_deliveries)});
is($exports_failed, 0, 'no_export_failed');
my $received = 0;
open(my $fh, '<', "$dir/sink.log") or die;
$received++ while <$fh>;
close $fh;
cmp_ok($received, '>=', $deliveries + $deliveries_before, 'the_receiver_got_every_delivery');

# Dead tuples bounded: autovacuum ran on the table during the run, and the
# real dead tuples of the last third never exceed those of the first two
# thirds by more than a margin (they do not grow with the run).
my $av_after = $samples[-1]{av};
cmp_ok($av_after - $av_before, '>=', 2, 'autovacuum_vacuums_the_delivery_table_during_the_run');
my @early = grep { $_->{t} <= $seconds * 2 / 3 } @samples;
my @late = grep { $_->{t} > $seconds * 2 / 3 } @samples;
my $max = sub { my $m = 0; $m = $_ > $m ? $_ : $m for @_; $m };
my $max_early = $max->(map { $_->{dead} } @early);
my $max_late = $max->(map { $_->{dead} } @late);
my $max_dead = $max->($max_early, $max_late);
cmp_ok($max_late, '<=', 1.5 * $max_early + 10000, 'dead_tuples_of_the_delivery_table_stay_bounded');
my $max_lag = $max->(map { $_->{lag} } @samples);

# Memory bounded: the same workers ran throughout, and the private memory of
# each in the last third is within 20% (plus 8 MB) of its peak in the first
# two thirds.
my %rss;
for my $w (sort keys %workers)
{
	is(worker_pid($node, $w), $workers{$w}, "the_${w}_ran_throughout_without_a_restart");
	my ($e, $l) = ($max->(map { $_->{"rss_$w"} } @early), $max->(map { $_->{"rss_$w"} } @late));
	cmp_ok($l, '<=', 1.2 * $e + 8192, "the_private_memory_of_the_${w}_stays_bounded");
	$rss{$w} = [ $e, $l ];
}

# The figures.
my %tps;
while ($out =~ /SQL script \d+: \S*\/(\w+)\.sql\n(?:.*\n)*? - \d+ transactions \([^)]*tps = ([\d.]+)\)/g)
{
	$tps{$1} = $2;
}
my %lat;
while ($out =~ /SQL script \d+: \S*\/(\w+)\.sql\n(?:.*\n)*? - latency average = ([\d.]+) ms/g)
{
	$lat{$1} = $2;
}
my ($total_tps) = $out =~ /tps = ([\d.]+) \(without initial connection time\)/;
my $last = $samples[-1];
my @lines = (
	sprintf('Load: %d tenants, %d clients, offered %s tx/s, %d s; machine load average at the end %s',
		$tenants, $clients, $rate || 'max', $seconds, (split ' ', slurp_file('/proc/loadavg'))[0]),
	sprintf('| total | %.1f tx/s | errors %d |', $total_tps // 0, $failed // -1),
	(map { sprintf('| %s (weight %d) | %.1f tx/s | latency avg %.2f ms |', $_->[0], $_->[1], $tps{ $_->[0] } // 0, $lat{ $_->[0] } // 0) } @scripts),
	sprintf('| deliveries | %d queued, all delivered; %d requests received | commit-to-delivered p50 %d ms, p99 %d ms, max %d ms |',
		$deliveries, $received - $deliveries_before, $p50, $p99, $max_latency),
	sprintf('| deliverer lag (oldest due delivery, sampled every 5 s) | max %.2f s | drained %.1f s after the run |', $max_lag, $drained),
	sprintf('| exports | %d requested, all completed |', $exports),
	sprintf('| webhook_deliveries dead tuples (pgstattuple) | max %d (first two thirds %d, last third %d) | at the end %d of %d live, table %.1f MB |',
		$max_dead, $max_early, $max_late, $last->{dead}, $last->{live}, $last->{size} / 1048576),
	sprintf('| autovacuum of webhook_deliveries | %d runs during the run | statistics said %d dead at the end |',
		$av_after - $av_before, $last->{stat_dead}),
	(map { sprintf('| %s private memory (RssAnon) | peak %.1f MB in the first two thirds | peak %.1f MB in the last third |',
		$_, $rss{$_}[0] / 1024, $rss{$_}[1] / 1024) } sort keys %rss));
note($_) for @lines;
my $report = $ENV{TESTDIR} ? "$ENV{TESTDIR}/load_report.md" : "$dir/load_report.md";
open(my $rf, '>', $report) or die;
print $rf "$_\n" for @lines;
print $rf "\nsamples (t s, dead, stat dead, live, lag s, autovacuums, deliverer kB, scheduler kB):\n";
printf $rf "%.0f %d %d %d %s %d %d %d\n", @{$_}{qw(t dead stat_dead live lag av rss_deliverer rss_scheduler)} for @samples;
close $rf;
note("report written to $report");

$node->stop;
$sink->kill_kill;
done_testing();
