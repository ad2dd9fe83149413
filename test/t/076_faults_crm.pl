# The CRM worker under faults: SIGTERM in each phase of its unit of work
# (claiming, held on a lock; sending, to a slow HubSpot page; recording, held
# on a lock) and pg_ctl restart -m immediate in the middle of a sync.  Each
# time the run in progress is carried on by the next worker from the cursor
# committed with the rows it covers: it ends in success, every contact cached
# once, none lost, counted once, and no run is left running.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;
use WibWebhooks qw(make_test_ca);
use WibCrm;

my $contacts = 1500;	# 15 pages of 100
my $dir = PostgreSQL::Test::Utils::tempdir();
my @ca = make_test_ca($dir);
my $hs = start_hubspot(dir => $dir, name => 'hs', ca => \@ca);
my $node = crm_node('faults_crm', $hs, conf => "wib.crm_lease = 60s");
my $pid = worker_pid($node, 'crm_sync');
hs_admin($hs, 'contacts', { count => $contacts });

# A run ended in success with every contact of the peer cached once for org.
sub run_is_whole
{
	my ($org, $run, $name) = @_;
	is(wait_for_run($node, $org, $run), 'success', "${name}_the_run_completes");
	is($node->safe_psql('postgres',
		"SELECT count(*) || '/' || count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$org'"),
		"$contacts/$contacts", "${name}_every_contact_is_cached_once");
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM wib.crm_sync_log WHERE organization_id = '$org' AND status = 'running'"),
		'0', "${name}_no_run_is_left_running");
}

# The connect run of org.
sub connect_run
{
	my ($org) = @_;
	return $node->safe_psql('postgres',
		"SELECT id FROM wib.crm_sync_log WHERE organization_id = '$org' AND trigger = 'connect'");
}

# Waits until the CRM worker sends a page of contacts: its activity is then the
# request's kind, "sync".
sub wait_for_sending
{
	return wait_for_phase($node, 'wib crm_sync', 'sync');
}

my $session = wib_session($node);

# 1. Claiming: a session holds crm_integrations while it asks for a sync now;
# the worker's claim waits on it, and is terminated there.
my $org1 = crm_org($node, 'Claim Co');
crm_connect_flow($node, $hs, $org1);
is(wait_for_run($node, $org1, connect_run($org1)), 'success', 'the_first_sync_completes');
session_query($session, "BEGIN; LOCK TABLE wib.crm_integrations IN ACCESS EXCLUSIVE MODE;");
my $caught = wait_for_phase($node, 'wib crm_sync', 'wib crm_sync: claiming due work', 1);
is($caught, $pid, 'crm_worker_is_caught_claiming');
my $run1 = session_query($session, "SET wib.org_id = '$org1'; SET wib.user_id = 'admin-1'; SELECT wib.crm_sync_now('hubspot');"
	  . " RESET wib.org_id; RESET wib.user_id;");
terminate_worker($node, $pid);
session_query($session, 'COMMIT');
$pid = wait_for_worker_pid($node, 'crm_sync', $pid);
run_is_whole($org1, $run1, 'sigterm_while_claiming');

# 2. Sending: each page of contacts is answered 3 s late; the worker is
# terminated while it waits for the first one.
hs_admin($hs, 'config', { page_delay_ms => 3000 });
my $org2 = crm_org($node, 'Send Co');
crm_connect_flow($node, $hs, $org2);
$caught = wait_for_sending();
is($caught, $pid, 'crm_worker_is_caught_sending');
terminate_worker($node, $pid);
hs_admin($hs, 'config', { page_delay_ms => 0 });
$pid = wait_for_worker_pid($node, 'crm_sync', $pid);
my $run2 = connect_run($org2);
run_is_whole($org2, $run2, 'sigterm_while_sending');
is(run_row($node, $run2)->{records_synced}, $contacts, 'sigterm_while_sending_each_contact_is_counted_once');

# 3. Recording: once a page is on its way, a session locks the contact cache,
# so recording the answer waits; the worker is terminated there, and the page
# is asked for again by the next one.
hs_admin($hs, 'config', { page_delay_ms => 1000 });
my $org3 = crm_org($node, 'Record Co');
crm_connect_flow($node, $hs, $org3);
wait_for_sending();
session_query($session, "BEGIN; LOCK TABLE wib.crm_contact_cache IN ACCESS EXCLUSIVE MODE;");
$caught = wait_for_phase($node, 'wib crm_sync', 'wib crm_sync: recording and planning', 1);
is($caught, $pid, 'crm_worker_is_caught_recording');
terminate_worker($node, $pid);
session_query($session, 'ROLLBACK');
hs_admin($hs, 'config', { page_delay_ms => 0 });
$pid = wait_for_worker_pid($node, 'crm_sync', $pid);
my $run3 = connect_run($org3);
run_is_whole($org3, $run3, 'sigterm_while_recording');
is(run_row($node, $run3)->{records_synced}, $contacts, 'sigterm_while_recording_each_contact_is_counted_once');
$session->quit;

# 4. pg_ctl restart -m immediate with the sync a few pages in.
hs_admin($hs, 'config', { page_delay_ms => 300 });
my $org4 = crm_org($node, 'Restart Co');
my $integration4 = crm_connect_flow($node, $hs, $org4);
ok($node->poll_query_until('postgres', "SELECT contact_count >= 300 FROM wib.crm_integrations WHERE id = '$integration4'"),
	'the_sync_is_under_way_at_the_restart');
$node->stop('immediate');
hs_admin($hs, 'config', { page_delay_ms => 0 });
$node->start;
my $run4 = connect_run($org4);
cmp_ok($node->safe_psql('postgres', "SELECT contact_count FROM wib.crm_integrations WHERE id = '$integration4'"),
	'<', $contacts, 'after_an_immediate_restart_the_sync_was_unfinished');
run_is_whole($org4, $run4, 'after_an_immediate_restart');
is(run_row($node, $run4)->{records_synced}, $contacts, 'after_an_immediate_restart_each_contact_is_counted_once');
is($node->safe_psql('postgres', "SELECT contact_count FROM wib.crm_integrations WHERE id = '$integration4'"), $contacts,
	'after_an_immediate_restart_the_contact_count_is_right');

is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'wib crm_sync'"), '1',
	'one_crm_worker_runs_after_the_restarts');

$node->stop;
done_testing();
