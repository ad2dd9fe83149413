# HubSpot OAuth against the peer: the platform's whole round trip (connect,
# the browser at the authorize URL, callback, the worker's exchange and
# introspection), states that are single-use, expire and belong to one
# organization, user and redirect URI; tokens applications cannot read at
# all; refreshes ahead of expiry (never waiting for a 401), after a 401 in
# the middle of a sync, and a refused refresh that stops the integration;
# disconnect revoking at HubSpot.  The whole cycle runs with
# log_statement = 'all' and log_min_messages = debug1, and no token or client
# secret shows in the server log, pg_stat_activity, audit values or errors.
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
# Access tokens live 9 s here: a sync longer than that must refresh ahead of expiry.
my $hs = start_hubspot(dir => $dir, name => 'hs', ca => \@ca, args => [ '--access-ttl', '9' ]);
my $node = crm_node('crm_oauth', $hs, conf => join("\n",
	"log_statement = 'all'",
	"log_min_messages = debug1",
	"wib.crm_hubspot_requests_per_10s = 30"));

my $org = crm_org($node, 'Oauth Co');
my $org_b = crm_org($node, 'Other Co');
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'admin-1';";
my $ctx_b = "SET wib.org_id = '$org_b'; SET wib.user_id = 'admin-1';";
$node->safe_psql('postgres', "$ctx SELECT id FROM wib.webhook_subscribe('crm events', 'https://hooks.example.test/crm',
	ARRAY['crm.connected', 'crm.sync_completed', 'crm.sync_failed'])");

# Everything pg_stat_activity shows while the worker works, sampled from here.
my %activity;
sub sample_activity
{
	$activity{$_}++ for split /\n/, $node->safe_psql('postgres',
		"SELECT coalesce(query, '') FROM pg_stat_activity WHERE pid <> pg_backend_pid()");
}

# The SQLSTATE a statement raises ('' when it succeeds).
sub sqlstate
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql", stdout => \$out, stderr => \$err);
	return $err =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : '';
}

# ---------------------------------------------------------------------------
# The round trip.  The portal has 7,000 contacts: the first sync (a full
# listing at 30 requests per 10 s here) outlives an access token.
hs_admin($hs, 'contacts', { count => 7000 });
my $url = $node->safe_psql('postgres', "$ctx SELECT wib.crm_connect('hubspot', 'https://app.example.com/crm/callback')");
like($url, qr{^\Q$hs->{base}\E/oauth/authorize\?client_id=wib-test-client&scope=oauth%20crm\.objects\.contacts\.read%20crm\.objects\.contacts\.write&redirect_uri=https%3A%2F%2Fapp\.example\.com%2Fcrm%2Fcallback&state=[A-Za-z0-9_-]{43}$},
	'connect_returns_the_authorize_url_with_client_scopes_redirect_and_a_random_state');
my ($code, $state) = hs_follow_authorize($hs, $url);
ok($code && $state, 'hubspot_redirects_the_browser_back_with_a_code_and_the_state');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_oauth_states WHERE state_hash = sha256(convert_to('$state', 'UTF8'))"),
	'1', 'the_state_is_stored_hashed');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_oauth_states s WHERE row_to_json(s)::text LIKE '%$state%'"),
	'0', 'the_state_itself_is_not_stored');

# Refused states write nothing.
my $before = $node->safe_psql('postgres', "SELECT (SELECT count(*) FROM wib.crm_integrations) || '/' || (SELECT count(*) FROM wib.audit_log)");
is(sqlstate("$ctx_b SELECT wib.crm_callback('hubspot', '$code', '$state')"), 'WB502', 'a_state_of_another_organization_is_refused');
is(sqlstate("SET wib.org_id = '$org'; SET wib.user_id = 'someone-else'; SELECT wib.crm_callback('hubspot', '$code', '$state')"),
	'WB502', 'a_state_of_another_user_is_refused');
is(sqlstate("$ctx SELECT wib.crm_callback('hubspot', '$code', '$state', 'https://evil.example.com/cb')"),
	'WB502', 'a_state_for_another_redirect_uri_is_refused');
is(sqlstate("$ctx SELECT wib.crm_callback('hubspot', '$code', 'forged-state')"), 'WB502', 'a_forged_state_is_refused');
is($node->safe_psql('postgres', "SELECT (SELECT count(*) FROM wib.crm_integrations) || '/' || (SELECT count(*) FROM wib.audit_log)"),
	$before, 'refused_callbacks_write_nothing');

my $integration = $node->safe_psql('postgres', "$ctx SELECT wib.crm_callback('hubspot', '$code', '$state')");
like($integration, qr/^[0-9a-f-]{36}$/, 'the_callback_returns_the_integration_id');
is(sqlstate("$ctx SELECT wib.crm_callback('hubspot', '$code', '$state')"), 'WB504', 'a_state_is_used_once');
wait_for_status($node, $org, 'connected');
is($node->safe_psql('postgres', "SELECT external_account_id FROM wib.crm_integrations WHERE id = '$integration'"),
	'62515', 'the_worker_exchanged_the_code_and_read_the_portal_id');
is($node->safe_psql('postgres', "SELECT string_agg(action, ',' ORDER BY created_at) FROM wib.audit_log
	WHERE organization_id = '$org' AND action IN ('crm:connect_initiated', 'crm:connected')"),
	'crm:connect_initiated,crm:connected', 'connecting_is_audited');
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM wib.webhook_deliveries
	WHERE organization_id = '$org' AND event_type = 'crm.connected' AND payload ->> 'account_id' = '62515'"),
	'the_crm_connected_event_is_emitted');

my $url2 = $node->safe_psql('postgres', "$ctx SELECT wib.crm_connect('hubspot', 'https://app.example.com/crm/callback')");
my ($code2, $state2) = hs_follow_authorize($hs, $url2);
$node->safe_psql('postgres', "UPDATE wib.crm_oauth_states SET expires_at = now() - interval '1 second'
	WHERE state_hash = sha256(convert_to('$state2', 'UTF8'))");
is(sqlstate("$ctx SELECT wib.crm_callback('hubspot', '$code2', '$state2')"), 'WB503', 'an_expired_state_is_refused');

# ---------------------------------------------------------------------------
# Applications cannot read tokens at all.
$node->safe_psql('postgres', 'CREATE ROLE app_login LOGIN; GRANT wib_app TO app_login;');
my ($out, $err) = ('', '');
$node->psql('postgres', "$ctx SELECT * FROM wib.crm_tokens", stdout => \$out, stderr => \$err,
	extra_params => [ '-U', 'app_login' ]);
like($err, qr/permission denied for table crm_tokens/, 'wib_app_cannot_select_the_token_table');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_attribute a
	 WHERE a.attrelid IN ('wib.crm_tokens'::regclass, 'wib.crm_oauth_states'::regclass, 'wib.crm_providers'::regclass)
	   AND a.attnum > 0 AND (has_column_privilege('wib_app', a.attrelid, a.attnum, 'SELECT')
	                         OR has_column_privilege('wib_app', a.attrelid, a.attnum, 'UPDATE'))}),
	'0', 'wib_app_has_no_column_privilege_on_tokens_states_or_provider_secrets');
is($node->safe_psql('postgres', "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'wib.crm_tokens'::regclass"),
	't', 'the_token_table_has_forced_row_level_security');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_tokens WHERE integration_id = '$integration'
	AND access_token IS NOT NULL AND refresh_token IS NOT NULL AND get_byte(access_token, 0) IS NOT NULL"),
	'1', 'the_tokens_are_stored_as_vault_ciphertext');

# ---------------------------------------------------------------------------
# The first sync, longer than a token's life: refreshed ahead of expiry, never after a 401.
my $run = $node->safe_psql('postgres', "SELECT id FROM wib.crm_sync_log WHERE integration_id = '$integration' AND trigger = 'connect'");
until ($node->safe_psql('postgres', "SELECT status FROM wib.crm_sync_log WHERE id = '$run'") ne 'running')
{
	sample_activity();
	usleep(200_000);
}
is(wait_for_run($node, $org, $run), 'success', 'a_first_sync_longer_than_a_token_lifetime_succeeds');
cmp_ok($node->safe_psql('postgres', "SELECT extract(epoch FROM finished_at - started_at) FROM wib.crm_sync_log WHERE id = '$run'"),
	'>', 9, 'the_sync_outlived_one_access_token');
is($node->safe_psql('postgres', "SELECT contact_count FROM wib.crm_integrations WHERE id = '$integration'"), '7000',
	'every_contact_is_cached');
my @grants = map { /"grant_type":"(\w+)"/ ? $1 : () } split /\n/, slurp_file($hs->{log});
cmp_ok(scalar(grep { $_ eq 'refresh_token' } @grants), '>=', 1, 'the_token_was_refreshed_during_the_sync');
my $stats = hs_admin($hs, 'stats');
my $unauth = 0;
$unauth += $stats->{requests}{$_}{401} // 0 for keys %{ $stats->{requests} };
is($unauth, 0, 'the_refresh_came_ahead_of_expiry_no_request_met_a_401');

# Tokens expired at HubSpot mid-sync: one 401, a refresh, and the sync goes on.
hs_admin($hs, 'update', { count => 3000 });
sleep 2;
$run = $node->safe_psql('postgres', "$ctx SELECT wib.crm_sync_now('hubspot')");
$node->poll_query_until('postgres', "SELECT requests >= 5 OR status <> 'running' FROM wib.crm_sync_log WHERE id = '$run'");
hs_admin($hs, 'expire_tokens', {});
until ($node->safe_psql('postgres', "SELECT status FROM wib.crm_sync_log WHERE id = '$run'") ne 'running')
{
	sample_activity();
	usleep(200_000);
}
is(wait_for_run($node, $org, $run), 'success', 'a_sync_whose_token_expires_midway_succeeds');
is(run_row($node, $run)->{records_synced}, 3000, 'the_delta_after_the_refresh_applied_every_update');
$stats = hs_admin($hs, 'stats');
$unauth = 0;
$unauth += $stats->{requests}{$_}{401} // 0 for keys %{ $stats->{requests} };
cmp_ok($unauth, '>=', 1, 'the_expired_token_met_a_401_and_was_refreshed');

# A refresh HubSpot refuses: status error, audited, event, no more retries.
hs_admin($hs, 'refresh', { refuse => JSON::PP::true });
hs_admin($hs, 'expire_tokens', {});
$node->safe_psql('postgres', "UPDATE wib.crm_tokens SET expires_at = now() WHERE integration_id = '$integration'");
$run = $node->safe_psql('postgres', "$ctx SELECT wib.crm_sync_now('hubspot')");
is(wait_for_run($node, $org, $run), 'failed', 'a_refused_refresh_fails_the_run');
wait_for_status($node, $org, 'error');
like($node->safe_psql('postgres', "SELECT error_detail FROM wib.crm_integrations WHERE id = '$integration'"),
	qr/refused to refresh the access token.*reconnect/, 'the_integration_is_in_error_with_the_reason');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.audit_log WHERE organization_id = '$org' AND action = 'crm:sync_failed'"),
	'1', 'the_refused_refresh_is_audited');
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM wib.webhook_deliveries
	WHERE organization_id = '$org' AND event_type = 'crm.sync_failed'"), 'the_crm_sync_failed_event_is_emitted');
my $token_calls = hs_admin($hs, 'stats')->{requests}{'POST /oauth/v3/token'}{400} // 0;
$node->safe_psql('postgres', "UPDATE wib.crm_integrations SET next_sync_at = now() WHERE id = '$integration'");
sleep 3;
is(hs_admin($hs, 'stats')->{requests}{'POST /oauth/v3/token'}{400} // 0, $token_calls,
	'the_worker_stops_retrying_until_the_user_reconnects');
hs_admin($hs, 'refresh', { refuse => JSON::PP::false });

# Reconnecting brings it back; disconnecting revokes the refresh token at HubSpot.
crm_connect_flow($node, $hs, $org);
my $revokes = hs_admin($hs, 'stats')->{requests}{'POST /oauth/v3/token/revoke'}{200} // 0;
$node->safe_psql('postgres', "$ctx SELECT wib.crm_disconnect('hubspot')");
is($node->safe_psql('postgres', "SELECT status FROM wib.crm_integrations WHERE id = '$integration'"), 'disconnected',
	'disconnect_sets_status_disconnected');
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM wib.crm_tokens WHERE integration_id = '$integration'"),
	'the_token_ciphertext_is_deleted');
cmp_ok(hs_admin($hs, 'stats')->{requests}{'POST /oauth/v3/token/revoke'}{200} // 0, '>', $revokes,
	'the_refresh_token_was_revoked_at_hubspot');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.audit_log WHERE organization_id = '$org' AND action = 'crm:disconnected'"),
	'1', 'disconnecting_is_audited');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org'"), '0',
	'the_cached_contacts_go_with_the_connection');

# ---------------------------------------------------------------------------
# No token or client secret anywhere they could leak to.
my $issued = hs_admin($hs, 'tokens');
my @secrets = (@{ $issued->{access} }, @{ $issued->{refresh} }, 'wib-test-secret');
cmp_ok(scalar(@secrets), '>=', 6, 'the_peer_issued_tokens_to_look_for');
my $log = slurp_file($node->logfile);
like($log, qr/statement: .*wib\.crm_sync_now/, 'the_server_log_holds_every_statement');
like($log, qr/DEBUG:/, 'the_server_log_holds_debug_messages');
my $audit = $node->safe_psql('postgres', "SELECT string_agg(coalesce(old_value::text, '') || coalesce(new_value::text, ''), ' ') FROM wib.audit_log");
my $errors = $node->safe_psql('postgres', "SELECT coalesce(string_agg(coalesce(error_detail, '') || errors::text, ' '), '') FROM wib.crm_sync_log")
  . $node->safe_psql('postgres', "SELECT coalesce(string_agg(coalesce(error_detail, ''), ' '), '') FROM wib.crm_integrations");
my $activity = join("\n", keys %activity);
cmp_ok(scalar(keys %activity), '>', 1, 'pg_stat_activity_was_sampled_during_the_syncs');
my %leaks;
for my $s (@secrets)
{
	$leaks{log}++ if index($log, $s) >= 0;
	$leaks{audit}++ if index($audit, $s) >= 0;
	$leaks{errors}++ if index($errors, $s) >= 0;
	$leaks{activity}++ if index($activity, $s) >= 0;
}
is($leaks{log} // 0, 0, 'no_token_or_client_secret_in_the_server_log');
is($leaks{activity} // 0, 0, 'no_token_or_client_secret_in_pg_stat_activity');
is($leaks{audit} // 0, 0, 'no_token_or_client_secret_in_audit_values');
is($leaks{errors} // 0, 0, 'no_token_or_client_secret_in_recorded_errors');

$node->stop;
done_testing();
