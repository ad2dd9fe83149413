-- The call flow Telnyx drives: signed callbacks verified, routed to their organization,
-- logged, and answered with TeXML.

-- Telnyx callbacks (C: src/crypto/ed25519.c, src/ivr/request.c).
CREATE OR REPLACE FUNCTION wib.telnyx_verify(raw_body bytea, signature text, ts text, public_key text,
                                  tolerance_seconds integer DEFAULT 300) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_telnyx_verify';
COMMENT ON FUNCTION wib.telnyx_verify(bytea, text, text, text, integer) IS
    'True when signature (base64 Ed25519) signs ts || ''|'' || raw_body under public_key (base64, 32 bytes) and ts (Unix seconds) is within tolerance_seconds of now.';

CREATE OR REPLACE FUNCTION wib.ivr_verify(raw_body bytea, signature text, ts text) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_ivr_verify';
COMMENT ON FUNCTION wib.ivr_verify(bytea, text, text) IS
    'Internal: raises WB007 unless the callback is signed by wib.telnyx_public_key within wib.telnyx_timestamp_tolerance (WB301 when no key is set).';

CREATE OR REPLACE FUNCTION wib.form_value(body bytea, key text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_form_value';
COMMENT ON FUNCTION wib.form_value(bytea, text) IS
    'The first value of key in an application/x-www-form-urlencoded body, decoded; NULL when absent.';

-- The narrow path from a signed callback to its organization: verifies the
-- signature first, then looks the dialled number ("To") up in the routes
-- (C: src/ivr/inbound.c, the same code wib.ivr_webhook runs).  Nothing is
-- returned for an unsigned request, so no tenant can use it to learn which
-- organization holds a number.
CREATE OR REPLACE FUNCTION wib.ivr_route(raw_body bytea, signature text, ts text,
                              OUT organization_id uuid, OUT number_id uuid, OUT to_number text)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_ivr_route';
COMMENT ON FUNCTION wib.ivr_route(bytea, text, text) IS
    'Internal: verifies a Telnyx callback and returns the organization and number its dialled number belongs to (WB007, WB305).';

-- The event a finished call emits, in the webhooks catalogue so that wib.emit_event
-- accepts it and subscriptions can ask for it.
INSERT INTO wib.event_types (event_type, description, example) VALUES
    ('ivr.call_ended', 'An inbound call answered by an IVR menu ended.',
     '{"call_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "call_sid": "v3:AbCdEf", "from": "+15550100", "to": "+18005550123", "menu_id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "ivr_path": [{"digit": "1", "menu": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "ts": "2026-01-01T12:00:09Z"}], "final_action": "transfer", "duration_seconds": 95, "recording_url": null, "started_at": "2026-01-01T12:00:00Z", "ended_at": "2026-01-01T12:01:35Z"}')
ON CONFLICT (event_type) DO UPDATE SET description = EXCLUDED.description, example = EXCLUDED.example;

-- Closes a call's log row once and emits ivr.call_ended.
CREATE OR REPLACE FUNCTION wib.ivr_call_end(log_id uuid, duration integer, cause text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org uuid := wib.require_org();
    -- A variable, not now() in the statement: Citus refuses functions that
    -- are not IMMUTABLE inside COALESCE in an UPDATE of a distributed table.
    ts  timestamptz := now();
    c   wib.inbound_call_log;
BEGIN
    UPDATE wib.inbound_call_log l
       SET ended_at = ts,
           duration_seconds = coalesce(duration, greatest(0, extract(epoch FROM ts - l.started_at))::integer),
           hangup_cause = coalesce(cause, l.hangup_cause),
           final_action = coalesce(l.final_action, 'abandoned'),
           status = CASE WHEN l.status = 'rejected' THEN 'rejected' ELSE 'completed' END
     WHERE l.organization_id = org AND l.id = log_id AND l.ended_at IS NULL
    RETURNING * INTO c;
    IF FOUND THEN
        PERFORM wib.emit_event('ivr.call_ended', jsonb_build_object(
                'call_id', c.id, 'call_sid', c.call_sid, 'from', c.from_number, 'to', c.to_number,
                'menu_id', c.menu_id, 'ivr_path', c.ivr_path, 'final_action', c.final_action,
                'duration_seconds', c.duration_seconds, 'recording_url', c.recording_url,
                'started_at', c.started_at, 'ended_at', c.ended_at));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.ivr_call_end(uuid, integer, text) IS
    'Internal: closes an inbound call log row (once) and emits ivr.call_ended.';

-- A call spike found on the inbound hot path (src/ivr/spike.c), reported to
-- the number's organization as ivr.call_spike.
INSERT INTO wib.event_types (event_type, description, example) VALUES
    ('ivr.call_spike', 'Inbound calls to one number jumped far above its recent baseline within one interval (wib.ivr_spike_factor times, at least wib.ivr_spike_min_calls calls): possible toll fraud.',
     '{"number_id": "2d7c9e1a-3b4f-4c5d-8e6f-7a8b9c0d1e2f", "phone_number": "+18005550123", "calls": 48, "baseline": 2.4, "factor": 5, "interval_seconds": 60, "interval_start": "2026-01-01T12:00:00Z", "detected_at": "2026-01-01T12:00:41Z"}')
ON CONFLICT (event_type) DO UPDATE SET description = EXCLUDED.description, example = EXCLUDED.example;

CREATE OR REPLACE FUNCTION wib.ivr_call_spike(org uuid, number_id uuid, phone_number text, calls integer,
                                              baseline float8, interval_start timestamptz) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    RAISE LOG 'wib: call spike on % (organization %): % calls this interval, baseline %',
        phone_number, org, calls, round(baseline::numeric, 1);
    PERFORM wib.event_publish(org, 'ivr.call_spike', jsonb_build_object(
        'number_id', number_id, 'phone_number', phone_number, 'calls', calls,
        'baseline', round(baseline::numeric, 2), 'factor', current_setting('wib.ivr_spike_factor')::float8,
        'interval_seconds', extract(epoch FROM current_setting('wib.ivr_spike_interval')::interval)::integer,
        'interval_start', interval_start, 'detected_at', clock_timestamp()));
END
$$;
COMMENT ON FUNCTION wib.ivr_call_spike(uuid, uuid, text, integer, float8, timestamptz) IS
    'Internal: reports a call spike on a number (found by the inbound path) to its organization as ivr.call_spike.';

-- The answer to a gather or status callback of a call of the organization in
-- context, once wib.ivr_webhook has verified it, found its number and checked
-- it is no replay.
CREATE OR REPLACE FUNCTION wib.ivr_callback_answer(kind text, raw_body bytea, number_id uuid, sid text) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org       uuid := wib.require_org();
    digits    text;
    step      jsonb;
    c         wib.inbound_call_log;
    m         wib.ivr_menus;
    o         wib.ivr_menu_options;
    doc       text;
    final     text;
    next_menu uuid;
    next_try  integer;
    dur       text;
    rec       text;
BEGIN
    IF kind = 'gather' THEN
        SELECT * INTO c FROM wib.inbound_call_log l
         WHERE l.organization_id = org AND l.call_sid = sid AND l.number_id = ivr_callback_answer.number_id FOR UPDATE;
        IF NOT FOUND OR c.ended_at IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'WB305',
                MESSAGE = format('call %s is not in progress', sid);
        END IF;
        SELECT * INTO m FROM wib.ivr_menus x WHERE x.organization_id = org AND x.id = c.current_menu_id;
        IF NOT FOUND THEN
            -- The menu was deleted during the call.
            final := 'hangup';
            doc := wib.texml_action('hangup', NULL, NULL);
        ELSE
            digits := wib.form_value(raw_body, 'Digits');
            SELECT * INTO o FROM wib.ivr_menu_options x
             WHERE x.organization_id = org AND x.menu_id = m.id AND x.digit = digits;
            next_menu := m.id;
            next_try := 0;
            IF FOUND THEN
                CASE o.action_type
                    WHEN 'transfer' THEN
                        final := 'transfer';
                        doc := wib.texml_action('transfer', NULL, o.action_target, m.voice, m.language);
                    WHEN 'submenu' THEN
                        next_menu := o.target_menu_id;
                        doc := wib.ivr_menu_texml(next_menu, 0, false);
                    WHEN 'voicemail' THEN
                        final := 'voicemail';
                        doc := wib.texml_action('voicemail', m.voicemail_prompt, NULL, m.voice, m.language);
                    WHEN 'survey' THEN
                        final := 'survey';
                        doc := wib.texml_action('survey', m.survey_disclaimer, o.action_target, m.voice, m.language);
                    WHEN 'hangup' THEN
                        final := 'hangup';
                        doc := wib.texml_action('hangup', NULL, NULL);
                    ELSE
                        doc := wib.ivr_menu_texml(m.id, 0, false);
                END CASE;
                -- The option's announcement comes before its action.
                doc := wib.texml_announce(doc, o.tts_text, m.voice, m.language);
            ELSIF c.attempt < m.max_retries THEN
                next_try := c.attempt + 1;
                doc := wib.ivr_menu_texml(m.id, next_try, false);
            ELSE
                CASE m.fallback_action
                    WHEN 'voicemail' THEN
                        final := 'voicemail';
                        doc := wib.texml_action('voicemail', m.voicemail_prompt, NULL, m.voice, m.language);
                    WHEN 'transfer' THEN
                        final := 'transfer';
                        doc := wib.texml_action('transfer', NULL, m.fallback_target, m.voice, m.language);
                    WHEN 'repeat' THEN
                        doc := wib.ivr_menu_texml(m.id, 0, false);
                    ELSE
                        final := 'hangup';
                        doc := wib.texml_action('hangup', NULL, NULL);
                END CASE;
            END IF;
        END IF;
        -- Built first: Citus refuses a VOLATILE function (the clock) in an
        -- UPDATE of a distributed table.
        step := jsonb_build_array(jsonb_build_object(
                    'digit', nullif(digits, ''), 'menu', c.current_menu_id, 'ts', clock_timestamp()));
        UPDATE wib.inbound_call_log l
           SET ivr_path = l.ivr_path || step,
               current_menu_id = next_menu, attempt = coalesce(next_try, 0),
               final_action = coalesce(final, l.final_action)
         WHERE l.organization_id = org AND l.id = c.id;

    ELSE
        SELECT * INTO c FROM wib.inbound_call_log l
         WHERE l.organization_id = org AND l.call_sid = sid AND l.number_id = ivr_callback_answer.number_id FOR UPDATE;
        IF FOUND THEN
            rec := wib.form_value(raw_body, 'RecordingUrl');
            IF rec ~ '^https?://[^[:space:]]+$' AND length(rec) <= 2048 THEN
                UPDATE wib.inbound_call_log l SET recording_url = rec WHERE l.organization_id = org AND l.id = c.id;
            END IF;
            IF coalesce(wib.form_value(raw_body, 'CallStatus'), '') IN
                   ('completed', 'busy', 'failed', 'no-answer', 'canceled') THEN
                dur := wib.form_value(raw_body, 'CallDuration');
                PERFORM wib.ivr_call_end(c.id,
                    CASE WHEN dur ~ '^[0-9]{1,9}$' THEN dur::integer END,
                    left(wib.form_value(raw_body, 'HangupCause'), 100));
            END IF;
        END IF;
        doc := wib.texml_action('hangup', NULL, NULL);
    END IF;

    RETURN doc;
END
$$;
COMMENT ON FUNCTION wib.ivr_callback_answer(text, bytea, uuid, text) IS
    'Internal: the TeXML answer to a verified gather or status callback (the menu logic: options, retries, fallback; closing the call log row).';

-- Runs with the extension owner's rights (it writes the call log, which
-- applications may only read) and acts for the organization of the dialled
-- number; the SET clauses give the caller its own context back on return.
-- C (src/ivr/inbound.c): an inbound call is answered there whole.
-- Replay guards are kept only while their callback could verify again.  A
-- callback accepted at A carries a timestamp within the tolerance in force
-- then (at most an hour) of A, and verifies again only within the current
-- tolerance of that timestamp: past A + 1 hour + the current tolerance no
-- setting, past or present, lets it through.  Without this the table and its
-- index (one random key per callback) grow with every call ever answered.
INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('ivr_callback_signatures',
     $q$WITH gone AS (DELETE FROM wib.ivr_callback_signatures
                       WHERE accepted_at < now() - interval '1 hour'
                                           - current_setting('wib.telnyx_timestamp_tolerance')::interval
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Replay guards of Telnyx callbacks accepted more than an hour plus wib.telnyx_timestamp_tolerance ago (no such callback can verify again).')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;

CREATE OR REPLACE FUNCTION wib.ivr_webhook(kind text, raw_body bytea, signature text, ts text) RETURNS text
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
    AS 'MODULE_PATHNAME', 'wib_ivr_webhook';
COMMENT ON FUNCTION wib.ivr_webhook(text, bytea, text, text) IS
    'The platform''s Telnyx route calls this with the raw callback (kind inbound, gather or status): verifies the Ed25519 signature first (WB007), finds the organization from the dialled number, refuses replays (WB306), logs the call and returns the TeXML answer.';
