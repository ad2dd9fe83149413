# Disk full while an export is written.  The scheduler, which writes export
# files, runs with a file size limit (RLIMIT_FSIZE, set on the running process
# with prlimit) smaller than the export: its write() fails with EFBIG, as it
# would with ENOSPC on a full disk (both take the same path).  The job must
# fail with an error_detail that says the disk is full, leave no file behind,
# keep the worker running, and the next export must succeed once space is
# back.  A session under the same limit sees SQLSTATE WB206.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

# Above a WAL segment (16 MB), so that only the export file can reach it.
my $limit = 24 * 1024 * 1024;
my $rows = 8000;

my $node = wib_node('faults_disk');
my $dir = $node->data_dir . '/wib_exports';
my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Disk Co', 'enterprise')");
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'tester';";
# Each row's disposition is 4 kB in the file but a few bytes in the table
# (compressed), so the export is about 33 MB while the table stays small.
$node->safe_psql('postgres', qq{
	UPDATE wib.scheduled_jobs SET run_every = interval '1 second' WHERE name = 'export_jobs';
	$ctx
	INSERT INTO wib.calls (organization_id, from_number, to_number, disposition, started_at)
	SELECT '$org', '555' || g, '556' || g, repeat('disk full? ', 370), '2026-01-01'::timestamptz + g * interval '1 second'
	  FROM generate_series(1, $rows) g;
});

# Files under the export directory, relative to it.
sub export_files
{
	my @found;
	opendir(my $dh, "$dir/$org") or return ();
	@found = grep { !/^\./ } readdir($dh);
	closedir($dh);
	return sort @found;
}

sub job
{
	my ($id, $cols) = @_;
	return $node->safe_psql('postgres', "SELECT $cols FROM wib.export_jobs WHERE id = '$id'");
}

# 1. The scheduler's files may not grow past $limit.
my $pid = wait_for_worker_pid($node, 'scheduler');
system('prlimit', '--pid', $pid, "--fsize=$limit:") == 0 or die "prlimit failed";
like(`prlimit --pid $pid --fsize --noheadings --raw`, qr/^FSIZE\s.*\b$limit\b/m, 'scheduler_runs_with_a_file_size_limit');

my $job = $node->safe_psql('postgres', "$ctx SELECT wib.export_create('calls', 'csv')");
ok($node->poll_query_until('postgres', "SELECT status IN ('failed', 'completed') FROM wib.export_jobs WHERE id = '$job'"),
	'disk_full_export_job_finishes');
is(job($job, 'status'), 'failed', 'disk_full_export_job_fails');
like(job($job, 'error_detail'), qr/^out of disk space writing export file ".*\.csv\.part": File too large: The disk of wib\.export_directory is full/,
	'disk_full_error_detail_says_the_disk_is_full');
is(job($job, "coalesce(file_size_bytes::text, 'none') || ' ' || attempts"), 'none 1',
	'disk_full_job_records_no_file');
is(join(',', export_files()), '', 'disk_full_leaves_no_part_file_nor_file');
is(worker_pid($node, 'scheduler'), $pid, 'disk_full_does_not_stop_the_scheduler');
is($node->safe_psql('postgres', "SELECT last_status FROM wib.scheduled_jobs WHERE name = 'export_jobs'"),
	'succeeded', 'disk_full_is_the_jobs_failure_not_the_runners');
is($node->safe_psql('postgres', "$ctx SELECT status FROM wib.export_status('$job')"), 'failed',
	'disk_full_failure_is_what_the_application_sees');

# 2. Space is back: the next export of the same rows completes, whole.
system('prlimit', '--pid', $pid, '--fsize=unlimited:') == 0 or die "prlimit failed";
my $next = $node->safe_psql('postgres', "$ctx SELECT wib.export_create('calls', 'csv')");
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM wib.export_jobs WHERE id = '$next'"),
	'after_space_is_back_the_next_export_completes');
my ($total, $size, $sha) = split /\|/, job($next, 'total_rows, file_size_bytes, sha256');
is($total, $rows, 'after_space_is_back_every_row_is_exported');
my $file = "$dir/" . job($next, 'storage_key');
is(-s $file, $size, 'after_space_is_back_the_file_has_the_recorded_size');
cmp_ok($size, '>', $limit, 'the_export_is_larger_than_the_limit_it_hit');
like(`sha256sum '$file'`, qr/^$sha\s/, 'after_space_is_back_the_file_has_the_recorded_sha256');
is(join(',', grep { /\.part$/ } export_files()), '', 'after_space_is_back_no_part_file_is_left');
is(job($job, 'status'), 'failed', 'the_failed_job_stays_failed_for_the_user_to_see');

# 3. The SQLSTATE: a session limited the same way (COPY TO PROGRAM runs in its
# backend, so $PPID is that backend) writes the export itself.
my $key = "$org/" . $node->safe_psql('postgres', 'SELECT gen_random_uuid()') . '.csv';
my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
	\\set VERBOSITY verbose
	COPY (SELECT 1) TO PROGRAM 'prlimit --pid \$PPID --fsize=$limit:';
	$ctx
	SELECT * FROM wib.export_write_file(wib.export_query('calls', '{}', '$org'), 'csv', true, 0, '$key');
});
like($stderr, qr/ERROR:\s+WB206: out of disk space writing export file/, 'disk_full_raises_wb206');
like($stderr, qr/HINT:\s+Free space there, or point wib.export_directory at a larger disk/,
	'disk_full_error_says_what_to_do');
ok(!-e "$dir/$key.part" && !-e "$dir/$key", 'disk_full_in_a_session_leaves_no_file');

$node->stop;
done_testing();
