-- Inbound IVR tables: menus and their options, numbers and their routes, the call log, and the
-- phrases an IVR may not say.

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
        AND (fallback_target IS NULL OR wib.is_e164(fallback_target))),
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
    label           text,
    action_target   text,
    target_menu_id  uuid,
    sort_order      integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    tts_text        text,
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
            WHEN 'transfer' THEN wib.is_e164(action_target) AND target_menu_id IS NULL
            WHEN 'submenu'  THEN target_menu_id IS NOT NULL AND action_target IS NULL
            WHEN 'survey'   THEN action_target ~ '^https?://[^[:space:]]+$' AND target_menu_id IS NULL
            ELSE action_target IS NULL AND target_menu_id IS NULL
        END),
    CONSTRAINT ivr_menu_options_label_check CHECK (label IS NULL OR length(label) <= 500),
    CONSTRAINT ivr_menu_options_tts_text_check CHECK (tts_text IS NULL OR length(tts_text) <= 1000),
    CONSTRAINT ivr_menu_options_sort_order_check CHECK (sort_order BETWEEN 0 AND 1000)
);
CREATE INDEX ivr_menu_options_target_idx ON wib.ivr_menu_options (organization_id, target_menu_id)
    WHERE target_menu_id IS NOT NULL;
COMMENT ON TABLE wib.ivr_menu_options IS
    'The keys of an IVR menu (0-9, *, #) and what each does: transfer, submenu, voicemail, survey, hangup, repeat.';
COMMENT ON COLUMN wib.ivr_menu_options.label IS
    'What the menu builder shows for the option and the menu says for it inside the Gather ("For sales, press 1."); "prompt" in menu documents is an alias.';
COMMENT ON COLUMN wib.ivr_menu_options.action_target IS
    'The E.164 number of a transfer or the http(s) URL of a survey''s TeXML ("target" in menu documents is an alias; a submenu''s menu is target_menu_id).';
COMMENT ON COLUMN wib.ivr_menu_options.tts_text IS
    'An announcement said when the caller picks the option, before its action ("Connecting you to sales.").';
COMMENT ON COLUMN wib.ivr_menu_options.sort_order IS
    'Where the option comes in the menu (ascending, then by digit); its index in the options array unless given.';
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
    telnyx_order_id  text,
    monthly_cost_cents integer,
    telnyx_error     text,
    CONSTRAINT inbound_numbers_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT inbound_numbers_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES wib.organizations (id) ON DELETE CASCADE,
    CONSTRAINT inbound_numbers_menu_fkey FOREIGN KEY (organization_id, menu_id)
        REFERENCES wib.ivr_menus (organization_id, id),
    CONSTRAINT inbound_numbers_phone_check CHECK (wib.is_e164(phone_number)),
    CONSTRAINT inbound_numbers_type_check CHECK (number_type IN ('local', 'toll_free')),
    CONSTRAINT inbound_numbers_status_check
        CHECK (status IN ('ordering', 'active', 'suspended', 'releasing', 'released', 'failed')),
    CONSTRAINT inbound_numbers_cost_check CHECK (monthly_cost_cents IS NULL OR monthly_cost_cents >= 0),
    CONSTRAINT inbound_numbers_display_name_check CHECK (display_name IS NULL OR length(display_name) <= 100),
    CONSTRAINT inbound_numbers_released_check CHECK ((status = 'released') = (released_at IS NOT NULL))
);
CREATE UNIQUE INDEX inbound_numbers_phone_key ON wib.inbound_numbers (organization_id, phone_number)
    WHERE status IN ('ordering', 'active', 'suspended');
CREATE INDEX inbound_numbers_menu_idx ON wib.inbound_numbers (organization_id, menu_id) WHERE menu_id IS NOT NULL;
COMMENT ON TABLE wib.inbound_numbers IS
    'Phone numbers (DIDs) an organization receives calls on, and the IVR menu each answers with.';
COMMENT ON COLUMN wib.inbound_numbers.telnyx_number_id IS
    'Telnyx''s id of the phone number resource (what a release deletes), filled once an order through its API succeeded; NULL for numbers recorded as given.';
COMMENT ON COLUMN wib.inbound_numbers.status IS
    'ordering (Telnyx order placed or pending), active, suspended, releasing (release at Telnyx pending), released, failed (the order failed: telnyx_error says why). Only ordering, active and suspended numbers hold quota and route calls.';
COMMENT ON COLUMN wib.inbound_numbers.telnyx_order_id IS
    'Telnyx''s id of the number order (wib.ivr_number_order), once placed.';
COMMENT ON COLUMN wib.inbound_numbers.monthly_cost_cents IS
    'What Telnyx charges a month for the number, in cents of the offer''s currency (from wib.ivr_number_search).';
COMMENT ON COLUMN wib.inbound_numbers.telnyx_error IS
    'Why Telnyx refused or failed the number''s order, or the last error of a release being retried.';
SELECT wib.make_tenant_table('wib.inbound_numbers');
CREATE TRIGGER inbound_numbers_touch BEFORE UPDATE ON wib.inbound_numbers
    FOR EACH ROW EXECUTE FUNCTION wib.touch_updated_at();

-- The dialled number names its organization: the inbound webhook has no tenant
-- context yet, so it finds the organization here, through wib.ivr_route only.
CREATE TABLE wib.inbound_number_routes (
    phone_number    text NOT NULL,
    organization_id uuid NOT NULL,
    number_id       uuid NOT NULL,
    -- Keyed by the number alone, unlike tenant tables: one organization per
    -- number, enforced by the index at every isolation level.
    CONSTRAINT inbound_number_routes_pkey PRIMARY KEY (phone_number),
    CONSTRAINT inbound_number_routes_number_fkey FOREIGN KEY (organization_id, number_id)
        REFERENCES wib.inbound_numbers (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX inbound_number_routes_number_idx ON wib.inbound_number_routes (organization_id, number_id);
COMMENT ON TABLE wib.inbound_number_routes IS
    'Internal: which organization each provisioned (not released) number belongs to, kept by a trigger on inbound_numbers; the key is the number, so a number belongs to one organization at a time.';
SELECT wib.make_tenant_table('wib.inbound_number_routes');

-- The menus a call went through are named, like the menus of its ivr_path,
-- without foreign keys: a key's check locks the referenced row, and every
-- call of a busy number would lock its menu's row (concurrent lockers of one
-- row are a multixact rewritten for each).  Deleting a menu clears the names
-- (wib.ivr_menus_clear_references); a call answered while its menu is being
-- deleted may keep the name of a menu that no longer exists.  The number
-- keeps its key: its call log goes with it, and with its organization.
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
    CONSTRAINT inbound_call_log_path_check CHECK (jsonb_typeof(ivr_path) = 'array'),
    CONSTRAINT inbound_call_log_status_check CHECK (status IN ('in_progress', 'completed', 'rejected')),
    CONSTRAINT inbound_call_log_final_action_check CHECK (final_action IS NULL OR final_action IN
        ('transfer', 'voicemail', 'survey', 'hangup', 'rejected', 'abandoned')),
    CONSTRAINT inbound_call_log_duration_check CHECK (duration_seconds IS NULL OR duration_seconds >= 0)
);
CREATE INDEX inbound_call_log_started_idx ON wib.inbound_call_log (organization_id, started_at, id);
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
