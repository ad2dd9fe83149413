# The CRM worker on a Citus cluster: the coordinator's CRM worker claims
# integrations one organization at a time without failing, connects two
# organizations to the HubSpot peer (test/peers/hubspot.py) through the OAuth
# round trip and syncs their contacts into the distributed contact cache; a
# delta sync picks up what changed at the peer since; a call an application
# completes is pushed to the peer as a call log, once, also when the CRM
# worker is killed before it heard the answer; a signed HubSpot webhook
# handed over by the platform's route updates both organizations' caches; a
# third organization connects Salesforce (test/peers/salesforce.py) through
# the PKCE round trip and syncs its Contacts; the dashboard widget reads the
# integration; disconnecting revokes the tokens at the peer.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use WibTest;
use WibWebhooks qw(make_test_ca);
use WibCrm;
use WibCitus;

my $dir = PostgreSQL::Test::Utils::tempdir();
my @ca = make_test_ca($dir);
my $hs = start_hubspot(dir => $dir, name => 'hs', ca => \@ca);
my $sf = start_salesforce(dir => $dir, name => 'sf', ca => \@ca);
# wib.crm_push_delay is read by the trigger on the calls shard: on every node.
my ($node, $workers) = citus_cluster(conf => "wib.crm_push_delay = 0", coordinator_conf => join("\n",
	"wib.http_ca_file = '$hs->{ca}'",
	# Salesforce's instance_url is the peer, on loopback.
	"wib.http_allow_cidrs = '127.0.0.1/32'",
	"wib.crm_reread_window = 1s",
	"wib.crm_push_reconcile_delay = 1s",
	"wib.crm_backoff_max = 3s"));
$node->safe_psql('postgres', qq{
	SET log_statement = 'none';
	SELECT wib.crm_provider_set('hubspot', '{"client_id": "wib-test-client", "client_secret": "wib-test-secret",
	        "api_url": "$hs->{base}", "auth_url": "$hs->{base}/oauth/authorize"}');
	SELECT wib.crm_provider_set('salesforce', '{"client_id": "wib-test-client", "client_secret": "wib-test-secret",
	        "login_url": "$sf->{base}", "instance_domains": ["127.0.0.1"]}')});
wait_for_worker_pid($node, 'crm_sync');

sub sql { return $node->safe_psql('postgres', $_[0]) }

# The application's role, and a transaction of it for an organization (the
# tenant reaches the workers only as a transaction-local setting).
sql('CREATE ROLE app LOGIN IN ROLE wib_app');
sub as_app
{
	my ($org, $stmts) = @_;
	return sql("SET ROLE app; BEGIN; SELECT wib.set_context('$org', 'agent-1', true) \\g /dev/null\n$stmts\nCOMMIT;");
}

# The errors the coordinator's CRM worker raised in wib's CRM functions since
# wib.distribute() (a background worker's log lines name no application),
# each with the lines that follow it from the same process (DETAIL, CONTEXT).
sub crm_errors
{
	my (@errors, $pid);
	for my $entry (split /\n(?=\d{4}-\d\d-\d\d )/, log_since_distribute($node))
	{
		my ($p, $app, $level) = $entry =~ /^\S+ \S+ \S+ \[(\d+)\] (.*?)\b([A-Z]+):  / or next;
		if ($level eq 'ERROR' && $app eq '')
		{
			push @errors, $entry;
			$pid = $p;
		}
		elsif (defined $pid && $p eq $pid && $level =~ /^(?:DETAIL|HINT|CONTEXT|STATEMENT)$/)
		{
			$errors[-1] .= "\n$entry";
		}
		else
		{
			undef $pid;
		}
	}
	return grep { /function "?crm_/ } @errors;
}

# The status a sync run ends with (waiting up to two minutes), or why there is none.
sub run_outcome
{
	my ($o, $run) = @_;
	return 'no run' unless $run;
	my $status = eval { wait_for_run($node, $o, $run, 120) };
	return $status if defined $status;
	diag(join("\n", crm_errors()));
	return "not finished: $@";
}

# Waits (up to a minute) for a condition; on a timeout, says what failed.
sub wait_until
{
	my ($query) = @_;
	local $PostgreSQL::Test::Utils::timeout_default = 60;
	return 1 if $node->poll_query_until('postgres', $query);
	diag(join("\n", crm_errors()));
	return 0;
}

my $ids = hs_admin($hs, 'contacts', { count => 1500 })->{ids};
my $org = crm_org($node, 'Cluster Crm Co');
my $org2 = crm_org($node, 'Cluster Crm Two');
my ($integration, $integration2);
# The OAuth round trip and the first syncs (a full listing of 1,500 contacts each).
{
	my $connected = eval {
		$integration = crm_connect_flow($node, $hs, $org);
		$integration2 = crm_connect_flow($node, $hs, $org2);
		1;
	};
	ok($connected, 'both_integrations_connect_through_the_coordinators_crm_worker') or diag($@);
	my $synced = $connected && eval {
		for my $o ([$org, $integration], [$org2, $integration2])
		{
			my $run = sql("SELECT id FROM wib.crm_sync_log WHERE organization_id = '$o->[0]' AND integration_id = '$o->[1]' AND trigger = 'connect'");
			die "the first sync of $o->[0] did not succeed\n" unless run_outcome($o->[0], $run) eq 'success';
		}
		1;
	};
	ok($synced, 'the_first_syncs_succeed_on_the_cluster') or diag($@);
	for my $o ($org, $org2)
	{
		is(sql("SELECT count(*) || '/' || count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$o'"),
			'1500/1500', 'every_contact_is_cached_exactly_once_in_the_organizations_shard');
	}
	my %peer = map { $_ => 1 } @$ids;
	my @cached = split /\n/, sql("SELECT crm_contact_id FROM wib.crm_contact_cache WHERE organization_id = '$org'");
	ok(@cached && !grep({ !$peer{$_} } @cached), 'every_cached_contact_is_a_peer_contact');
}

# ---------------------------------------------------------------------------
# A delta sync: 30 contacts changed and 5 archived at the peer after the first
# sync; the application asks for a sync, the worker runs it.
{
	my @updated = @$ids[ 100 .. 129 ];
	my @archived = @$ids[ 200 .. 204 ];
	hs_admin($hs, 'update', { ids => [ @updated[ 0 .. 28 ] ], properties => { phone => '+1 (555) 010-7777' } });
	hs_admin($hs, 'update', { ids => [ $updated[29] ], properties => { phone => '+1 (555) 010-7778' } });
	hs_admin($hs, 'archive', { ids => \@archived });
	sleep 2;
	my $run = as_app($org, "SELECT wib.crm_sync_now('hubspot');");
	is(run_outcome($org, $run), 'success', 'the_delta_sync_succeeds_on_the_cluster');
	my $row = run_row($node, $run);
	is("$row->{trigger} $row->{records_synced} $row->{records_deleted}", 'manual 30 5',
		'the_delta_applies_exactly_the_30_changes_and_5_archivals');
	my $in = join(',', map { "'$_'" } @updated);
	is(sql("SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org' AND crm_contact_id IN ($in)
		AND phone_e164 IN ('+15550107777', '+15550107778')"), '30', 'the_changed_numbers_are_cached');
	is(as_app($org, "SELECT string_agg(crm_contact_id, ',') FROM wib.crm_contact_lookup('555-010-7778');"), $updated[29],
		'the_application_finds_a_changed_number');
	$in = join(',', map { "'$_'" } @archived);
	is(sql("SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org' AND crm_contact_id IN ($in)")
		. ' ' . sql("SELECT contact_count FROM wib.crm_integrations WHERE organization_id = '$org'"), '0 1495',
		'the_archived_contacts_leave_the_cache');
	is(sql("SELECT contact_count || ' ' || (sync_cursor ->> 'mode') FROM wib.crm_integrations WHERE organization_id = '$org2'"),
		'1500 delta', 'the_other_organization_is_left_alone');
}

# ---------------------------------------------------------------------------
# A call pushed: the application completes a call of a cached contact's
# number, adding its recording and summary in the same transaction; the
# coordinator's CRM worker logs it at the peer, associated with the contact.
{
	my ($contact, $phone, $name) = split /\|/, sql("SELECT crm_contact_id || '|' || phone_number || '|' || display_name
		FROM wib.crm_contact_cache WHERE organization_id = '$org' AND phone_e164 IS NOT NULL
		  AND phone_e164 NOT IN (SELECT mobile_e164 FROM wib.crm_contact_cache WHERE organization_id = '$org' AND mobile_e164 IS NOT NULL)
		  AND phone_e164 IN (SELECT phone_e164 FROM wib.crm_contact_cache WHERE organization_id = '$org' GROUP BY 1 HAVING count(*) = 1)
		ORDER BY crm_contact_id LIMIT 1");
	# (by the operator: as the application, wib.user_create mixes rights in one transaction, see docs/scale-out.md)
	sql("SET wib.org_id = '$org'; SET wib.user_id = 'admin-1'; SELECT wib.user_create('agent-1', 'Grace Hopper', 'grace\@example.com')");
	my $call = as_app($org, "INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status, started_at)
		VALUES ('$org', 'agent-1', 'inbound', '$phone', '+15550009999', 'in_progress', '2026-11-29T10:15:00Z') RETURNING id;");
	as_app($org, "INSERT INTO wib.recordings (organization_id, call_id, recording_url, status)
		VALUES ('$org', '$call', 'https://media.example.com/r/1.mp3', 'ready');
		INSERT INTO wib.ai_summaries (organization_id, call_id, summary, overall_sentiment)
		VALUES ('$org', '$call', 'Booked a demo.', 'positive');
		UPDATE wib.calls SET status = 'completed', ended_at = '2026-11-29T10:19:10Z', duration_seconds = 250 WHERE id = '$call';");
	ok(wait_until("SELECT status = 'pushed' FROM wib.crm_call_pushes WHERE call_id = '$call'"),
		'the_completed_call_is_pushed_by_the_coordinators_crm_worker');
	my @logged = grep { ($_->{properties}{wib_call_id} // '') eq $call } @{ hs_admin($hs, 'calls')->{results} };
	is(scalar(@logged), 1, 'the_call_is_logged_once_at_the_peer');
	my $p = $logged[0]{properties} // {};
	is(join(' | ', map { $p->{$_} // '' } qw(hs_call_duration hs_call_direction hs_call_status hs_call_recording_url hs_call_body)),
		'250000 | INBOUND | COMPLETED | https://media.example.com/r/1.mp3 | Booked a demo.',
		'the_call_log_carries_the_calls_fields_recording_and_summary');
	like($p->{hs_call_title} // '', qr/^Inbound call with \Q$name\E \(agent Grace Hopper\)$/,
		'the_title_names_the_contact_and_the_agent');
	is_deeply($logged[0]{associations}{contacts}, [$contact], 'the_call_log_is_associated_with_the_contact_of_the_number');
	is(sql("SELECT crm_object_id = '" . ($logged[0]{id} // '') . "' AND crm_contact_id = '$contact' FROM wib.crm_call_pushes WHERE call_id = '$call'"),
		't', 'the_push_records_the_call_log_and_the_contact');
	is(sql("SELECT sum(calls_pushed) FROM wib.crm_sync_log WHERE organization_id = '$org'"), '1',
		'the_push_is_reported_in_the_sync_log');
	wait_until("SELECT current_sync_id IS NULL FROM wib.crm_integrations WHERE organization_id = '$org'");
	is(as_app($org, "SELECT crm_type || ' ' || status || ' ' || last_sync_status || ' ' || contacts || ' ' || errors_24h FROM wib.crm_status();"),
		'hubspot connected success 1495 0', 'the_dashboard_widget_shows_the_integration');
}

# ---------------------------------------------------------------------------
# kill -9 of the coordinator's CRM worker after the peer logged a call, before
# the worker heard of it: the restarted worker looks the call up by wib's id
# (on the organization's shard, the push is left "pushing") and logs it once.
{
	hs_admin($hs, 'config', { call_delay_ms => 5000 });
	my $call = as_app($org, "INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status, started_at, ended_at, duration_seconds)
		VALUES ('$org', 'outbound', '+15550009999', '+15559990000', 'completed', now() - interval '1 minute', now(), 60) RETURNING id;");
	my $logged;
	for (1 .. 200)
	{
		($logged) = grep { ($_->{properties}{wib_call_id} // '') eq $call } @{ hs_admin($hs, 'calls')->{results} };
		last if $logged;
		usleep(50_000);
	}
	is(sql("SELECT status FROM wib.crm_call_pushes WHERE call_id = '$call'"), 'pushing',
		'the_peer_logged_the_call_while_the_push_is_pushing');
	my $pid = worker_pid($node, 'crm_sync');
	kill 'KILL', $pid;
	hs_admin($hs, 'config', { call_delay_ms => 0 });
	wait_for_worker_pid($node, 'crm_sync', $pid);
	ok(wait_until("SELECT status = 'pushed' FROM wib.crm_call_pushes WHERE call_id = '$call'"),
		'the_restarted_worker_records_the_push');
	my @copies = grep { ($_->{properties}{wib_call_id} // '') eq $call } @{ hs_admin($hs, 'calls')->{results} };
	is(scalar(@copies), 1, 'the_call_is_logged_once_after_the_crash');
	is(sql("SELECT crm_object_id || ' ' || attempts FROM wib.crm_call_pushes WHERE call_id = '$call'"),
		($logged ? $logged->{id} : 'no call log') . ' 1', 'the_push_records_the_call_log_found_by_wibs_id');
}

# ---------------------------------------------------------------------------
# A HubSpot webhook: the platform's route hands a signed request over (as the
# application's role, no organization in context); both organizations are
# connected to the portal and each applies the events on its shard.
{
	my $uri = 'https://app.example.com/hooks/hubspot';
	my ($changed, $deleted, $new, $req) = hs_webhook_changes($hs, $ids, $uri);
	my $route = 'SET ROLE app; ' . crm_webhook_sql($req->{body}, $req->{headers}, $uri);
	my ($ret, $out, $err) = $node->psql('postgres', $route);
	is("$ret $out", '0 3', 'the_signed_webhook_is_applied_on_the_cluster') or diag($err);
	for my $o ($org, $org2)
	{
		is(as_app($o, "SELECT string_agg(crm_contact_id, ',') FROM wib.crm_contact_lookup('555 777 0001');"), $changed,
			'the_property_change_updates_each_organizations_cache');
		is(sql("SELECT count(*) FILTER (WHERE crm_contact_id = '$deleted') || ' ' || count(*) FILTER (WHERE crm_contact_id = '$new')
			FROM wib.crm_contact_cache WHERE organization_id = '$o'"), '0 1', 'the_deletion_and_the_creation_are_applied');
	}
	ok(wait_until("SELECT EXISTS (SELECT 1 FROM wib.crm_sync_log WHERE organization_id = '$org2' AND trigger = 'webhook'
		AND status <> 'running')"), 'the_webhook_starts_the_workers_next_sync');
	is(sql("SELECT l.status || ' ' || (c.display_name IS NOT NULL) FROM wib.crm_sync_log l, wib.crm_contact_cache c
		WHERE l.organization_id = '$org2' AND l.integration_id = '$integration2' AND l.trigger = 'webhook'
		  AND c.organization_id = '$org2' AND c.crm_contact_id = '$new'"),
		'success true', 'the_created_contact_is_filled_by_the_delta_sync_it_asked_for');
	($ret, $out, $err) = $node->psql('postgres', $route);
	is("$ret $out", '0 0', 'a_redelivered_webhook_applies_nothing_again') or diag($err);
	(my $forged = $req->{body}) =~ s/"eventId":9001/"eventId":9101/;
	($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSET ROLE app;\n"
		. crm_webhook_sql($forged, $req->{headers}, $uri));
	like($err, qr/ERROR:\s+WB007/, 'a_forged_webhook_is_refused');
	is(sql("SELECT count(*) FROM wib.audit_log WHERE action = 'crm:webhook_received'"), '4',
		'each_organization_audits_each_accepted_request');
}

# ---------------------------------------------------------------------------
# Salesforce: an organization on the business plan connects through the PKCE
# round trip; the first sync lists its 700 Contacts into its shard.
{
	my $sf_ids = hs_admin($sf, 'contacts', { count => 700 })->{ids};
	my $org3 = crm_org($node, 'Cluster Salesforce Co', 'business');
	my $sfi = eval { crm_connect_flow($node, $sf, $org3, 'admin-1', 'salesforce') };
	ok($sfi, 'salesforce_connects_through_the_pkce_round_trip_on_the_cluster') or diag($@);
	is(sql("SELECT external_account_id FROM wib.crm_integrations WHERE organization_id = '$org3'"), '00D000000000001AAA',
		'the_salesforce_org_comes_from_the_token_answer');
	my $run = sql("SELECT id FROM wib.crm_sync_log WHERE organization_id = '$org3' AND trigger = 'connect'");
	is(run_outcome($org3, $run), 'success', 'the_first_salesforce_sync_succeeds_on_the_cluster');
	is(sql("SELECT count(*) || '/' || count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$org3'"),
		'700/700', 'every_salesforce_contact_is_cached_exactly_once');
	my %peer = map { $_ => 1 } @$sf_ids;
	my @cached = split /\n/, sql("SELECT crm_contact_id FROM wib.crm_contact_cache WHERE organization_id = '$org3'");
	ok(@cached && !grep({ !$peer{$_} } @cached), 'every_cached_salesforce_contact_is_a_peer_contact');
}

# ---------------------------------------------------------------------------
# Disconnecting: the worker revokes the refresh token at the peer and deletes
# its ciphertext; the cached contacts go.
{
	my $revokes = hs_admin($hs, 'stats')->{requests}{'POST /oauth/v3/token/revoke'}{200} // 0;
	as_app($org2, "SELECT wib.crm_disconnect('hubspot') \\g /dev/null");
	ok(wait_until("SELECT count(*) = 0 FROM wib.crm_tokens WHERE organization_id = '$org2'"),
		'the_worker_deletes_the_tokens_of_a_disconnected_integration');
	is(hs_admin($hs, 'stats')->{requests}{'POST /oauth/v3/token/revoke'}{200} // 0, $revokes + 1,
		'the_refresh_token_is_revoked_at_the_peer');
	is(sql("SELECT status || ' ' || (SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org2')
		FROM wib.crm_integrations WHERE organization_id = '$org2'"), 'disconnected 0', 'the_cached_contacts_go_with_the_connection');
}

# The CRM worker's claims and releases no longer fail on the cluster.
my $log = log_since_distribute($node);
my @failed = $log =~ /(could not run distributed query with FOR UPDATE)/g;
is(scalar(@failed), 0, 'the_crm_workers_claim_never_fails_on_the_cluster');
@failed = $log =~ /(CONTEXT:  SQL function "crm_(?:claim|release_stale)")/g;
is(scalar(@failed), 0, 'the_crm_workers_claim_and_release_are_planned_on_the_cluster');
@failed = crm_errors();
is(scalar(@failed), 0, 'the_crm_worker_never_fails_on_the_cluster') or diag(join("\n", @failed));

$node->stop;
$_->stop for @$workers;
done_testing();
