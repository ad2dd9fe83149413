# Salesforce against the peer (test/peers/salesforce.py): the OAuth web
# server flow with PKCE, tokens sealed, a full sync of 30,000 Contacts (many
# sharing one SystemModstamp) in 2,000-record batches, then a delta with
# changes, creations and deletions; a Contact modified during a sync picked
# up by the next; calls logged as Tasks once, also when the worker is killed
# between Salesforce creating the Task and the worker hearing of it; 401
# INVALID_SESSION_ID refreshing with rotation; the worker killed (-9) between
# Salesforce's refresh answer and its storage (within the peer's grace: the
# old refresh token still works; without it: status error with a reconnect
# hint); outbound
# messages (the secret in the path, the org, no DTD, applied once, the SOAP
# acknowledgement); an instance_url outside the allowed domains refused and
# its tokens revoked; the daily limit pausing the integration; no token or
# client secret in the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;
use WibWebhooks qw(make_test_ca);
use WibCrm;

my $dir = PostgreSQL::Test::Utils::tempdir();
my @ca = make_test_ca($dir);
my $sf = start_salesforce(dir => $dir, name => 'sf', ca => \@ca, args => [ '--rotate-refresh-tokens' ]);
my $node = wib_node('crm_salesforce', conf => join("\n",
	"wib.http_ca_file = '$ca[0]'",
	"wib.http_allow_cidrs = '127.0.0.1/32'",
	"wib.crm_push_delay = 0",
	"wib.crm_reread_window = 1s",
	"wib.crm_push_reconcile_delay = 1s",
	"wib.crm_backoff_max = 3s",
	"wib.crm_lease = 60s",
	"log_statement = 'all'"));
my $domains = '["127.0.0.1"]';
$node->safe_psql('postgres', qq{
	SET log_statement = 'none';
	SELECT wib.crm_provider_set('salesforce', '{"client_id": "wib-test-client", "client_secret": "wib-test-secret",
	        "login_url": "$sf->{base}", "api_version": "v60.0", "instance_domains": $domains}')});
wait_for_worker_pid($node, 'crm_sync');

sub sql { return $node->safe_psql('postgres', $_[0]) }

# The SQLSTATE a statement raises ('' when it succeeds).
sub sqlstate
{
	my ($stmt) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "\\set VERBOSITY verbose\n$stmt", stdout => \$out, stderr => \$err);
	return $err =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : '';
}

sub wait_status
{
	my ($org, $status) = @_;
	$node->poll_query_until('postgres',
		"SELECT status = '$status' FROM wib.crm_integrations WHERE organization_id = '$org' AND crm_type = 'salesforce'")
	  or diag('status: ' . sql("SELECT status || ' ' || coalesce(error_detail, '') FROM wib.crm_integrations WHERE organization_id = '$org'"));
	return sql("SELECT status FROM wib.crm_integrations WHERE organization_id = '$org' AND crm_type = 'salesforce'");
}

sub connect_url
{
	my ($ctx) = @_;
	return sql("$ctx SELECT wib.crm_connect('salesforce', 'https://app.example.com/crm/callback')");
}

my $pro = crm_org($node, 'Pro Co', 'pro');
my $org = crm_org($node, 'Sf Co', 'business');
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'admin-1';";
is(sqlstate("SET wib.org_id = '$pro'; SET wib.user_id = 'u'; SELECT wib.crm_connect('salesforce', 'https://app.example.com/cb')"),
	'WB001', 'salesforce_needs_the_business_plan');

# ---------------------------------------------------------------------------
# OAuth with PKCE.  30,000 Contacts wait, 10,000 of them with one SystemModstamp.
my $ids = hs_admin($sf, 'contacts', { count => 30000, same_modstamp => 10000 })->{ids};
my $url = connect_url($ctx);
like($url, qr{^\Q$sf->{base}\E/services/oauth2/authorize\?response_type=code&client_id=wib-test-client&redirect_uri=https%3A%2F%2Fapp\.example\.com%2Fcrm%2Fcallback&scope=api%20refresh_token&state=[A-Za-z0-9_-]{43}&code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256$},
	'the_authorize_url_carries_an_s256_code_challenge');
is(sql("SELECT count(*) FROM wib.crm_oauth_states WHERE organization_id = '$org' AND code_verifier IS NOT NULL"), '1',
	'the_code_verifier_is_kept_sealed_with_the_state');
my ($code, $state) = hs_follow_authorize($sf, $url);
ok($code && $state, 'salesforce_redirects_back_with_a_code');
my $integration = sql("$ctx SELECT wib.crm_callback('salesforce', '" . uri_unescape($code) . "', '$state')");
is(wait_status($org, 'connected'), 'connected', 'the_code_is_exchanged_with_the_verifier_and_the_integration_connects');
is(sql("SELECT external_account_id FROM wib.crm_integrations WHERE id = '$integration'"), '00D000000000001AAA',
	'the_org_id_comes_from_the_token_answer');
is(sql("SELECT count(*) FROM wib.crm_oauth_states WHERE organization_id = '$org' AND code_verifier IS NOT NULL"), '0',
	'the_verifier_is_forgotten_once_sent');
my $access = sql("SELECT wib.crm_access_token('$org', '$integration')");
my $refresh1 = sql("SELECT wib.crm_refresh_token('$org', '$integration')");
like($access, qr/^00D000000000001!/, 'the_access_token_is_stored');
is(sql("SELECT count(*) FROM wib.crm_tokens t WHERE row_to_json(t)::text LIKE '%' || wib.crm_access_token('$org', '$integration') || '%'
           OR row_to_json(t)::text LIKE '%' || wib.crm_refresh_token('$org', '$integration') || '%'"),
	'0', 'tokens_are_stored_sealed_only');
is(sql("SELECT string_agg(context, ',' ORDER BY context) FROM wib.vault_columns WHERE table_name IN ('crm_tokens', 'crm_oauth_states', 'crm_webhook_secrets')"),
	'crm_oauth_states.code,crm_oauth_states.code_verifier,crm_tokens.access_token,crm_tokens.refresh_token,crm_webhook_secrets.secret',
	'each_sealed_column_has_one_row_in_the_vault_catalogue');
is(sqlstate("SET ROLE wib_app; SELECT * FROM wib.crm_webhook_secrets"), '42501', 'applications_cannot_read_webhook_secrets');

# ---------------------------------------------------------------------------
# The first sync: a full listing; three Contacts of the first batch change while it runs.
my $run = sql("SELECT id FROM wib.crm_sync_log WHERE integration_id = '$integration' AND trigger = 'connect'");
$node->poll_query_until('postgres', "SELECT contact_count >= 2000 FROM wib.crm_integrations WHERE id = '$integration'")
  or die 'the first sync did not start';
my @early = @$ids[ 0 .. 2 ];
hs_admin($sf, 'update', { ids => \@early, fields => { FirstName => 'Changed' } });
is(sql("SELECT status FROM wib.crm_sync_log WHERE id = '$run'"), 'running', 'the_contacts_change_while_the_first_sync_runs');
is(wait_for_run($node, $org, $run), 'success', 'the_full_sync_completes');
is(sql("SELECT count(*) || '/' || count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$org'"),
	'30000/30000', 'every_contact_is_cached_exactly_once');
my %cached = map { $_ => 1 } split /\n/, sql("SELECT crm_contact_id FROM wib.crm_contact_cache WHERE organization_id = '$org'");
is(scalar(grep { !$cached{$_} } @$ids), 0, 'no_contact_is_missing');
is(run_row($node, $run)->{records_synced}, 30000, 'the_run_counts_each_contact_once');
my $stats = hs_admin($sf, 'stats');
my $queries = ($stats->{requests}{'GET /services/data/{v}/query'}{200} // 0)
  + ($stats->{requests}{'GET /services/data/{v}/query/{locator}'}{200} // 0);
is($queries, 15, 'fifteen_batches_of_2000_one_query_followed_to_its_end');
is($stats->{open_cursors}, 0, 'no_query_cursor_is_left_open');
is($stats->{versions}{'v60.0'} > 0 ? 1 : 0, 1, 'the_configured_api_version_is_used');
like(sql("SELECT worker_state -> 'sf_api' ->> 'limit' FROM wib.crm_integrations WHERE id = '$integration'"), qr/^100000$/,
	'sforce_limit_info_is_recorded');

# ---------------------------------------------------------------------------
# A delta: changes (one SystemModstamp for all), creations, deletions.
my @changed = @$ids[ 100 .. 299 ];
my @deleted = @$ids[ 1000 .. 1099 ];
hs_admin($sf, 'update', { ids => \@changed, fields => { LastName => 'Delta' } });	# one transaction: one SystemModstamp
hs_admin($sf, 'delete', { ids => \@deleted, deleted_at => sql("SELECT to_char((now() - interval '2 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") });
my $new = hs_admin($sf, 'contacts', { count => 50 })->{ids};
# The deletions window must be more than a minute long: the last listing is taken to be ten minutes old.
sql("UPDATE wib.crm_integrations SET sync_cursor = jsonb_set(sync_cursor, '{objects,Contact,deleted_through}',
         to_jsonb(date_trunc('minute', now()) - interval '10 minutes')) WHERE id = '$integration'");
hs_admin($sf, 'reset_stats', {});
my $delta = sql("$ctx SELECT wib.crm_sync_now('salesforce')");
is(wait_for_run($node, $org, $delta), 'success', 'the_delta_sync_completes');
is(sql("SELECT count(*) || '/' || count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$org'"),
	(30000 - 100 + 50) . '/' . (30000 - 100 + 50), 'deletions_and_creations_are_applied');
is(sql("SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org' AND crm_contact_id IN ('" . join("','", @deleted) . "')"),
	'0', 'deleted_contacts_left_the_cache');
is(sql("SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org' AND raw_data ->> 'LastName' = 'Delta'"),
	'200', 'every_changed_contact_sharing_one_modstamp_is_read');
# Salesforce stamps a change with the second it happens in: after the first
# sync began, so at or after its settled position (its start less
# wib.crm_reread_window), or after its cursor.
is(sql("SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org' AND raw_data ->> 'FirstName' = 'Changed'
           AND crm_contact_id IN ('" . join("','", @early) . "')"),
	'3', 'contacts_modified_during_the_previous_sync_are_picked_up');
$stats = hs_admin($sf, 'stats');
is($stats->{requests}{'GET /services/data/{v}/sobjects/{object}/deleted'}{200}, 1, 'the_deleted_endpoint_is_asked_once');
ok(($stats->{requests}{'GET /services/data/{v}/query'}{200} // 0) <= 2, 'the_delta_is_a_small_query');

# ---------------------------------------------------------------------------
# Calls as Tasks.
# A number only one cached Contact has.
my ($who, $phone) = split /\|/, sql("SELECT min(crm_contact_id) || '|' || phone_e164 FROM wib.crm_contact_cache
    WHERE organization_id = '$org' AND phone_e164 IS NOT NULL
      AND phone_e164 NOT IN (SELECT mobile_e164 FROM wib.crm_contact_cache WHERE mobile_e164 IS NOT NULL)
    GROUP BY phone_e164 HAVING count(*) = 1 ORDER BY 1 LIMIT 1");
my $call = (split /\n/, sql(qq{
	$ctx
	INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status, started_at, ended_at, duration_seconds)
	VALUES ('$org', 'inbound', '$phone', '+15550009999', 'completed', '2026-11-29T10:15:00Z', '2026-11-29T10:19:10Z', 250)
	RETURNING id}))[-1];
ok($node->poll_query_until('postgres', "SELECT status = 'pushed' FROM wib.crm_call_pushes WHERE call_id = '$call'"),
	'the_call_is_logged');
my @tasks = grep { ($_->{CallObject} // '') eq $call } @{ hs_admin($sf, 'tasks')->{tasks} };
is(scalar(@tasks), 1, 'one_task_for_the_call');
my $t = $tasks[0];
is($t->{WhoId}, $who, 'the_task_is_associated_with_the_contact_of_the_number');
is(join(' ', map { $t->{$_} // '' } qw(TaskSubtype Status CallType CallDurationInSeconds ActivityDate)),
	'Call Completed Inbound 250 2026-11-29', 'the_task_is_a_completed_inbound_call_with_its_duration_and_date');
is(sql("SELECT crm_object_id FROM wib.crm_call_pushes WHERE call_id = '$call'"), $t->{Id}, 'the_push_records_the_task_id');

# kill -9 after Salesforce created the Task, before the worker heard of it.
hs_admin($sf, 'config', { task_delay_ms => 5000 });
my $call2 = (split /\n/, sql(qq{
	$ctx
	INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status, started_at, ended_at, duration_seconds)
	VALUES ('$org', 'outbound', '+15550009999', '$phone', 'completed', now() - interval '40 seconds', now(), 40)
	RETURNING id}))[-1];
my $created;
for (1 .. 200)
{
	($created) = grep { ($_->{CallObject} // '') eq $call2 } @{ hs_admin($sf, 'tasks')->{tasks} };
	last if $created;
	usleep(50_000);
}
ok($created, 'salesforce_created_the_task');
my $pid = worker_pid($node, 'crm_sync');
kill 'KILL', $pid;
hs_admin($sf, 'config', { task_delay_ms => 0 });
wait_for_worker_pid($node, 'crm_sync', $pid);
ok($node->poll_query_until('postgres', "SELECT status = 'pushed' FROM wib.crm_call_pushes WHERE call_id = '$call2'"),
	'the_restarted_worker_records_the_push');
is(scalar(grep { ($_->{CallObject} // '') eq $call2 } @{ hs_admin($sf, 'tasks')->{tasks} }), 1,
	'no_duplicate_task_after_the_crash');
is(sql("SELECT crm_object_id FROM wib.crm_call_pushes WHERE call_id = '$call2'"), $created->{Id},
	'the_push_records_the_task_created_before_the_crash');

# ---------------------------------------------------------------------------
# Expired sessions: 401 INVALID_SESSION_ID, one refresh with rotation, the request again.
hs_admin($sf, 'expire_sessions', {});
hs_admin($sf, 'reset_stats', {});
hs_admin($sf, 'update', { ids => [ $ids->[7] ], fields => { LastName => 'AfterRefresh' } });
my $r3 = sql("$ctx SELECT wib.crm_sync_now('salesforce')");
is(wait_for_run($node, $org, $r3), 'success', 'a_sync_after_the_session_expired_succeeds');
$stats = hs_admin($sf, 'stats');
is($stats->{requests}{'POST /services/oauth2/token'}{200}, 1, 'one_refresh');
my $refresh2 = sql("SELECT wib.crm_refresh_token('$org', '$integration')");
isnt($refresh2, $refresh1, 'the_rotated_refresh_token_is_stored');
is(sql("SELECT raw_data ->> 'LastName' FROM wib.crm_contact_cache WHERE crm_contact_id = '$ids->[7]'"), 'AfterRefresh',
	'the_refused_request_was_sent_again');

# kill -9 between Salesforce's answer to a refresh (the refresh token rotated)
# and its storage: the peer holds the answer back, the worker is killed.
# Returns the refresh token wib still has, and whether it is the one it sent.
sub lost_refresh
{
	my $rt = sql("SELECT wib.crm_refresh_token('$org', '$integration')");
	hs_admin($sf, 'config', { token_delay_ms => 6000 });
	hs_admin($sf, 'expire_sessions', {});
	hs_admin($sf, 'update', { ids => [ $ids->[8] ], fields => { LastName => 'Lost' . int(rand(1e6)) } });
	sql("$ctx SELECT wib.crm_sync_now('salesforce')");
	$node->poll_query_until('postgres', "SELECT worker_state ? 'refresh_sent_at' FROM wib.crm_integrations WHERE id = '$integration'")
	  or die 'no refresh was sent';
	usleep(1_500_000);
	my $pid = worker_pid($node, 'crm_sync');
	kill 'KILL', $pid;
	hs_admin($sf, 'config', { token_delay_ms => 0 });
	wait_for_worker_pid($node, 'crm_sync', $pid);
	return sql("SELECT wib.crm_refresh_token('$org', '$integration')") eq $rt;
}
hs_admin($sf, 'config', { refresh_grace => 60 });
# Compared by hash: a token never goes into statement text.
my $rt_hash = "encode(sha256(convert_to(wib.crm_refresh_token('$org', '$integration'), 'UTF8')), 'hex')";
my $before_kill = sql("SELECT $rt_hash");
lost_refresh();	# the restarted worker may have refreshed already: checked by what follows
ok($node->poll_query_until('postgres', "SELECT $rt_hash <> '$before_kill'
         AND NOT EXISTS (SELECT 1 FROM wib.crm_sync_log WHERE integration_id = '$integration' AND status = 'running')"),
	'within_the_grace_the_previous_refresh_token_still_works_and_a_new_one_is_stored');
is(sql("SELECT status FROM wib.crm_integrations WHERE id = '$integration'"), 'connected', 'the_integration_stays_connected');

# ---------------------------------------------------------------------------
# Outbound messages.
my $secret = sql("$ctx SELECT wib.crm_webhook_secret('salesforce')");
like($secret, qr/^[A-Za-z0-9_-]{43}$/, 'the_integration_has_a_webhook_secret');
hs_admin($sf, 'update', { ids => [ @$ids[ 20, 21 ] ], fields => { LastName => 'Outbound' } });
my $xml = do
{
	open(my $fh, '-|', 'curl', '-s', '--cacert', $sf->{ca}, '-d', JSON::PP->new->encode({ records => [ @$ids[ 20, 21 ] ] }),
		"$sf->{base}/__admin/outbound_envelope") or die;
	local $/;
	<$fh>;
};
$xml =~ s/'/''/g;
sub outbound
{
	my ($path, $body) = @_;
	# The platform's route passes the URI as a parameter; here it is statement text, kept out of the log.
	return "SET log_statement = 'none'; SET log_min_error_statement = 'panic'; SELECT row(status, content_type, body, applied)::text FROM wib.crm_webhook_response('salesforce', 'POST',
	            'https://platform.example.com/hooks/salesforce/$path', convert_to('$body', 'UTF8'), '{}')";
}
my $written = "SELECT (SELECT count(*) FROM wib.crm_webhook_events) || '/' || (SELECT count(*) FROM wib.audit_log WHERE action = 'crm:webhook_received')";
my $before = sql($written);
is(sqlstate(outbound('x' x 43, $xml)), 'WB007', 'an_unknown_secret_is_refused');
is(sqlstate(outbound('', $xml)), 'WB007', 'a_url_without_secret_is_refused');
(my $other_org = $xml) =~ s/00D000000000001AAA/00D000000000002AAA/;
is(sqlstate(outbound($secret, $other_org)), 'WB007', 'a_message_of_another_salesforce_org_is_refused');
(my $entity = $xml) =~ s/^(<\?xml[^>]*\?>)/$1<!DOCTYPE x [<!ENTITY e SYSTEM "file:\/\/\/etc\/passwd">]>/;
is(sqlstate(outbound($secret, $entity)), '22023', 'a_message_with_a_dtd_is_refused');
is(sql($written), $before,
	'refused_messages_write_nothing');
my $ack = sql(outbound($secret, $xml));
like($ack, qr{^\(200,"text/xml; charset=utf-8",.*<notificationsResponse xmlns=""http://soap\.sforce\.com/2005/09/outbound""><Ack>true</Ack></notificationsResponse>.*,2\)$}s,
	'the_message_is_applied_and_acknowledged');
is(sql("SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org' AND raw_data ->> 'LastName' = 'Outbound'"),
	'2', 'the_changed_records_are_in_the_cache');
like(sql(outbound($secret, $xml)), qr/,0\)$/, 'a_message_sent_again_is_acknowledged_and_applied_once');
my $secret2 = sql("$ctx SELECT wib.crm_webhook_secret_rotate('salesforce', interval '0')");
isnt($secret2, $secret, 'the_secret_rotates');
is(sqlstate(outbound($secret, $xml)), 'WB007', 'the_replaced_secret_no_longer_works');
like(sql(outbound($secret2, $xml)), qr/^\(200,/, 'the_new_secret_works');

# ---------------------------------------------------------------------------
# The daily limit spent: 403 REQUEST_LIMIT_EXCEEDED pauses the integration.
hs_admin($sf, 'usage', { used => 100000 });
my $r5 = sql("$ctx SELECT wib.crm_sync_now('salesforce')");
wait_for_run($node, $org, $r5);
like(sql("SELECT coalesce(error_detail, '') || errors::text || (SELECT coalesce(error_detail, '') FROM wib.crm_integrations WHERE id = '$integration') FROM wib.crm_sync_log WHERE id = '$r5'"), qr/REQUEST_LIMIT_EXCEEDED/, 'the_limit_is_reported');
ok(sql("SELECT next_sync_at > now() + interval '50 minutes' FROM wib.crm_integrations WHERE id = '$integration'") eq 't',
	'the_integration_waits_until_the_budget_frees_up');
hs_admin($sf, 'usage', { used => 0 });
sql("UPDATE wib.crm_integrations SET worker_state = worker_state #- '{sf_api,paused_until}' WHERE id = '$integration'");

# Without a grace, a lost refresh answer ends in status error with a reconnect hint.
hs_admin($sf, 'config', { refresh_grace => 0 });
ok(lost_refresh(), 'killed_again_before_the_rotated_refresh_token_was_stored');
is(wait_status($org, 'error'), 'error', 'without_grace_the_integration_reports_error');
like(sql("SELECT error_detail FROM wib.crm_integrations WHERE id = '$integration'"),
	qr/An earlier refresh got no recorded answer.*reconnect Salesforce/s, 'with_a_reconnect_hint_naming_the_lost_refresh');

# ---------------------------------------------------------------------------
# An instance_url outside the allowed domains.
sql(qq{SET log_statement = 'none'; SELECT wib.crm_provider_set('salesforce', '{"instance_domains": [".my.salesforce.com"]}')});
my $org2 = crm_org($node, 'Elsewhere Co', 'business');
my $ctx2 = "SET wib.org_id = '$org2'; SET wib.user_id = 'admin-1';";
hs_admin($sf, 'reset_stats', {});
($code, $state) = hs_follow_authorize($sf, connect_url($ctx2));
sql("$ctx2 SELECT wib.crm_callback('salesforce', '" . uri_unescape($code) . "', '$state')");
is(wait_status($org2, 'error'), 'error', 'an_instance_url_outside_the_allowed_domains_is_refused');
like(sql("SELECT error_detail FROM wib.crm_integrations WHERE organization_id = '$org2'"),
	qr/instance_url host 127\.0\.0\.1 is outside the allowed domains/, 'the_reason_names_the_host');
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM wib.crm_tokens WHERE organization_id = '$org2'"),
	'its_tokens_are_revoked_and_deleted');
is(hs_admin($sf, 'stats')->{requests}{'POST /services/oauth2/revoke'}{200}, 1, 'revoked_at_salesforce');
is(hs_admin($sf, 'stats')->{requests}{'GET /services/data/{v}/query'}, undef, 'no_request_went_to_the_refused_instance');

# ---------------------------------------------------------------------------
# No token or client secret in the server log.
my $log = slurp_file($node->logfile);
my @leaks = grep { index($log, $_) >= 0 } ($access, $refresh1, $refresh2, 'wib-test-secret', $secret, $secret2);
is(scalar(@leaks), 0, 'no_token_or_secret_in_the_server_log');

$node->stop;
done_testing();
