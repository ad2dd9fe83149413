# Exports on a Citus cluster: jobs requested by two organizations are claimed
# one organization at a time by the coordinator's scheduler, their rows
# streamed from distributed queries into files the coordinator writes, read
# back exactly (test/t/exports_compare.py); expired exports are removed.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibCitus;

my ($node, $workers) = citus_cluster();
my $out = PostgreSQL::Test::Utils::tempdir;
my $compare = wib_root() . '/test/t/exports_compare.py';
my $datadir = $node->data_dir;

my @orgs = map { $node->safe_psql('postgres', "SELECT wib.organization_create('Export $_', 'enterprise')") } (1, 2);
for my $i (0, 1)
{
	my $org = $orgs[$i];
	$node->safe_psql('postgres', "BEGIN; SELECT wib.set_context('$org', 'tester', true) \\g /dev/null\n" . qq{
		INSERT INTO wib.calls (organization_id, from_number, to_number, disposition, telnyx_call_id, started_at)
		SELECT '$org', (ARRAY['a,b', 'say "hi"', E'line1\\nline2', '=1+2', '', NULL, '😀 ünï', E'tab\\there'])[1 + g % 8],
		       '+1555000' || lpad(g::text, 4, '0'), 'org $i', 'c' || g,
		       '2026-01-01'::timestamptz + g * interval '1 minute'
		  FROM generate_series(1, 700 + 300 * $i) g;
		INSERT INTO wib.recordings (organization_id, call_id, recording_url, transcript, created_at)
		SELECT c.organization_id, c.id, c.to_number, c.from_number, c.started_at FROM wib.calls c WHERE c.organization_id = '$org';
		COMMIT});
}

# The source values, as PostgreSQL itself writes them in JSON.
sub source_json
{
	my ($name, $query) = @_;
	my $file = "$out/$name.source.json";
	my $json = $node->safe_psql('postgres', "SELECT json_agg(s) FROM ($query) s");
	open(my $fh, '>:raw', $file) or die $!;
	print $fh $json;
	close $fh;
	return $file;
}

my %jobs;
for my $i (0, 1)
{
	my $org = $orgs[$i];
	$jobs{"calls-csv-$i"} = [ $org, 'calls', 'csv', source_json("calls$i", qq{
		SELECT id, from_number, to_number, disposition, telnyx_call_id
		  FROM wib.calls WHERE organization_id = '$org' ORDER BY started_at}) ];
	$jobs{"recordings-json-$i"} = [ $org, 'recordings', 'json', source_json("recordings$i", qq{
		SELECT id, recording_url, transcript
		  FROM wib.recordings WHERE organization_id = '$org' ORDER BY created_at}) ];
}
for my $key (sort keys %jobs)
{
	my ($org, $type, $format) = @{ $jobs{$key} };
	push @{ $jobs{$key} }, $node->safe_psql('postgres', "BEGIN; SELECT wib.set_context('$org', 'tester', true) \\g /dev/null\n"
		  . "SELECT wib.export_create('$type', '$format', '{\"formula_guard\": false}'); COMMIT");
}
ok($node->poll_query_until('postgres', "SELECT bool_and(status = 'completed') FROM wib.export_jobs"),
	'the_coordinators_scheduler_runs_every_export_of_both_organizations')
  or diag($node->safe_psql('postgres', "SELECT status || ' ' || coalesce(error_detail, '') FROM wib.export_jobs"));
for my $key (sort keys %jobs)
{
	my ($org, $type, $format, $src, $id) = @{ $jobs{$key} };
	my ($status, $storage_key, $sha, $rows) = split /\|/, $node->safe_psql('postgres',
		"SELECT status || '|' || storage_key || '|' || sha256 || '|' || total_rows FROM wib.export_jobs WHERE organization_id = '$org' AND id = '$id'");
	is($status, 'completed', "export $key completed");
	my $file = "$datadir/wib_exports/$storage_key";
	my ($stdout, $stderr);
	IPC::Run::run([ 'python3', $compare, $format, $file, $src, 0 ], '>', \$stdout, '2>', \$stderr);
	like($stdout, qr/^ok \d+/, "export_${key}_round_trips_exactly_from_the_distributed_rows") or diag("$stdout$stderr");
	like(`sha256sum '$file'`, qr/^$sha\s/, "export $key: the stored SHA-256 matches the file");
}

# Expiry: the jobs of both organizations past their time are expired and their files removed.
my ($org0, undef, undef, undef, $id0) = @{ $jobs{'calls-csv-0'} };
my ($org1, undef, undef, undef, $id1) = @{ $jobs{'calls-csv-1'} };
my @keys = map { $node->safe_psql('postgres', "SELECT storage_key FROM wib.export_jobs WHERE id = '$_'") } ($id0, $id1);
$node->safe_psql('postgres', "UPDATE wib.export_jobs SET expires_at = now() - interval '1 minute' WHERE id IN ('$id0', '$id1')");
is($node->safe_psql('postgres', 'SELECT wib.export_expire()'), '2', 'export_expire_expires_the_jobs_of_both_organizations');
is($node->safe_psql('postgres', "SELECT string_agg(status, ',') FROM wib.export_jobs WHERE id IN ('$id0', '$id1')"),
	'expired,expired', 'the_expired_jobs_are_marked_expired');
ok(!-e "$datadir/wib_exports/$keys[0]" && !-e "$datadir/wib_exports/$keys[1]", 'the_expired_files_are_removed');
is($node->safe_psql('postgres', 'SELECT wib.export_expire()'), '0', 'a_second_expiry_finds_nothing');

my $log = log_since_distribute($node);
my @failed = $log =~ /(could not run distributed query with FOR UPDATE|could not create distributed plan)/g;
is(scalar(@failed), 0, 'the_export_runner_never_fails_on_the_cluster');

$node->stop;
$_->stop for @$workers;
done_testing();
