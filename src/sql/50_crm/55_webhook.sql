-- Inbound CRM webhooks: the platform's route hands the raw request over; the
-- CRM's adapter verifies the signature on the raw bytes before anything is
-- parsed, finds the organizations from the CRM account of connected
-- integrations, and applies each event once.

CREATE OR REPLACE FUNCTION wib.crm_webhook(crm_type text, method text, uri text, raw_body bytea, headers jsonb)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    applied integer;
BEGIN
    PERFORM wib.crm_check_type(crm_type);
    IF method IS NULL OR method !~ '^[A-Z]{3,7}$' THEN
        PERFORM wib.invalid_field('method', 'method must be the request''s HTTP method, such as POST.');
    END IF;
    PERFORM wib.require_text(uri, 'uri', 8192);
    IF raw_body IS NULL OR length(raw_body) > 1048576 THEN
        PERFORM wib.invalid_field('raw_body', 'raw_body must be the request body as received (at most 1 MB).');
    END IF;
    IF headers IS NULL OR jsonb_typeof(headers) <> 'object' THEN
        PERFORM wib.invalid_field('headers', 'headers must be a JSON object of the request''s header names and values.');
    END IF;
    EXECUTE format('SELECT wib.%I($1, $2, $3, $4)', 'crm_' || crm_type || '_webhook')
       INTO applied USING method, uri, raw_body, headers;
    RETURN applied;
END
$$;
COMMENT ON FUNCTION wib.crm_webhook(text, text, text, bytea, jsonb) IS
    'The platform''s inbound CRM webhook route calls this with the raw request (method, full URI, body bytes, headers as a JSON object): the signature is verified on the raw bytes first (HubSpot v3: WB007 forged, WB506 outside the five-minute window), the organization comes from the CRM account of a connected integration (WB507 when none), each event is applied once (deduplicated on its id); returns the number of events applied. Nothing is written when the request is refused.';
