# The attacks an outside review performed against wib, each performed here as
# the role that would attempt it, and each shown refused with nothing written:
#   - an application login shadowing a type in its temporary schema so that a
#     function running with the extension owner's rights runs its code, through
#     every such function it may call (found from the catalog) and through the
#     triggers its own writes fire;
#   - an operator (wib_admin) rewriting a scheduled command, running a job with
#     rights it does not have, or reading tenants' signing secrets;
#   - one tenant filling the shared rate limiter, or spending another tenant's
#     or wib's own keys;
#   - two REPEATABLE READ transactions taking the same number, or the last
#     webhook of a plan, at once;
#   - direct writes past every rule the API enforces;
#   - audit rows forged into another organization's log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

my $node = wib_node('security', conf => join("\n",
	"wib.rate_limit_slots = 1024",
	"wib.rate_limit_keys_per_org = 64",
	"wib.scheduler = internal"));

$node->safe_psql('postgres', q{
	CREATE ROLE app_login LOGIN;
	GRANT wib_app TO app_login;
	CREATE ROLE ops_login LOGIN;
	GRANT wib_admin TO ops_login;
});
my $org_a = $node->safe_psql('postgres', "SELECT wib.organization_create('Tenant A', 'enterprise')");
my $org_b = $node->safe_psql('postgres', "SELECT wib.organization_create('Tenant B', 'enterprise')");
my $org_p = $node->safe_psql('postgres', "SELECT wib.organization_create('Pro tenant', 'pro')");

# Runs sql as a login in a fresh session; returns (stdout, stderr).
sub as_login
{
	my ($login, $sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', $sql, stdout => \$out, stderr => \$err,
		extra_params => [ '-U', $login, '-v', 'ON_ERROR_STOP=0' ]);
	return ($out, $err);
}

# ---------------------------------------------------------------------------
# Temporary-schema type shadowing.  A function running as the extension owner
# must never resolve a type (or anything) in the caller's temporary schema:
# every type it might use is shadowed by a domain whose check runs our code.
my @shadowed = qw(uuid text jsonb json timestamptz timestamp date bytea float8 int4 int8 int2
  numeric bool interval regclass name inet varchar);
my $shadow = join("\n",
	"SELECT wib.set_context('$org_a', 'attacker');",
	# A notice reaches the client even when the statement then fails and rolls back.
	"CREATE FUNCTION pg_temp.esc(v anyelement) RETURNS pg_catalog.bool LANGUAGE plpgsql"
	  . " AS \$\$ BEGIN RAISE NOTICE 'ran as %', current_user; RETURN true; END \$\$;",
	map { "CREATE DOMAIN pg_temp.$_ AS pg_catalog.$_ CHECK (pg_temp.esc(VALUE));" } @shadowed);

my @definers = split /\n/, $node->safe_psql('postgres', q{
	SELECT format('SELECT %s wib.%I(%s)',
	              CASE WHEN p.proretset THEN '* FROM' ELSE '' END, p.proname,
	              coalesce((SELECT string_agg(format('NULL::%I.%I', tn.nspname, t.typname), ', ' ORDER BY a.n)
	                          FROM unnest(p.proargtypes) WITH ORDINALITY a(t_oid, n)
	                          JOIN pg_type t ON t.oid = a.t_oid
	                          JOIN pg_namespace tn ON tn.oid = t.typnamespace), ''))
	  FROM pg_proc p
	 WHERE p.pronamespace = 'wib'::regnamespace AND p.prosecdef AND p.prokind = 'f'
	   AND has_function_privilege('wib_app', p.oid, 'EXECUTE')
	 ORDER BY p.proname});
cmp_ok(scalar(@definers), '>=', 20, 'definer_functions_reachable_from_wib_app_are_found_in_the_catalog');

# True when the attacker's code ran as anyone but the attacker.
sub escalated { return $_[0] =~ /NOTICE:  ran as (?!app_login\b)/ }

my @escalated;
for my $call (@definers)
{
	my (undef, $stderr) = as_login('app_login', "$shadow\n$call;");
	push @escalated, $call if escalated($stderr);
}
is(join("\n", @escalated), '', 'no_definer_function_runs_code_from_the_callers_temporary_schema')
  or diag("escalated through:\n" . join("\n", @escalated));

# The reported vectors, with arguments that get past validation.
my %vectors = (
	emit_event => "SELECT wib.emit_event('custom.probe', '{}');",
	sentiment_trends => "SELECT * FROM wib.sentiment_trends(current_date - 7, current_date);",
	call_insert_trigger => "INSERT INTO wib.calls (organization_id, status) VALUES ('$org_a', 'completed');",
	webhook_subscribe => "SELECT * FROM wib.webhook_subscribe('probe', 'https://example.com/h', ARRAY['call.completed']);",
	ivr_menu_create => "SELECT wib.ivr_menu_create('{\"name\": \"probe\", \"greeting_text\": \"Hi.\"}');",
	export_create => "SELECT wib.export_create('calls', 'csv');");
for my $name (sort keys %vectors)
{
	my (undef, $stderr) = as_login('app_login', "$shadow\n$vectors{$name}");
	ok(!escalated($stderr), "temporary_schema_shadowing_does_not_escalate_through_$name");
}
is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'app_login'"), 'f',
	'the_application_login_is_still_not_superuser');

# ---------------------------------------------------------------------------
# Operators: timing of jobs, never their commands or whom they run as.
my (undef, $err) = as_login('ops_login',
	"UPDATE wib.scheduled_jobs SET command = 'ALTER ROLE ops_login SUPERUSER' WHERE name = 'purge_expired';");
like($err, qr/permission denied/, 'wib_admin_cannot_rewrite_a_scheduled_command');
(undef, $err) = as_login('ops_login', "UPDATE wib.scheduled_jobs SET run_as = 'postgres' WHERE name = 'purge_expired';");
like($err, qr/permission denied/, 'wib_admin_cannot_change_whom_a_job_runs_as');
(undef, $err) = as_login('ops_login',
	"INSERT INTO wib.scheduled_jobs (name, command, run_every, description) VALUES ('x', 'SELECT 1', '1 minute', 'x');");
like($err, qr/permission denied/, 'wib_admin_cannot_add_a_job');
(undef, $err) = as_login('ops_login', "UPDATE wib.scheduled_jobs SET run_every = '2 hours' WHERE name = 'purge_expired';");
is($err, '', 'wib_admin_may_change_a_jobs_timing');

# A job runs with the rights of its run_as role, not the worker's.
$node->safe_psql('postgres', q{
	INSERT INTO wib.scheduled_jobs (name, command, run_every, description, run_as, next_run_at)
	VALUES ('escalate', 'ALTER ROLE ops_login SUPERUSER', '1 hour', 'attack', 'ops_login', now());
	SELECT wib.wake('scheduler');});
ok($node->poll_query_until('postgres',
	"SELECT last_status = 'failed' FROM wib.scheduled_jobs WHERE name = 'escalate'"),
	'a_job_runs_with_the_rights_of_its_run_as_role');
like($node->safe_psql('postgres', "SELECT last_error FROM wib.scheduled_jobs WHERE name = 'escalate'"),
	qr/permission denied|must be superuser/, 'the_job_was_refused_for_lack_of_rights');
is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'ops_login'"), 'f',
	'the_operator_is_still_not_superuser');

# Operators cannot read tenants' signing secrets.
as_login('app_login', "SET wib.org_id = '$org_a'; SET wib.user_id = 'u'; "
	  . "SELECT * FROM wib.webhook_subscribe('secret-holder', 'https://example.com/s', ARRAY['call.completed']);");
(undef, $err) = as_login('ops_login', 'SELECT secret FROM wib.webhook_subscriptions;');
like($err, qr/permission denied/, 'wib_admin_cannot_select_signing_secrets');
(undef, $err) = as_login('ops_login', "SELECT * FROM wib.webhook_claim(10, '1 minute');");
like($err, qr/permission denied/, 'wib_admin_cannot_claim_deliveries_with_their_secrets');

# ---------------------------------------------------------------------------
# Rate limiter: one tenant cannot fill it, nor spend another's keys or wib's own.
my ($spent) = as_login('app_login', qq{
	SET wib.org_id = '$org_a'; SET wib.user_id = 'u';
	SELECT wib.rate_limit('shared-name', 1, '1 hour'), wib.rate_limit('shared-name', 1, '1 hour');
	SET wib.org_id = '$org_b'; SET wib.user_id = 'u';
	SELECT wib.rate_limit('shared-name', 1, '1 hour');});
is($spent, "t|f\nt", 'one_tenant_cannot_spend_another_tenants_key');

my ($own) = as_login('app_login', qq{
	SET wib.org_id = '$org_b'; SET wib.user_id = 'u';
	SELECT count(*) FILTER (WHERE wib.rate_limit('export_create', 1, '1 hour')) FROM generate_series(1, 5);
	SELECT wib.export_create('calls', 'csv') IS NOT NULL;});
is($own, "1\nt", 'application_keys_cannot_spend_wibs_own_limits');
my ($filled, $fill_err) = as_login('app_login', qq{
	SET wib.org_id = '$org_a'; SET wib.user_id = 'u';
	DO \$\$ BEGIN
	    FOR i IN 1..10000 LOOP
	        PERFORM wib.rate_limit('flood:' || i, 1, '366 days');
	    END LOOP;
	END \$\$;});
like($fill_err, qr/organization already holds 64 keys/, 'a_tenant_flooding_the_limiter_is_stopped_at_its_share');
my ($b_ok) = as_login('app_login', qq{
	SET wib.org_id = '$org_b'; SET wib.user_id = 'u';
	SELECT count(*) FILTER (WHERE wib.rate_limit('own:' || i, 1, '1 hour')) FROM generate_series(1, 50) i;});
is($b_ok, '50', 'another_tenant_still_gets_new_keys_after_the_flood');

(undef, $err) = as_login('app_login', "SELECT wib.rate_limit_internal('$org_a', 'ivr:+15550001111', 1, '1 minute');");
like($err, qr/permission denied/, 'wibs_own_key_space_is_closed_to_applications');

my ($reclaimed, $reclaim_err) = as_login('app_login', qq{
	SET wib.org_id = '$org_p'; SET wib.user_id = 'u';
	SELECT count(*) FILTER (WHERE wib.rate_limit('short:' || i, 1, '200 milliseconds')) FROM generate_series(1, 64) i;
	SELECT pg_sleep(0.3);
	SELECT count(*) FILTER (WHERE wib.rate_limit('later:' || i, 1, '1 hour')) FROM generate_series(1, 64) i;});
is($reclaimed, "64\n\n64", 'keys_whose_window_passed_are_reclaimed_for_their_tenant')
  or diag($reclaim_err);

# ---------------------------------------------------------------------------
# REPEATABLE READ races: both transactions take their snapshot before either
# writes, so a check that counts or looks for rows sees neither.
sub race
{
	my ($first, $second) = @_;
	# The background sessions' notes of every query are noise here.
	no warnings 'redefine';
	local *PostgreSQL::Test::BackgroundPsql::note = sub { };
	my @s = map { $node->background_psql('postgres', on_error_stop => 0, extra_params => [ '-U', 'app_login' ]) } 1 .. 2;
	$_->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM wib.organizations;') for @s;
	my (undef, $r1) = $s[0]->query($first);
	$s[0]->query_safe('COMMIT');
	my ($out2, $r2) = $s[1]->query($second);
	my $err2 = $s[1]->{stderr};
	$s[1]->query('COMMIT');
	$_->quit for @s;
	return ($r1, $r2, $err2);
}

my ($r1, $r2, $err2) = race(
	"SELECT wib.set_context('$org_a', 'u', true); SELECT wib.ivr_number_add('+15559990001', 'local', 'A');",
	"SELECT wib.set_context('$org_b', 'u', true); SELECT wib.ivr_number_add('+15559990001', 'local', 'B');");
is($r1, 0, 'first_number_provisioning_commits');
isnt($r2, 0, 'the_same_number_is_refused_to_a_concurrent_repeatable_read_transaction');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.inbound_numbers WHERE phone_number = '+15559990001'"), '1',
	'one_organization_holds_the_number');

$node->safe_psql('postgres', "SET wib.org_id = '$org_p'; SELECT wib.webhook_subscribe('w' || i, 'https://example.com/' || i, ARRAY['call.completed']) FROM generate_series(1, 4) i");
($r1, $r2, $err2) = race(
	"SELECT wib.set_context('$org_p', 'u', true); SELECT id FROM wib.webhook_subscribe('fifth', 'https://example.com/5', ARRAY['call.completed']);",
	"SELECT wib.set_context('$org_p', 'u', true); SELECT id FROM wib.webhook_subscribe('sixth', 'https://example.com/6', ARRAY['call.completed']);");
is($r1, 0, 'fifth_webhook_commits');
like($err2, qr/could not serialize|WB002|plan limit/, 'a_concurrent_repeatable_read_transaction_cannot_pass_the_webhook_limit');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.webhook_subscriptions WHERE organization_id = '$org_p'"), '5',
	'the_pro_plan_holds_five_webhooks');

# ---------------------------------------------------------------------------
# Direct writes past the API: refused, whatever the row says.
my %direct = (
	export_jobs => "INSERT INTO wib.export_jobs (organization_id, export_type) VALUES ('$org_a', 'calls')",
	inbound_numbers => "INSERT INTO wib.inbound_numbers (organization_id, phone_number) VALUES ('$org_a', '+15559990002')",
	ivr_menus => "INSERT INTO wib.ivr_menus (organization_id, name, greeting_text) VALUES ('$org_a', 'x', 'I promise a special offer')",
	ivr_menu_options => "DELETE FROM wib.ivr_menu_options",
	inbound_call_log => "UPDATE wib.inbound_call_log SET status = 'completed'",
	webhook_subscriptions => "INSERT INTO wib.webhook_subscriptions (organization_id, name, target_url, secret, events) VALUES ('$org_a', 'x', 'https://127.0.0.1/', 'whsec_x', '{*}')",
	webhook_deliveries => "UPDATE wib.webhook_deliveries SET status = 'delivered'",
	idempotency_keys => "INSERT INTO wib.idempotency_keys (organization_id, key, request_hash, response) VALUES ('$org_a', 'k', '\\x00', '{\"id\": \"forged\"}')",
	audit_log => "INSERT INTO wib.audit_log (organization_id, resource_type, action) VALUES ('$org_a', 'x', 'x:forged')",
	quota_locks => "DELETE FROM wib.quota_locks");
for my $table (sort keys %direct)
{
	(undef, $err) = as_login('app_login', "SET wib.org_id = '$org_a'; SET wib.user_id = 'u'; $direct{$table};");
	like($err, qr/permission denied/, "a_direct_write_to_${table}_is_refused");
}

# ---------------------------------------------------------------------------
# Audit: an application writes only to its own organization's log.
(undef, $err) = as_login('app_login',
	"SET wib.org_id = '$org_a'; SET wib.user_id = 'u'; SELECT wib.audit('x:forged', 'x', 'x', NULL, NULL, '$org_b'::uuid);");
like($err, qr/function wib.audit\(.*\) does not exist/, 'the_application_audit_takes_no_organization');
(undef, $err) = as_login('app_login',
	"SET wib.org_id = '$org_a'; SET wib.user_id = 'u'; SELECT wib.audit_for('$org_b', 'x:forged', 'x', 'x');");
like($err, qr/permission denied/, 'audit_for_is_closed_to_applications');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.audit_log WHERE action = 'x:forged'"), '0',
	'no_audit_row_was_forged');

# ---------------------------------------------------------------------------
# Acting as a tenant always gives the caller its context back.
is($node->safe_psql('postgres', qq{
	BEGIN;
	SET LOCAL wib.org_id = '$org_a'; SET LOCAL wib.user_id = 'me';
	SELECT wib.run_nightly((now() AT TIME ZONE 'UTC')::date) IS NOT NULL;
	SELECT wib.run_export_jobs(5) >= 0;
	SELECT wib.current_org_id() = '$org_a' AND wib.current_user_id() = 'me';
	COMMIT;}), "t\nt\nt", 'jobs_that_act_for_tenants_restore_the_callers_context');

$node->stop;
done_testing();
