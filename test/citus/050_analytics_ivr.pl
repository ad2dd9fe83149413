# The nightly analytics run and an inbound IVR call on a Citus cluster: a
# month of calls of two organizations with a planted drop in one of them, the
# nightly run over the month on the coordinator (each organization's steps
# routed to its shard), the drop found (and only it) as the application sees
# it with a per-transaction tenant, the other organization's contact models
# trained on its shard; an inbound call
# driven through wib.ivr_webhook with callbacks the Telnyx peer signed
# (test/peers/telnyx.py), its path logged on the organization's shard; a menu
# changed on the cluster served changed at the next call; a call spike
# reported; a number changed in a transaction Citus would commit in two
# phases refused whole.
use strict;
use warnings;
use Encode qw(decode);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
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
# Spikes are counted in 2-second intervals here, so that a baseline builds up in seconds.
my $spike_interval = 2;
my ($node, $workers) = citus_cluster(coordinator_conf => join("\n",
	"wib.telnyx_public_key = '$public_key'",
	"wib.ivr_spike_interval = ${spike_interval}s",
	"wib.ivr_spike_baseline = 4",
	"wib.ivr_spike_factor = 4",
	"wib.ivr_spike_min_calls = 8"));
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

# A call's summary and the call's end in one application transaction, twenty
# times: the summary's trigger writes the sentiment score on the shard (one
# organization at a time, so its statements stay on that worker); every
# transaction commits and no worker backend crashes.
my @calls = split /\n/, $as_app->($org_b, "INSERT INTO wib.calls (organization_id, agent_id, status, started_at) "
	  . "SELECT '$org_b', 'cat', 'in_progress', now() - g * interval '1 minute' FROM generate_series(1, 20) g RETURNING id");
my $committed = 0;
for my $call (@calls)
{
	my ($ret, $out, $err) = $node->psql('postgres', "SET ROLE app; BEGIN; SELECT wib.set_context('$org_b', 'manager', true) \\g /dev/null\n"
		  . "INSERT INTO wib.ai_summaries (organization_id, call_id, sentiment_score) VALUES ('$org_b', '$call', 0.5);\n"
		  . "UPDATE wib.calls SET status = 'completed', duration_seconds = 60 WHERE organization_id = '$org_b' AND id = '$call';\n"
		  . "COMMIT", on_error_stop => 1);
	diag($err) if $err =~ /ERROR|FATAL|server closed/;
	$committed++ if $ret == 0 && $err !~ /ERROR|FATAL|server closed/;
}
is($committed, 20, 'a_summary_and_its_calls_end_commit_together_on_the_cluster');
is(sql("SELECT count(*) FROM wib.sentiment_scores WHERE organization_id = '$org_b' AND call_id IN ('" . join("','", @calls) . "')"),
	'20', 'each_summary_wrote_its_sentiment_score_on_the_shard');
unlike(join('', map { slurp_file($_->logfile) } @$workers), qr/terminated by signal/, 'no_worker_backend_crashed_writing_summaries');

# --- an inbound IVR call
# The menu and its number in one transaction that writes on the
# organization's worker only, which Citus commits in one phase.
my $menu = try_sql("BEGIN; SELECT wib.set_context('$org_a', 'admin-1', true) \\g /dev/null\n" . q{
	SELECT wib.ivr_menu_create('{"name": "Support", "greeting_text": "Support. Press 1 for an agent.",
	    "options": [{"digit": "1", "action_type": "transfer", "target": "+15551230001", "prompt": "Agents, 1."}]}') AS menu \gset
	SELECT wib.ivr_number_add('+15550001000', 'local', 'Main line', :'menu') \g /dev/null
	SELECT :'menu';
	COMMIT});
like($menu, qr/^[0-9a-f-]{36}$/, 'a_menu_and_its_number_are_created_in_one_transaction_on_the_cluster');
sql('CREATE ROLE ivr_route LOGIN IN ROLE wib_app');

# Signs callbacks as the peer (Telnyx) would: [{kind, fields}] to the SQL of each call.
sub signed_calls
{
	my (@calls) = @_;
	my $signed = peer($json->encode(\@calls), 'callbacks', "$dir/telnyx.pem");
	return map { "SELECT wib.ivr_webhook('$_->{kind}', '\\x$_->{body_hex}'::bytea, '$_->{signature}', '$_->{timestamp}');\n" }
	  @$signed;
}

# Runs SQL as the platform's route (no tenant context), in one session.
sub as_route
{
	my ($q) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', $q, stdout => \$out, stderr => \$err, extra_params => [ '-U', 'ivr_route' ], on_error_stop => 1);
	diag($err) if $err =~ /ERROR/;
	return decode('UTF-8', $out);
}

# Sends one callback the peer signed as the platform's route.
sub callback
{
	my ($kind, $fields) = @_;
	return as_route(signed_calls({ kind => $kind, fields => $fields }));
}
my %call = (CallSid => 'v3:cluster-call', From => '+15559990001', To => '+15550001000');
like(callback('inbound', \%call), qr/<Gather.*Support\. Press 1 for an agent\./s, 'an_inbound_call_is_answered_with_the_menu_on_the_cluster');
like(callback('gather', { %call, Digits => '1' }), qr/<Dial.*\+15551230001/s, 'the_pressed_digit_transfers_the_call');
callback('status', { %call, CallStatus => 'completed', CallDuration => '42', HangupCause => 'normal_clearing' });
# (A boolean as text is spelt out: Citus evaluates the expression on the shard, as a cast.)
is(try_sql("SELECT status || ' ' || final_action || ' ' || duration_seconds || ' ' || jsonb_array_length(ivr_path) || ' ' || (organization_id = '$org_a')::text
          FROM wib.inbound_call_log WHERE call_sid = 'v3:cluster-call'"),
	'completed transfer 42 1 true', 'the_call_is_logged_with_its_path_in_the_organizations_shard');

# The row is on the worker holding the organization's shard, read there directly.
my ($shard, $port) = split /\|/, sql(qq{
	SELECT s.shardid || '|' || n.nodeport FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
	  JOIN pg_dist_node n ON n.groupid = p.groupid
	 WHERE s.shardid = get_shard_id_for_distribution_column('wib.inbound_call_log', '$org_a')});
my ($holder) = grep { $_->port == $port } @$workers;
is($holder ? $holder->safe_psql('postgres', "SELECT ivr_path -> 0 ->> 'digit' FROM wib.inbound_call_log_$shard WHERE call_sid = 'v3:cluster-call'") : '',
	'1', 'the_pressed_digit_is_stored_on_the_worker_of_the_organizations_shard');
is($as_app->($org_a, "SELECT count(*) FROM wib.inbound_call_log"), '1', 'the_organization_sees_its_call');
like($as_app->($org_a, "SELECT wib.texml_render_menu('$menu')"), qr/Support\. Press 1 for an agent\./,
	'the_organization_previews_its_menu_from_the_shard');

# A menu changed on the cluster (its rows and triggers are on the shards) is
# served changed on the next call of the same coordinator session: no
# rendered menu is kept there across the change.
my $psql = $node->config_data('--bindir') . '/psql';
my $connstr = $node->connstr('postgres');
my @twice = signed_calls(map { { kind => 'inbound', fields => { CallSid => "v3:cluster-change-$_", From => '+15559990002', To => '+15550001000' } } } 1 .. 2);
my $served = as_route($twice[0]
	. qq{\\! $psql -X -q -o /dev/null -d "$connstr" -c "BEGIN" -c "SELECT wib.set_context('$org_a', 'admin-1', true)" -c "SELECT wib.ivr_menu_update('$menu', '{\\"greeting_text\\": \\"Support, new hours.\\"}')" -c "COMMIT"\n}
	. $twice[1]);
like($served, qr/Support\. Press 1 for an agent\..*Support, new hours\./s,
	'a_menu_changed_on_the_cluster_is_served_changed_on_the_next_call');

# A call spike on the number is reported to the organization: its event is
# queued on the organization's shard.
sql("BEGIN; SELECT wib.set_context('$org_a', 'admin-1', true) \\g /dev/null\n"
	. "SELECT id FROM wib.webhook_subscribe('fraud desk', 'https://hooks.example.test/fraud', ARRAY['ivr.call_spike']) \\g /dev/null\nCOMMIT");
my $seq = 0;
for my $n (1, 1, 1, 10)
{
	my @calls = signed_calls(map { { kind => 'inbound', fields => { CallSid => 'v3:cluster-spike-' . ++$seq, From => '+15559990003', To => '+15550001000' } } } 1 .. $n);
	my $t = time;
	sleep($spike_interval - ($t - int($t / $spike_interval) * $spike_interval) + 0.05);
	as_route(join('', @calls));
}
is(sql("SELECT count(*) FROM wib.webhook_deliveries WHERE organization_id = '$org_a' AND event_type = 'ivr.call_spike'"),
	'1', 'a_call_spike_on_the_cluster_is_queued_for_the_organization');

# A number changed in a transaction that Citus commits with two-phase commit
# (here: it also writes a reference table) is refused whole: its route would
# be written from the shard, which Citus cannot prepare.
my ($out, $err) = ('', '');
$node->psql('postgres', "BEGIN; SELECT wib.set_context('$org_a', 'admin-1', true) \\g /dev/null\n" . q{
	SELECT wib.ivr_number_add('+15550001001', 'local', 'Second line') \g /dev/null
	INSERT INTO wib.ivr_prohibited_phrases (phrase) VALUES ('the best price guaranteed');
	COMMIT}, stdout => \$out, stderr => \$err);
like($err, qr/this transaction cannot be prepared/, 'a_number_added_in_a_two_phase_commit_is_refused');
is(sql(q{SELECT (SELECT count(*) FROM wib.inbound_numbers WHERE phone_number = '+15550001001')
              + (SELECT count(*) FROM wib.inbound_number_routes WHERE phone_number = '+15550001001')
              + (SELECT count(*) FROM wib.ivr_prohibited_phrases WHERE phrase = 'the best price guaranteed')}),
	'0', 'nothing_of_the_refused_transaction_is_left');
is(join(',', map { $_->safe_psql('postgres', 'SELECT count(*) FROM pg_prepared_xacts') } @$workers), '0,0',
	'no_prepared_transaction_is_left_on_the_workers');
unlike(join('', map { slurp_file($_->logfile) } @$workers), qr/terminated by signal/, 'no_worker_backend_crashed');
is($as_app->($org_b, "SELECT count(*) FROM wib.inbound_call_log"), '0', 'the_other_organization_does_not_see_the_call');

$node->stop;
$_->stop for @$workers;
done_testing();
