# Without shared_preload_libraries the extension installs and tenancy works, but
# what needs shared memory says clearly how to fix the setup.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('no_preload');
$node->init;
$node->append_conf('postgresql.conf', 'max_prepared_transactions = 2');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION wib');

is($node->safe_psql('postgres',
	"SET wib.org_id = '6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10'; SELECT wib.current_org_id()"),
	'6f1c2a9e-4b1d-4c55-9a43-2f0d7d1e8a10', 'tenancy_works_without_preload');

my ($ret, $out, $err) = $node->psql('postgres', "SELECT wib.rate_limit('k', 1, '1 minute')");
isnt($ret, 0, 'rate_limit_fails_without_preload');
like($err, qr/wib\.rate_limit\(\) requires wib to be loaded at server start/, 'error_says_what_needs_preload');
like($err, qr/HINT:  Add 'wib' to shared_preload_libraries/, 'hint_names_shared_preload_libraries');

($ret, $out, $err) = $node->psql('postgres', 'SELECT * FROM wib.worker_status', extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/WB006/, 'worker_status_fails_with_WB006_without_preload');

# No session caches rendered menus without shared memory, so a menu change
# has nothing to invalidate and can be prepared (as on a Citus worker, where
# wib is not preloaded and Citus prepares its part of a transaction).
is($node->safe_psql('postgres', q{
	SELECT wib.set_context(wib.organization_create('Acme', 'business'), 'admin-1') \g /dev/null
	BEGIN;
	SELECT wib.ivr_menu_create('{"name": "Main", "greeting_text": "Hello."}') \g /dev/null
	PREPARE TRANSACTION 'menu';
	COMMIT PREPARED 'menu';
	SELECT name FROM wib.ivr_menus;
}), 'Main', 'a_menu_change_is_prepared_without_preload');

$node->stop;
done_testing();
