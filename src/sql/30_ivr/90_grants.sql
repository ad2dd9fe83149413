-- Privileges of inbound IVR.

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
