# Exports survive a crash: kill -9 the scheduler while it writes an export; after
# the restart the job is picked up again, rewritten from scratch and completes
# with a correct file (never left processing, no partial file left behind).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;

my $node = wib_node('exports_crash');
my $datadir = $node->data_dir;
my $rows = 600000;

my $org = $node->safe_psql('postgres', q{SELECT wib.organization_create('Crash Co', 'enterprise')});
$node->safe_psql('postgres', qq{
	UPDATE wib.plan_limits SET value = NULL WHERE plan = 'enterprise' AND limit_name = 'export_rows';
	UPDATE wib.scheduled_jobs SET run_every = interval '1 second' WHERE name = 'export_jobs';
	SELECT wib.set_context('$org', 'tester');
	INSERT INTO wib.calls (organization_id, from_number, to_number, disposition, started_at)
	SELECT '$org', '555' || g, '556' || g, 'note, "quoted" ' || g, '2026-01-01'::timestamptz + g * interval '1 second'
	  FROM generate_series(1, $rows) g;
});
my $job = $node->safe_psql('postgres', qq{
	SELECT wib.export_create('calls', 'csv') FROM (SELECT wib.set_context('$org', 'tester')) s});
my $key = $node->safe_psql('postgres', "SELECT storage_key FROM wib.export_jobs WHERE id = '$job'");
my $final = "$datadir/wib_exports/$key";
my $part = "$final.part";

# Wait for the scheduler to be half-way through the file, then kill it.
my $pid = wait_for_worker_pid($node, 'scheduler');
my $waited = 0;
while (!(-e $part && -s $part > 1_000_000) && !-e $final && $waited < 30_000)
{
	usleep(5_000);
	$waited += 5;
}
ok(-e $part && !-e $final, 'scheduler_is_killed_while_the_export_is_half_written');
my $live = $node->safe_psql('postgres', qq{
	SELECT status || ' ' || (rows_written > 0 AND rows_written < $rows) || ' ' || (bytes_written > 0)
	  FROM (SELECT wib.set_context('$org', 'tester')) s, wib.export_status('$job')});
is($live, 'processing true true', 'export_status_shows_live_progress_while_the_file_is_written');
kill 'KILL', $pid;

# The postmaster restarts everything; the job is still pending, not processing.
my $new_pid = wait_for_worker_pid($node, 'scheduler', $pid);
isnt($new_pid, $pid, 'scheduler_restarts_after_kill_9');
ok($node->poll_query_until('postgres',
		"SELECT status = 'completed' FROM wib.export_jobs WHERE id = '$job'"),
	'interrupted_export_job_completes_after_restart');

my ($status, $total, $size, $sha, $attempts) = split /\|/, $node->safe_psql('postgres',
	"SELECT status, total_rows, file_size_bytes, sha256, attempts FROM wib.export_jobs WHERE id = '$job'");
is($total, $rows, 'rewritten_export_has_every_row');
ok(!-e $part, 'no_partial_file_is_left_behind');
is(-s $final, $size, 'rewritten_file_has_the_recorded_size');
like(`sha256sum '$final'`, qr/^$sha\s/, 'rewritten_file_has_the_recorded_sha256');
is($attempts, 1, 'the crashed attempt left no trace in the job');

# The file is the same as a fresh stream of the same export.
my $lines = `wc -l < '$final'`;
is($lines + 0, $rows + 1, 'rewritten_file_has_header_and_one_line_per_row');
my $streamed = $node->safe_psql('postgres', qq{
	SELECT encode(sha256(convert_to(string_agg(c, '' ORDER BY n), 'UTF8')), 'hex')
	  FROM (SELECT wib.set_context('$org', 'tester')) s,
	       wib.export_stream('calls', 'csv') WITH ORDINALITY AS t(c, n)});
is($streamed, $sha, 'rewritten_file_equals_a_fresh_stream_of_the_export');

done_testing();
