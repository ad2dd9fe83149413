-- An organization's settings of its CRM integration (crm_integrations.config),
-- each checked by the CRM's adapter (wib.crm_<crm>_config_check); a CRM
-- without one takes none.

CREATE OR REPLACE FUNCTION wib.crm_config_set(crm_type text, config jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org     uuid := wib.require_org();
    i       wib.crm_integrations;
    checked jsonb := '{}';
BEGIN
    PERFORM wib.crm_require_feature(crm_type);
    IF config IS NULL OR jsonb_typeof(config) <> 'object' THEN
        PERFORM wib.invalid_field('config', 'config must be a JSON object of the CRM integration''s settings.');
    END IF;
    IF to_regprocedure(format('wib.crm_%s_config_check(jsonb)', crm_type)) IS NOT NULL THEN
        EXECUTE format('SELECT wib.%I($1)', 'crm_' || crm_type || '_config_check') INTO checked USING config;
    ELSE
        PERFORM wib.check_fields(config, '{}', 'config');
    END IF;
    SELECT * INTO i FROM wib.crm_integrations x
     WHERE x.organization_id = org AND x.crm_type = crm_config_set.crm_type FOR UPDATE;
    IF NOT FOUND OR i.status = 'disconnected' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB505',
            MESSAGE = format('CRM "%s" is not connected', crm_type),
            HINT = 'Connect it with wib.crm_connect first.';
    END IF;
    -- Changed settings take effect with the next run, due now.
    UPDATE wib.crm_integrations x
       SET config = checked,
           next_sync_at = CASE WHEN x.status = 'connected' AND x.config IS DISTINCT FROM checked
                               THEN least(x.next_sync_at, wib.clock_now()) ELSE x.next_sync_at END
     WHERE x.organization_id = org AND x.id = i.id;
    PERFORM wib.audit('crm:config_updated', 'crm_integration', i.id::text,
                      jsonb_build_object('crm_type', i.crm_type, 'config', i.config),
                      jsonb_build_object('crm_type', i.crm_type, 'config', checked));
    PERFORM wib.wake('crm_sync');
    RETURN checked;
END
$$;
COMMENT ON FUNCTION wib.crm_config_set(text, jsonb) IS
    'Sets the organization''s settings of a CRM integration (plan-gated), checked field by field by the CRM''s adapter (Salesforce: {"objects": ["Contact", "Lead"], "api_share": 1-100}; HubSpot takes none: {}); returns them. Changed settings take effect with a run due at once. WB505 without an integration. Audited crm:config_updated.';
