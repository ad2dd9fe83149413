# The nightly analytics run and an inbound IVR call on a Citus cluster: a
# month of calls of two organizations with a planted drop in one of them, the
# nightly run over the month on the coordinator (each organization's steps
# routed to its shard), the drop found (and only it) as the application sees
# it with a per-transaction tenant, the other organization's contact models
# trained on its shard; an inbound call
# driven through wib.ivr_webhook with callbacks the Telnyx peer signed
# (test/peers/telnyx.py), its path logged on the organization's shard.
use strict;
use warnings;
use Encode qw(decode);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibCitus;

my $peer = wib_root() . '/test/peers/telnyx.py';
my $dir = PostgreSQL::Test::Utils::tempdir();
my $json = JSON::PP->new->utf8->canonical;
system('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', "$dir/telnyx.pem") == 0 or die "openssl genpkey failed";

# Runs the peer and decodes its JSON answer.
sub peer
{
	my ($input, @args) = @_;
	my ($out, $err);
	IPC::Run::run([ 'python3', $peer, @args ], '<', \$input, '>', \$out, '2>', \$err)
	  or die "peer @args failed: $err";
	return $json->decode($out);
}
my $public_key = peer('', 'pubkey', "$dir/telnyx.pem")->{public_key};
my ($node, $workers) = citus_cluster(coordinator_conf => "wib.telnyx_public_key = '$public_key'");
sub sql { return $node->safe_psql('postgres', $_[0]) }
# A statement that may fail: its output, or '' (the error shown).
sub try_sql
{
	my ($out, $err) = ('', '');
	$node->psql('postgres', $_[0], stdout => \$out, stderr => \$err, on_error_stop => 1);
	diag($err) if $err =~ /ERROR/;
	return $out;
}
sql('CREATE ROLE app LOGIN IN ROLE wib_app');

# --- the nightly run with a planted anomaly
my $org_a = sql("SELECT wib.organization_create('Analytics A', 'business')");
my $org_b = sql("SELECT wib.organization_create('Analytics B', 'enterprise')");
sql("BEGIN; SELECT wib.set_context('$org_a', 'admin-1', true) \\g /dev/null\n" . qq{
	INSERT INTO wib.users (organization_id, id, name, role) VALUES ('$org_a', 'ann', 'Ann A', 'agent'), ('$org_a', 'bob', 'Bob A', 'agent');
	-- October 2026: 100-104 calls a day, except 40 on Mon 2026-10-26.
	INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
	SELECT '$org_a', CASE WHEN i % 2 = 0 THEN 'ann' ELSE 'bob' END, 'completed',
	       timestamptz '2026-10-01 08:00+00' + d * interval '1 day' + i * interval '1 minute', 60 + i % 7
	  FROM generate_series(0, 30) d,
	       generate_series(1, CASE WHEN d = 25 THEN 40 ELSE 100 + (d * 7) % 5 END) i;
	COMMIT});
sql("BEGIN; SELECT wib.set_context('$org_b', 'admin-1', true) \\g /dev/null\n" . qq{
	INSERT INTO wib.users (organization_id, id, name, role) VALUES ('$org_b', 'cat', 'Cat B', 'agent');
	-- About 50 calls a day, 300 on Thu 2026-10-15.
	INSERT INTO wib.calls (organization_id, agent_id, status, started_at, duration_seconds)
	SELECT '$org_b', 'cat', 'completed',
	       timestamptz '2026-10-01 09:00+00' + d * interval '1 day' + i * interval '1 minute', 120
	  FROM generate_series(0, 30) d,
	       generate_series(1, CASE WHEN d = 14 THEN 300 ELSE 50 + d % 2 END) i;
	COMMIT});
for my $o ($org_a, $org_b)
{
	sql("BEGIN; SELECT wib.set_context('$o', 'admin-1', true) \\g /dev/null\n"
		  . "INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score) "
		  . "SELECT c.organization_id, c.id, ((extract(minute FROM c.started_at)::int % 5) - 2) / 4.0 FROM wib.calls c WHERE c.organization_id = '$o'; COMMIT");
}
my $as_app = sub {
	my ($org, $q) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "SET ROLE app; BEGIN; SELECT wib.set_context('$org', 'manager', true) \\g /dev/null\n$q; COMMIT",
		stdout => \$out, stderr => \$err, on_error_stop => 1);
	diag($err) if $err =~ /ERROR/;
	return $out;
};
my $log_start = -s $node->logfile;
is(try_sql("SELECT count(*) FROM wib.run_nightly_range('2026-10-01', '2026-10-31')"), '31', 'the_nightly_run_processes_every_day_on_the_cluster');
is($as_app->($org_a, "SELECT string_agg(day || ' ' || metric || ' ' || direction || ' ' || value, ',') FROM wib.anomalies('2026-10-01', '2026-10-31')"),
	'2026-10-26 call_volume drop 40', 'the_planted_drop_is_the_only_anomaly_of_its_organization');
is($as_app->($org_b, "SELECT string_agg(day || ' ' || metric || ' ' || direction, ',') FROM wib.anomalies('2026-10-15', '2026-10-15') WHERE metric = 'call_volume'"),
	'2026-10-15 call_volume spike', 'the_other_organizations_spike_is_its_own');
is(sql("SELECT total_calls FROM wib.analytics_snapshots WHERE organization_id = '$org_a' AND granularity = 'daily' AND snapshot_date = '2026-10-26'"),
	'40', 'the_daily_snapshot_of_the_planted_day_is_written_on_the_shard');
is(try_sql(q{SELECT (r ->> 'models_trained') || ' ' || (r ->> 'snapshots_written') FROM wib.run_nightly('2026-10-31') r}),
	'2 0', 'the_nightly_job_trains_the_enterprise_organizations_models_and_rewrites_nothing_unchanged');
like($as_app->($org_b, "SELECT string_agg(prediction_type || ' ' || status, ',' ORDER BY prediction_type) FROM wib.ml_status()"),
	qr/^churn_risk insufficient_data: .*,deal_probability insufficient_data: /, 'the_trainings_are_recorded_on_the_organizations_shard');
unlike(substr(slurp_file($node->logfile), $log_start), qr/WARNING|ERROR/, 'the_nightly_runs_log_no_warning_on_the_cluster');

# --- an inbound IVR call
# Open on a cluster (docs/scale-out.md): Citus commits a transaction that
# wrote on several nodes with two-phase commit, which wib refuses for a
# transaction that changed IVR menus, so no menu and no route exist here.
TODO:
{
local $TODO = 'an inbound IVR call on a Citus cluster';
try_sql("BEGIN; SELECT wib.set_context('$org_a', 'admin-1', true) \\g /dev/null\n" . q{
	SELECT wib.ivr_menu_create('{"name": "Support", "greeting_text": "Support. Press 1 for an agent.",
	    "options": [{"digit": "1", "action_type": "transfer", "target": "+15551230001", "prompt": "Agents, 1."}]}') \g /dev/null
	SELECT wib.ivr_number_add('+15550001000', 'local', 'Main line', (SELECT id FROM wib.ivr_menus WHERE name = 'Support')) \g /dev/null
	COMMIT});
sql('CREATE ROLE ivr_route LOGIN IN ROLE wib_app');

# Sends one callback the peer signed as the platform's route (no tenant context).
sub callback
{
	my ($kind, $fields) = @_;
	my $cb = peer('', 'callback', "$dir/telnyx.pem", $kind, map { "$_=$fields->{$_}" } sort keys %$fields);
	my ($out, $err) = ('', '');
	$node->psql('postgres',
		"SELECT wib.ivr_webhook('$kind', '\\x$cb->{body_hex}'::bytea, '$cb->{signature}', '$cb->{timestamp}')",
		stdout => \$out, stderr => \$err, extra_params => [ '-U', 'ivr_route' ], on_error_stop => 1);
	diag($err) if $err =~ /ERROR/;
	return decode('UTF-8', $out);
}
my %call = (CallSid => 'v3:cluster-call', From => '+15559990001', To => '+15550001000');
like(callback('inbound', \%call), qr/<Gather.*Support\. Press 1 for an agent\./s, 'an_inbound_call_is_answered_with_the_menu_on_the_cluster');
like(callback('gather', { %call, Digits => '1' }), qr/<Dial.*\+15551230001/s, 'the_pressed_digit_transfers_the_call');
callback('status', { %call, CallStatus => 'completed', CallDuration => '42', HangupCause => 'normal_clearing' });
is(try_sql("SELECT status || ' ' || final_action || ' ' || duration_seconds || ' ' || jsonb_array_length(ivr_path) || ' ' || (organization_id = '$org_a')
          FROM wib.inbound_call_log WHERE call_sid = 'v3:cluster-call'"),
	'completed transfer 42 1 t', 'the_call_is_logged_with_its_path_in_the_organizations_shard');
}
is($as_app->($org_b, "SELECT count(*) FROM wib.inbound_call_log"), '0', 'the_other_organization_does_not_see_the_call');

$node->stop;
$_->stop for @$workers;
done_testing();
