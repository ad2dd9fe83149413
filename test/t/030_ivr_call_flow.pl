# Inbound IVR call flow driven through wib.ivr_webhook by the Telnyx peer
# (test/peers/telnyx.py), which signs each callback with a real Ed25519 key
# made by openssl and reads every TeXML answer with its own XML parser.
use strict;
use warnings;
use Encode qw(decode);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WibTest;

my $peer = wib_root() . '/test/peers/telnyx.py';
my $dir = PostgreSQL::Test::Utils::tempdir();
my $json = JSON::PP->new->utf8->canonical;

for my $k ('telnyx', 'other')
{
	system('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', "$dir/$k.pem") == 0
	  or die "openssl genpkey failed";
}

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
my $node = wib_node('ivr', conf => "wib.telnyx_public_key = '$public_key'\nmax_prepared_transactions = 2");

$node->safe_psql('postgres', q{
	CREATE ROLE ivr_route LOGIN;
	GRANT wib_app TO ivr_route;
	CREATE ROLE ivr_tenant LOGIN;
	GRANT wib_app TO ivr_tenant;
	-- The events wib.emit_event queued, as a subscription to ivr.call_ended receives them.
	CREATE VIEW public.events AS
	    SELECT event_type, payload FROM wib.webhook_deliveries WHERE event_type = 'ivr.call_ended';
	SELECT wib.set_context(wib.organization_create('Acme', 'business'), 'admin-1');
	SELECT id FROM wib.webhook_subscribe('ivr events', 'https://hooks.example.test/ivr', ARRAY['ivr.call_ended']);
	SELECT wib.ivr_menu_create('{"name": "Support", "greeting_text": "Support. Press 1 for an agent.",
	    "options": [{"digit": "1", "action_type": "transfer", "target": "+15551230001", "prompt": "Agents, 1."}]}');
	SELECT wib.ivr_menu_create(jsonb_build_object('name', 'Main', 'greeting_text', 'Welcome to Acme.',
	    'max_retries', 2, 'fallback_action', 'voicemail',
	    'options', jsonb_build_array(
	        jsonb_build_object('digit', '2', 'action_type', 'submenu', 'prompt', 'Support, 2.',
	                           'target', (SELECT id FROM wib.ivr_menus WHERE name = 'Support')),
	        jsonb_build_object('digit', '3', 'action_type', 'voicemail'),
	        jsonb_build_object('digit', '#', 'action_type', 'hangup'))));
	SELECT wib.ivr_menu_create(jsonb_build_object('name', 'Hostile',
	    'greeting_text', E'<Hangup/> & "quotes" ''single'' ]]> \U0001F600 ctl\u0001\u0007\u001b\u007f\u0085 tab\tnl\ncr\r end',
	    'disclosure_text', E'Recorded <b>&amp;</b> ]]><![CDATA[',
	    'options', jsonb_build_array(jsonb_build_object('digit', '*', 'action_type', 'hangup', 'prompt', E'Press * \U0001F4DE & <go>'))));
	SELECT wib.ivr_number_add('+15550001000', 'local', 'Main line', (SELECT id FROM wib.ivr_menus WHERE name = 'Main'));
	SELECT wib.ivr_number_add('+15550002000', 'local', 'Hostile line', (SELECT id FROM wib.ivr_menus WHERE name = 'Hostile'));
	SELECT wib.ivr_number_add('+15550003000', 'toll_free', 'Busy line', (SELECT id FROM wib.ivr_menus WHERE name = 'Main'));
	-- The menu builder's option fields: labels in sort order, an announcement before the action.
	SELECT wib.ivr_number_add('+15550004000', 'local', 'Builder line', wib.ivr_menu_create(jsonb_build_object(
	    'name', 'Builder', 'greeting_text', 'Welcome.',
	    'options', jsonb_build_array(
	        jsonb_build_object('digit', '1', 'action_type', 'transfer', 'label', 'Sales, 1.', 'action_target', '+15551230001',
	                           'tts_text', 'Connecting you to sales.', 'sort_order', 2),
	        jsonb_build_object('digit', '2', 'action_type', 'hangup', 'label', 'Goodbye, 2.', 'tts_text', 'Goodbye.',
	                           'sort_order', 1)))));
});

my @documents;

# Sends one callback as the platform's route (no tenant context): returns
# (texml or undef, stderr).
sub callback
{
	my ($kind, $fields, %opt) = @_;
	my @args = ('callback', $opt{key} // "$dir/telnyx.pem", $kind,
		map { "$_=$fields->{$_}" } sort keys %$fields);
	push @args, "--ts-offset=$opt{ts_offset}" if $opt{ts_offset};
	push @args, '--tamper' if $opt{tamper};
	return send_signed($kind, peer('', @args));
}

# Sends a callback the peer signed: returns (texml or undef, stderr).
sub send_signed
{
	my ($kind, $cb) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres',
		"SELECT wib.ivr_webhook('$kind', '\\x$cb->{body_hex}'::bytea, '$cb->{signature}', '$cb->{timestamp}')",
		stdout => \$out, stderr => \$err, extra_params => [ '-U', 'ivr_route', '-v', 'VERBOSITY=verbose' ],
		on_error_die => 0, on_error_stop => 1);
	return (undef, $err) if $err =~ /ERROR/;
	$out = decode('UTF-8', $out);
	push @documents, $out;
	return ($out, $err);
}

# The verbs of a document as the peer's parser sees them.
sub verbs
{
	my ($doc) = @_;
	my $parsed = peer($json->encode({ documents => [$doc] }), 'parse');
	die "not well-formed: @{$parsed->{errors}}" unless $parsed->{ok};
	return $parsed->{documents}[0];
}

sub rows
{
	my ($sql) = @_;
	# As the superuser, who is not subject to row-level security.
	return $node->safe_psql('postgres', $sql);
}

my $log_count = "SELECT count(*) FROM wib.inbound_call_log";
my %call = (CallSid => 'v3:call-one', From => '+15559990001', To => '+15550001000');

# Refusals first: nothing may be written.
my ($doc, $err) = callback('inbound', \%call, tamper => 1);
like($err, qr/WB007: telnyx signature is invalid/, 'tampered_body_refused');
($doc, $err) = callback('inbound', \%call, key => "$dir/other.pem");
like($err, qr/WB007: telnyx signature is invalid/, 'signature_by_another_key_refused');
($doc, $err) = callback('inbound', \%call, ts_offset => -301);
like($err, qr/WB007: telnyx signature is invalid/, 'stale_timestamp_refused');
($doc, $err) = callback('inbound', \%call, ts_offset => 400);
like($err, qr/WB007: telnyx signature is invalid/, 'future_timestamp_refused');
($doc, $err) = callback('inbound', { %call, To => '+15550009999' });
like($err, qr/WB305: dialled number \+15550009999 is not provisioned/, 'unprovisioned_number_refused');
($doc, $err) = callback('gather', { %call, Digits => '1' });
like($err, qr/WB305: call v3:call-one is not in progress/, 'gather_for_unknown_call_refused');
is(rows($log_count), "0", 'refused_callbacks_wrote_nothing');
is(rows("SELECT count(*) FROM public.events"), "0", 'refused_callbacks_emitted_nothing');

# A whole call: inbound, 2 (support submenu), 1 (transfer), then the status callback.
($doc) = callback('inbound', \%call);
my $v = verbs($doc);
is_deeply([ map { $_->[0] } @$v ], [ 'Say', 'Gather', 'Redirect' ], 'inbound_answers_disclosure_gather_redirect');
is($v->[0][2], 'This call may be recorded for quality assurance.', 'disclosure_is_played_first');
is($v->[1][1]{action}, 'gather', 'gather_posts_back_to_the_gather_route');
is_deeply([ map { $_->[2] } @{ $v->[1][3] } ], [ 'Welcome to Acme.', 'Support, 2.' ], 'gather_holds_greeting_and_prompts');

($doc) = callback('gather', { %call, Digits => '2' });
$v = verbs($doc);
is_deeply([ map { $_->[0] } @$v ], [ 'Gather', 'Redirect' ], 'submenu_answers_its_gather_without_disclosure');
is($v->[0][3][0][2], 'Support. Press 1 for an agent.', 'submenu_greeting_played');

($doc) = callback('gather', { %call, Digits => '1' });
$v = verbs($doc);
is($v->[0][0], 'Dial', 'transfer_answers_dial');
is($v->[0][3][0][0] . ' ' . $v->[0][3][0][2], 'Number +15551230001', 'dial_calls_the_transfer_target');

($doc) = callback('status', { %call, CallStatus => 'completed', CallDuration => '42', HangupCause => 'normal_clearing' });
is(rows(q{SELECT string_agg(e->>'digit' || '@' || m.name, ' > ' ORDER BY n)
            FROM wib.inbound_call_log l, jsonb_array_elements(l.ivr_path) WITH ORDINALITY p(e, n)
            JOIN wib.ivr_menus m ON m.id = (e->>'menu')::uuid
           WHERE l.call_sid = 'v3:call-one'}), "2\@Main > 1\@Support", 'call_log_holds_the_exact_path');
is(rows(q{SELECT jsonb_array_length(ivr_path) || ' ' || bool_and(e ? 'ts')
            FROM wib.inbound_call_log l, jsonb_array_elements(l.ivr_path) e
           WHERE l.call_sid = 'v3:call-one' GROUP BY l.ivr_path}), "2 true", 'every_path_entry_has_a_timestamp');
is(rows(q{SELECT status || ' ' || final_action || ' ' || duration_seconds || ' ' || hangup_cause || ' ' || (ended_at IS NOT NULL)
            FROM wib.inbound_call_log WHERE call_sid = 'v3:call-one'}),
	"completed transfer 42 normal_clearing true", 'status_callback_closes_the_call');
is(rows(q{SELECT event_type || ' ' || (payload->>'final_action') || ' ' || jsonb_array_length(payload->'ivr_path') FROM public.events}),
	"ivr.call_ended transfer 2", 'call_end_emits_ivr_call_ended_once');
callback('status', { %call, CallStatus => 'completed', CallDuration => '42' });
is(rows("SELECT count(*) FROM public.events"), "1", 'repeated_status_callback_emits_no_second_event');

# Retries then the fallback: a wrong key, silence, silence, then voicemail.
my %two = (CallSid => 'v3:call-two', From => '+15559990002', To => '+15550001000');
callback('inbound', \%two);
($doc) = callback('gather', { %two, Digits => '7' });
$v = verbs($doc);
is($v->[0][2], 'Sorry, that is not a valid choice.', 'invalid_digit_retries_with_the_invalid_prompt');
($doc) = callback('gather', { %two, Digits => '' });
is(verbs($doc)->[1][0], 'Gather', 'silence_retries_the_menu');
($doc) = callback('gather', \%two);
$v = verbs($doc);
is_deeply([ map { $_->[0] } @$v ], [ 'Say', 'Record', 'Hangup' ], 'after_max_retries_the_fallback_voicemail_records');
callback('status', { %two, RecordingUrl => 'https://rec.example.com/two.mp3' });
is(rows(q{SELECT (SELECT string_agg(coalesce(e->>'digit', '-'), ',') FROM jsonb_array_elements(ivr_path) e)
                 || ' ' || final_action || ' ' || recording_url || ' ' || (ended_at IS NULL)
            FROM wib.inbound_call_log WHERE call_sid = 'v3:call-two'}),
	"7,-,- voicemail https://rec.example.com/two.mp3 true", 'retries_logged_and_recording_kept');

# Hostile texts still give documents the peer parses, with the text intact.
my %three = (CallSid => 'v3:call-three', To => '+15550002000');
($doc) = callback('inbound', \%three);
$v = verbs($doc);
is($v->[0][2], 'Recorded <b>&amp;</b> ]]><![CDATA[', 'hostile_disclosure_reads_back_verbatim');
like($v->[1][3][0][2], qr/^<Hangup\/> & "quotes" 'single' \]\]> \x{1F600} ctl {6}tab\tnl\ncr\r end\z/,
	'hostile_greeting_reads_back_with_controls_as_spaces');

# The option fields through the real flow: labels said in sort order, the
# option's tts_text said before its action.
my %builder = (CallSid => 'v3:call-builder', From => '+15559990005', To => '+15550004000');
($doc) = callback('inbound', \%builder);
is_deeply([ map { $_->[2] } @{ verbs($doc)->[1][3] } ], [ 'Welcome.', 'Goodbye, 2.', 'Sales, 1.' ],
	'gather_says_the_option_labels_in_sort_order');
($doc) = callback('gather', { %builder, Digits => '1' });
$v = verbs($doc);
is_deeply([ map { $_->[0] } @$v ], [ 'Say', 'Dial' ], 'option_tts_text_is_said_before_its_transfer');
is($v->[0][2], 'Connecting you to sales.', 'option_tts_text_reads_back_verbatim');

# A menu change committed by another session shows in this session's next
# render (rendered menus are cached per session, invalidated at commit).
my $psql = $node->config_data('--bindir') . '/psql';
my $connstr = $node->connstr('postgres');
my $ctx = "SELECT wib.set_context((SELECT id FROM wib.organizations WHERE name = 'Acme'), 'admin-1')";
is($node->safe_psql('postgres', qq{
	$ctx;
	SELECT wib.texml_render_menu(id) ~ 'Welcome to Acme' FROM wib.ivr_menus WHERE name = 'Main';
	SELECT wib.texml_render_menu(id) ~ 'Welcome to Acme' FROM wib.ivr_menus WHERE name = 'Main';
	\\! $psql -X -q -o /dev/null -d "$connstr" -c "$ctx" -c "SELECT wib.ivr_menu_update((SELECT id FROM wib.ivr_menus WHERE name = 'Main'), '{\\"greeting_text\\": \\"Welcome back to Acme.\\"}')"
	SELECT wib.texml_render_menu(id) ~ 'Welcome back to Acme' FROM wib.ivr_menus WHERE name = 'Main';
}), "\nt\nt\nt", 'committed_menu_change_in_another_session_invalidates_the_cached_render');

# Where sessions cache rendered menus, a menu change cannot be prepared: the
# cache would learn of it at COMMIT PREPARED, which no trigger of it sees.
my ($ret, $out, $err) = $node->psql('postgres', qq{
	$ctx;
	BEGIN;
	SELECT wib.ivr_menu_update((SELECT id FROM wib.ivr_menus WHERE name = 'Main'), '{"greeting_text": "Prepared greeting."}');
	PREPARE TRANSACTION 'menu_change';
});
like($err, qr/cannot prepare a transaction that changed IVR menus/, 'a_menu_change_is_not_prepared_where_menus_are_cached');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_prepared_xacts"), '0', 'the_refused_menu_change_is_not_left_prepared');

# Toll-fraud guard: over the per-number limit the call is rejected busy and logged.
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.ivr_calls_per_minute = 2; SELECT pg_reload_conf();");
sleep 1;
my ($accepted, $busy) = (0, 0);
for my $i (1 .. 5)
{
	($doc) = callback('inbound', { CallSid => "v3:flood-$i", To => '+15550003000' });
	my $first = verbs($doc)->[0];
	if ($first->[0] eq 'Reject' && $first->[1]{reason} eq 'busy') { $busy++ } else { $accepted++ }
}
ok($busy >= 1 && $accepted >= 2, "calls_over_the_limit_get_reject_busy ($accepted accepted, $busy rejected)");
is(rows("SELECT count(*) FROM wib.inbound_call_log WHERE call_sid LIKE 'v3:flood-%' AND status = 'rejected' AND final_action = 'rejected'"),
	"$busy", 'rejected_calls_are_logged_as_rejected');

# A replayed callback is refused: the same signed gather, sent twice, counts once.
$node->safe_psql('postgres', "ALTER SYSTEM RESET wib.ivr_calls_per_minute; SELECT pg_reload_conf();");
my ($inbound, $inbound_err) = callback('inbound', { CallSid => 'v3:call-replay', From => '+15559990009', To => '+15550002000' });
ok(defined $inbound, 'replay_test_call_is_answered') or diag($inbound_err);
my $signed = peer('', 'callback', "$dir/telnyx.pem", 'gather',
	'CallSid=v3:call-replay', 'Digits=9', 'From=+15559990009', 'To=+15550002000');
my ($first) = send_signed('gather', $signed);
ok(defined $first, 'signed_gather_is_accepted_once');
(undef, $err) = send_signed('gather', $signed);
like($err, qr/WB306: Telnyx callback refused: this signature was already accepted/, 'replayed_gather_is_refused');
is(rows("SELECT jsonb_array_length(ivr_path) FROM wib.inbound_call_log WHERE call_sid = 'v3:call-replay'"), '1',
	'replayed_gather_is_not_appended_to_the_path');

# A tenant cannot use the route lookup to learn who holds a number: the lookup
# itself is closed to applications, and the callback entry point verifies first.
my ($out, $terr) = ('', '');
$node->psql('postgres', "SELECT * FROM wib.ivr_route(convert_to('To=%2B15550001000', 'UTF8'), 'x', '1')",
	stdout => \$out, stderr => \$terr, extra_params => [ '-U', 'ivr_tenant' ]);
like($terr, qr/permission denied for function ivr_route/, 'route_lookup_is_closed_to_applications');
$node->psql('postgres', "SELECT wib.ivr_webhook('inbound', convert_to('To=%2B15550001000', 'UTF8'), 'x', '1')",
	stdout => \$out, stderr => \$terr, extra_params => [ '-U', 'ivr_tenant' ]);
like($terr, qr/telnyx/, 'route_lookup_requires_a_signed_callback');

# Without a configured key every callback is refused.
$node->safe_psql('postgres', "ALTER SYSTEM SET wib.telnyx_public_key = ''; SELECT pg_reload_conf();");
sleep 1;
($doc, $err) = callback('inbound', { CallSid => 'v3:call-four', To => '+15550001000' });
like($err, qr/WB301: telnyx public key is not configured/, 'no_key_configured_refuses_callbacks');

# Fuzz the escaper: 500 random byte strings (invalid UTF-8, controls, markup
# characters) written as text and as an attribute value all parse.
my $fuzz = $node->safe_psql('postgres', q{
	SELECT json_agg('<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="' || wib.texml_escape(b, true)
	                || '">' || wib.texml_escape(b) || '</Say></Response>')
	  FROM (SELECT d, decode(string_agg(lpad(to_hex(CASE WHEN random() < 0.3 THEN (ARRAY[0, 9, 10, 13, 31, 34, 38, 39, 60, 62, 93, 127, 194, 224, 237, 239, 240, 255])[1 + (random() * 17)::int]
	                                                      ELSE (random() * 255)::int END), 2, '0'), ''), 'hex') AS b
	          FROM generate_series(1, 500) d, LATERAL generate_series(0, (random() * 64)::int + d * 0) i
	         GROUP BY d) x});
my $fuzzed = peer('{"documents": ' . $fuzz . '}', 'parse');
ok($fuzzed->{ok} && @{ $fuzzed->{documents} } == 500, 'escaper_output_of_random_bytes_always_parses')
  or diag(join("\n", @{ $fuzzed->{errors} }[0 .. 4]));

# Fuzz the form decoder: random bodies give a value, NULL or 22023, nothing else.
is($node->safe_psql('postgres', q{
	DO $$
	DECLARE
	    body bytea;
	    bad  int := 0;
	BEGIN
	    FOR i IN 1 .. 3000 LOOP
	        SELECT decode(string_agg(lpad(to_hex(CASE WHEN random() < 0.5
	                                                  THEN (ARRAY[37, 38, 43, 61, 48, 70, 102, 0, 255, 195, 84, 111])[1 + (random() * 11)::int]
	                                                  ELSE (random() * 255)::int END), 2, '0'), ''), 'hex')
	          INTO body FROM generate_series(0, (random() * 40)::int + i * 0);
	        BEGIN
	            PERFORM wib.form_value(coalesce(body, ''::bytea), 'To'), wib.form_value(coalesce(body, ''::bytea), '');
	        EXCEPTION WHEN invalid_parameter_value THEN
	            NULL;
	        WHEN OTHERS THEN
	            bad := bad + 1;
	        END;
	    END LOOP;
	    RAISE NOTICE 'unexpected errors: %', bad;
	    IF bad > 0 THEN
	        RAISE EXCEPTION 'form_value raised % unexpected errors', bad;
	    END IF;
	END
	$$;
	SELECT 'ok';
}), 'ok', 'form_decoder_on_random_bodies_returns_or_refuses_cleanly');

# Every document answered in this test parses.
my $all = peer($json->encode({ documents => \@documents }), 'parse');
ok($all->{ok} && @documents >= 15, 'every_rendered_document_parses (' . scalar(@documents) . ')')
  or diag(join("", @{ $all->{errors} }));

$node->stop;
done_testing();
