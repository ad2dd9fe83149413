-- Salesforce outbound messages: unsigned SOAP POSTs of a workflow or flow
-- action, one or more Notifications of changed Contacts or Leads.  Nothing
-- in them proves where they come from, so the URL they are posted to ends
-- with the integration's secret (wib.crm_webhook_secret); the secret finds
-- the integration, whose Salesforce org must be the message's
-- OrganizationId.  Only then is the XML read (no DTD, no entities); each
-- Notification is applied once (its Id), the record's fields merged over
-- the cached ones, never an older version over a newer one.  The answer the
-- platform's route sends back is the SOAP acknowledgement
-- (wib.crm_salesforce_webhook_ack), else Salesforce sends the message again
-- for up to 24 hours.

-- The fields of one sObject element of a Notification as a record of the
-- REST API: the children's local names and texts (xsi:nil ones null).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_soap_record(obj xml) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    RETURN (SELECT coalesce(jsonb_object_agg(f.name, CASE WHEN f.nil THEN NULL ELSE f.value END), '{}')
              FROM XMLTABLE(XMLNAMESPACES('http://www.w3.org/2001/XMLSchema-instance' AS xsi),
                            '/*/*' PASSING obj
                            COLUMNS name text PATH 'local-name()',
                                    value text PATH 'string(.)',
                                    nil boolean PATH 'boolean(@xsi:nil = "true")') f
             WHERE f.name ~ '^[A-Za-z][A-Za-z0-9_]{0,79}$');
COMMENT ON FUNCTION wib.crm_salesforce_soap_record(xml) IS
    'Internal: the fields of an sObject element of a Salesforce outbound message as a JSON record (local names, texts; xsi:nil is null).';

-- Salesforce's side of wib.crm_webhook: the secret of the URL path, then the
-- org, then the Notifications; returns how many were applied.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_webhook(method text, uri text, raw_body bytea, headers jsonb)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    path_secret text := substring(uri FROM '/([A-Za-z0-9_-]{43})/?(?:\?[^#]*)?$');
    s       wib.crm_webhook_secrets;
    i       wib.crm_integrations;
    doc     xml;
    body    text;
    org_id  text;
    n       record;
    rec     jsonb;
    obj     text;
    cached  jsonb;
    applied integer := 0;
    total   integer := 0;
    up      record;
BEGIN
    -- Nothing of the request is read before its secret holds.
    IF path_secret IS NOT NULL THEN
        SELECT x.* INTO s FROM wib.crm_webhook_secrets x
         WHERE x.secret_hash = sha256(convert_to(path_secret, 'UTF8'))
           AND (x.valid_until IS NULL OR x.valid_until > wib.clock_now())
         LIMIT 1;
    END IF;
    IF s.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB007',
            MESSAGE = 'Salesforce outbound message without a valid secret',
            DETAIL = 'The URL must end with the integration''s secret (wib.crm_webhook_secret).';
    END IF;
    SELECT * INTO i FROM wib.crm_integrations x
     WHERE x.organization_id = s.organization_id AND x.id = s.integration_id AND x.crm_type = 'salesforce'
       AND x.status IN ('connected', 'error');
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'WB507',
            MESSAGE = 'Salesforce outbound message for an integration that is not connected';
    END IF;
    IF method <> 'POST' THEN
        PERFORM wib.invalid_field('method', 'Salesforce outbound messages are POST requests.');
    END IF;

    -- SOAP without a DTD: no entity of any kind is expanded.
    BEGIN
        body := convert_from(raw_body, 'UTF8');
    EXCEPTION WHEN OTHERS THEN
        body := NULL;
    END;
    IF body IS NULL OR body ~* '<!(DOCTYPE|ENTITY)' THEN
        PERFORM wib.invalid_field('raw_body', 'A Salesforce outbound message is a SOAP envelope in UTF-8 without a DTD.');
    END IF;
    BEGIN
        doc := xmlparse(DOCUMENT body);
    EXCEPTION WHEN OTHERS THEN
        PERFORM wib.invalid_field('raw_body', 'A Salesforce outbound message is a well-formed SOAP envelope.');
    END;
    org_id := (xpath('/soapenv:Envelope/soapenv:Body/o:notifications/o:OrganizationId/text()', doc,
                     ARRAY[ARRAY['soapenv', 'http://schemas.xmlsoap.org/soap/envelope/'],
                           ARRAY['o', 'http://soap.sforce.com/2005/09/outbound']]))[1]::text;
    IF org_id IS NULL OR org_id !~ '^00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$' THEN
        PERFORM wib.invalid_field('raw_body', 'A Salesforce outbound message has soapenv:Body/notifications/OrganizationId.');
    END IF;
    IF left(org_id, 15) IS DISTINCT FROM left(i.external_account_id, 15) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB007',
            MESSAGE = 'Salesforce outbound message from another Salesforce org',
            DETAIL = format('The message names org %s; the integration reads org %s.', org_id, i.external_account_id);
    END IF;

    PERFORM wib.act_as(i.organization_id);
    FOR n IN SELECT x.id, x.type, x.sobject
               FROM XMLTABLE(XMLNAMESPACES('http://schemas.xmlsoap.org/soap/envelope/' AS soapenv,
                                           'http://soap.sforce.com/2005/09/outbound' AS o,
                                           'http://www.w3.org/2001/XMLSchema-instance' AS xsi),
                             '/soapenv:Envelope/soapenv:Body/o:notifications/o:Notification' PASSING doc
                             COLUMNS id text PATH 'o:Id',
                                     type text PATH 'o:sObject/@xsi:type',
                                     sobject xml PATH 'o:sObject') x
              LIMIT 100 LOOP
        total := total + 1;
        obj := substring(n.type FROM '^(?:[A-Za-z0-9_]+:)?([A-Za-z][A-Za-z0-9_]*)$');
        rec := wib.crm_salesforce_soap_record(n.sobject);
        IF n.id IS NULL OR n.id !~ '^04l[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$' OR rec ->> 'Id' !~ '^[0-9A-Za-z]{18}$' THEN
            PERFORM wib.invalid_field('raw_body', 'Each Notification of a Salesforce outbound message has an Id and an sObject with its Id.');
        END IF;
        -- Objects the integration does not cache are acknowledged and left alone.
        CONTINUE WHEN obj IS NULL OR NOT obj = ANY (wib.crm_salesforce_objects(i));
        INSERT INTO wib.crm_webhook_events (organization_id, crm_type, event_id, integration_id)
        VALUES (i.organization_id, 'salesforce', n.id, i.id)
        ON CONFLICT ON CONSTRAINT crm_webhook_events_pkey DO NOTHING;
        CONTINUE WHEN NOT FOUND;
        -- The message carries the fields its action chose: the cached others stay.
        SELECT c.raw_data INTO cached FROM wib.crm_contact_cache c
         WHERE c.organization_id = i.organization_id AND c.crm_type = 'salesforce' AND c.crm_contact_id = rec ->> 'Id';
        rec := coalesce(cached, '{}') || jsonb_strip_nulls(rec) || jsonb_build_object('attributes.type', obj);
        SELECT * INTO up FROM wib.crm_salesforce_upsert(i, obj, jsonb_build_array(rec),
            wib.crm_salesforce_object_mapping(wib.crm_contact_mapping(i.organization_id, 'salesforce'), obj), NULL);
        applied := applied + 1;
    END LOOP;
    IF total = 0 THEN
        PERFORM wib.invalid_field('raw_body', 'A Salesforce outbound message has 1 to 100 Notifications.');
    END IF;
    PERFORM wib.audit_for(i.organization_id, 'crm:webhook_received', 'crm_integration', i.id::text, NULL,
                          jsonb_build_object('crm_type', 'salesforce', 'events', total, 'applied', applied));
    RETURN applied;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_webhook(text, text, bytea, jsonb) IS
    'Internal: Salesforce''s side of wib.crm_webhook: the secret at the end of the URL path (WB007 when missing or unknown), the integration''s org as OrganizationId (WB007 otherwise), a SOAP envelope without DTD (22023), then each Notification of a cached object applied once; returns the Notifications applied.';

-- The answer Salesforce expects to an outbound message it may stop sending.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_webhook_ack(OUT status integer, OUT content_type text, OUT body text)
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT 200, 'text/xml; charset=utf-8',
           '<?xml version="1.0" encoding="UTF-8"?>' || chr(10)
           || '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
           || '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
           || '</soapenv:Body></soapenv:Envelope>'
$$;
COMMENT ON FUNCTION wib.crm_salesforce_webhook_ack() IS
    'Internal: the SOAP acknowledgement of a Salesforce outbound message (200, notificationsResponse with Ack true).';
