-- Calls logged in Salesforce as Tasks (TaskSubtype Call), with the mapped
-- fields, associated with the Contact or Lead of the caller's number
-- (WhoId).  wib's call id goes in CallObject (the field Salesforce keeps for a
-- telephony system's call id), so a Task whose creation was not confirmed is
-- found with SOQL before it is ever created again.

-- The Task of a call: the mapped fields in Salesforce's spellings, and what
-- a logged call always is (Completed, of subtype Call, on the day it started).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_task(org uuid, call_id uuid, who text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    fields  jsonb := wib.crm_call_fields(org, call_id);
    country text := wib.org_default_country(org);
    props   jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(m.crm_field, v.value), '{}'::jsonb) INTO props
      FROM wib.crm_mappings_effective(org, 'salesforce') m,
           LATERAL (SELECT wib.crm_transform(fields ->> m.wib_field, m.transform, country) AS value) v
     WHERE m.wib_entity = 'call' AND v.value IS NOT NULL;
    -- CallType is a restricted picklist (Inbound, Outbound, Internal); the duration a number.
    IF lower(props ->> 'CallType') IN ('inbound', 'outbound', 'internal') THEN
        props := props || jsonb_build_object('CallType', initcap(props ->> 'CallType'));
    END IF;
    IF props ->> 'CallDurationInSeconds' ~ '^[0-9]{1,9}$' THEN
        props := props || jsonb_build_object('CallDurationInSeconds', (props ->> 'CallDurationInSeconds')::integer);
    END IF;
    IF props ? 'Subject' THEN
        props := props || jsonb_build_object('Subject', left(props ->> 'Subject', 255));
    END IF;
    IF props ? 'Description' THEN
        props := props || jsonb_build_object('Description', left(props ->> 'Description', 32000));
    END IF;
    IF props ? 'CallDisposition' THEN
        props := props || jsonb_build_object('CallDisposition', left(props ->> 'CallDisposition', 255));
    END IF;
    props := jsonb_build_object('Subject', left(coalesce(fields ->> 'title', 'Call'), 255)) || props
             || jsonb_build_object('TaskSubtype', 'Call', 'Status', 'Completed', 'CallObject', call_id::text,
                                   'ActivityDate', to_char(coalesce((fields ->> 'started_at')::timestamptz,
                                                                    (fields ->> 'ended_at')::timestamptz, now())
                                                           AT TIME ZONE 'UTC', 'YYYY-MM-DD'));
    IF who IS NOT NULL THEN
        props := props || jsonb_build_object('WhoId', who);
    END IF;
    RETURN props;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_task(uuid, uuid, text) IS
    'Internal: the Salesforce Task of a call: mapped fields (CallType as its picklist value, CallDurationInSeconds a number, Subject and Description cut to their lengths), TaskSubtype Call, Status Completed, ActivityDate the day it started (UTC), CallObject wib''s call id, WhoId the matched Contact or Lead.';

-- What the answer to creating a Task means for the push.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_push_apply(i wib.crm_integrations, ctx jsonb, status integer, body jsonb,
                                                         message text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org  uuid := i.organization_id;
    push uuid := (ctx ->> 'push_id')::uuid;
    who  text := ctx ->> 'contact_id';
BEGIN
    IF status IN (200, 201) AND body ->> 'id' ~ '^00T[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$' THEN
        RETURN wib.crm_push_result(org, push, 'pushed', body ->> 'id', who);
    END IF;
    IF status = 401 THEN
        -- Refused on arrival: nothing was created; sent again after the refresh.
        RETURN wib.crm_push_result(org, push, 'retry', NULL, NULL, message);
    END IF;
    -- The cached Contact or Lead of the number is gone from Salesforce: it leaves the cache, the call goes again.
    IF status = 400 AND who IS NOT NULL AND jsonb_typeof(body) = 'array'
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(body) e
                        WHERE e ->> 'errorCode' NOT IN ('ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY')
                           OR e -> 'fields' IS DISTINCT FROM '["WhoId"]'::jsonb) THEN
        PERFORM wib.crm_salesforce_remove(i, ARRAY[who]);
        RETURN wib.crm_push_result(org, push, 'retry', NULL, NULL, message || ' (the record of the number is gone from Salesforce)');
    END IF;
    IF status BETWEEN 400 AND 499 THEN
        RETURN wib.crm_push_result(org, push, 'failed', NULL, who, message);
    END IF;
    -- No clear answer: the Task may exist; it is looked for before any resend.
    RETURN wib.crm_push_result(org, push, 'unknown', NULL, NULL, message);
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_push_apply(wib.crm_integrations, jsonb, integer, jsonb, text) IS
    'Internal: records the answer to creating a call''s Task: pushed (its id), sent again after a 401 or when the WhoId record is gone (removed from the cache), failed on other refusals (Salesforce''s errors kept), unknown without a clear answer.';

-- What the answer to looking for a call's Task by CallObject means for the push.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_find_apply(i wib.crm_integrations, ctx jsonb, status integer, body jsonb,
                                                         message text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    push uuid := (ctx ->> 'push_id')::uuid;
BEGIN
    IF status = 200 AND jsonb_typeof(body -> 'records') = 'array' THEN
        IF body #>> '{records,0,Id}' ~ '^00T[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$' THEN
            RETURN wib.crm_push_result(i.organization_id, push, 'pushed', body #>> '{records,0,Id}', body #>> '{records,0,WhoId}');
        END IF;
        RETURN wib.crm_push_result(i.organization_id, push, 'retry', NULL, NULL, 'not found in Salesforce: created again');
    END IF;
    IF status = 401 THEN
        RETURN '{}';
    END IF;
    RETURN wib.crm_push_result(i.organization_id, push, 'unknown', NULL, NULL, 'could not be looked for: ' || message);
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_find_apply(wib.crm_integrations, jsonb, integer, jsonb, text) IS
    'Internal: records the answer to looking for a call''s Task by CallObject: found (pushed, with its id), not found (created now), or still unknown.';
