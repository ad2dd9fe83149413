-- HubSpot contacts into the cache.
--
-- A first sync lists every contact (GET /crm/v3/objects/contacts, "after"
-- paging by id).  Later syncs are deltas through search, sorted by
-- lastmodifieddate, with a composite cursor (lastmodifieddate, hs_object_id):
--   search: lastmodifieddate >= ts, ascending.  A full page covers every
--           contact modified in [ts, m) where m is its last row's time; the
--           contacts at m may continue on the next page, so the next query
--           starts at >= m again (re-reading them; the cache dedupes).  When a
--           whole page shares one time (a bulk update stamps thousands alike)
--           the query cannot move on, and
--   ties:   lastmodifieddate = ts and hs_object_id > id, sorted by id, pages
--           through that one time by id; then search goes on from > ts.
-- No query ever pages with "after": each page is a fresh query from the
-- cursor, so the 10,000-result cap of search is never reached and contacts
-- modified while a query is paged cannot shift others out of it.  Each run
-- starts wib.crm_reread_window behind the last high-water mark, because
-- search lags behind writes.  Archived contacts are not in search: they are
-- listed (archived=true) on manual runs and every wib.crm_archived_scan_interval,
-- and removed from the cache.  The cursor is written in the transaction that
-- writes the rows it covers.

-- The mappings of contact fields in effect: {"<wib_field>": {"f": "<property>", "t": "<transform>"}}.
CREATE OR REPLACE FUNCTION wib.crm_contact_mapping(org uuid, crm_type text) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    SELECT coalesce(jsonb_object_agg(m.wib_field, jsonb_build_object('f', m.crm_field, 't', m.transform)), '{}'::jsonb)
      FROM wib.crm_mappings_effective(crm_contact_mapping.org, crm_contact_mapping.crm_type) m
     WHERE m.wib_entity = 'contact';
END;
COMMENT ON FUNCTION wib.crm_contact_mapping(uuid, text) IS
    'Internal: the contact field mappings in effect for an organization and CRM, keyed by wib field.';

-- The cached fields of a contact from its CRM properties.
CREATE OR REPLACE FUNCTION wib.crm_contact_values(props jsonb, m jsonb, country text,
    OUT phone_number text, OUT mobile_number text, OUT email text, OUT display_name text, OUT company_name text,
    OUT phone_e164 text, OUT mobile_e164 text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    first_name text;
    last_name  text;
BEGIN
    phone_number := left(wib.crm_transform(props ->> (m #>> '{phone_number,f}'), m #>> '{phone_number,t}', country), 100);
    mobile_number := left(wib.crm_transform(props ->> (m #>> '{mobile_number,f}'), m #>> '{mobile_number,t}', country), 100);
    email := left(wib.crm_transform(props ->> (m #>> '{email,f}'), m #>> '{email,t}', country), 320);
    company_name := left(wib.crm_transform(props ->> (m #>> '{company_name,f}'), m #>> '{company_name,t}', country), 300);
    first_name := wib.crm_transform(props ->> (m #>> '{first_name,f}'), m #>> '{first_name,t}', country);
    last_name := wib.crm_transform(props ->> (m #>> '{last_name,f}'), m #>> '{last_name,t}', country);
    display_name := left(coalesce(nullif(btrim(wib.crm_transform(props ->> (m #>> '{display_name,f}'),
                                                                  m #>> '{display_name,t}', country)), ''),
                                  nullif(btrim(concat_ws(' ', btrim(first_name), btrim(last_name))), ''),
                                  email), 300);
    phone_e164 := wib.phone_e164(left(phone_number, 64), country);
    mobile_e164 := wib.phone_e164(left(mobile_number, 64), country);
END
$$;
COMMENT ON FUNCTION wib.crm_contact_values(jsonb, jsonb, text) IS
    'Internal: a contact''s cached fields from its CRM properties and the mappings (display_name from first and last name when not mapped), with its numbers in E.164 read in country.';

-- The properties a contact sync asks HubSpot for: the mapped ones and the cursor's.
CREATE OR REPLACE FUNCTION wib.crm_hubspot_contact_properties(org uuid) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    SELECT ARRAY(SELECT DISTINCT p FROM (
               SELECT m.crm_field AS p FROM wib.crm_mappings_effective(crm_hubspot_contact_properties.org, 'hubspot') m
                WHERE m.wib_entity = 'contact'
               UNION ALL SELECT unnest(ARRAY['hs_object_id', 'lastmodifieddate', 'createdate'])) x
           ORDER BY p);
END;
COMMENT ON FUNCTION wib.crm_hubspot_contact_properties(uuid) IS
    'Internal: the contact properties a HubSpot sync reads (the mapped ones, hs_object_id, lastmodifieddate, createdate).';

-- Writes a page of contacts (HubSpot's results array) into the cache with the
-- contact mappings m (see wib.crm_contact_mapping); a row changes only for a
-- version at least as new as the cached one, and counts only when something
-- changed.  One statement per page: this is the sync's inner loop.
CREATE OR REPLACE FUNCTION wib.crm_hubspot_upsert(i wib.crm_integrations, results jsonb, m jsonb,
    OUT changed integer, OUT inserted integer, OUT failed integer)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    org     uuid := i.organization_id;
    country text := wib.org_default_country(org);
    app     text := (SELECT substring(p.auth_url FROM '^https?://[^/]+') FROM wib.crm_providers p WHERE p.crm_type = 'hubspot');
    f_phone text := m #>> '{phone_number,f}';
    t_phone text := m #>> '{phone_number,t}';
    f_mob   text := m #>> '{mobile_number,f}';
    t_mob   text := m #>> '{mobile_number,t}';
    f_email text := m #>> '{email,f}';
    t_email text := m #>> '{email,t}';
    f_first text := m #>> '{first_name,f}';
    t_first text := m #>> '{first_name,t}';
    f_last  text := m #>> '{last_name,f}';
    t_last  text := m #>> '{last_name,t}';
    f_disp  text := m #>> '{display_name,f}';
    t_disp  text := m #>> '{display_name,t}';
    f_comp  text := m #>> '{company_name,f}';
    t_comp  text := m #>> '{company_name,t}';
BEGIN
    SELECT count(*) FILTER (WHERE NOT (r ->> 'id' ~ '^[0-9]{1,20}$' AND jsonb_typeof(r -> 'properties') = 'object'))
      INTO failed FROM jsonb_array_elements(results) r;
    WITH src AS (
        SELECT DISTINCT ON (r ->> 'id') r ->> 'id' AS cid, r -> 'properties' AS p,
               coalesce(wib.crm_time(r #>> '{properties,lastmodifieddate}'), wib.crm_time(r ->> 'updatedAt')) AS modified
          FROM jsonb_array_elements(results) r
         WHERE r ->> 'id' ~ '^[0-9]{1,20}$' AND jsonb_typeof(r -> 'properties') = 'object'
         ORDER BY r ->> 'id', 3 DESC NULLS LAST),
    raw AS (
        SELECT s.cid, s.p, s.modified,
               left(CASE WHEN t_phone IS NULL THEN s.p ->> f_phone ELSE wib.crm_transform(s.p ->> f_phone, t_phone, country) END, 100) AS phone,
               left(CASE WHEN t_mob IS NULL THEN s.p ->> f_mob ELSE wib.crm_transform(s.p ->> f_mob, t_mob, country) END, 100) AS mobile,
               left(CASE WHEN t_email IS NULL THEN s.p ->> f_email ELSE wib.crm_transform(s.p ->> f_email, t_email, country) END, 320) AS email,
               CASE WHEN t_first IS NULL THEN s.p ->> f_first ELSE wib.crm_transform(s.p ->> f_first, t_first, country) END AS first,
               CASE WHEN t_last IS NULL THEN s.p ->> f_last ELSE wib.crm_transform(s.p ->> f_last, t_last, country) END AS last,
               CASE WHEN t_disp IS NULL THEN s.p ->> f_disp ELSE wib.crm_transform(s.p ->> f_disp, t_disp, country) END AS disp,
               left(CASE WHEN t_comp IS NULL THEN s.p ->> f_comp ELSE wib.crm_transform(s.p ->> f_comp, t_comp, country) END, 300) AS company
          FROM src s),
    up AS (
        INSERT INTO wib.crm_contact_cache AS c
               (organization_id, integration_id, crm_type, crm_contact_id, phone_number, email, display_name,
                company_name, crm_url, raw_data, synced_at, phone_e164, mobile_number, mobile_e164, crm_modified_at)
        SELECT org, i.id, 'hubspot', x.cid, x.phone, x.email,
               left(coalesce(nullif(btrim(x.disp), ''), nullif(btrim(concat_ws(' ', btrim(x.first), btrim(x.last))), ''), x.email), 300),
               x.company, app || '/contacts/' || i.external_account_id || '/record/0-1/' || x.cid,
               jsonb_strip_nulls(x.p), wib.clock_now(), wib.phone_e164(left(x.phone, 64), country), x.mobile,
               wib.phone_e164(left(x.mobile, 64), country), x.modified
          FROM raw x
        ON CONFLICT ON CONSTRAINT crm_contact_cache_contact_key DO UPDATE
           SET integration_id = EXCLUDED.integration_id, phone_number = EXCLUDED.phone_number,
               email = EXCLUDED.email, display_name = EXCLUDED.display_name, company_name = EXCLUDED.company_name,
               crm_url = EXCLUDED.crm_url, raw_data = EXCLUDED.raw_data, synced_at = EXCLUDED.synced_at,
               phone_e164 = EXCLUDED.phone_e164, mobile_number = EXCLUDED.mobile_number,
               mobile_e164 = EXCLUDED.mobile_e164, crm_modified_at = EXCLUDED.crm_modified_at
         WHERE (c.crm_modified_at IS NULL OR EXCLUDED.crm_modified_at IS NULL OR EXCLUDED.crm_modified_at >= c.crm_modified_at)
           AND (c.crm_modified_at IS DISTINCT FROM EXCLUDED.crm_modified_at OR c.raw_data IS DISTINCT FROM EXCLUDED.raw_data
                OR c.integration_id <> EXCLUDED.integration_id OR c.phone_e164 IS DISTINCT FROM EXCLUDED.phone_e164)
        RETURNING (c.xmax = 0) AS is_new)
    SELECT count(*), count(*) FILTER (WHERE is_new) INTO changed, inserted FROM up;
    IF inserted > 0 THEN
        UPDATE wib.crm_integrations x SET contact_count = x.contact_count + inserted
         WHERE x.organization_id = org AND x.id = i.id;
    END IF;
END
$$;
COMMENT ON FUNCTION wib.crm_hubspot_upsert(wib.crm_integrations, jsonb, jsonb) IS
    'Internal: writes a page of HubSpot contacts into the cache with the given contact mappings (one row per contact id; never an older version over a newer one); returns the rows changed, of them new, and the entries without an id.';

-- A HubSpot time (ISO 8601 or Unix milliseconds) as a timestamp, or NULL.
-- Plain SQL, so it is inlined into the queries that read a page.
CREATE OR REPLACE FUNCTION wib.crm_time(value text) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE
        WHEN value ~ '^[0-9]{1,15}$' THEN to_timestamp(value::bigint / 1000.0)
        WHEN value ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$'
            THEN value::timestamptz
    END;
COMMENT ON FUNCTION wib.crm_time(text) IS 'Internal: a CRM time (ISO 8601, or Unix milliseconds) as a timestamp; NULL when it is neither.';

-- Starts the contact part of a run: a full listing until one has completed, a delta after.
CREATE OR REPLACE FUNCTION wib.crm_hubspot_run_begin(i wib.crm_integrations, ctx jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    cur     jsonb := coalesce(i.sync_cursor, '{}');
    now_ms  bigint := wib.crm_epoch_ms(wib.clock_now());
    reread  bigint := wib.crm_epoch_ms('epoch'::timestamptz + current_setting('wib.crm_reread_window')::interval);
    run     jsonb;
    high    bigint := (cur ->> 'high')::bigint;
    settled bigint := coalesce((cur ->> 'settled')::bigint, (cur ->> 'high')::bigint - reread);
BEGIN
    IF cur ->> 'mode' IS DISTINCT FROM 'delta' THEN
        run := jsonb_build_object('phase', 'list', 'started', now_ms);
    ELSE
        -- Everything modified before "settled" was visible to search when the last
        -- run read it; what was modified after may have been indexed too late, and
        -- is read again.  When nothing is unsettled, the run goes on from the
        -- composite cursor (high, high_id) and reads nothing twice.
        run := CASE WHEN settled >= high
                    THEN jsonb_build_object('phase', 'ties', 'ts', high, 'id', coalesce(cur ->> 'high_id', '0'))
                    ELSE jsonb_build_object('phase', 'search', 'ts', greatest(settled, 0)) END
            || jsonb_build_object(
            'high', high, 'high_id', coalesce(cur ->> 'high_id', '0'),
            'started', now_ms,
            'archived', ctx ->> 'trigger' IN ('manual', 'cron')
                        OR cur ->> 'archived_at' IS NULL
                        OR (cur ->> 'archived_at')::timestamptz + current_setting('wib.crm_archived_scan_interval')::interval
                           <= wib.clock_now());
    END IF;
    -- The mappings of the whole run are read once.
    run := run || jsonb_build_object('sync_id', ctx ->> 'sync_id',
                                     'props', to_jsonb(wib.crm_hubspot_contact_properties(i.organization_id)),
                                     'map', wib.crm_contact_mapping(i.organization_id, 'hubspot'));
    UPDATE wib.crm_integrations x SET sync_cursor = cur || jsonb_build_object('run', run)
     WHERE x.organization_id = i.organization_id AND x.id = i.id;
    RETURN run;
END
$$;
COMMENT ON FUNCTION wib.crm_hubspot_run_begin(wib.crm_integrations, jsonb) IS
    'Internal: the position a HubSpot contact sync run starts from (a full listing; or a delta from what the last run could not see settled, wib.crm_reread_window before it started, else from the composite cursor (lastmodifieddate, hs_object_id); listing archived contacts when due), stored in the cursor.';

CREATE OR REPLACE FUNCTION wib.crm_hubspot_sync_request(i wib.crm_integrations, ctx jsonb, bearer text, account text,
                                                        api_url text) RETURNS wib.crm_request
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    run   jsonb := i.sync_cursor -> 'run';
    size  text := current_setting('wib.crm_page_size');
    props text[];
    body  jsonb;
BEGIN
    IF run IS NULL OR run ->> 'sync_id' IS DISTINCT FROM ctx ->> 'sync_id' THEN
        run := wib.crm_hubspot_run_begin(i, ctx);
    END IF;
    props := ARRAY(SELECT jsonb_array_elements_text(run -> 'props'));
    CASE run ->> 'phase'
    WHEN 'list' THEN
        RETURN ROW('sync', 'GET', api_url || '/crm/v3/objects/contacts',
                   ARRAY['limit', size, 'properties', array_to_string(props, ',')]
                   || CASE WHEN run ? 'after' THEN ARRAY['after', run ->> 'after'] ELSE '{}'::text[] END,
                   NULL, NULL, bearer, account, false, true, ctx || '{"phase": "list"}')::wib.crm_request;
    WHEN 'archived' THEN
        RETURN ROW('sync', 'GET', api_url || '/crm/v3/objects/contacts',
                   ARRAY['limit', size, 'archived', 'true', 'properties', 'hs_object_id']
                   || CASE WHEN run ? 'after' THEN ARRAY['after', run ->> 'after'] ELSE '{}'::text[] END,
                   NULL, NULL, bearer, account, false, true, ctx || '{"phase": "archived"}')::wib.crm_request;
    WHEN 'search' THEN
        body := jsonb_build_object(
            'filterGroups', jsonb_build_array(jsonb_build_object('filters', jsonb_build_array(
                jsonb_build_object('propertyName', 'lastmodifieddate', 'operator', 'GTE', 'value', run ->> 'ts')))),
            'sorts', jsonb_build_array(jsonb_build_object('propertyName', 'lastmodifieddate', 'direction', 'ASCENDING')));
    WHEN 'ties' THEN
        body := jsonb_build_object(
            'filterGroups', jsonb_build_array(jsonb_build_object('filters', jsonb_build_array(
                jsonb_build_object('propertyName', 'lastmodifieddate', 'operator', 'EQ', 'value', run ->> 'ts'),
                jsonb_build_object('propertyName', 'hs_object_id', 'operator', 'GT', 'value', run ->> 'id')))),
            'sorts', jsonb_build_array(jsonb_build_object('propertyName', 'hs_object_id', 'direction', 'ASCENDING')));
    ELSE
        RETURN wib.crm_request_none('none');
    END CASE;
    body := body || jsonb_build_object('properties', to_jsonb(props), 'limit', size::integer);
    RETURN ROW('sync', 'POST', api_url || '/crm/v3/objects/contacts/search', NULL, NULL, body::text,
               bearer, account, true, true, ctx || jsonb_build_object('phase', run ->> 'phase'))::wib.crm_request;
END
$$;
COMMENT ON FUNCTION wib.crm_hubspot_sync_request(wib.crm_integrations, jsonb, text, text, text) IS
    'Internal: the next request of a HubSpot contact sync run from its cursor (list, search, ties or archived; none when the run''s contacts are done).';

-- The high-water mark after a page: the latest lastmodifieddate seen in the
-- run and the largest id seen at that time ({"high", "high_id"}).
CREATE OR REPLACE FUNCTION wib.crm_hubspot_high(run jsonb, results jsonb, page_hi bigint) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
    SELECT CASE
        WHEN page_hi IS NULL OR page_hi < coalesce((run ->> 'high')::bigint, 0)
            THEN jsonb_build_object('high', (run ->> 'high')::bigint, 'high_id', run ->> 'high_id')
        ELSE jsonb_build_object('high', page_hi, 'high_id',
            (SELECT max(x.id)::text FROM (
                SELECT (r ->> 'id')::numeric AS id FROM jsonb_array_elements(results) r
                 WHERE wib.crm_epoch_ms(wib.crm_time(r #>> '{properties,lastmodifieddate}')) = page_hi
                   AND r ->> 'id' ~ '^[0-9]{1,20}$'
                UNION ALL
                SELECT (run ->> 'high_id')::numeric WHERE page_hi = (run ->> 'high')::bigint
                   AND run ->> 'high_id' ~ '^[0-9]{1,20}$') x))
    END;
END;
COMMENT ON FUNCTION wib.crm_hubspot_high(jsonb, jsonb, bigint) IS
    'Internal: the high-water mark of a HubSpot sync run after a page: the latest lastmodifieddate seen and the largest contact id seen at that time.';

-- Applies a page of a contact sync run and moves the cursor, in one transaction.
CREATE OR REPLACE FUNCTION wib.crm_hubspot_sync_apply(i wib.crm_integrations, ctx jsonb, status integer, body jsonb,
                                                      message text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    org     uuid := i.organization_id;
    cur     jsonb := coalesce(i.sync_cursor, '{}');
    run     jsonb := cur -> 'run';
    phase   text := run ->> 'phase';
    results jsonb := body -> 'results';
    n       integer;
    size    integer := current_setting('wib.crm_page_size')::integer;
    up      record;
    changed integer := 0;
    failed  integer := 0;
    deleted integer := 0;
    last_ms bigint;
    page_hi bigint;
    after   text := body #>> '{paging,next,after}';
    done    boolean := false;
BEGIN
    IF run IS NULL OR ctx ->> 'sync_id' IS DISTINCT FROM run ->> 'sync_id' OR ctx ->> 'phase' IS DISTINCT FROM phase THEN
        RETURN '{}';	-- an answer to a position the cursor has left (cannot happen under a lease)
    END IF;
    IF status <> 200 OR jsonb_typeof(results) IS DISTINCT FROM 'array' THEN
        RETURN jsonb_build_object('pause', true, 'error', format('contacts %s: %s (HTTP %s)', phase, message, status));
    END IF;
    n := jsonb_array_length(results);

    IF phase = 'archived' THEN
        WITH gone AS (
            DELETE FROM wib.crm_contact_cache c
             WHERE c.organization_id = org AND c.crm_type = 'hubspot'
               AND c.crm_contact_id IN (SELECT r ->> 'id' FROM jsonb_array_elements(results) r)
            RETURNING 1)
        SELECT count(*) INTO deleted FROM gone;
        IF deleted > 0 THEN
            UPDATE wib.crm_integrations x SET contact_count = greatest(x.contact_count - deleted, 0)
             WHERE x.organization_id = org AND x.id = i.id;
        END IF;
        IF after IS NOT NULL THEN
            run := run || jsonb_build_object('after', after);
        ELSE
            cur := cur || jsonb_build_object('archived_at', wib.clock_now());
            done := true;
        END IF;
    ELSE
        SELECT * INTO up FROM wib.crm_hubspot_upsert(i, results, run -> 'map');
        changed := up.changed;
        failed := up.failed;
        SELECT max(wib.crm_epoch_ms(wib.crm_time(r #>> '{properties,lastmodifieddate}'))) INTO page_hi
          FROM jsonb_array_elements(results) r;
        last_ms := wib.crm_epoch_ms(wib.crm_time(results #>> ARRAY[(n - 1)::text, 'properties', 'lastmodifieddate']));
        IF phase = 'list' THEN
            IF after IS NOT NULL THEN
                run := run || jsonb_build_object('after', after);
            ELSE
                -- Listed whole: later runs are deltas from when the listing began (archived contacts were never listed).
                cur := cur || jsonb_build_object('mode', 'delta', 'high', (run ->> 'started')::bigint, 'high_id', '0',
                                                 'settled', (run ->> 'started')::bigint
                                                            - wib.crm_epoch_ms('epoch'::timestamptz + current_setting('wib.crm_reread_window')::interval),
                                                 'archived_at', to_timestamp((run ->> 'started')::bigint / 1000.0));
                done := true;
            END IF;
        ELSIF phase = 'search' THEN
            run := run || wib.crm_hubspot_high(run, results, page_hi);
            IF n < size THEN
                run := (run || '{"phase": "archived"}'::jsonb) - 'after';
            ELSIF last_ms IS NULL THEN
                RETURN jsonb_build_object('synced', changed, 'failed', failed, 'pause', true,
                                          'error', 'a contact search result has no lastmodifieddate');
            ELSIF last_ms > (run ->> 'ts')::bigint THEN
                run := run || jsonb_build_object('ts', last_ms);
            ELSE
                -- A whole page at one time: page through that time by id.
                run := run || jsonb_build_object('phase', 'ties', 'id', '0');
            END IF;
        ELSIF phase = 'ties' THEN
            run := run || wib.crm_hubspot_high(run, results, page_hi);
            IF n < size THEN
                run := run || jsonb_build_object('phase', 'search', 'ts', (run ->> 'ts')::bigint + 1);
            ELSE
                run := run || jsonb_build_object('id', results #>> ARRAY[(n - 1)::text, 'id']);
            END IF;
        END IF;
        -- Search is done: the high-water mark moves; archived contacts are listed when due.
        IF run ->> 'phase' = 'archived' AND phase = 'search' THEN
            cur := cur || jsonb_build_object(
                'high', coalesce((run ->> 'high')::bigint, (cur ->> 'high')::bigint),
                'high_id', coalesce(run ->> 'high_id', cur ->> 'high_id', '0'),
                'settled', (run ->> 'started')::bigint
                           - wib.crm_epoch_ms('epoch'::timestamptz + current_setting('wib.crm_reread_window')::interval));
            IF NOT coalesce((run ->> 'archived')::boolean, false) THEN
                done := true;
            END IF;
        END IF;
    END IF;

    IF done THEN
        run := jsonb_build_object('sync_id', run ->> 'sync_id', 'phase', 'complete');
    END IF;
    UPDATE wib.crm_integrations x SET sync_cursor = cur || jsonb_build_object('run', run)
     WHERE x.organization_id = org AND x.id = i.id;
    RETURN jsonb_build_object('synced', changed, 'failed', failed, 'deleted', deleted);
END
$$;
COMMENT ON FUNCTION wib.crm_hubspot_sync_apply(wib.crm_integrations, jsonb, integer, jsonb, text) IS
    'Internal: writes a page of a HubSpot contact sync (upserts, or deletions of archived contacts) and moves the cursor in the same transaction; returns the counts for the run.';
