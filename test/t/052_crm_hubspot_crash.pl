# The CRM worker killed with SIGKILL: mid-sync, the restarted worker resumes
# the same run from the cursor committed with the rows it covers, and every
# contact ends up cached once, none lost; between HubSpot creating a call
# engagement and the worker recording it, the restarted worker finds the
# engagement by wib's call id instead of creating a second one.
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
my $hs = start_hubspot(dir => $dir, name => 'hs', ca => \@ca);
my $node = crm_node('crm_crash', $hs, conf => "wib.crm_lease = 60s");

my $org = crm_org($node, 'Crash Co');
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'admin-1';";
my $ids = hs_admin($hs, 'contacts', { count => 15000, phone_formats => JSON::PP::true })->{ids};

# ---------------------------------------------------------------------------
# kill -9 in the middle of the first sync.
my $integration = crm_connect_flow($node, $hs, $org);
my $run = $node->safe_psql('postgres', "SELECT id FROM wib.crm_sync_log WHERE integration_id = '$integration' AND trigger = 'connect'");
ok($node->poll_query_until('postgres', "SELECT contact_count >= 3000 FROM wib.crm_integrations WHERE id = '$integration'"),
	'the_sync_is_under_way');
my $pid = worker_pid($node, 'crm_sync');
kill 'KILL', $pid;
wait_for_worker_pid($node, 'crm_sync', $pid);
my $at_restart = $node->safe_psql('postgres', "SELECT contact_count FROM wib.crm_integrations WHERE id = '$integration'");
cmp_ok($at_restart, '<', 15000, 'the_worker_was_killed_mid_sync');
is(wait_for_run($node, $org, $run), 'success', 'the_same_run_resumes_and_completes_after_the_restart');
is($node->safe_psql('postgres', "SELECT count(*) || '/' || count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$org'"),
	'15000/15000', 'every_contact_is_cached_once_after_the_crash');
my %cached = map { $_ => 1 } split /\n/, $node->safe_psql('postgres', "SELECT crm_contact_id FROM wib.crm_contact_cache WHERE organization_id = '$org'");
is(scalar(grep { !$cached{$_} } @$ids), 0, 'no_contact_is_lost');
is(run_row($node, $run)->{records_synced}, 15000, 'the_run_counts_each_contact_once');
is($node->safe_psql('postgres', "SELECT contact_count FROM wib.crm_integrations WHERE id = '$integration'"), '15000',
	'the_contact_count_is_right');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_sync_log WHERE integration_id = '$integration' AND status = 'running'"),
	'0', 'no_run_is_left_running');

# ---------------------------------------------------------------------------
# kill -9 after HubSpot created the call engagement, before the worker heard of it.
hs_admin($hs, 'config', { call_delay_ms => 5000 });
my $call = $node->safe_psql('postgres', qq{
	$ctx
	INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status, started_at, ended_at, duration_seconds)
	VALUES ('$org', 'inbound', '(555) 123-0000', '+15550009999', 'completed', now() - interval '95 seconds', now(), 95)
	RETURNING id});
my $created;
for (1 .. 200)
{
	($created) = grep { ($_->{properties}{wib_call_id} // '') eq $call } @{ hs_admin($hs, 'calls')->{results} };
	last if $created;
	usleep(50_000);
}
ok($created, 'hubspot_created_the_call_engagement');
is($node->safe_psql('postgres', "SELECT status FROM wib.crm_call_pushes WHERE call_id = '$call'"), 'pushing',
	'the_push_is_marked_pushing_before_the_answer');
$pid = worker_pid($node, 'crm_sync');
kill 'KILL', $pid;
hs_admin($hs, 'config', { call_delay_ms => 0 });
wait_for_worker_pid($node, 'crm_sync', $pid);
ok($node->poll_query_until('postgres', "SELECT status = 'pushed' FROM wib.crm_call_pushes WHERE call_id = '$call'"),
	'the_restarted_worker_records_the_push');
my @copies = grep { ($_->{properties}{wib_call_id} // '') eq $call } @{ hs_admin($hs, 'calls')->{results} };
is(scalar(@copies), 1, 'no_duplicate_engagement_after_the_crash');
is($node->safe_psql('postgres', "SELECT crm_object_id FROM wib.crm_call_pushes WHERE call_id = '$call'"), $created->{id},
	'the_push_records_the_engagement_created_before_the_crash');
is($node->safe_psql('postgres', "SELECT attempts FROM wib.crm_call_pushes WHERE call_id = '$call'"), '1',
	'the_call_was_created_once_and_then_found');
is(hs_admin($hs, 'stats')->{requests}{'POST /crm/v3/objects/calls/search'}{200} // 0, 1,
	'the_worker_looked_for_the_call_before_creating_it_again');
is($node->safe_psql('postgres', "SELECT sum(calls_pushed) FROM wib.crm_sync_log WHERE integration_id = '$integration'"), '1',
	'the_push_is_reported_in_the_sync_log');

$node->stop;
done_testing();
