# Salesforce against the peer (test/peers/salesforce.py), what the first
# Salesforce suite leaves out: Leads cached beside Contacts when the
# integration's config asks for them (their type kept, found by the caller
# lookup, a call to one logged as a Task with the Lead as WhoId, a converted
# Lead leaving the cache for its Contact); the full re-list that reconciles
# after more than 15 days idle and after Salesforce refused the deletions
# window (its recycle bin emptied: 400 INVALID_REPLICATION_DATE); the pause
# when the sync has used its share of the org's daily API limit, and its end
# when the share frees up; 403 REQUEST_LIMIT_EXCEEDED pausing everything, a
# sync asked for during the pause sending nothing, and the end of the pause.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks qw(make_test_ca);
use WibCrm;

my $dir = PostgreSQL::Test::Utils::tempdir();
my @ca = make_test_ca($dir);
# An org allowed 400 API requests a day.
my $sf = start_salesforce(dir => $dir, name => 'sf', ca => \@ca, args => [ '--daily-limit', '400' ]);
my $node = wib_node('crm_sf_objects', conf => join("\n",
	"wib.http_ca_file = '$ca[0]'",
	"wib.http_allow_cidrs = '127.0.0.1/32'",
	"wib.crm_push_delay = 0",
	"wib.crm_reread_window = 1s",
	"wib.crm_push_reconcile_delay = 1s",
	"wib.crm_backoff_max = 3s",
	"wib.crm_lease = 60s"));
$node->safe_psql('postgres', qq{
	SET log_statement = 'none';
	SELECT wib.crm_provider_set('salesforce', '{"client_id": "wib-test-client", "client_secret": "wib-test-secret",
	        "login_url": "$sf->{base}", "api_version": "v60.0", "instance_domains": ["127.0.0.1"]}')});
wait_for_worker_pid($node, 'crm_sync');

sub sql { return $node->safe_psql('postgres', $_[0]) }

my $org = crm_org($node, 'Leads Co', 'business');
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'admin-1';";
my $app = "SET ROLE wib_app; $ctx";

sub cached
{
	my ($where) = @_;
	return sql("SELECT count(*) FROM wib.crm_contact_cache WHERE organization_id = '$org'" . ($where ? " AND $where" : ''));
}

sub in_list { return "('" . join("','", @_) . "')" }

# Requests to Salesforce's API since the peer's stats were reset.
sub api_requests
{
	my $req = hs_admin($sf, 'stats')->{requests};
	my $n = 0;
	for my $e (grep { !m{ /__admin/} } keys %$req)
	{
		$n += $_ for values %{ $req->{$e} };
	}
	return $n;
}

# A sync now; waits for its end and returns (run id, status).
sub sync_now
{
	my $run = sql("$ctx SELECT wib.crm_sync_now('salesforce')");
	return ($run, wait_for_run($node, $org, $run));
}

# Salesforce's earlier clock as wib's cursor keeps it: the deletions of every
# object were last read `ago` before now.
sub deletions_last_read
{
	my ($ago) = @_;
	sql("UPDATE wib.crm_integrations i SET sync_cursor = jsonb_set(sync_cursor, '{objects}',
	         (SELECT jsonb_object_agg(o.key, o.value || jsonb_build_object('deleted_through',
	                     date_trunc('minute', now() - interval '$ago')))
	            FROM jsonb_each(sync_cursor -> 'objects') o))
	      WHERE organization_id = '$org'");
}

# ---------------------------------------------------------------------------
# Connected with Contacts only (the default); Leads wait at Salesforce.
my $contacts = hs_admin($sf, 'contacts', { count => 3000 })->{ids};
my $leads = hs_admin($sf, 'contacts', { count => 40, object => 'Lead' })->{ids};
my $url = sql("$ctx SELECT wib.crm_connect('salesforce', 'https://app.example.com/crm/callback')");
my ($code, $state) = hs_follow_authorize($sf, $url);
(my $raw_code = $code) =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
my $integration = sql("$ctx SELECT wib.crm_callback('salesforce', '$raw_code', '$state')");
my $first = $node->poll_query_until('postgres', "SELECT EXISTS (SELECT 1 FROM wib.crm_sync_log
    WHERE integration_id = '$integration' AND trigger = 'connect' AND status <> 'running')")
  && sql("SELECT status FROM wib.crm_sync_log WHERE integration_id = '$integration' AND trigger = 'connect'");
is($first, 'success', 'the_first_sync_completes');
is(cached(), '3000', 'contacts_only_by_default');

# ---------------------------------------------------------------------------
# Leads: the config's objects.
is(sql("$app SELECT wib.crm_config_set('salesforce', '{\"objects\": [\"Lead\", \"Contact\"]}')"),
	'{"objects": ["Contact", "Lead"]}', 'the_objects_are_set');
my ($run, $status) = sync_now();
is($status, 'success', 'the_sync_with_leads_completes');
is(cached("raw_data ->> 'attributes.type' = 'Lead' AND crm_url LIKE '%/lightning/r/Lead/%'"), '40',
	'leads_are_cached_with_their_type');
is(cached("raw_data ->> 'attributes.type' = 'Contact'"), '3000', 'contacts_stay_cached_once');
my %lead = map { $_->{Id} => $_ } @{ hs_admin($sf, 'records?object=Lead')->{records} };
# A Lead whose number no other cached record has.
my $who = sql("SELECT min(c.crm_contact_id) FROM wib.crm_contact_cache c
    WHERE c.organization_id = '$org' AND c.raw_data ->> 'attributes.type' = 'Lead' AND c.phone_e164 IS NOT NULL
      AND (SELECT count(*) FROM wib.crm_contact_cache d
            WHERE d.organization_id = c.organization_id AND c.phone_e164 IN (d.phone_e164, d.mobile_e164)) = 1");
my $l0 = $lead{$who};
is(sql("SELECT company_name FROM wib.crm_contact_cache WHERE crm_contact_id = '$who'"), $l0->{Company},
	'a_leads_company_fills_the_company_name');
is(sql("$app SELECT string_agg(crm_contact_id || ' ' || (raw_data ->> 'attributes.type'), ',') FROM wib.crm_contact_lookup('$l0->{Phone}')"),
	"$who Lead", 'the_caller_lookup_finds_the_lead_by_its_number');
my ($to_convert, $to_delete) = grep { $_ ne $who } @$leads;

# A call with the Lead's number is logged as a Task on the Lead.
my $call = (split /\n/, sql(qq{
	$ctx
	INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status, started_at, ended_at, duration_seconds)
	VALUES ('$org', 'inbound', '$l0->{Phone}', '+15550009999', 'completed', now() - interval '1 minute', now(), 60)
	RETURNING id}))[-1];
ok($node->poll_query_until('postgres', "SELECT status = 'pushed' FROM wib.crm_call_pushes WHERE call_id = '$call'"),
	'the_call_with_the_lead_is_logged');
my @tasks = grep { ($_->{CallObject} // '') eq $call } @{ hs_admin($sf, 'tasks')->{tasks} };
is(join(',', map { $_->{WhoId} } @tasks), $who, 'one_task_whose_who_is_the_lead');

# A converted Lead leaves the cache; its Contact comes in.
my $conv = hs_admin($sf, 'convert', { ids => [$to_convert] })->{converted}[0];
($run, $status) = sync_now();
is($status, 'success', 'the_sync_after_a_conversion_completes');
is(cached("crm_contact_id = '$to_convert'") . '/' . cached("crm_contact_id = '$conv->{contact}' AND raw_data ->> 'attributes.type' = 'Contact'"),
	'0/1', 'a_converted_lead_is_replaced_by_its_contact');
is(sql("SELECT contact_count FROM wib.crm_integrations WHERE id = '$integration'"), cached(),
	'the_contact_count_follows');

# ---------------------------------------------------------------------------
# Idle for 16 days: Salesforce keeps deletions 15 days, so the sync lists
# everything again and reconciles.  Deleted while idle: five Contacts 16 days
# ago (gone from the recycle bin too) and a Contact and a Lead 2 days ago.
my $iso = sub { sql("SELECT to_char((now() - interval '$_[0]') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") };
my @old_gone = @$contacts[ 10 .. 14 ];
hs_admin($sf, 'delete', { ids => \@old_gone, deleted_at => $iso->('16 days') });
hs_admin($sf, 'delete', { ids => [ $contacts->[20] ], deleted_at => $iso->('2 days') });
hs_admin($sf, 'delete', { ids => [$to_delete], object => 'Lead', deleted_at => $iso->('2 days') });
my $before = cached();
deletions_last_read('16 days');
hs_admin($sf, 'reset_stats', {});
($run, $status) = sync_now();
is($status, 'success', 'the_sync_after_16_idle_days_completes');
is(cached("crm_contact_id IN " . in_list(@old_gone, $contacts->[20], $to_delete)), '0',
	'records_deleted_while_idle_leave_the_cache');
is(cached(), $before - 7, 'nothing_else_leaves_it');
is(run_row($node, $run)->{records_deleted}, 7, 'the_run_counts_the_reconciled_deletions');
my $stats = hs_admin($sf, 'stats');
is($stats->{requests}{'GET /services/data/{v}/sobjects/{object}/deleted'}, undef,
	'deletions_older_than_salesforce_keeps_are_not_asked_for');
my $cur = sql("SELECT sync_cursor -> 'objects' FROM wib.crm_integrations WHERE id = '$integration'");
like($cur, qr/"Contact": \{[^}]*"deleted_through"/, 'the_listing_sets_the_deletions_window_of_contacts');
like($cur, qr/"Lead": \{[^}]*"deleted_through"/, 'and_of_leads');

# The recycle bin emptied since the last sync (within 15 days): Salesforce
# refuses the window (400 INVALID_REPLICATION_DATE) and the run goes on as a
# full listing that reconciles.
my @purged = @$contacts[ 30 .. 32 ];
hs_admin($sf, 'delete', { ids => \@purged, deleted_at => $iso->('9 minutes') });
hs_admin($sf, 'empty_recycle_bin', { object => 'Contact', at => $iso->('8 minutes') });
hs_admin($sf, 'update', { ids => [ $contacts->[40] ], fields => { LastName => 'Kept' } });
$before = cached();
deletions_last_read('10 minutes');
hs_admin($sf, 'reset_stats', {});
($run, $status) = sync_now();
is($status, 'success', 'the_sync_with_a_refused_deletions_window_completes');
$stats = hs_admin($sf, 'stats');
is($stats->{requests}{'GET /services/data/{v}/sobjects/{object}/deleted'}{400}, 1,
	'salesforce_refused_the_deletions_window');
is(cached("crm_contact_id IN " . in_list(@purged)), '0', 'records_purged_from_the_recycle_bin_leave_the_cache');
is(cached(), $before - 3, 'the_full_listing_removes_only_them');
is(sql("SELECT raw_data ->> 'LastName' FROM wib.crm_contact_cache WHERE crm_contact_id = '$contacts->[40]'"), 'Kept',
	'changes_are_read_by_the_same_run');
is(scalar(@{ run_row($node, $run)->{errors} }), 0, 'the_run_reports_no_error');

# ---------------------------------------------------------------------------
# The sync's share of the org's daily limit (400): 1% is 4 requests in 24
# hours.  9,000 new Contacts need 5 batches.  Counting starts afresh (as far
# as wib's count of its requests in the last 24 hours goes) with the setting;
# the run the new setting starts, or the one asked for, stops after 4.
my $many = hs_admin($sf, 'contacts', { count => 9000 })->{ids};
hs_admin($sf, 'reset_stats', {});
my $t0 = sql("SELECT now()");
sql("UPDATE wib.crm_integrations SET worker_state = worker_state #- '{sf_api,hours}' WHERE id = '$integration'");
is(sql("$app SELECT wib.crm_config_set('salesforce', '{\"objects\": [\"Contact\", \"Lead\"], \"api_share\": 1}')"),
	'{"objects": ["Contact", "Lead"], "api_share": 1}', 'the_api_share_is_set');
($run, $status) = sync_now();
$node->poll_query_until('postgres', "SELECT current_sync_id IS NULL FROM wib.crm_integrations WHERE id = '$integration'");
is(sql("SELECT string_agg(status, ',' ORDER BY started_at) FROM wib.crm_sync_log WHERE integration_id = '$integration' AND started_at >= '$t0'"),
	'partial', 'the_run_stops_when_the_share_is_used');
# The first batch may re-read a record changed within wib.crm_reread_window
# before the run (the edit above), which takes one of its 2,000 places (and is
# not counted as synced when unchanged): four batches are 7,990 to 8,000 new
# records, three or five would be 6,000 or 9,000.
my $synced = sql("SELECT records_synced FROM wib.crm_sync_log WHERE integration_id = '$integration' AND started_at >= '$t0'");
ok($synced >= 7990 && $synced <= 8000, 'four_batches_are_applied') or diag("records synced: $synced");
my $new_cached = cached("crm_contact_id IN " . in_list(@$many));
ok($new_cached >= 7990 && $new_cached <= 8000, 'the_new_contacts_of_those_batches_are_cached')
	or diag("new contacts cached: $new_cached");
like(sql("SELECT error_detail FROM wib.crm_integrations WHERE id = '$integration'"),
	qr/^the contact sync used its share of the Salesforce org's daily API limit \(4 of 4 requests in 24 hours\); it goes on at /,
	'the_integration_says_why_it_waits');
is(api_requests(), 4, 'no_request_beyond_the_share');
is(sql("$app SELECT next_sync_at > now() + interval '20 hours' AND status = 'connected' FROM wib.crm_status()"), 't',
	'the_status_shows_the_next_sync_after_the_reset');
# A day later (wib's count of its requests moves back 24 hours): the run
# goes on by itself where it stopped.
sql("UPDATE wib.crm_integrations SET next_sync_at = now(),
         worker_state = jsonb_set(worker_state, '{sf_api,hours}',
             (SELECT jsonb_object_agg((h.key::bigint - 24)::text, h.value) FROM jsonb_each(worker_state #> '{sf_api,hours}') h))
      WHERE id = '$integration'; SELECT wib.wake('crm_sync')");
ok($node->poll_query_until('postgres', "SELECT last_sync_status = 'success' AND current_sync_id IS NULL
         FROM wib.crm_integrations WHERE id = '$integration'"), 'after_the_reset_the_sync_goes_on');
is(cached("crm_contact_id IN " . in_list(@$many)), '9000', 'every_new_contact_is_cached');
is(sql("SELECT count(*) = count(DISTINCT crm_contact_id) FROM wib.crm_contact_cache WHERE organization_id = '$org'"), 't',
	'each_once');
is(sql("SELECT coalesce(error_detail, '') FROM wib.crm_integrations WHERE id = '$integration'"), '', 'the_reason_is_cleared');

# ---------------------------------------------------------------------------
# The org's whole daily limit spent (by anyone): 403 REQUEST_LIMIT_EXCEEDED.
hs_admin($sf, 'usage', { used => 400 });
hs_admin($sf, 'update', { ids => [ $contacts->[50] ], fields => { LastName => 'AfterLimit' } });
sql("$app SELECT wib.crm_config_set('salesforce', '{\"objects\": [\"Contact\", \"Lead\"]}')");
($run, $status) = sync_now();
$node->poll_query_until('postgres', "SELECT current_sync_id IS NULL FROM wib.crm_integrations WHERE id = '$integration'");
like(sql("SELECT error_detail FROM wib.crm_integrations WHERE id = '$integration'"),
	qr/^Salesforce's daily API request limit is spent \(.*REQUEST_LIMIT_EXCEEDED.*\); requests wait until /,
	'the_limit_pauses_the_integration_and_says_why');
my $until = sql("SELECT worker_state #>> '{sf_api,paused_until}' FROM wib.crm_integrations WHERE id = '$integration'");
is(sql("SELECT '$until'::timestamptz > now() + interval '50 minutes'
           AND next_sync_at >= '$until'::timestamptz FROM wib.crm_integrations WHERE id = '$integration'"), 't',
	'the_next_sync_waits_for_the_pause');
hs_admin($sf, 'reset_stats', {});
($run, $status) = sync_now();
is(api_requests(), 0, 'a_sync_asked_for_during_the_pause_sends_nothing');
like(run_row($node, $run)->{error_detail}, qr/REQUEST_LIMIT_EXCEEDED/, 'and_its_run_says_why');
# The pause is over and the limit has freed up: the sync goes on by itself.
hs_admin($sf, 'usage', { used => 0 });
sql("UPDATE wib.crm_integrations SET next_sync_at = now(),
         worker_state = jsonb_set(worker_state, '{sf_api,paused_until}', to_jsonb(now() - interval '1 second'))
      WHERE id = '$integration'; SELECT wib.wake('crm_sync')");
ok($node->poll_query_until('postgres', "SELECT last_sync_status = 'success' AND current_sync_id IS NULL
         FROM wib.crm_integrations WHERE id = '$integration'"), 'after_the_pause_the_sync_goes_on');
is(sql("SELECT raw_data ->> 'LastName' FROM wib.crm_contact_cache WHERE crm_contact_id = '$contacts->[50]'"), 'AfterLimit',
	'the_change_made_during_the_pause_is_read');

$node->stop;
done_testing();
