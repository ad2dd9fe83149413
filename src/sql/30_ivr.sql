-- Inbound IVR: numbers, menus and their options, the call log, compliance of
-- what a menu says, and the call flow Telnyx drives through wib.ivr_webhook.
-- Errors of its own: WB007 signature invalid, WB301 Telnyx key not configured,
-- WB302 prohibited phrase, WB303 number provisioned elsewhere, WB304 menu in
-- use, WB305 dialled number or call unknown (docs/ivr.md).

CREATE FUNCTION wib.ivr_is_e164(number text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN number ~ '^\+[1-9][0-9]{1,14}$';
COMMENT ON FUNCTION wib.ivr_is_e164(text) IS 'True for an E.164 number: +, a non-zero digit, then 1 to 14 digits.';

CREATE TABLE wib.ivr_menus (
    organization_id    uuid        NOT NULL,
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    name               text        NOT NULL,
    greeting_type      text        NOT NULL DEFAULT 'tts',
    greeting_text      text,
    greeting_audio_url text,
    voice              text        NOT NULL DEFAULT 'woman',
    language           text        NOT NULL DEFAULT 'en-US',
    timeout_seconds    integer     NOT NULL DEFAULT 5,
    max_retries        integer     NOT NULL DEFAULT 3,
    fallback_action    text        NOT NULL DEFAULT 'hangup',
    fallback_target    text,
    disclosure_text    text        NOT NULL DEFAULT 'This call may be recorded for quality assurance.',
    invalid_prompt     text        NOT NULL DEFAULT 'Sorry, that is not a valid choice.',
    voicemail_prompt   text        NOT NULL DEFAULT 'Please leave a message after the tone.',
    survey_disclaimer  text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ivr_menus_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT ivr_menus_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT ivr_menus_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    CONSTRAINT ivr_menus_greeting_type_check CHECK (greeting_type IN ('tts', 'audio_url')),
    CONSTRAINT ivr_menus_greeting_check CHECK (
        (greeting_type = 'tts' AND greeting_text IS NOT NULL)
        OR (greeting_type = 'audio_url' AND greeting_audio_url ~ '^https?://[^[:space:]]+$')),
    CONSTRAINT ivr_menus_voice_check CHECK (voice ~ '^(man|woman|alice|Polly\.[A-Za-z]{1,34}(-Neural)?)$'),
    CONSTRAINT ivr_menus_language_check CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$'),
    CONSTRAINT ivr_menus_timeout_check CHECK (timeout_seconds BETWEEN 1 AND 120),
    CONSTRAINT ivr_menus_retries_check CHECK (max_retries BETWEEN 0 AND 10),
    CONSTRAINT ivr_menus_fallback_check CHECK (fallback_action IN ('voicemail', 'hangup', 'transfer', 'repeat')),
    CONSTRAINT ivr_menus_fallback_target_check CHECK (
        (fallback_action = 'transfer') = (fallback_target IS NOT NULL)
        AND (fallback_target IS NULL OR wib.ivr_is_e164(fallback_target))),
    CONSTRAINT ivr_menus_disclosure_check CHECK (length(btrim(disclosure_text)) BETWEEN 1 AND 1000)
);
COMMENT ON TABLE wib.ivr_menus IS
    'IVR menus: greeting, timing, fallback, and the recording disclosure always played first.';
SELECT wib.make_tenant_table('wib.ivr_menus');
CREATE TRIGGER ivr_menus_touch BEFORE UPDATE ON wib.ivr_menus
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

CREATE TABLE wib.ivr_menu_options (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    menu_id         uuid        NOT NULL,
    digit           text        NOT NULL,
    action_type     text        NOT NULL,
    prompt          text,
    action_target   text,
    target_menu_id  uuid,
    position        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ivr_menu_options_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT ivr_menu_options_digit_key UNIQUE (organization_id, menu_id, digit),
    CONSTRAINT ivr_menu_options_menu_fkey FOREIGN KEY (organization_id, menu_id)
        REFERENCES wib.ivr_menus (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT ivr_menu_options_target_menu_fkey FOREIGN KEY (organization_id, target_menu_id)
        REFERENCES wib.ivr_menus (organization_id, id),
    CONSTRAINT ivr_menu_options_digit_check CHECK (digit ~ '^[0-9*#]$'),
    CONSTRAINT ivr_menu_options_action_check
        CHECK (action_type IN ('transfer', 'submenu', 'voicemail', 'survey', 'hangup', 'repeat')),
    CONSTRAINT ivr_menu_options_target_check CHECK (
        CASE action_type
            WHEN 'transfer' THEN wib.ivr_is_e164(action_target) AND target_menu_id IS NULL
            WHEN 'submenu'  THEN target_menu_id IS NOT NULL AND action_target IS NULL
            WHEN 'survey'   THEN action_target ~ '^https?://[^[:space:]]+$' AND target_menu_id IS NULL
            ELSE action_target IS NULL AND target_menu_id IS NULL
        END),
    CONSTRAINT ivr_menu_options_prompt_check CHECK (prompt IS NULL OR length(prompt) <= 500)
);
CREATE INDEX ivr_menu_options_target_idx ON wib.ivr_menu_options (organization_id, target_menu_id)
    WHERE target_menu_id IS NOT NULL;
COMMENT ON TABLE wib.ivr_menu_options IS
    'The keys of an IVR menu (0-9, *, #) and what each does: transfer, submenu, voicemail, survey, hangup, repeat.';
SELECT wib.make_tenant_table('wib.ivr_menu_options');

CREATE TABLE wib.inbound_numbers (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    phone_number     text        NOT NULL,
    number_type      text        NOT NULL DEFAULT 'local',
    display_name     text,
    menu_id          uuid,
    status           text        NOT NULL DEFAULT 'active',
    telnyx_number_id text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    released_at      timestamptz,
    CONSTRAINT inbound_numbers_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT inbound_numbers_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT inbound_numbers_menu_fkey FOREIGN KEY (organization_id, menu_id)
        REFERENCES wib.ivr_menus (organization_id, id) ON DELETE SET NULL (menu_id),
    CONSTRAINT inbound_numbers_phone_check CHECK (wib.ivr_is_e164(phone_number)),
    CONSTRAINT inbound_numbers_type_check CHECK (number_type IN ('local', 'toll_free')),
    CONSTRAINT inbound_numbers_status_check CHECK (status IN ('active', 'suspended', 'released')),
    CONSTRAINT inbound_numbers_display_name_check CHECK (display_name IS NULL OR length(display_name) <= 100),
    CONSTRAINT inbound_numbers_released_check CHECK ((status = 'released') = (released_at IS NOT NULL))
);
CREATE UNIQUE INDEX inbound_numbers_phone_key ON wib.inbound_numbers (organization_id, phone_number)
    WHERE status <> 'released';
CREATE INDEX inbound_numbers_menu_idx ON wib.inbound_numbers (organization_id, menu_id) WHERE menu_id IS NOT NULL;
COMMENT ON TABLE wib.inbound_numbers IS
    'Phone numbers (DIDs) an organization receives calls on, and the IVR menu each answers with.';
COMMENT ON COLUMN wib.inbound_numbers.telnyx_number_id IS
    'Telnyx''s id of the number once ordered through its API (filled by the provisioning step; NULL until then).';
SELECT wib.make_tenant_table('wib.inbound_numbers');
CREATE TRIGGER inbound_numbers_touch BEFORE UPDATE ON wib.inbound_numbers
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- The dialled number names its organization: the inbound webhook has no tenant
-- context yet, so it finds the organization here, through wib.ivr_route only.
CREATE TABLE wib.inbound_number_routes (
    phone_number    text NOT NULL,
    organization_id uuid NOT NULL,
    number_id       uuid NOT NULL,
    -- The key includes the tenant like every tenant table's; that a number is
    -- routed to one organization at a time is kept by wib.inbound_numbers_route.
    CONSTRAINT inbound_number_routes_pkey PRIMARY KEY (phone_number, organization_id),
    CONSTRAINT inbound_number_routes_number_fkey FOREIGN KEY (organization_id, number_id)
        REFERENCES wib.inbound_numbers (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX inbound_number_routes_number_idx ON wib.inbound_number_routes (organization_id, number_id);
COMMENT ON TABLE wib.inbound_number_routes IS
    'Internal: which organization each provisioned (not released) number belongs to, kept by a trigger on inbound_numbers; a number belongs to one organization at a time.';
SELECT wib.make_tenant_table('wib.inbound_number_routes');

CREATE TABLE wib.inbound_call_log (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    number_id        uuid        NOT NULL,
    call_sid         text        NOT NULL,
    from_number      text,
    to_number        text        NOT NULL,
    menu_id          uuid,
    current_menu_id  uuid,
    attempt          integer     NOT NULL DEFAULT 0,
    ivr_path         jsonb       NOT NULL DEFAULT '[]',
    final_action     text,
    status           text        NOT NULL DEFAULT 'in_progress',
    hangup_cause     text,
    recording_url    text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    duration_seconds integer,
    CONSTRAINT inbound_call_log_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT inbound_call_log_call_sid_key UNIQUE (organization_id, call_sid),
    CONSTRAINT inbound_call_log_number_fkey FOREIGN KEY (organization_id, number_id)
        REFERENCES wib.inbound_numbers (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT inbound_call_log_menu_fkey FOREIGN KEY (organization_id, menu_id)
        REFERENCES wib.ivr_menus (organization_id, id) ON DELETE SET NULL (menu_id),
    CONSTRAINT inbound_call_log_current_menu_fkey FOREIGN KEY (organization_id, current_menu_id)
        REFERENCES wib.ivr_menus (organization_id, id) ON DELETE SET NULL (current_menu_id),
    CONSTRAINT inbound_call_log_path_check CHECK (jsonb_typeof(ivr_path) = 'array'),
    CONSTRAINT inbound_call_log_status_check CHECK (status IN ('in_progress', 'completed', 'rejected')),
    CONSTRAINT inbound_call_log_final_action_check CHECK (final_action IS NULL OR final_action IN
        ('transfer', 'voicemail', 'survey', 'hangup', 'rejected', 'abandoned')),
    CONSTRAINT inbound_call_log_duration_check CHECK (duration_seconds IS NULL OR duration_seconds >= 0)
);
CREATE INDEX inbound_call_log_started_idx ON wib.inbound_call_log (organization_id, started_at);
CREATE INDEX inbound_call_log_number_idx ON wib.inbound_call_log (organization_id, number_id, started_at);
COMMENT ON TABLE wib.inbound_call_log IS
    'One row per inbound call: the menus and keys it went through (ivr_path, [{digit, menu, ts}]) and how it ended.';
SELECT wib.make_tenant_table('wib.inbound_call_log');

-- Compliance: what an IVR may not say (persuasion or commitment), per the
-- platform's AI role policy.  Operators (wib_admin) edit the list.
CREATE TABLE wib.ivr_prohibited_phrases (
    phrase     text        NOT NULL,
    reason     text        NOT NULL DEFAULT 'persuasion or commitment',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ivr_prohibited_phrases_pkey PRIMARY KEY (phrase),
    CONSTRAINT ivr_prohibited_phrases_phrase_check CHECK (length(btrim(phrase)) BETWEEN 1 AND 200 AND phrase = btrim(phrase))
);
CREATE UNIQUE INDEX ivr_prohibited_phrases_lower_key ON wib.ivr_prohibited_phrases (lower(phrase));
COMMENT ON TABLE wib.ivr_prohibited_phrases IS
    'Phrases an IVR greeting or prompt may not contain (matched case-insensitively on word boundaries); operators edit it.';
SELECT pg_catalog.pg_extension_config_dump('wib.ivr_prohibited_phrases', '');

INSERT INTO wib.ivr_prohibited_phrases (phrase, reason) VALUES
    ('I can offer', 'persuasion'), ('we can offer', 'persuasion'), ('special offer', 'persuasion'),
    ('you should', 'persuasion'), ('you must buy', 'persuasion'), ('I recommend', 'persuasion'),
    ('act now', 'persuasion'), ('limited time', 'persuasion'), ('don''t miss', 'persuasion'),
    ('best deal', 'persuasion'), ('let''s negotiate', 'negotiation'), ('we can negotiate', 'negotiation'),
    ('I promise', 'commitment'), ('we promise', 'commitment'), ('guaranteed', 'commitment'),
    ('guarantee', 'commitment'), ('risk-free', 'commitment'), ('no risk', 'commitment');

-- Raises WB302 naming the phrase and the field when text contains a prohibited
-- phrase: case-insensitive, on word boundaries, any run of spaces matching one.
CREATE FUNCTION wib.ivr_compliance_check(txt text, field text) RETURNS void
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    hit text;
BEGIN
    IF txt IS NULL OR btrim(txt) = '' THEN
        RETURN;
    END IF;
    SELECT p.phrase INTO hit
      FROM wib.ivr_prohibited_phrases p
     WHERE txt ~* ('(^|[^[:alnum:]_])'
                   || regexp_replace(regexp_replace(p.phrase, '([].^$*+?(){}|[\\])', '\\\1', 'g'), '\s+', '\\s+', 'g')
                   || '($|[^[:alnum:]_])')
     ORDER BY length(p.phrase) DESC, p.phrase
     LIMIT 1;
    IF hit IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB302',
            MESSAGE = format('prohibited phrase "%s" in %s', hit, field),
            DETAIL = 'IVR texts may not persuade, negotiate or make commitments (see wib.ivr_prohibited_phrases).',
            HINT = 'Reword the text so that it informs without persuading or promising.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.ivr_compliance_check(text, text) IS
    'Raises WB302 naming the phrase and field when txt contains a phrase of wib.ivr_prohibited_phrases (case-insensitive, word boundaries).';

-- An integer field of a JSON document in [lo, hi], or dflt when absent.
CREATE FUNCTION wib.ivr_field_int(doc jsonb, key text, lo integer, hi integer, dflt integer) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v jsonb := doc -> key;
    n numeric;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN dflt;
    END IF;
    IF jsonb_typeof(v) <> 'number' THEN
        PERFORM wib.invalid_field(key, format('%s must be an integer, not %s.', key, jsonb_typeof(v)));
    END IF;
    n := v::numeric;
    IF n <> trunc(n) OR n < lo OR n > hi THEN
        PERFORM wib.invalid_field(key, format('%s must be an integer between %s and %s.', key, lo, hi));
    END IF;
    RETURN n::integer;
END
$$;
COMMENT ON FUNCTION wib.ivr_field_int(jsonb, text, integer, integer, integer) IS
    'Internal: doc->key as an integer within [lo, hi] (22023 naming the field otherwise), dflt when absent.';

-- The whole menu as the JSON document ivr_menu_create takes (for updates and previews).
CREATE FUNCTION wib.ivr_menu_json(menu_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'name', m.name, 'greeting_type', m.greeting_type, 'greeting_text', m.greeting_text,
               'greeting_audio_url', m.greeting_audio_url, 'voice', m.voice, 'language', m.language,
               'timeout_seconds', m.timeout_seconds, 'max_retries', m.max_retries,
               'fallback_action', m.fallback_action, 'fallback_target', m.fallback_target,
               'disclosure_text', m.disclosure_text, 'invalid_prompt', m.invalid_prompt,
               'voicemail_prompt', m.voicemail_prompt, 'survey_disclaimer', m.survey_disclaimer))
           || jsonb_build_object('options', coalesce((
               SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                          'digit', o.digit, 'action_type', o.action_type, 'prompt', o.prompt,
                          'target', coalesce(o.action_target, o.target_menu_id::text)))
                        ORDER BY o.position, o.digit)
                 FROM wib.ivr_menu_options o
                WHERE o.organization_id = m.organization_id AND o.menu_id = m.id), '[]'::jsonb))
      FROM wib.ivr_menus m
     WHERE m.organization_id = wib.require_org() AND m.id = ivr_menu_json.menu_id
$$;
COMMENT ON FUNCTION wib.ivr_menu_json(uuid) IS
    'A menu of the organization in context as the JSON document wib.ivr_menu_create takes; NULL when not found.';

-- Validates a whole menu document field by field and writes it: a new menu
-- when menu_id is NULL, otherwise replaces that menu's fields and options.
CREATE FUNCTION wib.ivr_menu_write(menu_id uuid, menu jsonb) RETURNS uuid
    LANGUAGE plpgsql
AS $$
DECLARE
    org        uuid := wib.require_org();
    id         uuid := coalesce(menu_id, gen_random_uuid());
    opts       jsonb;
    opt        jsonb;
    i          integer := 0;
    f          text;
    digit      text;
    action     text;
    target     text;
    target_id  uuid;
    prompt     text;
    seen       text[] := '{}';
    has_survey boolean := false;
    r          wib.ivr_menus;
BEGIN
    PERFORM wib.check_fields(menu, ARRAY['name', 'greeting_type', 'greeting_text', 'greeting_audio_url',
        'voice', 'language', 'timeout_seconds', 'max_retries', 'fallback_action', 'fallback_target',
        'disclosure_text', 'invalid_prompt', 'voicemail_prompt', 'survey_disclaimer', 'options'], 'menu');

    r.organization_id := org;
    r.id := id;
    r.created_at := now();
    r.updated_at := now();
    r.name := btrim(wib.require_text(wib.field_text(menu, 'name', 100), 'name', 100));
    r.greeting_type := coalesce(wib.field_text(menu, 'greeting_type', 20), 'tts');
    IF r.greeting_type NOT IN ('tts', 'audio_url') THEN
        PERFORM wib.invalid_field('greeting_type', 'greeting_type must be tts or audio_url.');
    END IF;
    r.greeting_text := wib.field_text(menu, 'greeting_text', 2000);
    r.greeting_audio_url := wib.field_text(menu, 'greeting_audio_url', 2048);
    IF r.greeting_type = 'tts' AND (r.greeting_text IS NULL OR btrim(r.greeting_text) = '') THEN
        PERFORM wib.invalid_field('greeting_text', 'greeting_text is required when greeting_type is tts.');
    END IF;
    IF r.greeting_type = 'audio_url' AND coalesce(r.greeting_audio_url, '') !~ '^https?://[^[:space:]]+$' THEN
        PERFORM wib.invalid_field('greeting_audio_url',
            'greeting_audio_url must be an http or https URL without spaces when greeting_type is audio_url.');
    END IF;
    r.voice := coalesce(wib.field_text(menu, 'voice', 60), 'woman');
    IF r.voice !~ '^(man|woman|alice|Polly\.[A-Za-z]{1,34}(-Neural)?)$' THEN
        PERFORM wib.invalid_field('voice', 'voice must be man, woman, alice, Polly.<Id> or Polly.<Id>-Neural.');
    END IF;
    r.language := coalesce(wib.field_text(menu, 'language', 20), 'en-US');
    IF r.language !~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$' THEN
        PERFORM wib.invalid_field('language', 'language must be a language tag such as en-US.');
    END IF;
    r.timeout_seconds := wib.ivr_field_int(menu, 'timeout_seconds', 1, 120, 5);
    r.max_retries := wib.ivr_field_int(menu, 'max_retries', 0, 10, 3);
    r.fallback_action := coalesce(wib.field_text(menu, 'fallback_action', 20), 'hangup');
    IF r.fallback_action NOT IN ('voicemail', 'hangup', 'transfer', 'repeat') THEN
        PERFORM wib.invalid_field('fallback_action', 'fallback_action must be voicemail, hangup, transfer or repeat.');
    END IF;
    r.fallback_target := wib.field_text(menu, 'fallback_target', 20);
    IF r.fallback_action = 'transfer' AND NOT coalesce(wib.ivr_is_e164(r.fallback_target), false) THEN
        PERFORM wib.invalid_field('fallback_target', 'fallback_target must be an E.164 number such as +15551234567 when fallback_action is transfer.');
    ELSIF r.fallback_action <> 'transfer' AND r.fallback_target IS NOT NULL THEN
        PERFORM wib.invalid_field('fallback_target', 'fallback_target is only allowed when fallback_action is transfer.');
    END IF;
    r.disclosure_text := coalesce(wib.field_text(menu, 'disclosure_text', 1000),
                                  'This call may be recorded for quality assurance.');
    IF btrim(r.disclosure_text) = '' THEN
        PERFORM wib.invalid_field('disclosure_text', 'disclosure_text may not be empty: the recording disclosure is always played first.');
    END IF;
    r.invalid_prompt := coalesce(wib.field_text(menu, 'invalid_prompt', 500), 'Sorry, that is not a valid choice.');
    r.voicemail_prompt := coalesce(wib.field_text(menu, 'voicemail_prompt', 500), 'Please leave a message after the tone.');
    r.survey_disclaimer := nullif(btrim(wib.field_text(menu, 'survey_disclaimer', 1000)), '');

    FOREACH f IN ARRAY ARRAY['greeting_text', 'disclosure_text', 'invalid_prompt', 'voicemail_prompt', 'survey_disclaimer'] LOOP
        PERFORM wib.ivr_compliance_check(to_jsonb(r) ->> f, f);
    END LOOP;

    opts := coalesce(menu -> 'options', '[]'::jsonb);
    IF jsonb_typeof(opts) <> 'array' THEN
        PERFORM wib.invalid_field('options', 'options must be a JSON array.');
    END IF;
    IF jsonb_array_length(opts) > 12 THEN
        PERFORM wib.invalid_field('options', 'A menu has at most 12 options (0-9, * and #).');
    END IF;

    IF menu_id IS NULL THEN
        INSERT INTO wib.ivr_menus SELECT r.*;
    ELSE
        UPDATE wib.ivr_menus m
           SET name = r.name, greeting_type = r.greeting_type, greeting_text = r.greeting_text,
               greeting_audio_url = r.greeting_audio_url, voice = r.voice, language = r.language,
               timeout_seconds = r.timeout_seconds, max_retries = r.max_retries,
               fallback_action = r.fallback_action, fallback_target = r.fallback_target,
               disclosure_text = r.disclosure_text, invalid_prompt = r.invalid_prompt,
               voicemail_prompt = r.voicemail_prompt, survey_disclaimer = r.survey_disclaimer
         WHERE m.organization_id = org AND m.id = menu_id;
        DELETE FROM wib.ivr_menu_options o WHERE o.organization_id = org AND o.menu_id = ivr_menu_write.menu_id;
    END IF;

    FOR opt IN SELECT value FROM jsonb_array_elements(opts) LOOP
        f := format('options[%s]', i);
        IF jsonb_typeof(opt) <> 'object' THEN
            PERFORM wib.invalid_field(f, format('%s must be a JSON object.', f));
        END IF;
        PERFORM wib.check_fields(opt, ARRAY['digit', 'action_type', 'prompt', 'target'], f);
        digit := wib.field_text(opt, 'digit', 1);
        IF digit IS NULL OR digit !~ '^[0-9*#]$' THEN
            PERFORM wib.invalid_field(f || '.digit', 'digit must be one of 0-9, * or #.');
        END IF;
        IF digit = ANY (seen) THEN
            PERFORM wib.invalid_field(f || '.digit', format('digit "%s" is used by another option of this menu.', digit));
        END IF;
        seen := seen || digit;
        action := wib.field_text(opt, 'action_type', 20);
        IF action IS NULL OR action NOT IN ('transfer', 'submenu', 'voicemail', 'survey', 'hangup', 'repeat') THEN
            PERFORM wib.invalid_field(f || '.action_type', 'action_type must be transfer, submenu, voicemail, survey, hangup or repeat.');
        END IF;
        prompt := wib.field_text(opt, 'prompt', 500);
        PERFORM wib.ivr_compliance_check(prompt, f || '.prompt');
        target := wib.field_text(opt, 'target', 2048);
        target_id := NULL;
        IF action = 'transfer' AND NOT coalesce(wib.ivr_is_e164(target), false) THEN
            PERFORM wib.invalid_field(f || '.target', 'target of a transfer must be an E.164 number such as +15551234567.');
        ELSIF action = 'survey' AND coalesce(target, '') !~ '^https?://[^[:space:]]+$' THEN
            PERFORM wib.invalid_field(f || '.target', 'target of a survey must be the http or https URL of the survey''s TeXML.');
        ELSIF action = 'submenu' THEN
            IF coalesce(target, '') !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
               OR NOT EXISTS (SELECT 1 FROM wib.ivr_menus m WHERE m.organization_id = org AND m.id = target::uuid) THEN
                PERFORM wib.invalid_field(f || '.target', 'target of a submenu must be the id of a menu of this organization.');
            END IF;
            target_id := target::uuid;
            target := NULL;
        ELSIF action IN ('voicemail', 'hangup', 'repeat') AND target IS NOT NULL THEN
            PERFORM wib.invalid_field(f || '.target', format('target is not used by a %s option.', action));
        END IF;
        has_survey := has_survey OR action = 'survey';
        INSERT INTO wib.ivr_menu_options (organization_id, menu_id, digit, action_type, prompt,
                                          action_target, target_menu_id, position)
        VALUES (org, id, digit, action, prompt, target, target_id, i);
        i := i + 1;
    END LOOP;

    IF has_survey AND r.survey_disclaimer IS NULL THEN
        PERFORM wib.invalid_field('survey_disclaimer',
            'A menu with a survey option needs a survey_disclaimer, played before the survey starts.');
    END IF;
    RETURN id;
END
$$;
COMMENT ON FUNCTION wib.ivr_menu_write(uuid, jsonb) IS
    'Internal: validates a menu document field by field and inserts (menu_id NULL) or replaces a menu and its options.';

CREATE FUNCTION wib.ivr_menu_create(menu jsonb) RETURNS uuid
    LANGUAGE plpgsql
AS $$
DECLARE
    id uuid;
BEGIN
    PERFORM wib.require_org();
    PERFORM wib.require_feature('inbound_ivr');
    id := wib.ivr_menu_write(NULL, menu);
    PERFORM wib.audit('ivr:menu_created', 'ivr_menu', id::text, NULL, wib.ivr_menu_json(id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION wib.ivr_menu_create(jsonb) IS
    'Creates an IVR menu from {"name", "greeting_type", "greeting_text", ..., "options": [{"digit", "action_type", "prompt", "target"}]}; validated field by field, compliance-checked, audited ivr:menu_created.';

CREATE FUNCTION wib.ivr_menu_update(id uuid, menu jsonb) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    old_doc jsonb;
BEGIN
    PERFORM wib.require_org();
    PERFORM wib.require_feature('inbound_ivr');
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the id of an IVR menu.');
    END IF;
    PERFORM 1 FROM wib.ivr_menus m WHERE m.organization_id = wib.require_org() AND m.id = ivr_menu_update.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('IVR menu %s does not exist', id);
    END IF;
    IF menu IS NULL OR jsonb_typeof(menu) <> 'object' THEN
        PERFORM wib.invalid_field('menu', 'menu must be a JSON object.');
    END IF;
    old_doc := wib.ivr_menu_json(id);
    -- Absent fields keep their value; "options", when given, replaces every option.
    PERFORM wib.ivr_menu_write(id, old_doc || menu);
    PERFORM wib.audit('ivr:menu_updated', 'ivr_menu', id::text, old_doc, wib.ivr_menu_json(id));
END
$$;
COMMENT ON FUNCTION wib.ivr_menu_update(uuid, jsonb) IS
    'Changes the fields given in menu (the others keep their value; "options" replaces all options); validated like create, audited ivr:menu_updated.';

CREATE FUNCTION wib.ivr_menu_delete(id uuid) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    org     uuid := wib.require_org();
    old_doc jsonb;
    user_of text;
BEGIN
    old_doc := wib.ivr_menu_json(id);
    IF old_doc IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('IVR menu %s does not exist', id);
    END IF;
    SELECT n.phone_number INTO user_of FROM wib.inbound_numbers n
     WHERE n.organization_id = org AND n.menu_id = ivr_menu_delete.id AND n.status <> 'released'
     ORDER BY n.phone_number LIMIT 1;
    IF user_of IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB304',
            MESSAGE = format('IVR menu %s is in use by number %s', id, user_of),
            HINT = 'Assign another menu to the number (wib.ivr_number_assign) first.';
    END IF;
    SELECT m.name INTO user_of FROM wib.ivr_menu_options o JOIN wib.ivr_menus m
        ON m.organization_id = o.organization_id AND m.id = o.menu_id
     WHERE o.organization_id = org AND o.target_menu_id = ivr_menu_delete.id AND o.menu_id <> ivr_menu_delete.id
     ORDER BY m.name LIMIT 1;
    IF user_of IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB304',
            MESSAGE = format('IVR menu %s is the submenu of menu "%s"', id, user_of),
            HINT = 'Remove the submenu option pointing to it first.';
    END IF;
    DELETE FROM wib.ivr_menus m WHERE m.organization_id = org AND m.id = ivr_menu_delete.id;
    PERFORM wib.audit('ivr:menu_deleted', 'ivr_menu', id::text, old_doc, NULL);
END
$$;
COMMENT ON FUNCTION wib.ivr_menu_delete(uuid) IS
    'Deletes an IVR menu and its options; refused (WB304) while a number or another menu''s submenu option uses it; audited ivr:menu_deleted.';

-- Keeps inbound_number_routes in step with the numbers that are not released;
-- a number already routed to any organization is refused with WB303.
CREATE FUNCTION wib.inbound_numbers_route() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'released' THEN
        DELETE FROM wib.inbound_number_routes r
         WHERE r.phone_number = OLD.phone_number AND r.organization_id = OLD.organization_id AND r.number_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status <> 'released' THEN
        -- One writer per number at a time; under READ COMMITTED the check below
        -- then sees any route committed by the writer it waited for.
        PERFORM pg_advisory_xact_lock(hashtextextended('wib.inbound_number_routes:' || NEW.phone_number, 0));
        IF EXISTS (SELECT 1 FROM wib.inbound_number_routes r WHERE r.phone_number = NEW.phone_number) THEN
            RAISE EXCEPTION USING ERRCODE = 'WB303',
                MESSAGE = format('phone number %s is already provisioned', NEW.phone_number),
                DETAIL = 'A number belongs to one organization at a time; release it there first.';
        END IF;
        INSERT INTO wib.inbound_number_routes (phone_number, organization_id, number_id)
        VALUES (NEW.phone_number, NEW.organization_id, NEW.id);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.inbound_numbers_route() IS 'Trigger: keeps wib.inbound_number_routes in step with inbound_numbers.';
CREATE TRIGGER inbound_numbers_route AFTER INSERT OR DELETE OR UPDATE OF phone_number, status, organization_id
    ON wib.inbound_numbers FOR EACH ROW EXECUTE FUNCTION wib.inbound_numbers_route();

CREATE FUNCTION wib.ivr_number_add(phone_number text, number_type text, display_name text,
                                   menu_id uuid DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql
AS $$
DECLARE
    org  uuid := wib.require_org();
    used bigint;
    nrow wib.inbound_numbers;
BEGIN
    PERFORM wib.require_feature('inbound_ivr');
    IF number_type IS NULL OR number_type NOT IN ('local', 'toll_free') THEN
        PERFORM wib.invalid_field('number_type', 'number_type must be local or toll_free.');
    END IF;
    IF number_type = 'toll_free' THEN
        PERFORM wib.require_feature('toll_free_numbers');
    END IF;
    IF NOT coalesce(wib.ivr_is_e164(phone_number), false) THEN
        PERFORM wib.invalid_field('phone_number', 'phone_number must be an E.164 number such as +15551234567.');
    END IF;
    IF display_name IS NOT NULL AND length(display_name) > 100 THEN
        PERFORM wib.invalid_field('display_name', 'display_name must be at most 100 characters.');
    END IF;
    IF menu_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM wib.ivr_menus m
                                            WHERE m.organization_id = org AND m.id = ivr_number_add.menu_id) THEN
        PERFORM wib.invalid_field('menu_id', 'menu_id must be the id of a menu of this organization.');
    END IF;
    -- One provisioning at a time per organization, so the quota holds under concurrency.
    PERFORM pg_advisory_xact_lock(hashtextextended('wib.inbound_numbers:' || org::text, 0));
    IF EXISTS (SELECT 1 FROM wib.inbound_numbers n
                WHERE n.organization_id = org AND n.phone_number = ivr_number_add.phone_number AND n.status <> 'released') THEN
        RAISE EXCEPTION USING ERRCODE = 'WB303',
            MESSAGE = format('phone number %s is already provisioned', phone_number),
            DETAIL = 'The organization already has this number.';
    END IF;
    SELECT count(*) INTO used FROM wib.inbound_numbers n WHERE n.organization_id = org AND n.status <> 'released';
    PERFORM wib.require_limit('inbound_numbers', used, 1);
    -- Ordering the DID from Telnyx (and filling telnyx_number_id) belongs here
    -- once the HTTP engine exists; today the number is recorded as given.
    INSERT INTO wib.inbound_numbers (organization_id, phone_number, number_type, display_name, menu_id)
    VALUES (org, phone_number, number_type, nullif(btrim(display_name), ''), menu_id)
    RETURNING * INTO nrow;
    PERFORM wib.audit('ivr:number_provisioned', 'inbound_number', nrow.id::text, NULL, to_jsonb(nrow));
    RETURN nrow.id;
END
$$;
COMMENT ON FUNCTION wib.ivr_number_add(text, text, text, uuid) IS
    'Provisions an inbound number (E.164, local or toll_free) for the organization in context; plan-gated (inbound_ivr, toll_free_numbers) and limited (inbound_numbers); audited ivr:number_provisioned.';

CREATE FUNCTION wib.ivr_number_assign(number_id uuid, menu_id uuid) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    org     uuid := wib.require_org();
    old_row wib.inbound_numbers;
    new_row wib.inbound_numbers;
BEGIN
    PERFORM wib.require_feature('inbound_ivr');
    SELECT * INTO old_row FROM wib.inbound_numbers n
     WHERE n.organization_id = org AND n.id = number_id AND n.status <> 'released' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('inbound number %s does not exist', number_id);
    END IF;
    IF menu_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM wib.ivr_menus m
                                            WHERE m.organization_id = org AND m.id = ivr_number_assign.menu_id) THEN
        PERFORM wib.invalid_field('menu_id', 'menu_id must be the id of a menu of this organization.');
    END IF;
    UPDATE wib.inbound_numbers n SET menu_id = ivr_number_assign.menu_id
     WHERE n.organization_id = org AND n.id = number_id
    RETURNING * INTO new_row;
    PERFORM wib.audit('ivr:number_updated', 'inbound_number', number_id::text, to_jsonb(old_row), to_jsonb(new_row));
END
$$;
COMMENT ON FUNCTION wib.ivr_number_assign(uuid, uuid) IS
    'Sets the menu a number answers with (NULL: none, calls are rejected); audited ivr:number_updated.';

CREATE FUNCTION wib.ivr_number_release(number_id uuid) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    org     uuid := wib.require_org();
    old_row wib.inbound_numbers;
    new_row wib.inbound_numbers;
BEGIN
    SELECT * INTO old_row FROM wib.inbound_numbers n
     WHERE n.organization_id = org AND n.id = number_id AND n.status <> 'released' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('inbound number %s does not exist', number_id);
    END IF;
    UPDATE wib.inbound_numbers n SET status = 'released', released_at = now()
     WHERE n.organization_id = org AND n.id = number_id
    RETURNING * INTO new_row;
    PERFORM wib.audit('ivr:number_released', 'inbound_number', number_id::text, to_jsonb(old_row), to_jsonb(new_row));
END
$$;
COMMENT ON FUNCTION wib.ivr_number_release(uuid) IS
    'Releases a number: it stops routing calls and frees its plan quota; its call log stays; audited ivr:number_released.';

-- Rendered menus are cached per backend; a committed change to a menu or an
-- option invalidates every cached document (src/ivr/menu_cache.c).
CREATE FUNCTION wib.ivr_menu_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'wib_ivr_menu_changed';
COMMENT ON FUNCTION wib.ivr_menu_changed() IS
    'Trigger: invalidates the rendered-menu caches of all sessions when the transaction commits.';
CREATE TRIGGER ivr_menus_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON wib.ivr_menus
    FOR EACH STATEMENT EXECUTE FUNCTION wib.ivr_menu_changed();
CREATE TRIGGER ivr_menu_options_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON wib.ivr_menu_options
    FOR EACH STATEMENT EXECUTE FUNCTION wib.ivr_menu_changed();

-- TeXML rendering (C, src/ivr/flow.c and texml.c).
CREATE FUNCTION wib.texml_render_menu(menu_id uuid, attempt integer DEFAULT 0) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_texml_render_menu';
COMMENT ON FUNCTION wib.texml_render_menu(uuid, integer) IS
    'The TeXML document of a menu of the organization in context (disclosure first on attempt 0; invalid-choice prompt on a retry), for previews.';

CREATE FUNCTION wib.ivr_menu_texml(menu_id uuid, attempt integer, disclosure boolean) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_texml_render_menu';
COMMENT ON FUNCTION wib.ivr_menu_texml(uuid, integer, boolean) IS
    'Internal: the menu document as the call flow needs it (disclosure only at the start of a call).';

CREATE FUNCTION wib.texml_action(kind text, say text, target text, voice text DEFAULT 'woman',
                                 language text DEFAULT 'en-US') RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_texml_action';
COMMENT ON FUNCTION wib.texml_action(text, text, text, text, text) IS
    'The TeXML document of a menu action: transfer, voicemail, survey, hangup, reject (target busy|rejected) or empty.';

CREATE FUNCTION wib.texml_escape(raw bytea, in_attribute boolean DEFAULT false) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_texml_escape';
COMMENT ON FUNCTION wib.texml_escape(bytea, boolean) IS
    'Raw bytes as the TeXML writer puts them in a document: escaped, invalid UTF-8 as U+FFFD, forbidden controls as spaces.';

-- Telnyx callbacks (C: src/crypto/ed25519.c, src/ivr/request.c).
CREATE FUNCTION wib.telnyx_verify(raw_body bytea, signature text, ts text, public_key text,
                                  tolerance_seconds integer DEFAULT 300) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_telnyx_verify';
COMMENT ON FUNCTION wib.telnyx_verify(bytea, text, text, text, integer) IS
    'True when signature (base64 Ed25519) signs ts || ''|'' || raw_body under public_key (base64, 32 bytes) and ts (Unix seconds) is within tolerance_seconds of now.';

CREATE FUNCTION wib.ivr_verify(raw_body bytea, signature text, ts text) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_ivr_verify';
COMMENT ON FUNCTION wib.ivr_verify(bytea, text, text) IS
    'Internal: raises WB007 unless the callback is signed by wib.telnyx_public_key within wib.telnyx_timestamp_tolerance (WB301 when no key is set).';

CREATE FUNCTION wib.form_value(body bytea, key text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_form_value';
COMMENT ON FUNCTION wib.form_value(bytea, text) IS
    'The first value of key in an application/x-www-form-urlencoded body, decoded; NULL when absent.';

-- The narrow path from a signed callback to its organization: verifies the
-- signature first, then looks the dialled number ("To") up in the routes.
-- Nothing is returned for an unsigned request, so no tenant can use it to
-- learn which organization holds a number.
CREATE FUNCTION wib.ivr_route(raw_body bytea, signature text, ts text,
                              OUT organization_id uuid, OUT number_id uuid, OUT to_number text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
AS $$
BEGIN
    PERFORM wib.ivr_verify(raw_body, signature, ts);
    to_number := wib.form_value(raw_body, 'To');
    IF NOT coalesce(wib.ivr_is_e164(to_number), false) THEN
        PERFORM wib.invalid_field('To', 'To must be the dialled E.164 number.');
    END IF;
    SELECT r.organization_id, r.number_id INTO organization_id, number_id
      FROM wib.inbound_number_routes r WHERE r.phone_number = to_number;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'WB305',
            MESSAGE = format('dialled number %s is not provisioned', to_number);
    END IF;
END
$$;
COMMENT ON FUNCTION wib.ivr_route(bytea, text, text) IS
    'Internal: verifies a Telnyx callback and returns the organization and number its dialled number belongs to (WB007, WB305).';

-- The event a finished call emits, in the webhooks catalogue so that wib.emit_event
-- accepts it and subscriptions can ask for it.
INSERT INTO wib.webhook_event_types (event_type, description, example) VALUES
    ('ivr.call_ended', 'An inbound call answered by an IVR menu ended.',
     '{"call_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "call_sid": "v3:AbCdEf", "from": "+15550100", "to": "+18005550123", "menu_id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "ivr_path": [{"digit": "1", "menu": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "ts": "2026-01-01T12:00:09Z"}], "final_action": "transfer", "duration_seconds": 95, "recording_url": null, "started_at": "2026-01-01T12:00:00Z", "ended_at": "2026-01-01T12:01:35Z"}');

-- Closes a call's log row once and emits ivr.call_ended.
CREATE FUNCTION wib.ivr_call_end(log_id uuid, duration integer, cause text) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    org uuid := wib.require_org();
    c   wib.inbound_call_log;
BEGIN
    UPDATE wib.inbound_call_log l
       SET ended_at = now(),
           duration_seconds = coalesce(duration, greatest(0, extract(epoch FROM now() - l.started_at))::integer),
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

CREATE FUNCTION wib.ivr_webhook(kind text, raw_body bytea, signature text, ts text) RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    route     record;
    prev_org  text := current_setting('wib.org_id', true);
    org       uuid;
    sid       text;
    digits    text;
    num       wib.inbound_numbers;
    c         wib.inbound_call_log;
    m         wib.ivr_menus;
    o         wib.ivr_menu_options;
    doc       text;
    final     text;
    next_menu uuid;
    next_try  integer;
    per_min   integer;
    dur       text;
    rec       text;
BEGIN
    -- Nothing is parsed before the signature is checked (inside ivr_route).
    SELECT * INTO route FROM wib.ivr_route(raw_body, signature, ts);
    IF kind IS NULL OR kind NOT IN ('inbound', 'gather', 'status') THEN
        PERFORM wib.invalid_field('kind', 'kind must be inbound, gather or status.');
    END IF;
    sid := wib.form_value(raw_body, 'CallSid');
    IF sid IS NULL OR sid = '' OR length(sid) > 200 THEN
        PERFORM wib.invalid_field('CallSid', 'CallSid must be a non-empty string of at most 200 characters.');
    END IF;
    org := route.organization_id;
    PERFORM pg_catalog.set_config('wib.org_id', org::text, true);

    IF kind = 'inbound' THEN
        SELECT * INTO num FROM wib.inbound_numbers n WHERE n.organization_id = org AND n.id = route.number_id;
        per_min := current_setting('wib.ivr_calls_per_minute')::integer;
        IF per_min > 0 AND NOT wib.rate_limit('ivr:' || route.to_number, per_min, '1 minute') THEN
            final := 'rejected';
            doc := wib.texml_action('reject', NULL, 'busy');
        ELSIF num.status <> 'active' OR num.menu_id IS NULL THEN
            final := 'rejected';
            doc := wib.texml_action('reject', NULL, 'rejected');
        END IF;
        INSERT INTO wib.inbound_call_log AS l (organization_id, number_id, call_sid, from_number, to_number,
                                               menu_id, current_menu_id, final_action, status, ended_at)
        VALUES (org, num.id, sid, left(wib.form_value(raw_body, 'From'), 32), route.to_number,
                CASE WHEN final IS NULL THEN num.menu_id END, CASE WHEN final IS NULL THEN num.menu_id END,
                final, CASE WHEN final IS NULL THEN 'in_progress' ELSE 'rejected' END,
                CASE WHEN final IS NULL THEN NULL ELSE now() END)
        ON CONFLICT (organization_id, call_sid) DO NOTHING;
        IF doc IS NULL THEN
            doc := wib.ivr_menu_texml(num.menu_id, 0, true);
        END IF;

    ELSIF kind = 'gather' THEN
        SELECT * INTO c FROM wib.inbound_call_log l
         WHERE l.organization_id = org AND l.call_sid = sid FOR UPDATE;
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
        UPDATE wib.inbound_call_log l
           SET ivr_path = l.ivr_path || jsonb_build_array(jsonb_build_object(
                   'digit', nullif(digits, ''), 'menu', c.current_menu_id, 'ts', clock_timestamp())),
               current_menu_id = next_menu, attempt = coalesce(next_try, 0),
               final_action = coalesce(final, l.final_action)
         WHERE l.organization_id = org AND l.id = c.id;

    ELSE
        SELECT * INTO c FROM wib.inbound_call_log l
         WHERE l.organization_id = org AND l.call_sid = sid FOR UPDATE;
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

    PERFORM pg_catalog.set_config('wib.org_id', coalesce(prev_org, ''), true);
    RETURN doc;
END
$$;
COMMENT ON FUNCTION wib.ivr_webhook(text, bytea, text, text) IS
    'The platform''s Telnyx route calls this with the raw callback (kind inbound, gather or status): verifies the Ed25519 signature first (WB007), finds the organization from the dialled number, logs the call and returns the TeXML answer.';

-- Privileges: the API and what it calls as the caller.
GRANT EXECUTE ON FUNCTION
    wib.ivr_is_e164(text), wib.ivr_compliance_check(text, text),
    wib.ivr_field_int(jsonb, text, integer, integer, integer), wib.ivr_menu_json(uuid),
    wib.ivr_menu_write(uuid, jsonb), wib.ivr_menu_create(jsonb), wib.ivr_menu_update(uuid, jsonb),
    wib.ivr_menu_delete(uuid), wib.ivr_number_add(text, text, text, uuid),
    wib.ivr_number_assign(uuid, uuid), wib.ivr_number_release(uuid),
    wib.texml_render_menu(uuid, integer), wib.ivr_menu_texml(uuid, integer, boolean),
    wib.texml_action(text, text, text, text, text), wib.texml_escape(bytea, boolean),
    wib.telnyx_verify(bytea, text, text, text, integer), wib.ivr_verify(bytea, text, text),
    wib.form_value(bytea, text), wib.ivr_route(bytea, text, text),
    wib.ivr_call_end(uuid, integer, text), wib.ivr_webhook(text, bytea, text, text)
TO wib_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON wib.ivr_menus, wib.ivr_menu_options TO wib_app;
GRANT SELECT, INSERT, UPDATE ON wib.inbound_numbers, wib.inbound_call_log TO wib_app;
GRANT SELECT ON wib.ivr_prohibited_phrases TO wib_app;
GRANT INSERT, UPDATE, DELETE ON wib.ivr_prohibited_phrases TO wib_admin;
