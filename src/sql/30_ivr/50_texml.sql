-- TeXML rendering (C, src/ivr/flow.c and texml.c).

-- TeXML rendering (C, src/ivr/flow.c and texml.c).
CREATE OR REPLACE FUNCTION wib.texml_render_menu(menu_id uuid, attempt integer DEFAULT 0) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_texml_render_menu';
COMMENT ON FUNCTION wib.texml_render_menu(uuid, integer) IS
    'The TeXML document of a menu of the organization in context (disclosure first on attempt 0; invalid-choice prompt on a retry), for previews.';

CREATE OR REPLACE FUNCTION wib.ivr_menu_texml(menu_id uuid, attempt integer, disclosure boolean) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_texml_render_menu';
COMMENT ON FUNCTION wib.ivr_menu_texml(uuid, integer, boolean) IS
    'Internal: the menu document as the call flow needs it (disclosure only at the start of a call).';

CREATE OR REPLACE FUNCTION wib.texml_action(kind text, say text, target text, voice text DEFAULT 'woman',
                                 language text DEFAULT 'en-US') RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_texml_action';
COMMENT ON FUNCTION wib.texml_action(text, text, text, text, text) IS
    'The TeXML document of a menu action: transfer, voicemail, survey, hangup, reject (target busy|rejected) or empty.';

CREATE OR REPLACE FUNCTION wib.texml_escape(raw bytea, in_attribute boolean DEFAULT false) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_texml_escape';
COMMENT ON FUNCTION wib.texml_escape(bytea, boolean) IS
    'Raw bytes as the TeXML writer puts them in a document: escaped, invalid UTF-8 as U+FFFD, forbidden controls as spaces.';

CREATE OR REPLACE FUNCTION wib.texml_announce(doc text, say text, voice text DEFAULT 'woman',
                                   language text DEFAULT 'en-US') RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_texml_announce';
COMMENT ON FUNCTION wib.texml_announce(text, text, text, text) IS
    'A TeXML document of wib''s writer with <Say>say</Say> as its first verb (an option''s tts_text before its action); doc unchanged when say is empty.';
