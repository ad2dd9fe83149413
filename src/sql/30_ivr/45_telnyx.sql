-- Numbers through Telnyx's API v2: the operator's account, the search a
-- settings page waits for, orders and releases carried out by the
-- deliverer's telnyx channel (src/ivr/telnyx.c), and the releases that
-- deleting an organization leaves behind.

-- One request to Telnyx's API in the caller's session (C): the number search.
CREATE OR REPLACE FUNCTION wib.telnyx_request(method text, path text, body text DEFAULT NULL,
                                              OUT status integer, OUT response text, OUT error text)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_telnyx_request';
COMMENT ON FUNCTION wib.telnyx_request(text, text, text) IS
    'Internal: one request to the Telnyx API (wib.telnyx_config''s URL and key) in the caller''s session, within wib.telnyx_search_timeout: HTTP status (0 when none), response body, error; WB307 when not configured.';

-- Raises WB307 unless the API key (and, to order, the connection) is configured.
CREATE OR REPLACE FUNCTION wib.telnyx_require_configured(to_order boolean) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    cfg wib.telnyx_config;
BEGIN
    SELECT * INTO cfg FROM wib.telnyx_config c WHERE c.id = 'telnyx';
    IF cfg.api_key IS NULL OR (to_order AND cfg.connection_id IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB307',
            MESSAGE = 'the Telnyx API is not configured',
            DETAIL = CASE WHEN cfg.api_key IS NULL THEN 'No API key is set.'
                          ELSE 'No TeXML connection_id is set for new numbers.' END,
            HINT = 'An operator sets it with wib.telnyx_configure.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.telnyx_require_configured(boolean) IS
    'Internal: raises WB307 unless the Telnyx API key (and, with to_order, the connection_id) is configured.';

-- "HTTP 422: Number not available: +1... is not available (10035)" from a
-- Telnyx answer ({"errors": [{"code", "title", "detail"}]}), or the
-- transport's error when no answer came.
CREATE OR REPLACE FUNCTION wib.telnyx_error_text(status integer, body jsonb, error text) RETURNS text
    LANGUAGE sql IMMUTABLE
    RETURN CASE
        WHEN coalesce(status, 0) = 0 THEN 'no answer from Telnyx: ' || coalesce(error, 'unknown error')
        ELSE left(format('HTTP %s%s', status,
                         (SELECT coalesce(': ' || string_agg(concat_ws(': ', e ->> 'title', e ->> 'detail')
                                                           || coalesce(' (' || (e ->> 'code') || ')', ''), '; '), '')
                            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(body -> 'errors') = 'array'
                                                           THEN body -> 'errors' ELSE '[]' END) e)), 500)
    END;
COMMENT ON FUNCTION wib.telnyx_error_text(integer, jsonb, text) IS
    'Internal: a readable error from a Telnyx answer (status and its errors[] title, detail, code) or from the transport.';

CREATE OR REPLACE FUNCTION wib.telnyx_configure(settings jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    key  text;
    url  text;
    conn text;
    cfg  wib.telnyx_config;
BEGIN
    IF settings IS NULL OR jsonb_typeof(settings) <> 'object' THEN
        PERFORM wib.invalid_field('settings', 'settings must be a JSON object of api_key, api_url and connection_id.');
    END IF;
    PERFORM wib.check_fields(settings, ARRAY['api_key', 'api_url', 'connection_id'], 'settings');
    key := wib.field_text(settings, 'api_key', 500);
    IF settings ? 'api_key' AND jsonb_typeof(settings -> 'api_key') <> 'null'
       AND coalesce(key, '') !~ '^[[:graph:]]{8,}$' THEN
        PERFORM wib.invalid_field('api_key', 'api_key must be the Telnyx API key: 8 to 500 printable characters without spaces.');
    END IF;
    url := rtrim(wib.field_text(settings, 'api_url', 2048), '/');
    IF settings ? 'api_url' AND coalesce(url, '') !~ '^https://[^[:space:]/?#@]+(/[^[:space:]?#]*[^[:space:]?#/])?$' THEN
        PERFORM wib.invalid_field('api_url', 'api_url must be an https URL such as https://api.telnyx.com, without query or credentials.');
    END IF;
    conn := wib.field_text(settings, 'connection_id', 100);
    IF settings ? 'connection_id' AND jsonb_typeof(settings -> 'connection_id') <> 'null'
       AND coalesce(conn, '') !~ '^[A-Za-z0-9_-]{1,100}$' THEN
        PERFORM wib.invalid_field('connection_id', 'connection_id must be the id of the account''s TeXML connection (letters, digits, _ and -).');
    END IF;

    INSERT INTO wib.telnyx_config AS c (id) VALUES ('telnyx') ON CONFLICT ON CONSTRAINT telnyx_config_pkey DO NOTHING;
    UPDATE wib.telnyx_config c
       SET api_key = CASE WHEN settings ? 'api_key' THEN wib.vault_seal(key, NULL, 'telnyx_config.api_key', c.id)
                          ELSE c.api_key END,
           api_url = CASE WHEN settings ? 'api_url' THEN url ELSE c.api_url END,
           connection_id = CASE WHEN settings ? 'connection_id' THEN conn ELSE c.connection_id END,
           updated_at = now()
     WHERE c.id = 'telnyx'
    RETURNING * INTO cfg;
    RETURN jsonb_build_object('api_url', cfg.api_url, 'connection_id', cfg.connection_id,
                              'api_key_set', cfg.api_key IS NOT NULL, 'updated_at', cfg.updated_at);
END
$$;
COMMENT ON FUNCTION wib.telnyx_configure(jsonb) IS
    'Operators: sets the platform''s Telnyx account from {"api_key", "api_url", "connection_id"} (keys given change, null clears; the API key is sealed and never readable back); returns the settings without the key.';

-- The sealed API key, for wib.vault_rotate.
INSERT INTO wib.vault_columns (context, table_name, column_name, organization_column, row_id_column, description) VALUES
    ('telnyx_config.api_key', 'telnyx_config', 'api_key', NULL, 'id',
     'The API key of the platform''s Telnyx account (numbers ordered and released).')
ON CONFLICT (context) DO UPDATE SET table_name = EXCLUDED.table_name, column_name = EXCLUDED.column_name,
    organization_column = EXCLUDED.organization_column, row_id_column = EXCLUDED.row_id_column,
    description = EXCLUDED.description;

-- The inbound numbers Telnyx offers, for a settings page.
CREATE OR REPLACE FUNCTION wib.ivr_number_search(number_type text, area_code text DEFAULT NULL, max_rows integer DEFAULT 10)
    RETURNS TABLE (phone_number text, monthly_cost_cents integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org   uuid := wib.require_org();
    path  text;
    r     record;
    doc   jsonb;
    offer jsonb;
    cost  numeric;
BEGIN
    PERFORM wib.require_feature('inbound_ivr');
    IF number_type IS NULL OR number_type NOT IN ('local', 'toll_free') THEN
        PERFORM wib.invalid_field('number_type', 'number_type must be local or toll_free.');
    END IF;
    IF number_type = 'toll_free' THEN
        PERFORM wib.require_feature('toll_free_numbers');
    END IF;
    IF area_code IS NOT NULL AND area_code !~ '^[2-9][0-9]{2}$' THEN
        PERFORM wib.invalid_field('area_code', 'area_code must be a 3-digit North American area code such as 415.');
    END IF;
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 50 THEN
        PERFORM wib.invalid_field('max_rows', 'max_rows must be between 1 and 50.');
    END IF;
    PERFORM wib.telnyx_require_configured(false);
    PERFORM wib.rate_limit_internal(org, 'telnyx:number_search', 30, interval '1 minute');

    path := '/v2/available_phone_numbers?filter%5Bcountry_code%5D=US&filter%5Bphone_number_type%5D=' || number_type
            || coalesce('&filter%5Bnational_destination_code%5D=' || area_code, '')
            || '&filter%5Blimit%5D=' || max_rows;
    SELECT * INTO r FROM wib.telnyx_request('GET', path);
    BEGIN
        doc := r.response::jsonb;
    EXCEPTION WHEN OTHERS THEN
        doc := NULL;
    END;
    IF r.status <> 200 OR jsonb_typeof(doc -> 'data') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB308',
            MESSAGE = 'the Telnyx number search failed',
            DETAIL = CASE WHEN r.status = 200 THEN 'Telnyx answered without a data array.'
                          ELSE wib.telnyx_error_text(r.status, doc, r.error) || '.' END,
            HINT = CASE WHEN r.status IN (401, 403) THEN 'The operator''s Telnyx API key was refused (wib.telnyx_configure).'
                        WHEN r.status = 0 OR r.status >= 500 THEN 'Try again in a moment.' END;
    END IF;
    FOR offer IN SELECT e FROM jsonb_array_elements(doc -> 'data') e LIMIT max_rows LOOP
        CONTINUE WHEN NOT coalesce(wib.is_e164(offer ->> 'phone_number'), false);
        phone_number := offer ->> 'phone_number';
        cost := CASE WHEN offer #>> '{cost_information,monthly_cost}' ~ '^[0-9]{1,7}(\.[0-9]+)?$'
                     THEN (offer #>> '{cost_information,monthly_cost}')::numeric END;
        monthly_cost_cents := round(cost * 100)::integer;
        INSERT INTO wib.ivr_number_offers AS o
               (organization_id, phone_number, number_type, monthly_cost_cents, currency, offered_at)
        VALUES (org, ivr_number_search.phone_number, ivr_number_search.number_type,
                ivr_number_search.monthly_cost_cents, left(offer #>> '{cost_information,currency}', 3), now())
        ON CONFLICT ON CONSTRAINT ivr_number_offers_pkey DO UPDATE
           SET number_type = EXCLUDED.number_type, monthly_cost_cents = EXCLUDED.monthly_cost_cents,
               currency = EXCLUDED.currency, offered_at = EXCLUDED.offered_at;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.ivr_number_search(text, text, integer) IS
    'The numbers Telnyx offers (local or toll_free, optionally in an area code; at most max_rows, 1-50) with their monthly cost in cents; plan-gated like wib.ivr_number_add; asks Telnyx in the caller''s session within wib.telnyx_search_timeout (WB308 when it fails); what it returns can be ordered for an hour.';

CREATE OR REPLACE FUNCTION wib.ivr_number_order(phone_number text, display_name text, menu_id uuid DEFAULT NULL,
                                                idempotency_key text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org    uuid := wib.require_org();
    replay jsonb;
    offer  wib.ivr_number_offers;
    nrow   wib.inbound_numbers;
BEGIN
    PERFORM wib.require_feature('inbound_ivr');
    IF NOT coalesce(wib.is_e164(phone_number), false) THEN
        PERFORM wib.invalid_field('phone_number', 'phone_number must be an E.164 number such as +15551234567.');
    END IF;
    IF display_name IS NOT NULL AND length(display_name) > 100 THEN
        PERFORM wib.invalid_field('display_name', 'display_name must be at most 100 characters.');
    END IF;
    IF menu_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM wib.ivr_menus m
                                            WHERE m.organization_id = org AND m.id = ivr_number_order.menu_id) THEN
        PERFORM wib.invalid_field('menu_id', 'menu_id must be the id of a menu of this organization.');
    END IF;
    IF idempotency_key IS NOT NULL THEN
        replay := wib.idempotency_begin(idempotency_key,
                      jsonb_build_object('op', 'ivr_number_order', 'phone_number', phone_number,
                                         'display_name', display_name, 'menu_id', menu_id));
        IF replay IS NOT NULL THEN
            RETURN (replay ->> 'id')::uuid;
        END IF;
    END IF;
    SELECT * INTO offer FROM wib.ivr_number_offers o
     WHERE o.organization_id = org AND o.phone_number = ivr_number_order.phone_number
       AND o.offered_at > now() - interval '1 hour';
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'WB309',
            MESSAGE = format('phone number %s was not offered to this organization', phone_number),
            HINT = 'Order a number wib.ivr_number_search returned within the last hour.';
    END IF;
    IF offer.number_type = 'toll_free' THEN
        PERFORM wib.require_feature('toll_free_numbers');
    END IF;
    PERFORM wib.telnyx_require_configured(true);
    -- The quota (numbers being ordered count) serializes the organization's orders.
    PERFORM wib.quota_take('inbound_numbers', org);
    IF EXISTS (SELECT 1 FROM wib.inbound_numbers n
                WHERE n.organization_id = org AND n.phone_number = ivr_number_order.phone_number
                  AND wib.ivr_number_in_service(n.status)) THEN
        RAISE EXCEPTION USING ERRCODE = 'WB303',
            MESSAGE = format('phone number %s is already provisioned', phone_number),
            DETAIL = 'The organization already has this number.';
    END IF;
    INSERT INTO wib.inbound_numbers (organization_id, phone_number, number_type, display_name, menu_id, status,
                                     monthly_cost_cents)
    VALUES (org, phone_number, offer.number_type, nullif(btrim(display_name), ''), menu_id, 'ordering',
            offer.monthly_cost_cents)
    RETURNING * INTO nrow;
    INSERT INTO wib.telnyx_jobs (kind, step, organization_ref, number_id, phone_number)
    VALUES ('order', 'order', org, nrow.id, nrow.phone_number);
    DELETE FROM wib.ivr_number_offers o WHERE o.organization_id = org AND o.phone_number = nrow.phone_number;
    PERFORM wib.audit('ivr:number_provisioned', 'inbound_number', nrow.id::text, NULL, to_jsonb(nrow));
    IF idempotency_key IS NOT NULL THEN
        PERFORM wib.idempotency_finish(idempotency_key, jsonb_build_object('id', nrow.id));
    END IF;
    PERFORM wib.wake('deliverer');
    RETURN nrow.id;
END
$$;
COMMENT ON FUNCTION wib.ivr_number_order(text, text, uuid, text) IS
    'Orders a number wib.ivr_number_search offered (within the hour) from Telnyx for the organization in context: plan and limit checked first (numbers being ordered count), the row created as ordering with its monthly cost, the order placed by the deliverer, active when Telnyx reports success (failed, with the reason, otherwise); idempotent with idempotency_key; audited ivr:number_provisioned.';

-- The deliverer's telnyx channel (src/ivr/telnyx.c) claims due jobs, sends one
-- request each, and records the answers.

-- Leases up to max_items due jobs and returns the request each sends.  A job
-- about to send an order is moved to lookup first: if the answer is never
-- recorded, the next attempt asks Telnyx whether the order exists (by its
-- customer_reference, the number's id) instead of ordering twice.
CREATE OR REPLACE FUNCTION wib.telnyx_claim(max_items integer, lease interval)
    RETURNS TABLE (id uuid, attempts integer, step text, method text, path text, body text)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
    WITH due AS (
        SELECT j.id, j.step FROM wib.telnyx_jobs j
         WHERE j.due_at <= now()
         ORDER BY j.due_at
         LIMIT max_items
           FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE wib.telnyx_jobs j
           SET attempts = j.attempts + 1, leased_until = now() + lease, due_at = now() + lease,
               step = CASE WHEN j.step = 'order' THEN 'lookup' ELSE j.step END
          FROM due
         WHERE j.id = due.id
        RETURNING j.id, j.attempts, due.step, j.number_id, j.phone_number, j.telnyx_order_id, j.telnyx_number_id)
    SELECT c.id, c.attempts, c.step,
           CASE c.step WHEN 'order' THEN 'POST' WHEN 'release' THEN 'DELETE' ELSE 'GET' END,
           CASE c.step
               WHEN 'order' THEN '/v2/number_orders'
               WHEN 'lookup' THEN '/v2/number_orders?filter%5Bcustomer_reference%5D=' || c.number_id
               WHEN 'poll' THEN '/v2/number_orders/' || c.telnyx_order_id
               WHEN 'resolve' THEN '/v2/phone_numbers?filter%5Bphone_number%5D=' || replace(c.phone_number, '+', '%2B')
               ELSE '/v2/phone_numbers/' || c.telnyx_number_id
           END,
           CASE WHEN c.step = 'order' THEN
               jsonb_build_object('phone_numbers', jsonb_build_array(jsonb_build_object('phone_number', c.phone_number)),
                                  'connection_id', (SELECT cfg.connection_id FROM wib.telnyx_config cfg WHERE cfg.id = 'telnyx'),
                                  'customer_reference', c.number_id)::text
           END
      FROM claimed c
$$;
COMMENT ON FUNCTION wib.telnyx_claim(integer, interval) IS
    'Internal (deliverer): leases due Telnyx jobs with FOR UPDATE SKIP LOCKED and returns the request each sends (order: POST /v2/number_orders; lookup, poll, resolve: GET; release: DELETE /v2/phone_numbers/{id}).';

-- The wait before the next try of a job that failed failures times in a row.
CREATE OR REPLACE FUNCTION wib.telnyx_backoff(failures integer, retry_after integer) RETURNS interval
    LANGUAGE sql STABLE
    RETURN greatest(least(current_setting('wib.telnyx_retry_delay')::interval * power(2, least(greatest(failures, 1) - 1, 20)),
                          current_setting('wib.telnyx_retry_max')::interval),
                    make_interval(secs => coalesce(retry_after, 0)));
COMMENT ON FUNCTION wib.telnyx_backoff(integer, integer) IS
    'Internal: wib.telnyx_retry_delay doubled per failure in a row, at most wib.telnyx_retry_max, at least a Retry-After.';

-- A job is finished: its number's row says what became of it.
CREATE OR REPLACE FUNCTION wib.telnyx_job_finish(job wib.telnyx_jobs, outcome text, reason text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    nrow wib.inbound_numbers;
BEGIN
    DELETE FROM wib.telnyx_jobs j WHERE j.id = job.id;
    IF outcome = 'failed' THEN
        UPDATE wib.inbound_numbers n SET status = 'failed', telnyx_error = reason
         WHERE n.organization_id = job.organization_ref AND n.id = job.number_id AND n.status = 'ordering'
        RETURNING * INTO nrow;
        IF FOUND THEN
            PERFORM wib.audit_for(job.organization_ref, 'ivr:number_order_failed', 'inbound_number', job.number_id::text,
                                  NULL, jsonb_build_object('phone_number', job.phone_number, 'reason', reason));
        END IF;
    ELSIF outcome = 'released' THEN
        UPDATE wib.inbound_numbers n SET status = 'released', released_at = now(), telnyx_error = NULL,
                                         telnyx_number_id = coalesce(job.telnyx_number_id, n.telnyx_number_id)
         WHERE n.organization_id = job.organization_ref AND n.id = job.number_id AND n.status = 'releasing';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.telnyx_job_finish(wib.telnyx_jobs, text, text) IS
    'Internal: ends a Telnyx job: failed (the ordering number fails with the reason, audited ivr:number_order_failed), released (a releasing number is released) or done.';

-- What an order's answer (POST, GET, or found by a lookup) means for its job.
CREATE OR REPLACE FUNCTION wib.telnyx_order_seen(job wib.telnyx_jobs, ord jsonb) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    oid_text   text := ord ->> 'id';
    ord_status text := ord ->> 'status';
BEGIN
    IF coalesce(oid_text, '') !~ '^[A-Za-z0-9_-]{1,100}$' THEN
        UPDATE wib.telnyx_jobs j
           SET failures = j.failures + 1, due_at = now() + wib.telnyx_backoff(j.failures + 1, NULL),
               last_error = 'Telnyx answered with an order without a usable id'
         WHERE j.id = job.id;
        RETURN;
    END IF;
    job.telnyx_order_id := oid_text;
    UPDATE wib.inbound_numbers n SET telnyx_order_id = oid_text
     WHERE n.organization_id = job.organization_ref AND n.id = job.number_id AND n.telnyx_order_id IS DISTINCT FROM oid_text;
    IF ord_status = 'success' THEN
        -- The number is the organization's: it answers calls now; its resource id comes next.
        UPDATE wib.inbound_numbers n SET status = 'active', telnyx_error = NULL
         WHERE n.organization_id = job.organization_ref AND n.id = job.number_id AND n.status = 'ordering';
        UPDATE wib.telnyx_jobs j SET telnyx_order_id = oid_text, step = 'resolve', failures = 0, due_at = now(),
                                     last_error = NULL
         WHERE j.id = job.id;
    ELSIF ord_status IN ('failure', 'failed', 'cancelled', 'canceled', 'deleted') THEN
        PERFORM wib.telnyx_job_finish(job, CASE job.kind WHEN 'order' THEN 'failed' ELSE 'released' END,
                                      format('Telnyx could not fulfil the order (%s)',
                                             coalesce((SELECT string_agg(DISTINCT p ->> 'status', ', ')
                                                         FROM jsonb_array_elements(CASE WHEN jsonb_typeof(ord -> 'phone_numbers') = 'array'
                                                                                        THEN ord -> 'phone_numbers' ELSE '[]' END) p),
                                                      ord_status)));
    ELSE
        -- Pending (or a status not known yet): look again after the poll interval.
        UPDATE wib.telnyx_jobs j
           SET telnyx_order_id = oid_text, step = 'poll', failures = 0, last_error = NULL,
               due_at = now() + current_setting('wib.telnyx_poll_interval')::interval
         WHERE j.id = job.id;
    END IF;
END
$$;
COMMENT ON FUNCTION wib.telnyx_order_seen(wib.telnyx_jobs, jsonb) IS
    'Internal: advances a Telnyx job by what its order says: success (the number is active; its resource id is looked up next), failure (the number fails, or a release has nothing to release), pending (polled again).';

-- Records the answers of one batch of requests (same order as claimed).
CREATE OR REPLACE FUNCTION wib.telnyx_record(ids uuid[], attempts integer[], steps text[], http_status integer[],
                                             bodies text[], errors text[], retry_after integer[]) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    j         wib.telnyx_jobs;
    n         integer := 0;
    st        integer;
    doc       jsonb;
    err       text;
    found_doc jsonb;
    ok        boolean;
    refused   boolean;
BEGIN
    FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
        SELECT * INTO j FROM wib.telnyx_jobs x WHERE x.id = ids[i] AND x.attempts = telnyx_record.attempts[i] FOR UPDATE;
        CONTINUE WHEN NOT FOUND;    -- finished, released or claimed again meanwhile
        n := n + 1;
      -- One job's trouble (an answer that breaks a constraint) is that job's
      -- error, retried later; the batch's other answers are recorded.
      BEGIN
        st := coalesce(http_status[i], 0);
        BEGIN
            doc := bodies[i]::jsonb;
        EXCEPTION WHEN OTHERS THEN
            doc := NULL;
        END;
        err := wib.telnyx_error_text(st, doc, errors[i]);
        ok := st BETWEEN 200 AND 299;
        -- A definite no (the request was understood and refused); 408 and 429 are "later".
        refused := st BETWEEN 400 AND 499 AND st NOT IN (408, 429);
        UPDATE wib.telnyx_jobs x SET leased_until = NULL, last_status = nullif(st, 0) WHERE x.id = j.id;

        IF steps[i] IN ('order', 'poll') AND ok AND jsonb_typeof(doc -> 'data') = 'object' THEN
            PERFORM wib.telnyx_order_seen(j, doc -> 'data');
        ELSIF steps[i] = 'lookup' AND ok AND jsonb_typeof(doc -> 'data') = 'array' THEN
            found_doc := doc -> 'data' -> 0;
            IF found_doc IS NOT NULL THEN
                PERFORM wib.telnyx_order_seen(j, found_doc);
            ELSIF j.kind = 'order' THEN
                -- No order was placed: place it now.
                UPDATE wib.telnyx_jobs x SET step = 'order', failures = 0, due_at = now(), last_error = NULL
                 WHERE x.id = j.id;
            ELSE
                PERFORM wib.telnyx_job_finish(j, 'released');   -- nothing was ever ordered
            END IF;
        ELSIF steps[i] = 'resolve' AND ok AND jsonb_typeof(doc -> 'data') = 'array' THEN
            SELECT e INTO found_doc FROM jsonb_array_elements(doc -> 'data') e
             WHERE e ->> 'phone_number' = j.phone_number AND e ->> 'id' ~ '^[A-Za-z0-9_-]{1,100}$' LIMIT 1;
            IF found_doc IS NOT NULL THEN
                UPDATE wib.inbound_numbers x SET telnyx_number_id = found_doc ->> 'id'
                 WHERE x.organization_id = j.organization_ref AND x.id = j.number_id;
                IF j.kind = 'order' THEN
                    PERFORM wib.telnyx_job_finish(j, 'done');
                ELSE
                    UPDATE wib.telnyx_jobs x SET telnyx_number_id = found_doc ->> 'id', step = 'release',
                                                 failures = 0, due_at = now(), last_error = NULL
                     WHERE x.id = j.id;
                END IF;
            ELSIF j.kind = 'release' THEN
                PERFORM wib.telnyx_job_finish(j, 'released');   -- not on the account: nothing to release
            ELSE
                UPDATE wib.telnyx_jobs x
                   SET failures = x.failures + 1, due_at = now() + wib.telnyx_backoff(x.failures + 1, NULL),
                       last_error = 'the ordered number is not on the account yet'
                 WHERE x.id = j.id;
            END IF;
        ELSIF steps[i] = 'release' AND (ok OR st = 404) THEN
            PERFORM wib.telnyx_job_finish(j, 'released');
        ELSIF steps[i] = 'poll' AND st = 404 THEN
            PERFORM wib.telnyx_job_finish(j, CASE j.kind WHEN 'order' THEN 'failed' ELSE 'released' END,
                                          'Telnyx does not know the order any more (HTTP 404)');
        ELSIF refused AND j.kind = 'order' AND steps[i] = 'order' THEN
            -- Telnyx said no to the order itself (a number taken, a bad key): no
            -- order exists, a clear failure.
            PERFORM wib.telnyx_job_finish(j, 'failed', err);
        ELSE
            -- 5xx, 408, 429, no answer: again later.  So is any refusal once an
            -- order may exist (a lookup, a poll, a release): giving up could leave
            -- a number billed that nobody knows of, so a release in particular
            -- is retried until Telnyx confirms it.
            UPDATE wib.telnyx_jobs x
               SET failures = x.failures + 1, due_at = now() + wib.telnyx_backoff(x.failures + 1, retry_after[i]),
                   last_error = err
             WHERE x.id = j.id;
            IF j.kind = 'release' THEN
                UPDATE wib.inbound_numbers x SET telnyx_error = err
                 WHERE x.organization_id = j.organization_ref AND x.id = j.number_id AND x.status = 'releasing';
            END IF;
        END IF;
      EXCEPTION WHEN OTHERS THEN
        UPDATE wib.telnyx_jobs x
           SET leased_until = NULL, failures = x.failures + 1,
               due_at = now() + wib.telnyx_backoff(x.failures + 1, NULL),
               last_error = left('recording the answer failed: ' || SQLERRM, 500)
         WHERE x.id = j.id;
      END;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.telnyx_record(uuid[], integer[], text[], integer[], text[], text[], integer[]) IS
    'Internal (deliverer): records the answers of a batch of Telnyx requests and advances each job: orders to active, or failed when Telnyx refuses the order (4xx); releases to released (2xx or 404); anything else is retried with backoff, releases until Telnyx confirms.';

-- Makes the jobs leased by a deliverer that died due again (run when the worker starts).
CREATE OR REPLACE FUNCTION wib.telnyx_release_leases() RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    WITH stale AS (
        SELECT j.id FROM wib.telnyx_jobs j WHERE j.leased_until > now() FOR UPDATE SKIP LOCKED),
    released AS (
        UPDATE wib.telnyx_jobs j SET due_at = now(), leased_until = NULL FROM stale WHERE j.id = stale.id RETURNING 1)
    SELECT count(*)::integer FROM released;
END;
COMMENT ON FUNCTION wib.telnyx_release_leases() IS
    'Internal (deliverer): makes the Telnyx jobs leased before a restart due at once.';

-- Deleting an organization releases its numbers at Telnyx: before the rows
-- go (ON DELETE CASCADE), what Telnyx holds for it becomes release jobs,
-- which do not belong to the organization and so outlive it.
CREATE OR REPLACE FUNCTION wib.telnyx_release_organization() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    -- On a Citus cluster this runs on the organization's shard, where the
    -- coordinator's queue (wib.telnyx_jobs stays local to it) is not: a
    -- release queued here would never be sent.  Refused while Telnyx holds or
    -- is ordering a number of the organization (docs/scale-out.md).
    IF TG_TABLE_NAME <> 'organizations' THEN
        IF EXISTS (SELECT 1 FROM wib.inbound_numbers n
                    WHERE n.organization_id = OLD.id
                      AND (n.status = 'ordering'
                           OR (n.status IN ('active', 'suspended')
                               AND (n.telnyx_number_id IS NOT NULL OR n.telnyx_order_id IS NOT NULL)))) THEN
            RAISE EXCEPTION USING ERRCODE = '55000',
                MESSAGE = format('organization %s still has numbers at Telnyx', OLD.id),
                DETAIL = 'On a Citus cluster the release of a deleted organization''s numbers cannot be queued from its shard.',
                HINT = 'Release its numbers first (wib.ivr_number_release), then delete the organization.';
        END IF;
        RETURN OLD;
    END IF;
    -- Orders not sent yet are dropped; the others are released once known.
    DELETE FROM wib.telnyx_jobs j WHERE j.organization_ref = OLD.id AND j.step = 'order';
    UPDATE wib.telnyx_jobs j
       SET kind = 'release', due_at = CASE WHEN j.leased_until > now() THEN j.due_at ELSE now() END
     WHERE j.organization_ref = OLD.id AND j.kind = 'order';
    INSERT INTO wib.telnyx_jobs (kind, step, organization_ref, number_id, phone_number, telnyx_order_id, telnyx_number_id)
    SELECT 'release', CASE WHEN n.telnyx_number_id IS NOT NULL THEN 'release' ELSE 'poll' END,
           n.organization_id, n.id, n.phone_number, n.telnyx_order_id, n.telnyx_number_id
      FROM wib.inbound_numbers n
     WHERE n.organization_id = OLD.id AND n.status IN ('active', 'suspended')
       AND (n.telnyx_number_id IS NOT NULL OR n.telnyx_order_id IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM wib.telnyx_jobs j WHERE j.number_id = n.id);
    IF EXISTS (SELECT 1 FROM wib.telnyx_jobs j WHERE j.organization_ref = OLD.id) THEN
        PERFORM wib.wake('deliverer');
    END IF;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION wib.telnyx_release_organization() IS
    'Trigger: before an organization is deleted, its numbers held at Telnyx (and orders placed) become release jobs that outlive it; on a Citus shard, refuses (55000) while such numbers exist.';
CREATE OR REPLACE TRIGGER organizations_telnyx_release BEFORE DELETE ON wib.organizations
    FOR EACH ROW EXECUTE FUNCTION wib.telnyx_release_organization();

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('ivr_number_offers',
     $q$WITH gone AS (DELETE FROM wib.ivr_number_offers WHERE offered_at < now() - interval '1 day' RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Numbers offered by a search more than a day ago (an offer can be ordered for an hour).')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;
