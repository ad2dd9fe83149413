-- Privileges of inbound IVR.  Applications read the IVR tables and change them
-- only through the API; the platform's Telnyx route calls wib.ivr_webhook.

GRANT EXECUTE ON FUNCTION
    wib.ivr_menu_json(uuid),
    wib.ivr_menu_create(jsonb), wib.ivr_menu_update(uuid, jsonb), wib.ivr_menu_delete(uuid),
    wib.ivr_number_add(text, text, text, uuid), wib.ivr_number_assign(uuid, uuid), wib.ivr_number_release(uuid),
    wib.ivr_number_search(text, text, integer), wib.ivr_number_order(text, text, uuid, text),
    wib.texml_render_menu(uuid, integer), wib.texml_action(text, text, text, text, text),
    wib.texml_announce(text, text, text, text),
    wib.texml_escape(bytea, boolean), wib.telnyx_verify(bytea, text, text, text, integer),
    wib.form_value(bytea, text), wib.ivr_webhook(text, bytea, text, text),
    wib.ivr_calls(timestamptz, timestamptz, integer, uuid)
TO wib_app;
GRANT SELECT ON wib.ivr_menus, wib.ivr_menu_options, wib.inbound_numbers, wib.inbound_call_log,
                wib.ivr_prohibited_phrases TO wib_app;
GRANT INSERT, UPDATE, DELETE ON wib.ivr_prohibited_phrases TO wib_admin;
-- Operators: the platform's Telnyx account (its key is never readable) and the
-- orders and releases in progress.
GRANT EXECUTE ON FUNCTION wib.telnyx_configure(jsonb) TO wib_admin;
GRANT SELECT (id, api_url, connection_id, updated_at) ON wib.telnyx_config TO wib_admin;
GRANT SELECT ON wib.telnyx_jobs TO wib_admin;
