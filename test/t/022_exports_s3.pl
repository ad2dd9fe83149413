# Exports to S3-compatible object storage, against the S3 peer (HTTPS on
# loopback, every SigV4 signature checked with botocore): a 1,000,000-row CSV
# export streamed into a multipart upload while the scheduler is killed with
# kill -9 (no upload left behind, the job completes) lands as one object whose
# bytes are those of the local-file export of the same request; presigned
# links download it, expire, and refuse alteration and other tenants; bad
# credentials, a full bucket (the peer's quota), a part the store refuses (too
# small for its minimum, or invalid), a slow store, SlowDown and a 200 carrying
# an <Error> fail or retry with a clear error_detail, never leaving a half-written
# export completed or an upload in progress; expiry deletes the object
# (retried); the sweep aborts stray uploads; the secret is never in the log,
# an error or a readable column.
use strict;
use warnings;
use Digest::SHA;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;
use WibWebhooks qw(make_test_ca);

my $dir = PostgreSQL::Test::Utils::tempdir();
my ($ca, $cert, $key) = make_test_ca($dir);
my $access_key = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
my $secret = 'wibS3cret+K7MDENG/bPxRfiCY-never-in-a-log-4d2f9a';
my $wrong_secret = 'wrongS3cret+never-in-a-log-either-77c1';
my $bucket = 'wib-exports';
my $prefix = 'exports/';
my $rows = 1_000_000;

# ---------------------------------------------------------------- the S3 peer
my $peer_pid = fork();
die "fork: $!" unless defined $peer_pid;
if ($peer_pid == 0)
{
	open(STDOUT, '>', "$dir/s3.out");
	open(STDERR, '>&', \*STDOUT);
	exec('python3', wib_root() . '/test/peers/s3.py', '--port-file', "$dir/s3.port", '--data-dir', "$dir/s3",
		'--access-key', $access_key, '--secret-key', $secret, '--region', 'auto', '--tls', $cert, $key,
		'--log', "$dir/s3.log") or die "exec: $!";
}
END { kill 'TERM', $peer_pid if $peer_pid }
for (1 .. 100) { last if -s "$dir/s3.port"; usleep(100_000) }
my $port = slurp_file("$dir/s3.port");
chomp $port;
my $endpoint = "https://127.0.0.1:$port";

# curl(args...): stdout of curl trusting the test CA; sets $? as system does.
sub curl
{
	my (@args) = @_;
	my ($out, $err);
	IPC::Run::run([ 'curl', '-sS', '--cacert', $ca, @args ], '>', \$out, '2>', \$err);
	return $out;
}
sub admin { my ($method, $path, $body) = @_;
	return decode_json(curl('-X', $method, ($body ? ('--data-binary', $body) : ()), "$endpoint/__admin/$path")) }
sub fault { admin('POST', 'faults', encode_json([@_])) }
sub stats { admin('GET', 'stats') }
sub reset_stats { admin('DELETE', 'stats'); admin('DELETE', 'faults') }
sub count_of { my ($op, $status) = @_; return stats()->{operations}{$op}{$status} // 0 }
sub uploads_in_progress { return scalar @{ stats()->{uploads} } }
# sha256 and size of an object at the peer ('' when there is none).
sub object_digest
{
	my ($k) = @_;
	my $file = "$dir/object.bin";
	unlink $file;
	my $code = curl('-o', $file, '-w', '%{http_code}', "$endpoint/__admin/object?bucket=$bucket&key=$k");
	return '' unless $code eq '200';
	return Digest::SHA->new(256)->addfile($file, 'b')->hexdigest . ' ' . (-s $file);
}
sub file_digest { my ($f) = @_; return Digest::SHA->new(256)->addfile($f, 'b')->hexdigest . ' ' . (-s $f) }

# ---------------------------------------------------------------- the node
my $node = wib_node('exports_s3', conf => join("\n",
	"wib.http_ca_file = '$ca'",
	"wib.export_part_size = '5MB'",
	"wib.export_upload_concurrency = 2",
	# A million rows load without checkpoints on the way, and a checkpoint after the
	# load keeps the crash recovery below short.
	"max_wal_size = 4GB"));
my $datadir = $node->data_dir;
my $org = $node->safe_psql('postgres', q{SELECT wib.organization_create('Object Storage Co', 'enterprise')});
my $other = $node->safe_psql('postgres', q{SELECT wib.organization_create('Someone Else', 'enterprise')});
$node->safe_psql('postgres', qq{
	UPDATE wib.plan_limits SET value = NULL WHERE plan = 'enterprise' AND limit_name = 'export_rows';
	UPDATE wib.scheduled_jobs SET run_every = interval '1 second' WHERE name = 'export_jobs';
	CREATE ROLE app LOGIN IN ROLE wib_app;
	CREATE ROLE ops LOGIN IN ROLE wib_admin;
	-- Where an operator configures storage, the statement is not logged (docs/exports.md).
	ALTER ROLE ops SET log_statement = 'none';
	ALTER ROLE ops SET log_min_error_statement = 'panic';
	SELECT wib.set_context('$org', 'tester');
	INSERT INTO wib.users (organization_id, id, name, email)
	SELECT '$org', 'agent-' || g, 'Agent ' || g, 'agent' || g || '\@example.test' FROM generate_series(0, 6) g;
	-- Test data, loaded fast: no per-row event triggers (the rows are consistent anyway).
	SET session_replication_role = replica;
	INSERT INTO wib.calls (organization_id, agent_id, from_number, to_number, disposition, started_at)
	SELECT '$org', 'agent-' || (g % 7), '+1555' || lpad(g::text, 7, '0'), '+1666' || g,
	       CASE g % 3 WHEN 0 THEN 'note, "quoted"' WHEN 1 THEN NULL ELSE '=formula' END,
	       '2026-01-01'::timestamptz + g * interval '1 second'
	  FROM generate_series(1, $rows) g;
	RESET session_replication_role;
	ANALYZE wib.calls;
	CHECKPOINT;
});

# As the application of an organization: psql's result, or its error.
sub as_app
{
	my ($o, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT wib.set_context('$o', 'tester') \\g /dev/null\n$sql",
		extra_params => [ '-U', 'app' ]);
	return ($out, $err);
}
# As the operator (whose statements are not logged).
sub as_ops
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', 'ops' ]);
	return ($out, $err);
}
sub job_row
{
	my ($job, $cols) = @_;
	return $node->safe_psql('postgres', "SELECT $cols FROM wib.export_jobs WHERE id = '$job'");
}
sub wait_for_job
{
	my ($job) = @_;
	return $node->poll_query_until('postgres',
		"SELECT status IN ('completed', 'failed') FROM wib.export_jobs WHERE id = '$job'");
}
# Waits until the deliverer drained the queue of deletes and aborts.
sub wait_for_queue
{
	return $node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM wib.export_storage_queue');
}
my $create = qq{SELECT wib.export_create('calls', 'csv')};
my $filtered = qq{SELECT wib.export_create('calls', 'csv', '{"date_to": "2026-01-02T06:00:00Z"}')};

# ---------------------------------------------------------------- local first
my ($local_job) = as_app($org, $create);
ok(wait_for_job($local_job), 'local_export_of_a_million_rows_completes');
my $local_file = "$datadir/wib_exports/" . job_row($local_job, 'storage_key');
is(job_row($local_job, "status || ' ' || storage || ' ' || total_rows"), "completed local $rows",
	'local_export_is_written_to_a_file_by_default');

# ---------------------------------------------------------------- configure
my %s3 = (kind => 's3', endpoint => $endpoint, region => 'auto', bucket => $bucket, prefix => $prefix,
	access_key_id => $access_key, secret_access_key => $secret);
my $settings = encode_json(\%s3);
my ($conf, $err) = as_ops("SELECT wib.export_storage_configure('$settings')");
like($conf, qr/"secret_access_key": "sealed"/, 'configure_returns_the_settings_with_the_secret_only_as_sealed');
unlike($conf, qr/\Q$secret\E/, 'configure_never_returns_the_secret');
for my $bad ([ { %s3, endpoint => 'ftp://127.0.0.1' }, qr/invalid endpoint/ ],
	[ { %s3, bucket => 'Bad_Bucket' }, qr/invalid bucket/ ],
	[ { %s3, secret_access_key => "has space $secret" }, qr/invalid secret_access_key/ ],
	[ { %s3, colour => 'blue' }, qr/unknown field "colour" in settings/ ])
{
	my (undef, $e) = as_ops("SELECT wib.export_storage_configure('" . encode_json($bad->[0]) . "')");
	like($e, $bad->[1], "configure_refuses_bad_input_$bad->[1]");
	unlike($e, qr/\Q$secret\E/, 'the_error_does_not_echo_the_secret');
}
my (undef, $denied) = as_ops('SELECT secret_access_key FROM wib.export_storage');
like($denied, qr/permission denied/, 'operators_cannot_read_the_sealed_secret');
is($node->safe_psql('postgres', "SELECT kind || ' ' || bucket || ' ' || prefix FROM wib.export_storage"),
	"s3 $bucket $prefix", 'configure_stores_the_settings');

# ---------------------------------------------------------------- the S3 export, crashed
reset_stats();
my ($job) = as_app($org, $create);
my $r2_key = "$prefix$org/$job.csv";
my $sched = wait_for_worker_pid($node, 'scheduler');
my $parts = 0;
for (1 .. 1200)
{
	my ($u) = grep { $_->{key} eq $r2_key } @{ stats()->{uploads} };
	$parts = $u ? $u->{parts} : 0;
	last if $parts >= 2;
	usleep(50_000);
}
cmp_ok($parts, '>=', 2, 'scheduler_is_killed_while_parts_are_being_uploaded');
is(job_row($job, 'status'), 'pending', 'the interrupted job is not marked anything yet');
my $crashed_upload = $node->safe_psql('postgres', "SELECT upload_id FROM wib.export_uploads WHERE job_id = '$job'");
isnt($crashed_upload, '', 'the upload id was committed before the first part was sent');
kill 'KILL', $sched;
wait_for_worker_pid($node, 'scheduler', $sched);
ok(wait_for_job($job), 'interrupted_s3_export_completes_after_restart');
ok(wait_for_queue(), 'the_queued_aborts_are_sent');
is(uploads_in_progress(), 0, 'no_orphaned_upload_remains_after_the_restart');
is(job_row($job, "status || ' ' || storage || ' ' || r2_key || ' ' || total_rows || ' ' || attempts"),
	"completed s3 $r2_key $rows 1", 'the_job_records_its_object_key_with_the_prefix_rows_and_one_attempt');
my ($sha, $size) = split / /, job_row($job, "sha256 || ' ' || file_size_bytes");
my $local_digest = file_digest($local_file);
is("$sha $size", $local_digest, 'the_recorded_sha256_and_size_are_those_of_the_local_export_of_the_same_request');
ok(!-e "$datadir/wib_exports/" . job_row($job, 'storage_key'), 'no_local_copy_of_the_s3_export_is_written');
cmp_ok(count_of('UploadPart', 200), '>=', int($size / (5 * 1024 * 1024)), 'the_object_was_sent_in_parts');
is(count_of('PutObject', 200), 0, 'nothing_is_sent_whole');

# ---------------------------------------------------------------- presigned links
my ($url) = as_app($org, "SELECT wib.export_download_url('$job')");
like($url, qr{^https://127\.0\.0\.1:$port/$bucket/\Q$prefix$org\E/$job\.csv\?}, 'the_link_is_a_path_style_url_of_the_object');
like($url, qr/X-Amz-Algorithm=AWS4-HMAC-SHA256/, 'the_link_is_signed_with_sigv4');
like($url, qr/X-Amz-Expires=3600(&|$)/, 'the_link_is_valid_for_an_hour_by_default');
like($url, qr/X-Amz-SignedHeaders=host/, 'the_link_signs_only_the_host');
unlike($url, qr/\Q$secret\E/, 'the_link_does_not_carry_the_secret');
curl('-o', "$dir/download.bin", $url);
is(file_digest("$dir/download.bin"), $local_digest,
	'the_presigned_link_downloads_one_object_holding_exactly_the_bytes_of_the_local_export');
unlink "$dir/download.bin";
is($node->safe_psql('postgres',
		"SELECT count(*) FROM wib.audit_log WHERE action = 'export:downloaded' AND resource_id = '$job'"),
	'1', 'minting_a_link_is_audited_export_downloaded');

(my $altered = $url) =~ s/(X-Amz-Signature=[0-9a-f]*)([0-9a-f])/$1 . ($2 eq '0' ? '1' : '0')/e;
my $body = curl('-w', '%{http_code}', $altered);
like($body, qr/SignatureDoesNotMatch.*403$/s, 'an_altered_signature_is_refused_by_the_store');
(my $other_key = $url) =~ s/\.csv\?/.jsonl?/;
$body = curl('-w', '%{http_code}', $other_key);
like($body, qr/SignatureDoesNotMatch.*403$/s, 'a_link_moved_to_another_key_is_refused_by_the_store');
(my $longer = $url) =~ s/X-Amz-Expires=3600/X-Amz-Expires=7200/;
$body = curl('-w', '%{http_code}', $longer);
like($body, qr/SignatureDoesNotMatch.*403$/s, 'a_link_with_a_longer_expiry_is_refused_by_the_store');

my ($short) = as_app($org, "SELECT wib.export_download_url('$job', '1 second')");
sleep 2;
$body = curl('-w', '%{http_code}', $short);
like($body, qr/Request has expired.*403$/s, 'an_expired_link_is_refused_by_the_store');

$node->safe_psql('postgres', "UPDATE wib.export_jobs SET expires_at = now() + interval '10 seconds' WHERE id = '$job'");
my ($capped) = as_app($org, "SELECT wib.export_download_url('$job', '7 days')");
my ($expires) = $capped =~ /X-Amz-Expires=(\d+)/;
ok($expires >= 1 && $expires <= 10, 'a_link_never_outlives_the_export') or diag($capped);
$node->safe_psql('postgres', "UPDATE wib.export_jobs SET expires_at = now() + interval '1 day' WHERE id = '$job'");

my (undef, $foreign) = as_app($other, "SELECT wib.export_download_url('$job')");
like($foreign, qr/export $job does not exist/, 'another_organization_cannot_mint_a_link');
(undef, $foreign) = as_app($org, "SELECT wib.export_read('$job', 0, 100)");
like($foreign, qr/kept in object storage/, 'export_read_points_to_download_links_for_objects');
my ($local_url) = as_app($org, "SELECT wib.export_download_url('$local_job', '5 minutes')");
like($local_url, qr/^v\d\./, 'a_local_export_gets_its_signed_token_link');

# ---------------------------------------------------------------- failures
sub failing_export
{
	my ($name, $detail_re) = @_;
	my ($j) = as_app($org, $filtered);
	ok(wait_for_job($j), "${name}_job_finishes");
	my ($status, $detail, $key) = split /\|/, job_row($j, "status || '|' || coalesce(error_detail, '') || '|' || coalesce(r2_key, '')");
	is($status, 'failed', "${name}_fails_the_job");
	like($detail, $detail_re, "${name}_has_a_clear_error_detail");
	is($key, '', "${name}_records_no_object");
	ok(wait_for_queue(), "${name}_abort_is_sent");
	is(uploads_in_progress(), 0, "${name}_leaves_no_upload_in_progress");
	is(object_digest("$prefix$org/$j.csv"), '', "${name}_leaves_no_object");
	return $j;
}

# Credentials refused: at the first request, with no retry.
as_ops("SELECT wib.export_storage_configure('" . encode_json({ %s3, secret_access_key => $wrong_secret }) . "')");
reset_stats();
failing_export('wrong_secret', qr/^object storage refused the credentials \(403 SignatureDoesNotMatch on CreateMultipartUpload\)/);
is(count_of('CreateMultipartUpload', 403), 1, 'a_credentials_error_is_not_retried');
as_ops("SELECT wib.export_storage_configure('$settings')");

reset_stats();
fault({ op => 'UploadPart', status => 403, code => 'InvalidAccessKeyId', message => 'The AWS Access Key Id you provided does not exist in our records.' });
failing_export('key_revoked_mid_upload',
	qr/^object storage refused the credentials \(403 InvalidAccessKeyId on UploadPart\): The store said: The AWS Access Key Id/);
is(count_of('UploadPart', 403), 1, 'a_credentials_error_mid_upload_is_not_retried');
is(count_of('AbortMultipartUpload', 204), 1, 'the_failed_upload_is_aborted');

# A full bucket: the peer's quota leaves less room than one part.
reset_stats();
my $used = 0;
$used += $_->{size} for @{ stats()->{objects} };
admin('POST', 'limits', encode_json({ quota_bytes => $used + 1024 * 1024 }));
failing_export('full_bucket', qr/^object storage is full \(507 QuotaExceeded on UploadPart\): The store said: Bucket quota exceeded/);
cmp_ok(count_of('UploadPart', 507), '<=', 2, 'a_full_bucket_is_not_retried_each_part_in_flight_is_sent_once');
admin('POST', 'limits', encode_json({ quota_bytes => undef }));

$node->safe_psql('postgres', "ALTER SYSTEM SET wib.export_upload_timeout = '1s'; SELECT pg_reload_conf()");
reset_stats();
fault({ op => 'UploadPart', delay_ms => 2500, times => 20 });
failing_export('slow_store', qr/^object storage failed UploadPart 4 times \(Timeout was reached/);

# Transient failures are retried and the export completes.
sub retried_export
{
	my ($name) = @_;
	my ($j) = as_app($org, $filtered);
	ok(wait_for_job($j), "${name}_job_finishes");
	is(job_row($j, "status || coalesce(error_detail, '')"), 'completed', "${name}_is_retried_and_completes");
	my ($s, $n) = split / /, job_row($j, "sha256 || ' ' || file_size_bytes");
	is(object_digest("$prefix$org/$j.csv"), "$s $n", "${name}_object_is_whole");
	return $j;
}
reset_stats();
fault({ op => 'UploadPart', delay_ms => 2500, times => 1 });
retried_export('one_slow_part');
$node->safe_psql('postgres', "ALTER SYSTEM RESET wib.export_upload_timeout; SELECT pg_reload_conf()");
reset_stats();
fault({ op => 'UploadPart', status => 503, code => 'SlowDown', message => 'Please reduce your request rate.', times => 2 });
my $slowed = retried_export('slow_down');
is(count_of('UploadPart', 503), 2, 'slow_down_answers_are_retried');
reset_stats();
fault({ op => 'CompleteMultipartUpload', status => 200, code => 'InternalError', times => 1 });
retried_export('complete_answering_200_with_an_error');
is(count_of('CompleteMultipartUpload', 200), 2, 'a_200_carrying_an_error_is_not_taken_for_success');
# The store refuses a part: every part but the last must be at least the
# store's minimum (5 MiB at S3 and R2); a store wanting one byte more refuses
# the upload at CompleteMultipartUpload with EntityTooSmall, which no retry mends.
cmp_ok(job_row($slowed, 'file_size_bytes'), '>', 5 * 1024 * 1024, 'the_filtered_export_takes_more_than_one_part');
admin('POST', 'limits', encode_json({ min_part_size => 5 * 1024 * 1024 + 1 }));
reset_stats();
failing_export('part_refused_as_too_small',
	qr/^object storage refused CompleteMultipartUpload \(400 EntityTooSmall\): The store said: Your proposed upload is smaller/);
is(count_of('CompleteMultipartUpload', 400), 1, 'a_refused_part_is_not_retried');
is(count_of('AbortMultipartUpload', 204), 1, 'the_upload_with_the_refused_part_is_aborted');
admin('POST', 'limits', encode_json({ min_part_size => 5 * 1024 * 1024 }));
reset_stats();
fault({ op => 'UploadPart', status => 400, code => 'InvalidArgument', message => 'Part number must be an integer between 1 and 10000, inclusive' });
failing_export('part_refused_as_invalid',
	qr/^object storage refused UploadPart \(400 InvalidArgument\): The store said: Part number must be/);
is(count_of('UploadPart', 400), 1, 'an_invalid_part_is_not_retried');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM wib.export_jobs WHERE status = 'completed' AND storage = 's3' AND (r2_key IS NULL OR sha256 IS NULL)"),
	'0', 'nothing_half_written_is_marked_completed');

# ---------------------------------------------------------------- expiry
reset_stats();
fault({ op => 'DeleteObject', status => 503, code => 'SlowDown', times => 1 });
$node->safe_psql('postgres', "UPDATE wib.export_jobs SET expires_at = now() - interval '1 second' WHERE id = '$slowed'");
is($node->safe_psql('postgres', "SELECT removed FROM wib.purge_expired() WHERE policy = 'export_files'"), '1',
	'the_retention_policy_expires_the_s3_export');
is(job_row($slowed, 'status'), 'expired', 'the_job_is_marked_expired');
ok($node->poll_query_until('postgres', "SELECT attempts = 1 AND last_error LIKE '%503 SlowDown%' FROM wib.export_storage_queue"),
	'a_failed_delete_stays_queued_with_its_error');
$node->safe_psql('postgres', 'UPDATE wib.export_storage_queue SET next_attempt_at = now()');
ok(wait_for_queue(), 'the_delete_is_retried_until_it_succeeds');
is(object_digest("$prefix$org/$slowed.csv"), '', 'expiry_deletes_the_object_at_the_store');
is(count_of('DeleteObject', 204), 1, 'the_object_was_deleted_once');

# ---------------------------------------------------------------- the sweep
my $stray = $node->safe_psql('postgres',
	"SELECT wib.export_s3_begin(wib.export_storage_target(), '$prefix$org/' || gen_random_uuid() || '.csv', NULL)");
isnt($stray, '', 'a_stray_upload_is_left_at_the_store');
is(uploads_in_progress(), 1, 'the_store_lists_it');
my ($swept) = as_ops('SELECT wib.export_uploads_sweep()');
is($swept, '1', 'the_sweep_finds_the_stale_upload');
ok(wait_for_queue(), 'the_sweep_abort_is_sent');
is(uploads_in_progress(), 0, 'the_sweep_leaves_no_upload_in_progress');

# ---------------------------------------------------------------- rows of any size
# The writer formats rows in place in the part being filled; a row larger than
# that window (a few 64 kB chunks) is formatted apart and copied in.  Rows of
# 300 kB to 1.5 MB among small ones, across the 5 MB part boundaries: the
# object holds exactly the bytes counted, and they are the stream's bytes.
$node->safe_psql('postgres', qq{
	SELECT wib.set_context('$other', 'tester');
	INSERT INTO wib.users (organization_id, id, name, email) VALUES ('$other', 'agent-x', 'Agent X', 'x\@example.test');
	INSERT INTO wib.calls (organization_id, agent_id, from_number, to_number, disposition, started_at)
	SELECT '$other', 'agent-x', '+1777' || lpad(g::text, 7, '0'), '+1888' || g,
	       CASE WHEN g % 3 = 0 THEN repeat('big, "row" ' || g, 30000 + 10000 * (g % 13)) ELSE 'small ' || g END,
	       '2026-03-01'::timestamptz + g * interval '1 second'
	  FROM generate_series(1, 60) g;
});
my ($big) = as_app($other, $create);
ok(wait_for_job($big), 'an_export_with_rows_larger_than_a_chunk_finishes');
my ($bs, $bn) = split / /, job_row($big, "sha256 || ' ' || file_size_bytes");
cmp_ok($bn, '>', 2 * 5 * 1024 * 1024, 'its_rows_span_several_parts');
is(object_digest("$prefix$other/$big.csv"), "$bs $bn", 'the_object_holds_exactly_the_bytes_counted');
my ($streamed) = as_app($other, q{SELECT encode(sha256(string_agg(convert_to(c, 'UTF8'), ''::bytea)), 'hex') || ' ' ||
	sum(octet_length(c)) FROM wib.export_stream('calls', 'csv') c});
is($streamed, "$bs $bn", 'and_they_are_the_bytes_of_the_same_export_streamed');

# ---------------------------------------------------------------- secrets
my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$secret\E/, 'the_secret_is_never_in_the_server_log');
unlike($log, qr/\Q$wrong_secret\E/, 'a_wrong_secret_is_never_in_the_server_log_either');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM (SELECT error_detail AS t FROM wib.export_jobs UNION ALL SELECT last_error FROM wib.scheduled_jobs
	                      UNION ALL SELECT last_error FROM wib.export_storage_queue
	                      UNION ALL SELECT new_value::text FROM wib.audit_log) s
	 WHERE t LIKE '%' || '$secret' || '%' OR t LIKE '%' || '$wrong_secret' || '%'}),
	'0', 'the_secret_is_in_no_error_detail_job_error_queue_error_or_audit_row');
is($node->safe_psql('postgres', "SELECT position(convert_to('$secret', 'UTF8') IN secret_access_key) FROM wib.export_storage"),
	'0', 'the_secret_is_stored_sealed');

done_testing();
