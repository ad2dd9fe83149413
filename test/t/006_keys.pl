# wib's key ring under each of its sources, and the secrets it protects:
#   1. no configuration: the ring generated in the data directory;
#   2. wib.key_file: refused when readable by others or owned by another user
#      (never replaced by the generated key), used at 0600;
#   3. a rotation of the vault's key while webhooks are delivered: a key added
#      to the file, wib.vault_rotate(), the old key removed;
#   4. wib.keys, which takes precedence, kept out of the server log;
#   5. a malformed wib.keys at start refuses keys instead of falling back;
#   6. a key file inside the data directory is reported.
# The regression suite of the vault and tokens (sql/05_crypto.sql) gives its
# expected output under the generated ring, a 0600 key file and wib.keys.  A
# subscribe, deliver, rotate, unsubscribe cycle and wib.vault_rotate() run
# with log_statement = 'all' and log_min_messages = debug1, and no signing
# secret or key text reaches the server log, pg_stat_activity, audit values
# or error messages.
use strict;
use warnings;
use Cwd qw(abs_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;
use WibWebhooks;

# The application's session below would print every query and its result
# (secrets included) into this test's output: keep it quiet.
{
	no warnings qw(redefine once);
	*PostgreSQL::Test::BackgroundPsql::note = sub { };
}

my $dir = PostgreSQL::Test::Utils::tempdir();
my ($ca, $cert, $key) = make_test_ca($dir);
my $rx = start_receiver(dir => $dir, name => 'rx', tls => [ $cert, $key ]);
my $port = $rx->{port};
my $keys = "$dir/keys";    # outside the data directory
mkdir $keys or die;
chmod 0700, $keys;

# Fixed test keys (base64 of 32 bytes).
my $K1 = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
my $K2 = '//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=';
my $K3 = 'ERERERERERERERERERERERERERERERERERERERERERE=';

my $node = wib_node('keys', extension => 0, conf => join("\n",
	"wib.http_allow_cidrs = '127.0.0.0/8'",
	"wib.http_ca_file = '$ca'",
	"wib.webhook_retry_schedule = '1 s'",
	"include_if_exists = 'keys.conf'"));
my $data = $node->data_dir;
$node->safe_psql('postgres', 'CREATE EXTENSION wib');
$node->safe_psql('postgres', 'CREATE DATABASE crypto');
$node->safe_psql('crypto', 'CREATE EXTENSION wib');

# A statement's output, or its error text (stderr) when it fails.
sub try_sql
{
	my ($sql, %o) = @_;
	my ($out, $err) = ('', '');
	$node->psql($o{db} // 'postgres', $sql, stdout => \$out, stderr => \$err,
		extra_params => [ @{ $o{params} // [] }, '-v', 'ON_ERROR_STOP=1' ]);
	return $err ne '' ? $err : $out;
}

# Writes the key settings into keys.conf (included by postgresql.conf) and reloads.
sub set_keys_conf
{
	open(my $fh, '>', "$data/keys.conf") or die;
	print $fh map { "$_\n" } @_;
	close $fh;
	$node->reload;
	usleep(300_000);
}

# Replaces the key file at path with the given "<id> <key>" lines at mode, as one rename.
sub write_ring
{
	my ($path, $mode, @lines) = @_;
	open(my $fh, '>', "$path.new") or die;
	print $fh "# wib test keys\n", map { "$_\n" } @lines;
	close $fh;
	chmod $mode, "$path.new";
	rename "$path.new", $path or die;
}

# Runs sql/05_crypto.sql as pg_regress does; its output must be the expected one under any ring.
sub regress_passes
{
	my ($name) = @_;
	my $out = '';
	IPC::Run::run([ 'psql', '-X', '-a', '-q', '-d', $node->connstr('crypto') ],
		'<', wib_root() . '/sql/05_crypto.sql', '>', \$out, '2>&1');
	open(my $fh, '>', "$dir/crypto_$name.out") or die;
	print $fh $out;
	close $fh;
	my $diff = '';
	IPC::Run::run([ 'diff', '-u', wib_root() . '/expected/05_crypto.out', "$dir/crypto_$name.out" ], '>', \$diff);
	is($diff, '', "the_vault_and_token_regression_suite_passes_under_$name");
}

my $log_offset = 0;
# The server log written since the last call.
sub new_log
{
	my $log = slurp_file($node->logfile, $log_offset);
	$log_offset += length($log);
	return $log;
}

# ---------------------------------------------------------------------------
# 1. The generated key ring.
is($node->safe_psql('postgres', 'SELECT wib.vault_current_key_id()'), '1', 'with_no_key_configured_wib_generates_key_1');
my @st = stat("$data/wib_keys");
ok(@st && ($st[2] & 07777) == 0600 && $st[4] == $>, 'the_generated_wib_keys_is_mode_0600_and_the_servers');
my @ring_lines = grep { !/^#/ && /\S/ } split /\n/, slurp_file("$data/wib_keys");
ok(@ring_lines == 1 && $ring_lines[0] =~ /^1 [A-Za-z0-9+\/]{43}=$/, 'it_holds_one_key_with_id_1');
my $generated_key = (split / /, $ring_lines[0])[1];
my @generated_logged = (slurp_file($node->logfile) =~ /wib generated its key ring in the data directory/g);
is(scalar(@generated_logged), 1, 'its_generation_is_logged_once_with_the_advice_to_move_it');
regress_passes('the_generated_ring');
$node->safe_psql('postgres', q{CREATE TABLE kept AS SELECT wib.vault_seal('generated-secret', NULL, 't.c', '1') AS c});

# ---------------------------------------------------------------------------
# 2. wib.key_file: readable by others or owned by another user refused, 0600 used.
write_ring("$keys/ring", 0644, "1 $K1");
set_keys_conf("wib.key_file = '$keys/ring'");
my $err = try_sql(q{SELECT wib.vault_seal('x', NULL, 't.c', '1')});
like($err, qr/key file ".*\/ring" has group or world access.*Its permissions are 0644; they must be 0600 or stricter/s,
	'a_0644_key_file_is_refused_naming_the_problem');
like(try_sql(q{SELECT wib.vault_seal('x', NULL, 't.c', '1')}, params => [ '-v', 'VERBOSITY=verbose' ]),
	qr/ERROR:  F0000: key file/, 'the_refusal_is_sqlstate_f0000');
like(try_sql(q{SELECT wib.vault_open(c, NULL, 't.c', '1') FROM kept}), qr/has group or world access/,
	'a_refused_key_file_is_not_replaced_by_the_generated_key');
SKIP:
{
	# A readable regular file owned by someone else: the Perl interpreter (root's).
	my $foreign = abs_path($^X);
	skip 'the tests run as the owner of the Perl interpreter', 1 if (stat $foreign)[4] == $>;
	set_keys_conf("wib.key_file = '$foreign'");
	like(try_sql(q{SELECT wib.vault_seal('x', NULL, 't.c', '1')}),
		qr/is not owned by the database server's operating system user/, 'a_key_file_owned_by_another_user_is_refused');
}
chmod 0600, "$keys/ring";
set_keys_conf("wib.key_file = '$keys/ring'");
is($node->safe_psql('postgres', 'SELECT wib.vault_current_key_id()'), '1', 'the_0600_key_file_is_the_ring');
regress_passes('a_0600_key_file');
$err = try_sql(q{SELECT wib.vault_open(c, NULL, 't.c', '1') FROM kept});
ok($err =~ /could not open the sealed value of "t\.c"/ && $err !~ /generated-secret/,
	'a_value_sealed_under_another_key_1_does_not_open_and_the_error_names_the_context_only');
# (The test cluster logs every statement as it arrives: log_statement = all.)
my $log = slurp_file($node->logfile);
ok($log =~ /ERROR:  key file/ && $log !~ /STATEMENT:  SELECT wib\.vault_(seal|open)\(/,
	'errors_of_the_vault_and_the_key_ring_are_logged_without_their_statement');

# ---------------------------------------------------------------------------
# 3. Webhooks through a rotation of the vault's key, with every statement and
#    debug message logged.
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET log_statement = 'all';          -- as the test cluster has it already
	ALTER SYSTEM SET log_min_messages = 'debug1';
	CREATE ROLE app_login LOGIN;
	GRANT wib_app TO app_login;
	CREATE ROLE ops_login LOGIN;
	GRANT wib_admin TO ops_login;
});
$node->reload;
wait_for_worker_pid($node, 'deliverer');
new_log();    # the cycle's log starts here
my @errors;    # error messages the clients saw during the cycle
my @secrets;   # every signing secret handed out
my $org = $node->safe_psql('postgres', "SELECT wib.organization_create('Keys Co', 'enterprise')");
my $app = $node->background_psql('postgres', extra_params => [ '-U', 'app_login' ]);
$app->query_safe("SET wib.org_id = '$org'; SET wib.user_id = 'app-1';");

# Subscribes as the application; returns (id, secret).
sub subscribe
{
	my ($name, $events) = @_;
	return split /\|/, $app->query_safe(
		"SELECT id || '|' || secret FROM wib.webhook_subscribe('$name', 'https://127.0.0.1:$port/ok', ARRAY['$events'])");
}

# Sets the secrets the receiver accepts.
sub receiver_secrets
{
	open(my $fh, '>', $rx->{secrets_file}) or die;
	print $fh map { "$_\n" } @_;
	close $fh;
}

# Emits one event (as the application) and waits for its delivery; returns the receipt.
my $sent = 0;
sub deliver_one
{
	my ($type) = @_;
	$sent++;
	$app->query_safe("SELECT wib.emit_event('custom.$type', '{\"n\": $sent}')");
	my ($r) = wait_for_receipts($rx, 1, sub { $_[0]{body} =~ /"n":\s*$sent\b/ });
	return $r;
}

# What pg_stat_activity shows of every other session.
sub activity
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(coalesce(query, ''), E'\\n'), '') FROM pg_stat_activity WHERE pid <> pg_backend_pid()");
}

my ($sub, $s1) = subscribe('keys', 'custom.keys');
my ($sub2, $t1) = subscribe('keys-2', 'custom.other');
ok($s1 =~ /^whsec_/ && $t1 =~ /^whsec_/ && $s1 ne $t1, 'subscribe_returns_each_secret_once');
receiver_secrets($s1);
my $r = deliver_one('keys');
ok($r && $r->{valid} && $r->{signatures} == 1, 'a_delivery_is_signed_with_the_secret_opened_from_the_vault');
my $act = activity();
ok($act =~ /emit_event/ && $act !~ /\Q$s1\E|\Q$t1\E/, 'pg_stat_activity_shows_the_calls_but_no_secret');

my $s2 = $app->query_safe("SELECT wib.webhook_rotate_secret('$sub')");
ok($s2 =~ /^whsec_/ && $s2 ne $s1, 'rotating_the_signing_secret_returns_a_new_one_once');
receiver_secrets($s1);
$r = deliver_one('keys');
ok($r && $r->{valid} && $r->{signatures} == 2, 'for_a_day_after_a_rotation_the_old_secret_still_signs');
receiver_secrets($s2, $t1);
$r = deliver_one('keys');
ok($r && $r->{valid} && $r->{signatures} == 2, 'and_so_does_the_new_one');
$act = activity();
ok($act =~ /webhook_rotate_secret|emit_event/ && $act !~ /\Q$s1\E|\Q$s2\E/, 'pg_stat_activity_shows_no_secret_after_the_rotation');
$node->safe_psql('postgres',
	q{CREATE TABLE old_token AS SELECT wib.token_sign('qr-login', 'old-token', now() + interval '1 day') AS t});

# Key 2 joins the ring: new seals and tokens use it, what key 1 sealed still opens and signs.
write_ring("$keys/ring", 0600, "1 $K1", "2 $K2");
is($node->safe_psql('postgres', qq{
	SELECT wib.vault_current_key_id() || ' ' || wib.vault_key_id(secret) || ' ' || wib.vault_needs_rotation(secret)
	       || ' ' || split_part(wib.token_sign('qr-login', 'x', now() + interval '1 hour'), '.', 2)
	       || ' ' || wib.token_verify('qr-login', (SELECT t FROM old_token))
	  FROM wib.webhook_subscriptions WHERE id = '$sub'}), '2 1 true 2 old-token',
	'a_key_added_to_the_file_is_current_at_once_and_what_key_1_sealed_still_opens');
$r = deliver_one('keys');
ok($r && $r->{valid} && $r->{signatures} == 2, 'deliveries_go_on_while_secrets_are_under_the_older_key');

# wib.vault_rotate() as an operator: everything key 1 sealed moves to key 2; idempotent; audited.
is(try_sql('SELECT wib.vault_rotate()', params => [ '-U', 'ops_login' ]), '3',
	'wib_vault_rotate_reseals_both_secrets_and_the_previous_secret');
is(try_sql('SELECT wib.vault_rotate()', params => [ '-U', 'ops_login' ]), '0', 'wib_vault_rotate_is_idempotent');
is($node->safe_psql('postgres', q{
	SELECT string_agg(wib.vault_key_id(secret) || '/' || coalesce(wib.vault_key_id(previous_secret)::text, '-'), ' ' ORDER BY name)
	  FROM wib.webhook_subscriptions}), '2/2 2/-', 'every_sealed_value_is_under_key_2');
is($node->safe_psql('postgres', q{
	SELECT string_agg(resource_id || ' ' || new_value::text, '; ' ORDER BY resource_id) FROM wib.audit_log WHERE action = 'vault:rotated'}),
	'webhook_subscriptions.previous_secret {"key_id": 2, "context": "webhook_subscriptions.previous_secret", "resealed": 1}; '
	  . 'webhook_subscriptions.secret {"key_id": 2, "context": "webhook_subscriptions.secret", "resealed": 2}',
	'the_rotation_is_audited_vault_rotated_per_column_with_counts_only');

# Key 1 leaves the ring: the re-sealed secrets still sign; what only key 1 could open is refused with a hint.
write_ring("$keys/ring", 0600, "2 $K2");
$r = deliver_one('keys');
ok($r && $r->{valid} && $r->{signatures} == 2, 'with_key_1_retired_the_resealed_secrets_still_sign');
$err = try_sql(q{SELECT wib.token_verify('qr-login', t) FROM old_token});
like($err, qr/ERROR:  invalid token/, 'a_token_signed_under_the_retired_key_is_invalid');
push @errors, $err;
$err = try_sql(q{SELECT wib.vault_open(c, NULL, 't.c', '1') FROM kept});
ok($err =~ /key 1 is not in wib.s key ring/ && $err =~ /HINT:  Add the key with id 1 back/,
	'a_value_sealed_under_a_retired_key_names_the_missing_key_with_a_hint');
push @errors, $err;

# A secret copied onto another subscription does not open: its delivery waits, unsent,
# until the application rotates that subscription's secret.
$node->safe_psql('postgres', qq{
	UPDATE wib.webhook_subscriptions SET secret = (SELECT secret FROM wib.webhook_subscriptions WHERE id = '$sub')
	 WHERE id = '$sub2'});
$err = try_sql(qq{SELECT wib.vault_open(secret, organization_id, 'webhook_subscriptions.secret', id::text)
	FROM wib.webhook_subscriptions WHERE id = '$sub2'}, params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  WB009: could not open the sealed value of "webhook_subscriptions.secret"/,
	'a_secret_copied_to_another_subscription_does_not_open');
push @errors, $err;
$sent++;
$app->query_safe("SELECT wib.emit_event('custom.other', '{\"n\": $sent}')");
my $held = $sent;
$node->poll_query_until('postgres', qq{
	SELECT last_error LIKE 'not sent:%' FROM wib.webhook_deliveries WHERE payload = '{"n": $held}'})
  or die 'the delivery with a copied secret was not held';
is($node->safe_psql('postgres', qq{
	SELECT status || ' ' || attempt_number FROM wib.webhook_deliveries WHERE payload = '{"n": $held}'}), 'pending 0',
	'its_delivery_is_held_unsent_without_spending_an_attempt');
ok(!grep({ $_->{body} =~ /"n":\s*$held\b/ } receiver_log($rx)), 'nothing_was_sent_for_it');
my $t2 = $app->query_safe("SELECT wib.webhook_rotate_secret('$sub2')");
receiver_secrets($s2, $t2);
($r) = wait_for_receipts($rx, 1, sub { $_[0]{body} =~ /"n":\s*$held\b/ });
ok($r && $r->{valid} && $r->{signatures} == 1, 'rotating_its_secret_sends_it_signed_with_the_new_secret_only');
push @secrets, $s1, $s2, $t1, $t2;

# ---------------------------------------------------------------------------
# 4. wib.keys takes precedence, and its value stays out of the log.
set_keys_conf("wib.key_file = '$keys/ring'", "wib.keys = '3:$K3, 2:$K2'");
is($node->safe_psql('postgres', 'SELECT wib.vault_current_key_id()'), '3', 'wib_keys_takes_precedence_over_wib_key_file');
is(try_sql('SELECT wib.vault_rotate()', params => [ '-U', 'ops_login' ]), '3', 'wib_vault_rotate_moves_every_value_to_key_3');
receiver_secrets($s2);
$r = deliver_one('keys');
ok($r && $r->{valid} && $r->{signatures} == 2, 'deliveries_are_signed_after_the_second_rotation');
regress_passes('wib_keys');
like(slurp_file($node->logfile), qr/parameter "wib\.keys" changed \(value not shown\)/,
	'the_reload_logs_that_wib_keys_changed_without_its_value');
$log = slurp_file($node->logfile);
ok($log =~ /ERROR:  wib\.keys is malformed/ && $log =~ /statement: \(not shown: it names wib\.keys\)/
	  && $log !~ /ALTER SYSTEM SET wib\.keys/,
	'alter_system_set_wib_keys_is_logged_without_its_statement');

# The end of the cycle.
$app->query_safe("SELECT wib.webhook_unsubscribe('$sub'); SELECT wib.webhook_unsubscribe('$sub2');");
$act = activity();
$app->quit;
my $cycle_log = new_log();
ok($cycle_log =~ /statement: SELECT id \|\| '\|' \|\| secret FROM wib\.webhook_subscribe/ && $cycle_log =~ /DEBUG:  /,
	'the_cycle_ran_with_every_statement_and_debug_message_logged');
like($cycle_log, qr/has a signing secret that does not open: could not open the sealed value of "webhook_subscriptions\.secret"/,
	'the_held_delivery_is_reported_in_the_log_by_subscription_and_column');
my @leaks = grep { index($cycle_log, $_) >= 0 } @secrets;
is(scalar(@leaks), 0, 'no_signing_secret_reaches_the_server_log');
ok(!grep({ index($act, $_) >= 0 } @secrets), 'no_signing_secret_is_in_pg_stat_activity');
my $audit = $node->safe_psql('postgres',
	q{SELECT string_agg(coalesce(old_value::text, '') || ' ' || coalesce(new_value::text, ''), E'\n') FROM wib.audit_log});
ok($audit =~ /vault:rotated|resealed/ && !grep({ index($audit, $_) >= 0 } @secrets, $K1, $K2, $K3, $generated_key),
	'no_signing_secret_or_key_is_in_the_audit_values');
ok(!grep({ my $e = $_; grep { index($e, $_) >= 0 } @secrets, $K1, $K2, $K3, $generated_key } @errors),
	'no_signing_secret_or_key_is_in_the_error_messages');
$log = slurp_file($node->logfile);
ok(!grep({ index($log, $_) >= 0 } $K1, $K2, $K3, substr($K3, 0, 12), $generated_key,
		'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg'),
	'no_key_text_reaches_the_server_log');

set_keys_conf("wib.key_file = '$keys/ring'", "wib.keys = '3:bad'");
like(slurp_file($node->logfile, $log_offset), qr/wib\.keys is malformed/, 'a_malformed_wib_keys_at_reload_is_refused');
is($node->safe_psql('postgres', 'SELECT wib.vault_current_key_id()'), '3', 'and_the_previous_ring_stays');

# ---------------------------------------------------------------------------
# 5. A malformed wib.keys at start: keys are refused, never replaced by the generated file.
$node->restart;
like(try_sql(q{SELECT wib.vault_seal('x', NULL, 't.c', '1')}), qr/wib's keys are not loaded: wib\.keys was refused/,
	'a_malformed_wib_keys_at_start_refuses_to_seal');

# ---------------------------------------------------------------------------
# 6. A key file inside the data directory works, and the postmaster reports it.
write_ring("$data/inside_ring", 0600, "2 $K2");
set_keys_conf("wib.key_file = '$data/inside_ring'");
$node->restart;
like(slurp_file($node->logfile), qr/wib\.key_file "\Q$data\E\/inside_ring" is inside the data directory/,
	'a_key_file_inside_the_data_directory_is_reported');
is($node->safe_psql('postgres', 'SELECT wib.vault_current_key_id()'), '2', 'and_it_is_used');

$node->stop;
done_testing();
