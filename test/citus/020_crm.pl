# The CRM worker on a Citus cluster: the coordinator's CRM worker claims
# integrations one organization at a time without failing, connects two
# organizations to the HubSpot peer (test/peers/hubspot.py) through the OAuth
# round trip and syncs their contacts into the distributed contact cache.
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
# The OAuth round trip and the first syncs (a full listing of 1,500 contacts each).
{
	my ($integration, $integration2);
	my $connected = eval {
		$integration = crm_connect_flow($node, $hs, $org);
		$integration2 = crm_connect_flow($node, $hs, $org2);
		1;
	};
	ok($connected, 'both_integrations_connect_through_the_coordinators_crm_worker') or diag($@);
	my $synced = $connected && eval {
		for my $o ([$org, $integration], [$org2, $integration2])
		{
			my $run = $node->safe_psql('postgres',
				"SELECT id FROM wib.crm_sync_log WHERE organization_id = '$o->[0]' AND integration_id = '$o->[1]' AND trigger = 'connect'");
			die "the first sync of $o->[0] did not succeed\n" unless wait_for_run($node, $o->[0], $run, 120) eq 'success';
		}
		1;
	};
	ok($synced, 'the_first_syncs_succeed_on_the_cluster') or diag($@);
	for my $o ($org, $org2)
	{
		is($node->safe_psql('postgres', "SELECT count(*) || '/' || count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$o'"),
			'1500/1500', 'every_contact_is_cached_exactly_once_in_the_organizations_shard');
	}
	my %peer = map { $_ => 1 } @$ids;
	my @cached = split /\n/, $node->safe_psql('postgres', "SELECT crm_contact_id FROM wib.crm_contact_cache WHERE organization_id = '$org'");
	ok(@cached && !grep({ !$peer{$_} } @cached), 'every_cached_contact_is_a_peer_contact');
}

# The CRM worker's claims and releases no longer fail on the cluster.
my $log = log_since_distribute($node);
my @failed = $log =~ /(could not run distributed query with FOR UPDATE)/g;
is(scalar(@failed), 0, 'the_crm_workers_claim_never_fails_on_the_cluster');
@failed = $log =~ /(CONTEXT:  SQL function "crm_(?:claim|release_stale)")/g;
is(scalar(@failed), 0, 'the_crm_workers_claim_and_release_are_planned_on_the_cluster');

$node->stop;
$_->stop for @$workers;
done_testing();
