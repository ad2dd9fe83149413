# Upgrades: an install of the released 0.1.0, filled with data, updated with
# ALTER EXTENSION wib UPDATE, must equal a fresh install of the current version
# (every function, table, column, constraint, index, trigger, policy, grant
# and comment, and the catalogue rows wib ships), keep its data, and keep
# working: a delivery queued before the update is signed and delivered after it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks;

my $dir = PostgreSQL::Test::Utils::tempdir();
my ($ca, $cert, $key) = make_test_ca($dir);
my $rx = start_receiver(dir => $dir, name => 'rx', tls => [ $cert, $key ]);

# Released install scripts are frozen: their checksums were recorded on release.
use Digest::SHA qw(sha256_hex);
for my $line (split /\n/, slurp_file(wib_root() . '/src/sql/released/SHA256SUMS'))
{
	my ($sum, $file) = split /\s+/, $line;
	is(sha256_hex(slurp_file(wib_root() . "/src/sql/released/$file")), $sum, "released_script_${file}_is_unchanged");
}

my $node = wib_node('upgrade', extension => 0, conf => join("\n",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.http_ca_file = '$ca'"));
my $current = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'wib'");

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE updated');
$node->safe_psql('fresh', 'CREATE EXTENSION wib');
$node->safe_psql('updated', "CREATE EXTENSION wib VERSION '0.1.0'");

# Data as 0.1.0 knew it: every feature used once.
my $org = $node->safe_psql('updated', "SELECT wib.organization_create('Before the update', 'enterprise')");
my $ctx = "SELECT wib.set_context('$org', 'ops-1');";
my $port = $rx->{port};
my $secret = $node->safe_psql('updated', qq{
	$ctx
	SELECT wib.user_create('agent-1', 'Ada', 'ada\@example.test');
	INSERT INTO wib.calls (organization_id, agent_id, status, duration_seconds, started_at, ended_at)
	SELECT '$org', 'agent-1', 'completed', 60 + g, now() - g * interval '1 hour', now() - g * interval '1 hour' + interval '2 minutes'
	  FROM generate_series(1, 40) g;
	INSERT INTO wib.ai_summaries (organization_id, call_id, overall_sentiment, sentiment_score)
	SELECT organization_id, id, 'positive', 0.5 FROM wib.calls;
	SELECT wib.ivr_number_add('+15550001111', 'local', 'Main line',
	       wib.ivr_menu_create('{"name": "Main", "greeting_text": "Hello.", "options": [{"digit": "1", "action_type": "hangup"}]}'));
	SELECT wib.export_create('calls', 'csv');
	SELECT wib.run_nightly((now() AT TIME ZONE 'UTC')::date);
	SELECT secret FROM wib.webhook_subscribe('before', 'https://127.0.0.1:$port/ok', ARRAY['custom.upgrade']);
});
# A subscription whose secret was rotated: both secrets still sign.
my ($rot_id, $rot_first) = split /\|/, (split /\n/, $node->safe_psql('updated', qq{
	$ctx SELECT id || '|' || secret FROM wib.webhook_subscribe('rotated', 'https://127.0.0.1:$port/ok', ARRAY['custom.none']);
}))[-1];
my $rot_second = (split /\n/, $node->safe_psql('updated', "$ctx SELECT wib.webhook_rotate_secret('$rot_id')"))[-1];
open(my $sf, '>', $rx->{secrets_file}) or die;
print $sf "$secret\n";
close $sf;
$node->safe_psql('updated', "$ctx SELECT wib.emit_event('custom.upgrade', '{\"queued\": \"before the update\"}')");

my $counts_sql = join(' UNION ALL ', map { "SELECT '$_', count(*) FROM wib.$_" }
	qw(organizations users calls ai_summaries sentiment_scores audit_log webhook_subscriptions
	  webhook_deliveries export_jobs ivr_menus ivr_menu_options inbound_numbers analytics_snapshots));
my $counts_before = $node->safe_psql('updated', "$counts_sql ORDER BY 1");

$node->safe_psql('updated', 'ALTER EXTENSION wib UPDATE');
is($node->safe_psql('updated', "SELECT extversion FROM pg_extension WHERE extname = 'wib'"), $current,
	"update_reaches_the_current_version_$current");

# The catalog, fact by fact.
my $fingerprint = slurp_file(wib_root() . '/test/t/sql/catalog_fingerprint.sql');
my %facts = map { $_ => $node->safe_psql($_, $fingerprint) } qw(fresh updated);
my %seen_fresh = map { $_ => 1 } split /\n(?=\S)/, $facts{fresh};
my %seen_updated = map { $_ => 1 } split /\n(?=\S)/, $facts{updated};
my @only_fresh = grep { !$seen_updated{$_} } sort keys %seen_fresh;
my @only_updated = grep { !$seen_fresh{$_} } sort keys %seen_updated;
ok(@only_fresh == 0 && @only_updated == 0, 'updated_catalog_equals_a_fresh_install')
  or diag("only in a fresh install:\n  " . join("\n  ", @only_fresh[0 .. ($#only_fresh < 20 ? $#only_fresh : 19)])
	  . "\nonly in the updated install:\n  " . join("\n  ", @only_updated[0 .. ($#only_updated < 20 ? $#only_updated : 19)]));
cmp_ok(scalar(keys %seen_fresh), '>', 500, 'fingerprint_covers_the_whole_extension');

my $catalogue = slurp_file(wib_root() . '/test/t/sql/catalogue_rows.sql');
is($node->safe_psql('updated', $catalogue), $node->safe_psql('fresh', $catalogue),
	'updated_catalogue_rows_equal_a_fresh_install');

# Signing secrets: sealed by the vault, each for its own row, and gone from the table's file.
is($node->safe_psql('updated', qq{
	SELECT string_agg(s.name || ':' || array_to_string(wib.webhook_secrets(s), ','), ' ' ORDER BY s.name)
	  FROM wib.webhook_subscriptions s}),
	'before:' . (split /\n/, $secret)[-1] . " rotated:$rot_second,$rot_first",
	'update_seals_every_secret_and_previous_secret_for_its_row');
is($node->safe_psql('updated', qq{
	SELECT bool_and(wib.vault_key_id(secret) = wib.vault_current_key_id())
	       AND bool_and(previous_secret IS NULL OR wib.vault_key_id(previous_secret) = wib.vault_current_key_id())
	  FROM wib.webhook_subscriptions}), 't', 'the_sealed_secrets_name_the_current_key');
$node->safe_psql('updated', 'CHECKPOINT');
is($node->safe_psql('updated', qq{
	SELECT count(*) FROM (VALUES ('@{[ (split /\n/, $secret)[-1] ]}'), ('$rot_first'), ('$rot_second')) v(plain)
	 WHERE position(convert_to(v.plain, 'UTF8')
	                IN pg_read_binary_file(pg_relation_filepath('wib.webhook_subscriptions'))) > 0}), '0',
	'no_plaintext_secret_is_left_in_the_tables_file');

# The data, and the work queued before the update.
is($node->safe_psql('updated', "$counts_sql ORDER BY 1"), $counts_before, 'update_keeps_every_row');
$node->safe_psql('updated', 'SELECT wib.deliver_due()');
my ($r) = wait_for_receipts($rx, 1, sub { $_[0]{body} =~ /before the update/ });
ok($r && $r->{valid}, 'delivery_queued_before_the_update_is_signed_with_the_old_secret_and_delivered');
is($node->safe_psql('updated', "SELECT status FROM wib.webhook_deliveries"), 'delivered',
	'delivery_queued_before_the_update_is_recorded_delivered');

done_testing();
