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
is($changes, 4, 'the_harness_found_the_fixture_and_every_context_change_of_the_suite');
my $r = run_tap_sql($node, $suite);
note(sprintf('isolation suite on the cluster: %d checks in %.1f s', $r->{planned}, $r->{seconds}));
# Open on a cluster (docs/scale-out.md, "Not yet on a cluster"): the suite's
# fixture runs the nightly analytics run, which Citus refuses there.
TODO:
{
local $TODO = 'the isolation suite on a Citus cluster (its fixture runs the nightly analytics)';
cmp_ok($r->{planned}, '>', 500, 'the_suite_plans_its_checks_for_every_tenant_table');
is($r->{ok}, $r->{planned}, 'every_isolation_check_passes_on_the_cluster')
  or diag(join("\n", @{ $r->{not_ok} }) . "\n$r->{stderr}");
is(scalar(@{ $r->{not_ok} }), 0, 'no_isolation_check_fails_on_the_cluster');
unlike($r->{stderr}, qr/ERROR/, 'the_suite_runs_without_errors_on_the_cluster') or diag($r->{stderr});
}

$node->stop;
$_->stop for @$workers;
done_testing();
