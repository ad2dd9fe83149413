# Exports round trip: rows with commas, quotes, CR/LF, tabs, emoji, NULL and
# empty strings, control characters, very long text and 500 rows of random
# strings over those characters go through the job
# runner and wib.export_stream, and Python's csv and json modules read back
# exactly the source values (the formula guard's prefix where it applies).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

my $node = wib_node('exports_roundtrip');
my $out = PostgreSQL::Test::Utils::tempdir;
my $compare = wib_root() . '/test/t/exports_compare.py';
my $datadir = $node->data_dir;

my $org = $node->safe_psql('postgres', q{
	SELECT wib.organization_create('Round Trip', 'enterprise');
});
$node->safe_psql('postgres', qq{
	SELECT wib.set_context('$org', 'tester');
	CREATE TABLE tricky (n int, v text);
	INSERT INTO tricky VALUES
		(0, 'plain'), (1, 'a,b'), (2, 'say "hi"'), (3, E'line1\\nline2'), (4, E'cr\\r\\nlf'),
		(5, E'lone\\rcr'), (6, E'tab\\there'), (7, '😀 emoji ünïcödé 中文'), (8, ''), (9, NULL),
		(10, repeat(E'long,"text"\\n', 100000)), (11, '=1+2'), (12, E'back\\\\slash'),
		(13, ' leading and trailing '), (14, '"'), (15, E'\\x01ctrl\\x1f'), (16, '+15550001111'),
		(17, '-minus'), (18, '\@at'), (19, E'\\ttab first'), (20, ',');
	INSERT INTO wib.calls (organization_id, from_number, to_number, disposition, telnyx_call_id, started_at)
	SELECT '$org', a.v, b.v, c.v, d.v, '2026-01-01'::timestamptz + g * interval '1 minute'
	  FROM generate_series(0, 83) g
	  JOIN tricky a ON a.n = g % 21 JOIN tricky b ON b.n = (g + 3) % 21
	  JOIN tricky c ON c.n = (g + 7) % 21 JOIN tricky d ON d.n = (g / 21 + g) % 21;
});

# Random strings over an alphabet of the troublesome characters (a deterministic fuzz).
$node->safe_psql('postgres', "SELECT wib.set_context('$org', 'tester');" . q{
	SELECT setseed(0.42);
	INSERT INTO wib.calls (organization_id, from_number, to_number, disposition, telnyx_call_id, started_at)
	SELECT wib.current_org_id(), r[1], r[2], r[3], r[4], '2026-02-01'::timestamptz + g * interval '1 minute'
	  FROM generate_series(1, 500) g,
	       LATERAL (SELECT array_agg(CASE WHEN random() < 0.1 THEN NULL ELSE
	                    (SELECT string_agg((ARRAY[',', '"', E'\r', E'\n', E'\t', '=', '+', '-', '@', ' ', 'a', 'Z',
	                                               chr(92), '''', ';', 'é', '😀', E'\x01', E'\x1f', '中', '0'])
	                                         [1 + floor(random() * 21)::int], '')
	                       FROM generate_series(1, floor(random() * 12)::int + g * 0 + k * 0))
	                  END) AS r
	                  FROM generate_series(1, 4) k) s;
	INSERT INTO wib.recordings (organization_id, call_id, recording_url, transcript, created_at)
	SELECT c.organization_id, c.id, c.to_number, c.disposition, c.started_at FROM wib.calls c;
});

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

my $calls_src = source_json('calls', qq{
	SELECT id, from_number, to_number, disposition, telnyx_call_id
	  FROM wib.calls WHERE organization_id = '$org' ORDER BY started_at});
my $rec_src = source_json('recordings', qq{
	SELECT id, recording_url, transcript
	  FROM wib.recordings WHERE organization_id = '$org' ORDER BY created_at});

# Compares an export file with its source through Python.
sub compare
{
	my ($format, $file, $source, $guard, $name) = @_;
	my ($stdout, $stderr);
	IPC::Run::run([ 'python3', $compare, $format, $file, $source, $guard ], '>', \$stdout, '2>', \$stderr);
	like($stdout, qr/^ok \d+/, $name) or diag("$stdout$stderr");
}

# Through the job runner: the file on disk.
my %jobs;
for my $case ([ 'calls', 'csv', 'false' ], [ 'calls', 'csv', 'true' ], [ 'calls', 'json', 'true' ],
	[ 'recordings', 'csv', 'false' ], [ 'recordings', 'json', 'false' ])
{
	my ($type, $format, $guard) = @$case;
	$jobs{"$type-$format-$guard"} = $node->safe_psql('postgres', qq{
		SELECT wib.export_create('$type', '$format', '{"formula_guard": $guard}')
		  FROM (SELECT wib.set_context('$org', 'tester')) s;
	});
}
# The scheduler, woken by export_create, runs them one per transaction, coming back at once
# while jobs wait (its job is due only every minute otherwise).
ok($node->poll_query_until('postgres', "SELECT bool_and(status = 'completed') FROM wib.export_jobs"),
	'scheduler_runs_every_queued_export_without_waiting_a_minute');
is($node->safe_psql('postgres',
		"SELECT run_count >= 5 AND last_status = 'succeeded' FROM wib.scheduled_jobs WHERE name = 'export_jobs'"),
	't', 'scheduler_ran_the_export_jobs_job_once_per_export');
for my $key (sort keys %jobs)
{
	my ($type, $format, $guard) = split /-/, $key;
	my $row = $node->safe_psql('postgres',
		"SELECT status || '|' || storage_key || '|' || sha256 FROM wib.export_jobs WHERE id = '$jobs{$key}'");
	my ($status, $storage_key, $sha) = split /\|/, $row;
	is($status, 'completed', "job $key completed");
	my $file = "$datadir/wib_exports/$storage_key";
	compare($format, $file, $type eq 'calls' ? $calls_src : $rec_src, $guard eq 'true' ? 1 : 0,
		"job_${type}_${format}_guard_${guard}_round_trips_exactly");
	my $sum = `sha256sum '$file'`;
	like($sum, qr/^$sha\s/, "job $key: stored SHA-256 matches the file");
}

# Through wib.export_stream: the chunks, concatenated.
for my $case ([ 'calls', 'csv', 'false' ], [ 'calls', 'json', 'true' ], [ 'recordings', 'csv', 'true' ])
{
	my ($type, $format, $guard) = @$case;
	my $file = "$out/stream-$type-$format-$guard";
	$node->safe_psql('postgres', qq{
		SELECT wib.set_context('$org', 'tester');
		COPY (SELECT string_agg(c, '' ORDER BY n) FROM wib.export_stream('$type', '$format', '{"formula_guard": $guard}')
		      WITH ORDINALITY AS t(c, n)) TO '$file' WITH (FORMAT binary);
	});
	# COPY binary of one text value: 19-byte header, int16 field count, int32 length, bytes, trailer.
	open(my $fh, '<:raw', $file) or die $!;
	local $/;
	my $raw = <$fh>;
	close $fh;
	my $len = unpack('N', substr($raw, 21, 4));
	open(my $wh, '>:raw', "$file.out") or die $!;
	print $wh substr($raw, 25, $len);
	close $wh;
	compare($format, "$file.out", $type eq 'calls' ? $calls_src : $rec_src, $guard eq 'true' ? 1 : 0,
		"stream_${type}_${format}_guard_${guard}_round_trips_exactly");
}

done_testing();
