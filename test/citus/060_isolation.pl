# The catalog-driven isolation suite (test/pgtap/00_tenancy.sql and its
# fixture) against the cluster, with the tenant set per transaction as a
# cluster needs (WibCitus::tenancy_suite_for_cluster says how the harness
# adapts it; the checks are unchanged).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibCitus;

my ($node, $workers) = citus_cluster();
$node->safe_psql('postgres', 'CREATE EXTENSION pgtap');
my ($suite, $changes) = tenancy_suite_for_cluster();
is($changes, 6, 'the_harness_found_the_fixture_and_every_context_change_of_the_suite');
my $r = run_tap_sql($node, $suite);
note(sprintf('isolation suite on the cluster: %d checks in %.1f s', $r->{planned}, $r->{seconds}));
# The suite's plan: twelve checks per tenant table (every table of wib with an
# organization_id, from the coordinator's catalog) and four more.
is($r->{planned}, 4 + 12 * $node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'wib'::regnamespace AND c.relkind IN ('r', 'p')
	   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)}),
	'the_suite_plans_its_checks_for_every_tenant_table');
is($r->{ok}, $r->{planned}, 'every_isolation_check_passes_on_the_cluster')
  or diag(join("\n", @{ $r->{not_ok} }) . "\n$r->{stderr}");
is(scalar(@{ $r->{not_ok} }), 0, 'no_isolation_check_fails_on_the_cluster');
unlike($r->{stderr}, qr/ERROR/, 'the_suite_runs_without_errors_on_the_cluster') or diag($r->{stderr});

# Within an organization on the cluster, the mobile tables' own rule (their
# restrictive policy, folded into the tenant policy by wib.distribute()):
# an agent sees only their own devices, an admin every device.
my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Mobile C', 'enterprise')");
$node->safe_psql('postgres', "BEGIN; SELECT wib.act_as('$org'); INSERT INTO wib.users (organization_id, id, name, role) "
	  . "VALUES ('$org', 'x', 'Agent X', 'agent'), ('$org', 'y', 'Agent Y', 'agent'), ('$org', 'boss', 'Boss', 'admin'); COMMIT");
$node->safe_psql('postgres', 'CREATE ROLE mobile_app LOGIN IN ROLE wib_app');
my $as = sub {
	my ($user, $q) = @_;
	return $node->safe_psql('postgres', "BEGIN; SELECT wib.set_context('$org', '$user', true) \\g /dev/null\n$q\n;\nCOMMIT",
		extra_params => [ '-U', 'mobile_app' ]);
};
$as->($_, "SELECT wib.device_register('Phone of $_', 'pwa') \\g /dev/null") for qw(x y);
is($as->('x', 'SELECT string_agg(user_id, \',\') FROM wib.mobile_devices'), 'x', 'an_agent_sees_only_their_own_devices_on_the_cluster');
is($as->('boss', 'SELECT string_agg(user_id, \',\' ORDER BY user_id) FROM wib.mobile_devices'), 'x,y',
	'an_admin_sees_every_device_of_the_organization_on_the_cluster');

$node->stop;
$_->stop for @$workers;
done_testing();
