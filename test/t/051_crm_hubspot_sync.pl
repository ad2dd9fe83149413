# HubSpot contact sync against the peer at its real limits (110 requests per
# 10 s and 5 searches per second per portal): two sessions syncing the same
# portal at once (the worker and wib.crm_sync) share one limiter; a first
# sync of 25,000 contacts of which 12,000 share one lastmodifieddate caches
# each exactly once; a bulk update stamping 12,000 alike (past search's
# 10,000-result cap) is applied exactly; then 300 updates and 50 archivals
# are exactly what a delta applies; 429 storms with and without Retry-After
# are ridden out.  No request above the limits ever reaches the peer.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks qw(make_test_ca);
use WibCrm;

my $dir = PostgreSQL::Test::Utils::tempdir();
my @ca = make_test_ca($dir);
my $hs = start_hubspot(dir => $dir, name => 'hs', ca => \@ca);
my $node = crm_node('crm_sync', $hs);

# ---------------------------------------------------------------------------
# Two sessions, one portal: two organizations connected to the same portal
# sync 3,000 new contacts at once, one in the worker, one in a session with
# wib.crm_sync.  Each alone would search at wib's full rate; together they
# must share it.
my $org2 = crm_org($node, 'Same Portal Co');
my $org3 = crm_org($node, 'Portal Neighbour Co');
my $integration2 = crm_connect_flow($node, $hs, $org2);
my $integration3 = crm_connect_flow($node, $hs, $org3);
$node->poll_query_until('postgres', "SELECT bool_and(current_sync_id IS NULL) FROM wib.crm_integrations");
# The peer stamps a batch of new contacts back from now, 1 ms apart: wait until they all fall after the first syncs.
sleep 5;
my $first = hs_admin($hs, 'contacts', { count => 3000 })->{ids};
sleep 2;
hs_admin($hs, 'reset_stats', {});
my $run2 = $node->safe_psql('postgres', "SET wib.org_id = '$org2'; SELECT wib.crm_sync_now('hubspot')");
$node->poll_query_until('postgres', "SELECT requests > 0 FROM wib.crm_sync_log WHERE id = '$run2'");
my ($out, $err) = ('', '');
my $session = IPC::Run::start([ $node->installed_command('psql'), '-XAtq', '-d', $node->connstr('postgres'),
	'-c', "SELECT wib.crm_sync('$integration3')" ], '>', \$out, '2>', \$err);
is(wait_for_run($node, $org2, $run2), 'success', 'the_workers_sync_succeeds_beside_the_session');
$session->finish;
is($err, '', 'the_sessions_sync_succeeds_beside_the_worker');
cmp_ok($out, '>=', 30, 'the_session_sent_its_requests_itself');
my $run3 = $node->safe_psql('postgres', "SELECT id FROM wib.crm_sync_log WHERE integration_id = '$integration3' ORDER BY started_at DESC LIMIT 1");
is(run_row($node, $run2)->{records_synced}, 3000, 'the_worker_synced_the_3000_contacts');
is(run_row($node, $run3)->{records_synced}, 3000, 'the_session_synced_the_3000_contacts');
is($node->safe_psql('postgres', "SELECT a.started_at < b.finished_at AND b.started_at < a.finished_at
	FROM wib.crm_sync_log a, wib.crm_sync_log b WHERE a.id = '$run2' AND b.id = '$run3'"), 't', 'the_two_runs_overlapped');
my $stats = hs_admin($hs, 'stats');
is($stats->{over_limit_total}, 0, 'two_sessions_on_one_portal_never_exceed_its_limits');
cmp_ok($stats->{max_search_in_1s}, '<=', 5, 'two_sessions_send_at_most_5_searches_in_any_second');
cmp_ok($stats->{max_in_10s}, '<=', 110, 'two_sessions_send_at_most_110_requests_in_any_10_seconds');
$node->safe_psql('postgres', "SET wib.org_id = '$org2'; SELECT wib.crm_disconnect('hubspot');
	SET wib.org_id = '$org3'; SELECT wib.crm_disconnect('hubspot');");

my $org = crm_org($node, 'Sync Co');
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'admin-1';";
my $created = [ @$first, @{ hs_admin($hs, 'contacts', { count => 22000, same_modified => 12000 })->{ids} } ];
is(scalar(@$created), 25000, 'the_peer_holds_25000_contacts');
hs_admin($hs, 'reset_stats', {});

# ---------------------------------------------------------------------------
# First sync: a full listing.
my $integration = crm_connect_flow($node, $hs, $org);
my $run = $node->safe_psql('postgres', "SELECT id FROM wib.crm_sync_log WHERE integration_id = '$integration' AND trigger = 'connect'");
is(wait_for_run($node, $org, $run, 300), 'success', 'the_first_sync_succeeds');
is($node->safe_psql('postgres', "SELECT count(*) || '/' || count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$org'"),
	'25000/25000', 'every_contact_is_cached_exactly_once');
my %peer = map { $_ => 1 } @$created;
my @cached = split /\n/, $node->safe_psql('postgres', "SELECT crm_contact_id FROM wib.crm_contact_cache WHERE organization_id = '$org'");
is(scalar(grep { !$peer{$_} } @cached), 0, 'every_cached_contact_is_a_peer_contact');
is($node->safe_psql('postgres', "SELECT max(n) FROM (SELECT count(*) n FROM wib.crm_contact_cache WHERE organization_id = '$org' GROUP BY crm_modified_at) x"),
	'12000', 'the_12000_contacts_sharing_one_lastmodifieddate_are_all_cached');
is(run_row($node, $run)->{records_synced}, 25000, 'the_run_counts_25000_contacts');
is($node->safe_psql('postgres', "SELECT contact_count FROM wib.crm_integrations WHERE id = '$integration'"), '25000',
	'the_integration_counts_25000_contacts');

# ---------------------------------------------------------------------------
# A bulk update stamps 12,000 contacts alike: more ties than one search may page through.
hs_admin($hs, 'update', { count => 12000, same_modified => JSON::PP::true });
sleep 2;
$run = $node->safe_psql('postgres', "$ctx SELECT wib.crm_sync_now('hubspot')");
is(wait_for_run($node, $org, $run, 300), 'success', 'the_delta_through_12000_ties_succeeds');
is(run_row($node, $run)->{records_synced}, 12000, 'the_delta_applies_exactly_the_12000_updates');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org' AND display_name ~ ' v[0-9]+ '"),
	'12000', 'the_12000_updated_contacts_show_their_new_values');
$stats = hs_admin($hs, 'stats');
is($stats->{requests}{'POST /crm/v3/objects/contacts/search'}{400} // 0, 0, 'no_search_ever_paged_past_the_10000_cap');
cmp_ok($stats->{requests}{'POST /crm/v3/objects/contacts/search'}{200}, '>=', 120, 'the_ties_were_paged_by_id');

# ---------------------------------------------------------------------------
# 300 updates and 50 archivals: the delta applies exactly those.
my @update_ids = @{$created}[ 20000 .. 20299 ];
my @archive_ids = @{$created}[ 21000 .. 21049 ];
hs_admin($hs, 'update', { ids => \@update_ids, properties => { phone => '+1 (555) 010-9999' } });
hs_admin($hs, 'archive', { ids => \@archive_ids });
sleep 2;
$run = $node->safe_psql('postgres', "$ctx SELECT wib.crm_sync_now('hubspot')");
is(wait_for_run($node, $org, $run), 'success', 'the_delta_succeeds');
my $row = run_row($node, $run);
is($row->{records_synced}, 300, 'the_delta_applies_exactly_the_300_updates');
is($row->{records_deleted}, 50, 'the_delta_removes_exactly_the_50_archived_contacts');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org'"), '24950',
	'the_cache_holds_the_24950_live_contacts');
my $in = join(',', map { "'$_'" } @update_ids);
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org'
	AND crm_contact_id IN ($in) AND phone_e164 = '+15550109999'"), '300', 'the_updated_numbers_are_cached_in_e164');
$in = join(',', map { "'$_'" } @archive_ids);
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_contact_cache WHERE crm_contact_id IN ($in)"), '0',
	'the_archived_contacts_are_gone');
is($node->safe_psql('postgres', "$ctx SELECT count(*) FROM wib.crm_contact_lookup('555-010-9999')"), '20',
	'the_lookup_finds_the_new_number_however_written');

$stats = hs_admin($hs, 'stats');
is($stats->{over_limit_total}, 0, 'no_request_above_the_limits_reached_the_peer');
cmp_ok($stats->{max_in_10s}, '<=', 110, 'at_most_110_requests_in_any_10_seconds');
cmp_ok($stats->{max_search_in_1s}, '<=', 5, 'at_most_5_searches_in_any_second');
diag("most requests in 10 s: $stats->{max_in_10s}; most searches in 1 s: $stats->{max_search_in_1s}");

# ---------------------------------------------------------------------------
# 429 storms: with Retry-After, then without (exponential backoff).
hs_admin($hs, 'update', { count => 500 });
sleep 2;
hs_admin($hs, 'reset_stats', {});
hs_admin($hs, 'storm', { count => 6, retry_after => 1 });
$run = $node->safe_psql('postgres', "$ctx SELECT wib.crm_sync_now('hubspot')");
is(wait_for_run($node, $org, $run), 'success', 'a_sync_through_a_429_storm_with_retry_after_completes');
$row = run_row($node, $run);
is($row->{records_synced}, 500, 'the_storm_loses_nothing');
is($row->{rate_limited}, 6, 'the_run_counts_the_refusals');
$stats = hs_admin($hs, 'stats');
is($stats->{storm_answered}, 6, 'the_peer_answered_the_whole_storm');
is($stats->{over_limit_total}, 0, 'no_request_above_the_limit_reached_the_peer_during_the_storm');
like(join(',', map { $_->{t} } grep { $_->{limited} } @{ hs_admin($hs, 'stats?arrivals=1')->{arrivals} }), qr/\d/,
	'the_storm_is_in_the_peer_arrivals');

hs_admin($hs, 'update', { count => 200 });
sleep 2;
hs_admin($hs, 'storm', { count => 5 });
my $t0 = time;
$run = $node->safe_psql('postgres', "$ctx SELECT wib.crm_sync_now('hubspot')");
is(wait_for_run($node, $org, $run), 'success', 'a_sync_through_a_429_storm_without_retry_after_completes');
is(run_row($node, $run)->{records_synced}, 200, 'the_second_storm_loses_nothing');
cmp_ok(time - $t0, '>=', 3, 'the_refusals_were_backed_off_exponentially');
is(hs_admin($hs, 'stats')->{over_limit_total}, 0, 'still_no_request_above_the_limit');

$node->stop;
done_testing();
