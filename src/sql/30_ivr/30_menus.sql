-- IVR menus: validated field by field, compliance-checked, audited; cached documents
-- invalidated at commit.

-- The whole menu as the JSON document ivr_menu_create takes (for updates and
-- previews).  Two statements, each filtered by the organization's value: on a
-- Citus cluster both go to the organization's shard (a correlated subquery
-- would be sent to every shard, and the transaction would need two-phase
-- commit).
CREATE OR REPLACE FUNCTION wib.ivr_menu_json(menu_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    org  uuid := wib.require_org();
    m    wib.ivr_menus;
    opts jsonb;
BEGIN
    SELECT * INTO m FROM wib.ivr_menus x WHERE x.organization_id = org AND x.id = ivr_menu_json.menu_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                        'digit', o.digit, 'action_type', o.action_type, 'label', o.label,
                        'action_target', coalesce(o.action_target, o.target_menu_id::text),
                        'tts_text', o.tts_text, 'sort_order', o.sort_order))
                    ORDER BY o.sort_order, o.digit), '[]'::jsonb)
      INTO opts
      FROM wib.ivr_menu_options o
     WHERE o.organization_id = org AND o.menu_id = ivr_menu_json.menu_id;
    RETURN jsonb_strip_nulls(jsonb_build_object(
               'name', m.name, 'greeting_type', m.greeting_type, 'greeting_text', m.greeting_text,
               'greeting_audio_url', m.greeting_audio_url, 'voice', m.voice, 'language', m.language,
               'timeout_seconds', m.timeout_seconds, 'max_retries', m.max_retries,
               'fallback_action', m.fallback_action, 'fallback_target', m.fallback_target,
               'disclosure_text', m.disclosure_text, 'invalid_prompt', m.invalid_prompt,
               'voicemail_prompt', m.voicemail_prompt, 'survey_disclaimer', m.survey_disclaimer))
           || jsonb_build_object('options', opts);
END
$$;
COMMENT ON FUNCTION wib.ivr_menu_json(uuid) IS
    'A menu of the organization in context as the JSON document wib.ivr_menu_create takes; NULL when not found.';

-- An option field given under its name or its alias (never both): the value
-- and the name it was given under, for error messages that name what the
-- caller wrote.
CREATE OR REPLACE FUNCTION wib.ivr_option_field(opt jsonb, name text, alias text, max_len integer, path text,
                                                OUT value text, OUT given_as text)
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF opt ? name AND opt ? alias THEN
        PERFORM wib.invalid_field(path || '.' || alias,
            format('%s is an alias of %s: give one of them, not both.', alias, name));
    END IF;
    given_as := CASE WHEN opt ? alias THEN alias ELSE name END;
    value := wib.field_text(opt, given_as, max_len);
END
$$;
COMMENT ON FUNCTION wib.ivr_option_field(jsonb, text, text, integer, text) IS
    'Internal: a menu option''s field given under its name or its alias (22023 when both), and the name it was given under.';

-- Validates a whole menu document field by field and writes it: a new menu
-- when menu_id is NULL, otherwise replaces that menu's fields and options.
CREATE OR REPLACE FUNCTION wib.ivr_menu_write(menu_id uuid, menu jsonb) RETURNS uuid
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
    opt_label  text;
    label_as   text;
    target_as  text;
    tts        text;
    opt_order  integer;
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
    r.timeout_seconds := wib.field_int(menu, 'timeout_seconds', 1, 120, 5);
    r.max_retries := wib.field_int(menu, 'max_retries', 0, 10, 3);
    r.fallback_action := coalesce(wib.field_text(menu, 'fallback_action', 20), 'hangup');
    IF r.fallback_action NOT IN ('voicemail', 'hangup', 'transfer', 'repeat') THEN
        PERFORM wib.invalid_field('fallback_action', 'fallback_action must be voicemail, hangup, transfer or repeat.');
    END IF;
    r.fallback_target := wib.field_text(menu, 'fallback_target', 20);
    IF r.fallback_action = 'transfer' AND NOT coalesce(wib.is_e164(r.fallback_target), false) THEN
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
        -- VALUES, not SELECT: on a Citus cluster an INSERT ... SELECT is copied
        -- through the coordinator and committed with two-phase commit.
        INSERT INTO wib.ivr_menus VALUES (r.*);
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
        PERFORM wib.check_fields(opt, ARRAY['digit', 'action_type', 'label', 'prompt', 'action_target', 'target',
                                            'tts_text', 'sort_order'], f);
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
        -- "prompt" and "target" are the aliases of 0.1.0's documents.
        SELECT o.value, o.given_as INTO opt_label, label_as FROM wib.ivr_option_field(opt, 'label', 'prompt', 500, f) o;
        PERFORM wib.ivr_compliance_check(opt_label, f || '.' || label_as);
        SELECT o.value, o.given_as INTO target, target_as FROM wib.ivr_option_field(opt, 'action_target', 'target', 2048, f) o;
        target_as := f || '.' || target_as;
        tts := wib.field_text(opt, 'tts_text', 1000);
        PERFORM wib.ivr_compliance_check(tts, f || '.tts_text');
        opt_order := wib.field_int(opt, 'sort_order', 0, 1000, i);
        target_id := NULL;
        IF action = 'transfer' AND NOT coalesce(wib.is_e164(target), false) THEN
            PERFORM wib.invalid_field(target_as, 'The target of a transfer must be an E.164 number such as +15551234567.');
        ELSIF action = 'survey' AND coalesce(target, '') !~ '^https?://[^[:space:]]+$' THEN
            PERFORM wib.invalid_field(target_as, 'The target of a survey must be the http or https URL of the survey''s TeXML.');
        ELSIF action = 'submenu' THEN
            IF coalesce(target, '') !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
               OR NOT EXISTS (SELECT 1 FROM wib.ivr_menus m WHERE m.organization_id = org AND m.id = target::uuid) THEN
                PERFORM wib.invalid_field(target_as, 'The target of a submenu must be the id of a menu of this organization.');
            END IF;
            target_id := target::uuid;
            target := NULL;
        ELSIF action IN ('voicemail', 'hangup', 'repeat') AND target IS NOT NULL THEN
            PERFORM wib.invalid_field(target_as, format('A %s option has no target.', action));
        END IF;
        has_survey := has_survey OR action = 'survey';
        INSERT INTO wib.ivr_menu_options (organization_id, menu_id, digit, action_type, label,
                                          action_target, target_menu_id, sort_order, tts_text)
        VALUES (org, id, digit, action, opt_label, target, target_id, opt_order, tts);
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

CREATE OR REPLACE FUNCTION wib.ivr_menu_create(menu jsonb) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
    'Creates an IVR menu from {"name", "greeting_type", "greeting_text", ..., "options": [{"digit", "action_type", "label", "action_target", "tts_text", "sort_order"}]} ("prompt" and "target" are aliases of label and action_target); validated field by field, compliance-checked, audited ivr:menu_created.';

CREATE OR REPLACE FUNCTION wib.ivr_menu_update(id uuid, menu jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    -- A value, not a call in the query: Citus locks rows (FOR UPDATE) only in
    -- a query it routes by the value of the distribution column.
    org     uuid := wib.require_org();
    old_doc jsonb;
BEGIN
    PERFORM wib.require_feature('inbound_ivr');
    IF id IS NULL THEN
        PERFORM wib.invalid_field('id', 'id must be the id of an IVR menu.');
    END IF;
    PERFORM 1 FROM wib.ivr_menus m WHERE m.organization_id = org AND m.id = ivr_menu_update.id FOR UPDATE;
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

-- Before a menu goes, however deleted: released numbers and the call log keep
-- no menu.  A trigger rather than the foreign keys' ON DELETE SET NULL of one
-- column, which a Citus cluster refuses (the keys include the distribution
-- column), and the call log has no key to its menus at all (10_schema.sql);
-- on a cluster it runs on the menu's shard and writes co-located rows.
CREATE OR REPLACE FUNCTION wib.ivr_menus_clear_references() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    UPDATE wib.inbound_numbers n SET menu_id = NULL
     WHERE n.organization_id = OLD.organization_id AND n.menu_id = OLD.id;
    UPDATE wib.inbound_call_log l SET menu_id = NULL
     WHERE l.organization_id = OLD.organization_id AND l.menu_id = OLD.id;
    UPDATE wib.inbound_call_log l SET current_menu_id = NULL
     WHERE l.organization_id = OLD.organization_id AND l.current_menu_id = OLD.id;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION wib.ivr_menus_clear_references() IS
    'Trigger: before an IVR menu is deleted, the numbers and call log entries that name it keep no menu (the foreign keys do not set it NULL, for Citus).';
CREATE OR REPLACE TRIGGER ivr_menus_clear_references BEFORE DELETE ON wib.ivr_menus
    FOR EACH ROW EXECUTE FUNCTION wib.ivr_menus_clear_references();

CREATE OR REPLACE FUNCTION wib.ivr_menu_delete(id uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
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
     WHERE n.organization_id = org AND n.menu_id = ivr_menu_delete.id AND wib.ivr_number_in_service(n.status)
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

-- Rendered menus are cached per backend; a committed change to a menu or an
-- option invalidates every cached document (src/ivr/menu_cache.c).
CREATE OR REPLACE FUNCTION wib.ivr_menu_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'wib_ivr_menu_changed';
COMMENT ON FUNCTION wib.ivr_menu_changed() IS
    'Trigger: invalidates the rendered-menu caches of all sessions when the transaction commits.';
CREATE OR REPLACE TRIGGER ivr_menus_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON wib.ivr_menus
    FOR EACH STATEMENT EXECUTE FUNCTION wib.ivr_menu_changed();
CREATE OR REPLACE TRIGGER ivr_menu_options_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON wib.ivr_menu_options
    FOR EACH STATEMENT EXECUTE FUNCTION wib.ivr_menu_changed();
