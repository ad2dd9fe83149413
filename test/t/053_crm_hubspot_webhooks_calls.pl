# Inbound HubSpot webhooks through wib.crm_webhook: signed events update the
# cache (property change, deletion, creation), redeliveries apply once;
# forged, stale and other-portal requests are refused with nothing written.
# Completed calls become HubSpot call engagements with the mapped properties
# (duration in milliseconds, direction, numbers, status, recording URL),
# associated with the contact of the number, pushed once, reported in the
# sync log; a call HubSpot refuses is a failed push of a partial run.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;
use WibWebhooks qw(make_test_ca);
use WibCrm;

my $dir = PostgreSQL::Test::Utils::tempdir();
my @ca = make_test_ca($dir);
my $hs = start_hubspot(dir => $dir, name => 'hs', ca => \@ca);
# Another HubSpot account of the same app (same client secret), which no organization connected.
my $other = start_hubspot(dir => $dir, name => 'other', ca => \@ca, args => [ '--portal-id', '4242' ]);
my $node = crm_node('crm_hooks', $hs);

my $org = crm_org($node, 'Hooks Co');
my $ctx = "SET wib.org_id = '$org'; SET wib.user_id = 'agent-1';";
my $ids = hs_admin($hs, 'contacts', { count => 100, phone_formats => JSON::PP::true })->{ids};
my $integration = crm_connect_flow($node, $hs, $org);
$node->poll_query_until('postgres', "SELECT contact_count = 100 AND current_sync_id IS NULL FROM wib.crm_integrations WHERE id = '$integration'");

my $uri = 'https://app.example.com/hooks/hubspot?source=crm';

# The SQL call of the platform's webhook route for a request (to $uri unless u says).
sub webhook_sql
{
	my ($body, $headers, $u) = @_;
	return crm_webhook_sql($body, $headers, $u // $uri);
}

# (SQLSTATE or '', output) of a statement.
sub run_sql
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql", stdout => \$out, stderr => \$err);
	return ($err =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : '', $out);
}

sub written
{
	return $node->safe_psql('postgres', "SELECT (SELECT count(*) FROM wib.crm_webhook_events) || '/'
		|| (SELECT count(*) FROM wib.audit_log) || '/' || (SELECT count(*) FROM wib.crm_contact_cache) || '/'
		|| (SELECT coalesce(sum(hashtext(raw_data::text)), 0) FROM wib.crm_contact_cache)");
}

# ---------------------------------------------------------------------------
# Valid events: applied, once.
# What the events report happened in HubSpot first, and the signed request.
my ($changed, $deleted, $new, $req) = hs_webhook_changes($hs, $ids, $uri);
# Header names as a proxy may pass them: lower case.
my %lower = map { lc($_) => $req->{headers}{$_} } keys %{ $req->{headers} };
my ($state, $out) = run_sql(webhook_sql($req->{body}, \%lower));
is($state, '', 'a_signed_webhook_is_accepted_with_header_names_in_any_case');
is($out, '3', 'the_three_events_are_applied');
is($node->safe_psql('postgres', "$ctx SELECT crm_contact_id FROM wib.crm_contact_lookup('555 777 0001')"), $changed,
	'the_property_change_updates_the_number_the_lookup_finds');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_contact_cache WHERE crm_contact_id = '$deleted'"), '0',
	'the_deletion_removes_the_contact');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_contact_cache WHERE crm_contact_id = '$new'"), '1',
	'the_creation_adds_the_contact');
ok($node->poll_query_until('postgres', "SELECT display_name IS NOT NULL FROM wib.crm_contact_cache WHERE crm_contact_id = '$new'"),
	'the_created_contact_is_filled_by_the_delta_sync_it_asked_for');
is($node->safe_psql('postgres', "SELECT trigger FROM wib.crm_sync_log WHERE integration_id = '$integration' ORDER BY started_at DESC LIMIT 1"),
	'webhook', 'the_sync_was_started_by_the_webhook');
($state, $out) = run_sql(webhook_sql($req->{body}, $req->{headers}));
is($out, '0', 'a_redelivered_request_applies_nothing_again');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.audit_log WHERE action = 'crm:webhook_received'"), '2',
	'webhooks_are_audited');

# ---------------------------------------------------------------------------
# Refused requests write nothing.
my $before = written();
my $fresh = hs_admin($hs, 'webhook_request', { uri => $uri, events => [
	{ subscriptionType => 'contact.deletion', objectId => $ids->[10], eventId => 9100 } ] });
(my $tampered = $fresh->{body}) =~ s/"objectId":(\d+)/'"objectId":' . ($1 + 1)/e;
($state) = run_sql(webhook_sql($tampered, $fresh->{headers}));
is($state, 'WB007', 'a_forged_body_is_refused');
($state) = run_sql(webhook_sql($fresh->{body}, $fresh->{headers}, 'https://evil.example.com/hooks/hubspot'));
is($state, 'WB007', 'a_request_signed_for_another_uri_is_refused');
($state) = run_sql(webhook_sql($fresh->{body}, { 'X-HubSpot-Request-Timestamp' => $fresh->{headers}{'X-HubSpot-Request-Timestamp'} }));
is($state, 'WB007', 'a_request_without_signature_is_refused');
my $old_ms = int(time * 1000) - 6 * 60 * 1000;
my $stale = hs_admin($hs, 'webhook_request', { uri => $uri, timestamp_ms => $old_ms, events => [
	{ subscriptionType => 'contact.deletion', objectId => $ids->[10], eventId => 9101 } ] });
($state) = run_sql(webhook_sql($stale->{body}, $stale->{headers}));
is($state, 'WB506', 'a_request_signed_six_minutes_ago_is_stale');
my $future = hs_admin($hs, 'webhook_request', { uri => $uri, timestamp_ms => int(time * 1000) + 6 * 60 * 1000, events => [
	{ subscriptionType => 'contact.deletion', objectId => $ids->[10], eventId => 9102 } ] });
($state) = run_sql(webhook_sql($future->{body}, $future->{headers}));
is($state, 'WB506', 'a_request_dated_six_minutes_ahead_is_refused');
my $foreign = hs_admin($other, 'webhook_request', { uri => $uri, events => [
	{ subscriptionType => 'contact.deletion', objectId => $ids->[10], eventId => 9103 } ] });
($state) = run_sql(webhook_sql($foreign->{body}, $foreign->{headers}));
is($state, 'WB507', 'a_request_for_a_portal_nobody_connected_is_refused');
my $junk = hs_admin($hs, 'sign_webhook', { method => 'POST', uri => $uri, body => 'not json' });
($state) = run_sql(webhook_sql('not json', { 'X-HubSpot-Signature-v3' => $junk->{signature},
	'X-HubSpot-Request-Timestamp' => "$junk->{timestamp_ms}" }));
is($state, '22023', 'a_signed_body_that_is_not_an_event_array_is_refused');
is(written(), $before, 'refused_requests_write_nothing');
is($node->safe_psql('postgres', "SELECT count(*) FROM wib.crm_contact_cache WHERE crm_contact_id = '$ids->[10]'"), '1',
	'the_contact_the_refused_requests_named_is_still_cached');

# ---------------------------------------------------------------------------
# Completed calls become call engagements.
my $phone = $node->safe_psql('postgres', "SELECT phone_number FROM wib.crm_contact_cache WHERE crm_contact_id = '$ids->[0]'");
my $name = $node->safe_psql('postgres', "SELECT display_name FROM wib.crm_contact_cache WHERE crm_contact_id = '$ids->[0]'");
my $call = $node->safe_psql('postgres', qq{
	$ctx
	SELECT wib.user_create('agent-1', 'Grace Hopper', 'grace\@example.com');
	INSERT INTO wib.calls (organization_id, agent_id, direction, from_number, to_number, status, started_at)
	VALUES ('$org', 'agent-1', 'inbound', '$phone', '+15550009999', 'in_progress', '2026-11-29T10:15:00Z')
	RETURNING id});
$call = (split /\n/, $call)[-1];
$node->safe_psql('postgres', qq{
	$ctx
	BEGIN;
	UPDATE wib.calls SET status = 'completed', ended_at = '2026-11-29T10:19:10Z', duration_seconds = 250 WHERE id = '$call';
	INSERT INTO wib.recordings (organization_id, call_id, recording_url, status)
	VALUES ('$org', '$call', 'https://media.example.com/r/1.mp3', 'ready');
	INSERT INTO wib.ai_summaries (organization_id, call_id, summary, overall_sentiment) VALUES ('$org', '$call', 'Booked a demo.', 'positive');
	COMMIT;});
ok($node->poll_query_until('postgres', "SELECT status = 'pushed' FROM wib.crm_call_pushes WHERE call_id = '$call'"),
	'the_completed_call_is_pushed');
my ($engagement) = grep { ($_->{properties}{wib_call_id} // '') eq $call } @{ hs_admin($hs, 'calls')->{results} };
my $p = $engagement->{properties};
is($p->{hs_call_duration}, '250000', 'hs_call_duration_is_in_milliseconds');
is($p->{hs_call_direction}, 'INBOUND', 'the_direction_is_hubspots');
is($p->{hs_call_status}, 'COMPLETED', 'the_status_is_hubspots');
is($p->{hs_call_from_number} . ' ' . $p->{hs_call_to_number}, "$phone +15550009999", 'the_numbers_are_sent');
is($p->{hs_call_recording_url}, 'https://media.example.com/r/1.mp3', 'the_recording_url_is_sent');
is($p->{hs_timestamp}, '2026-11-29T10:15:00.000Z', 'hs_timestamp_is_the_start_of_the_call');
is($p->{hs_call_body}, 'Booked a demo.', 'the_summary_is_the_call_body');
like($p->{hs_call_title}, qr/^Inbound call with \Q$name\E \(agent Grace Hopper\)$/, 'the_title_names_the_contact_and_the_agent');
is_deeply($engagement->{associations}{contacts}, [ $ids->[0] ], 'the_engagement_is_associated_with_the_contact_of_the_number');
is($node->safe_psql('postgres', "SELECT crm_object_id = '$engagement->{id}' AND crm_contact_id = '$ids->[0]' FROM wib.crm_call_pushes WHERE call_id = '$call'"),
	't', 'the_push_records_the_engagement_and_the_contact');
$node->safe_psql('postgres', "$ctx UPDATE wib.calls SET status = 'completed', disposition = 'answered' WHERE id = '$call'");
my $unknown = (split /\n/, $node->safe_psql('postgres', qq{
	$ctx
	INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status, started_at, ended_at, duration_seconds)
	VALUES ('$org', 'outbound', '+15550009999', '+15559990000', 'completed', now() - interval '1 minute', now(), 60)
	RETURNING id}))[-1];
ok($node->poll_query_until('postgres', "SELECT status = 'pushed' FROM wib.crm_call_pushes WHERE call_id = '$unknown'"),
	'a_call_with_no_known_contact_is_pushed_too');
my @all = @{ hs_admin($hs, 'calls')->{results} };
is(scalar(grep { ($_->{properties}{wib_call_id} // '') eq $call } @all), 1, 'a_call_is_pushed_once');
my ($lone) = grep { ($_->{properties}{wib_call_id} // '') eq $unknown } @all;
is_deeply($lone->{associations}{contacts}, [], 'a_call_with_no_known_contact_has_no_association');
is($node->safe_psql('postgres', "SELECT sum(calls_pushed) FROM wib.crm_sync_log WHERE integration_id = '$integration'"), '2',
	'the_pushes_are_reported_in_the_sync_log');

# A mapping HubSpot refuses: the push fails, the run is partial, the dashboard counts it.
my $mappings = decode_json($node->safe_psql('postgres', "$ctx SELECT wib.crm_mappings('hubspot')"));
my @calls_only = grep { $_->{wib_entity} eq 'call' } @$mappings;
push @calls_only, { wib_entity => 'call', wib_field => 'outcome', crm_object => 'calls', crm_field => 'hs_call_outcome_label',
	transform => 'uppercase' };
my $doc = encode_json(\@calls_only);
$node->safe_psql('postgres', "$ctx SELECT wib.crm_mappings_set('hubspot', '$doc')");
my $refused = (split /\n/, $node->safe_psql('postgres', qq{
	$ctx
	INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status, started_at) VALUES
	('$org', 'inbound', '$phone', '+15550009999', 'in_progress', now() - interval '2 minutes') RETURNING id}))[-1];
$node->safe_psql('postgres', "$ctx INSERT INTO wib.call_outcomes (organization_id, call_id, outcome) VALUES ('$org', '$refused', 'sale');
	UPDATE wib.calls SET status = 'completed', ended_at = now(), duration_seconds = 120 WHERE id = '$refused'");
ok($node->poll_query_until('postgres', "SELECT status = 'failed' FROM wib.crm_call_pushes WHERE call_id = '$refused'"),
	'a_call_hubspot_refuses_is_a_failed_push');
like($node->safe_psql('postgres', "SELECT last_error FROM wib.crm_call_pushes WHERE call_id = '$refused'"),
	qr/hs_call_outcome_label.*HTTP 400/, 'the_failed_push_says_why');
my $partial = $node->safe_psql('postgres', "SELECT status || ' ' || calls_failed FROM wib.crm_sync_log
	WHERE integration_id = '$integration' AND calls_failed > 0");
is($partial, 'partial 1', 'the_run_with_a_failed_push_is_partial');
is($node->safe_psql('postgres', "$ctx SELECT contacts || ' ' || errors_24h || ' ' || last_sync_status FROM wib.crm_status()"),
	'100 1 partial', 'the_dashboard_shows_contacts_errors_and_the_last_outcome');

$node->stop;
done_testing();
