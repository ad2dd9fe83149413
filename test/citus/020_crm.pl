# The CRM worker on a Citus cluster: the coordinator's CRM worker claims an
# integration one organization at a time and syncs HubSpot contacts (the peer
# test/peers/hubspot.py) into the distributed contact cache; a second
# organization's integration syncs beside it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks qw(make_test_ca);
use WibCrm;
use WibCitus;

my $dir = PostgreSQL::Test::Utils::tempdir();
my @ca = make_test_ca($dir);
my $hs = start_hubspot(dir => $dir, name => 'hs', ca => \@ca);
my ($node, $workers) = citus_cluster(coordinator_conf => join("\n",
	"wib.http_ca_file = '$hs->{ca}'",
	"wib.crm_push_delay = 0",
	"wib.crm_reread_window = 1s",
	"wib.crm_backoff_max = 3s"));
$node->safe_psql('postgres', qq{
	SET log_statement = 'none';
	SELECT wib.crm_provider_set('hubspot', '{"client_id": "wib-test-client", "client_secret": "wib-test-secret",
	        "api_url": "$hs->{base}", "auth_url": "$hs->{base}/oauth/authorize"}')});
wait_for_worker_pid($node, 'crm_sync');

my $ids = hs_admin($hs, 'contacts', { count => 1500 })->{ids};
my $org = crm_org($node, 'Cluster Crm Co');
my $org2 = crm_org($node, 'Cluster Crm Two');
my $integration = crm_connect_flow($node, $hs, $org);
my $integration2 = crm_connect_flow($node, $hs, $org2);
pass('both_integrations_connect_through_the_coordinators_crm_worker');
for my $o ([$org, $integration], [$org2, $integration2])
{
	my $run = $node->safe_psql('postgres',
		"SELECT id FROM wib.crm_sync_log WHERE organization_id = '$o->[0]' AND integration_id = '$o->[1]' AND trigger = 'connect'");
	is(wait_for_run($node, $o->[0], $run, 240), 'success', 'the_first_sync_succeeds_on_the_cluster');
	is($node->safe_psql('postgres', "SELECT count(*) || '/' || count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$o->[0]'"),
		'1500/1500', 'every_contact_is_cached_exactly_once_in_the_organizations_shard');
}
my %peer = map { $_ => 1 } @$ids;
my @cached = split /\n/, $node->safe_psql('postgres', "SELECT crm_contact_id FROM wib.crm_contact_cache WHERE organization_id = '$org'");
is(scalar(grep { !$peer{$_} } @cached), 0, 'every_cached_contact_is_a_peer_contact');

# A delta: 40 contacts changed at the peer, synced on demand.
my $changed = [ @$ids[0 .. 39] ];
hs_admin($hs, 'update', { ids => $changed, properties => { phone => '+1 (555) 010-9999' } });
sleep 2;
my $run = $node->safe_psql('postgres', "SET wib.org_id = '$org'; SELECT wib.crm_sync_now('hubspot')");
is(wait_for_run($node, $org, $run, 120), 'success', 'a_delta_sync_succeeds_on_the_cluster');
is(run_row($node, $run)->{records_synced}, 40, 'the_delta_applies_exactly_the_40_updates');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org' AND phone_e164 = '+15550109999'"),
	'40', 'the_changed_numbers_are_cached_in_the_organizations_shard');

# The CRM worker's claims and releases no longer fail on the cluster.
my $log = log_since_distribute($node);
my @failed = $log =~ /(could not create distributed plan|could not run distributed query with FOR UPDATE)/g;
is(scalar(@failed), 0, 'the_crm_worker_never_fails_a_pass_on_the_cluster') or diag(join("\n", grep { /ERROR/ } split /\n/, $log));

$node->stop;
$_->stop for @$workers;
done_testing();
