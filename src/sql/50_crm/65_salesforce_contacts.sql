-- Salesforce Contacts (and Leads, when the integration's config says so) into
-- the cache.
--
-- Each object is read with one SOQL query ordered by SystemModstamp, Id,
-- following nextRecordsUrl batch after batch to its end (an abandoned query
-- cursor would count against the org's open cursors).  The cursor of each
-- object is (SystemModstamp, Id) of the last record read; a run's position
-- (the last record applied, the next batch's URL) is committed with the rows
-- of each batch, so a crash or a pause resumes where it stopped: from the
-- batch URL, or, when Salesforce has dropped that query, with a new query
-- after the position, (SystemModstamp = t AND Id > id) OR SystemModstamp > t.
--
-- A delta run starts wib.crm_reread_window before the previous run began
-- (SystemModstamp >= that time), because Salesforce stamps whole seconds and
-- a transaction that commits late may carry an earlier stamp; when the cursor
-- is older than that time it goes on from the cursor itself, (t, id) after,
-- which reads all that time would and more: a record with the cursor's own
-- stamp but a smaller Id can only be missed when it is stamped before the
-- previous run began, later than the re-read window allows.  A record is
-- written only when it changed, and never an older version over a newer one.
--
-- Deletions come from sobjects/<Object>/deleted for the window since the last
-- one (Salesforce keeps 15 days, ignores seconds, and wants more than a
-- minute); an integration idle longer than 14 days lists everything again and
-- reconciles: what the listing did not see leaves the cache.  So does a run
-- whose window Salesforce refuses (400 INVALID_REPLICATION_DATE: the recycle
-- bin was emptied since), from that answer on.  Converted Leads leave the
-- cache too (they are Contacts now).

-- The objects an integration syncs (config "objects", default Contact).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_objects(i wib.crm_integrations) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN jsonb_typeof(i.config -> 'objects') = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(i.config -> 'objects'))
                ELSE ARRAY['Contact'] END;
COMMENT ON FUNCTION wib.crm_salesforce_objects(wib.crm_integrations) IS
    'Internal: the Salesforce objects an integration caches (its config "objects": Contact, Lead; Contact by default).';

-- Checks an integration's config for wib.crm_config_set: "objects" (Contact,
-- Lead: what the cache holds) and "api_share" (1-100: the percentage of the
-- org's daily API limit its sync may use); returns it normalized.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_config_check(config jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    out   jsonb := '{}';
    share integer;
BEGIN
    PERFORM wib.check_fields(config, ARRAY['objects', 'api_share'], 'config');
    IF config ? 'objects' THEN
        IF jsonb_typeof(config -> 'objects') IS DISTINCT FROM 'array' OR jsonb_array_length(config -> 'objects') NOT BETWEEN 1 AND 2
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(config -> 'objects') e
                       WHERE e NOT IN ('"Contact"'::jsonb, '"Lead"'::jsonb)) THEN
            PERFORM wib.invalid_field('objects', 'objects must be a JSON array of the Salesforce objects to cache: "Contact", "Lead" or both.');
        END IF;
        out := out || jsonb_build_object('objects',
            (SELECT jsonb_agg(DISTINCT e ORDER BY e) FROM jsonb_array_elements_text(config -> 'objects') e));
    END IF;
    IF config ? 'api_share' THEN
        share := wib.field_int(config, 'api_share', 1, 100);
        IF share IS NULL THEN
            PERFORM wib.invalid_field('api_share', 'api_share must be a whole percentage from 1 to 100 of the org''s daily API limit.');
        END IF;
        out := out || jsonb_build_object('api_share', share);
    END IF;
    RETURN out;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_config_check(jsonb) IS
    'Internal: checks a Salesforce integration''s config ({"objects": ["Contact", "Lead"], "api_share": 1-100}; 22023 naming the field) and returns it normalized.';

-- The contact mappings for an object: a Lead has no Account, so a mapping to
-- an Account field reads the Lead's Company.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_object_mapping(m jsonb, obj text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN obj = 'Lead'
                THEN (SELECT coalesce(jsonb_object_agg(e.key, CASE WHEN e.value ->> 'f' LIKE 'Account.%'
                                                                   THEN e.value || '{"f": "Company"}' ELSE e.value END), '{}')
                        FROM jsonb_each(m) e)
                ELSE m END;
COMMENT ON FUNCTION wib.crm_salesforce_object_mapping(jsonb, text) IS
    'Internal: the contact mappings (wib.crm_contact_mapping) for a Salesforce object: for Leads, Account fields are read from Company.';

-- The fields a query of an object selects: the mapped ones and the cursor's (and IsConverted of Leads).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_fields(obj text, m jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN ARRAY(SELECT y.f FROM (
               SELECT DISTINCT ON (lower(x.f)) x.f FROM (
                   SELECT e.value ->> 'f' AS f FROM jsonb_each(m) e
                   UNION ALL SELECT unnest(ARRAY['Id', 'SystemModstamp'] || CASE WHEN obj = 'Lead' THEN ARRAY['IsConverted']
                                                                                 ELSE '{}'::text[] END)) x
                WHERE x.f IS NOT NULL
                ORDER BY lower(x.f), x.f) y
           ORDER BY lower(y.f) <> 'id', lower(y.f));
COMMENT ON FUNCTION wib.crm_salesforce_fields(text, jsonb) IS
    'Internal: the fields a sync query of a Salesforce object selects (Id, SystemModstamp, the mapped fields; IsConverted for Leads).';

-- A SOQL datetime literal (unquoted, UTC, milliseconds).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_soql_time(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
COMMENT ON FUNCTION wib.crm_salesforce_soql_time(timestamptz) IS 'Internal: a SOQL datetime literal, such as 2026-11-29T10:15:00.000Z.';

-- The sync query of an object: everything (full: of Leads, the unconverted
-- ones), or what comes after the position (after_ts, after_id), or what was
-- modified since a time; ordered by SystemModstamp, Id.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_soql(obj text, fields text[], after_ts timestamptz, after_id text,
                                                   since timestamptz, full_list boolean) RETURNS text
    LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
    SELECT format('SELECT %s FROM %s%s ORDER BY SystemModstamp, Id', array_to_string(fields, ', '), obj,
                  coalesce(' WHERE ' || nullif(concat_ws(' AND ',
                      CASE WHEN obj = 'Lead' AND full_list THEN 'IsConverted = false' END,
                      CASE WHEN after_ts IS NOT NULL
                           THEN format('((SystemModstamp = %1$s AND Id > %2$s) OR SystemModstamp > %1$s)',
                                       wib.crm_salesforce_soql_time(after_ts), quote_literal(after_id))
                           WHEN since IS NOT NULL
                           THEN format('SystemModstamp >= %s', wib.crm_salesforce_soql_time(since)) END), ''), ''));
END;
COMMENT ON FUNCTION wib.crm_salesforce_soql(text, text[], timestamptz, text, timestamptz, boolean) IS
    'Internal: the SOQL of a sync query: all records (a full listing; unconverted Leads), those after a position (SystemModstamp, Id), or those modified since a time, ordered by SystemModstamp, Id.';

-- A record as the cache keeps it: its fields, relationships flattened
-- ("Account.Name"), its type ("attributes.type"), without URLs.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_flatten(r jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT coalesce(jsonb_object_agg(x.k, x.v), '{}') FROM (
                SELECT e.key AS k, e.value AS v FROM jsonb_each(r) e WHERE jsonb_typeof(e.value) <> 'object'
                UNION ALL
                SELECT e.key || '.' || f.key, f.value
                  FROM jsonb_each(r) e,
                       jsonb_each(CASE WHEN jsonb_typeof(e.value) = 'object' THEN e.value ELSE '{}' END) f
                 WHERE f.key <> 'url' AND jsonb_typeof(f.value) <> 'object') x);
COMMENT ON FUNCTION wib.crm_salesforce_flatten(jsonb) IS
    'Internal: a Salesforce record''s fields with relationships flattened (Account.Name) and its type (attributes.type), without URLs.';

-- Writes a batch of records of an object into the cache with the object's
-- mappings m (converted Leads leave it); a row changes only for a version at
-- least as new as the cached one.  seen_since (a full listing): rows of the
-- batch are marked seen, so the listing's end can remove what it never saw.
-- One statement per batch: this is the sync's inner loop.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_upsert(i wib.crm_integrations, obj text, records jsonb, m jsonb,
    seen_since timestamptz, OUT changed integer, OUT inserted integer, OUT failed integer, OUT removed integer)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org      uuid := i.organization_id;
    country  text := wib.org_default_country(i.organization_id);
    instance text := i.worker_state ->> 'instance_url';
    f_phone  text := m #>> '{phone_number,f}';
    t_phone  text := m #>> '{phone_number,t}';
    f_mob    text := m #>> '{mobile_number,f}';
    t_mob    text := m #>> '{mobile_number,t}';
    f_email  text := m #>> '{email,f}';
    t_email  text := m #>> '{email,t}';
    f_first  text := m #>> '{first_name,f}';
    t_first  text := m #>> '{first_name,t}';
    f_last   text := m #>> '{last_name,f}';
    t_last   text := m #>> '{last_name,t}';
    f_disp   text := m #>> '{display_name,f}';
    t_disp   text := m #>> '{display_name,t}';
    f_comp   text := m #>> '{company_name,f}';
    t_comp   text := m #>> '{company_name,t}';
    gone     integer;
BEGIN
    SELECT count(*) FILTER (WHERE NOT (r ->> 'Id' ~ '^[0-9A-Za-z]{18}$')) INTO failed FROM jsonb_array_elements(records) r;
    removed := 0;
    -- (Only for Leads: on a Citus cluster a DELETE in a WITH whose condition
    -- is false by its parameters fails, "could not find valid entry for shard 0".)
    IF obj = 'Lead' THEN
        WITH del AS (
            DELETE FROM wib.crm_contact_cache c
             WHERE c.organization_id = org AND c.crm_type = 'salesforce'
               AND c.crm_contact_id IN (SELECT r ->> 'Id' FROM jsonb_array_elements(records) r
                                         WHERE r ->> 'IsConverted' = 'true')
            RETURNING 1)
        SELECT count(*) INTO removed FROM del;
    END IF;
    WITH src AS (
        SELECT DISTINCT ON (r ->> 'Id') r ->> 'Id' AS cid, wib.crm_salesforce_flatten(r) AS p,
               wib.crm_time(r ->> 'SystemModstamp') AS modified
          FROM jsonb_array_elements(records) r
         WHERE r ->> 'Id' ~ '^[0-9A-Za-z]{18}$' AND coalesce(r ->> 'IsConverted', 'false') <> 'true'
         ORDER BY r ->> 'Id', 3 DESC NULLS LAST),
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
        SELECT org, i.id, 'salesforce', x.cid, x.phone, x.email,
               left(coalesce(nullif(btrim(x.disp), ''), nullif(btrim(concat_ws(' ', btrim(x.first), btrim(x.last))), ''), x.email), 300),
               x.company, instance || '/lightning/r/' || obj || '/' || x.cid || '/view',
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
                OR c.integration_id <> EXCLUDED.integration_id OR c.phone_e164 IS DISTINCT FROM EXCLUDED.phone_e164
                OR c.crm_url IS DISTINCT FROM EXCLUDED.crm_url)
        RETURNING (c.xmax = 0) AS is_new)
    SELECT count(*), count(*) FILTER (WHERE is_new) INTO changed, inserted FROM up;
    IF seen_since IS NOT NULL THEN
        UPDATE wib.crm_contact_cache c SET synced_at = wib.clock_now()
         WHERE c.organization_id = org AND c.crm_type = 'salesforce' AND c.synced_at < seen_since
           AND c.crm_contact_id IN (SELECT r ->> 'Id' FROM jsonb_array_elements(records) r);
    END IF;
    gone := inserted - removed;
    IF gone <> 0 THEN
        UPDATE wib.crm_integrations x SET contact_count = greatest(x.contact_count + gone, 0)
         WHERE x.organization_id = org AND x.id = i.id;
    END IF;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_upsert(wib.crm_integrations, text, jsonb, jsonb, timestamptz) IS
    'Internal: writes a batch of Salesforce Contacts or Leads into the cache with the object''s mappings (one row per record id, never an older version over a newer one; converted Leads removed; marked seen for a full listing); returns the rows changed, of them new, the records without an id, and the rows removed.';

-- Removes records of the integration from the cache; returns how many.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_remove(i wib.crm_integrations, ids text[]) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM wib.crm_contact_cache c
     WHERE c.organization_id = i.organization_id AND c.crm_type = 'salesforce' AND c.crm_contact_id = ANY (ids);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        UPDATE wib.crm_integrations x SET contact_count = greatest(x.contact_count - n, 0)
         WHERE x.organization_id = i.organization_id AND x.id = i.id;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_remove(wib.crm_integrations, text[]) IS
    'Internal: removes Salesforce records from an integration''s cache by id; returns how many were cached.';

-- Starts the contact part of a run (returns the cursor with it): a full
-- listing until one has completed, or when the objects changed, or when the
-- deletions of an object reach back further than Salesforce keeps them; else a
-- delta.  A run that stopped before its end (a pause, the budget, a crash
-- of its session) is taken up where it stopped when nothing changed since.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_run_begin(i wib.crm_integrations, ctx jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    cur     jsonb := coalesce(i.sync_cursor, '{}');
    old     jsonb := cur -> 'run';
    objects text[] := wib.crm_salesforce_objects(i);
    map     jsonb := wib.crm_contact_mapping(i.organization_id, 'salesforce');
    started timestamptz := wib.clock_now();
    full_list boolean;
    run     jsonb;
BEGIN
    full_list := cur ->> 'mode' IS DISTINCT FROM 'delta'
         OR cur -> 'objects_synced' IS DISTINCT FROM to_jsonb(objects)
         OR EXISTS (SELECT 1 FROM unnest(objects) o
                     WHERE (cur #>> ARRAY['objects', o, 'deleted_through'])::timestamptz IS NULL
                        OR (cur #>> ARRAY['objects', o, 'deleted_through'])::timestamptz < started - interval '14 days');
    IF old IS NOT NULL AND old ->> 'phase' IS DISTINCT FROM 'complete' AND old -> 'objects' = to_jsonb(objects)
       AND old -> 'map' = map AND (old ->> 'full')::boolean IS NOT DISTINCT FROM full_list THEN
        run := old || jsonb_build_object('sync_id', ctx ->> 'sync_id');
    ELSE
        run := jsonb_build_object('sync_id', ctx ->> 'sync_id', 'started', started, 'full', full_list,
                                  'objects', to_jsonb(objects), 'i', 0, 'phase', 'query', 'map', map);
        IF full_list THEN
            cur := cur - 'objects';
        END IF;
    END IF;
    cur := cur || jsonb_build_object('run', run);
    UPDATE wib.crm_integrations x SET sync_cursor = cur WHERE x.organization_id = i.organization_id AND x.id = i.id;
    RETURN cur;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_run_begin(wib.crm_integrations, jsonb) IS
    'Internal: where a Salesforce contact sync run starts (a full listing, or a delta per object from its cursor; an unfinished run with the same objects and mappings is taken up where it stopped), stored in the cursor, which it returns.';

-- The object of a run is done: the next one starts, or, after the last, the
-- run completes: a full listing removes what it never saw, later runs are
-- deltas re-reading from wib.crm_reread_window before this one began.
-- Stores and returns the cursor.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_object_done(i wib.crm_integrations, cur jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    run  jsonb := cur -> 'run';
    n    integer;
    seen timestamptz := (run ->> 'started')::timestamptz;
BEGIN
    run := (run - 'next' - 'pos_ts' - 'pos_id') || jsonb_build_object('i', (run ->> 'i')::integer + 1, 'phase', 'query');
    IF (run ->> 'i')::integer >= jsonb_array_length(run -> 'objects') THEN
        IF (run ->> 'full')::boolean THEN
            DELETE FROM wib.crm_contact_cache c
             WHERE c.organization_id = i.organization_id AND c.integration_id = i.id AND c.crm_type = 'salesforce'
               AND c.synced_at < seen;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n > 0 THEN
                UPDATE wib.crm_integrations x SET contact_count = greatest(x.contact_count - n, 0)
                 WHERE x.organization_id = i.organization_id AND x.id = i.id;
                PERFORM wib.crm_run_add(i.organization_id, (run ->> 'sync_id')::uuid, jsonb_build_object('deleted', n));
            END IF;
        END IF;
        cur := cur || jsonb_build_object('mode', 'delta', 'objects_synced', run -> 'objects',
                                         'settled', seen - current_setting('wib.crm_reread_window')::interval);
        run := jsonb_build_object('sync_id', run ->> 'sync_id', 'phase', 'complete');
    END IF;
    cur := cur || jsonb_build_object('run', run);
    UPDATE wib.crm_integrations x SET sync_cursor = cur WHERE x.organization_id = i.organization_id AND x.id = i.id;
    RETURN cur;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_object_done(wib.crm_integrations, jsonb) IS
    'Internal: moves a Salesforce sync run to its next object, or completes it (a full listing removes the records it never saw; the cursor becomes a delta cursor); stores and returns the cursor.';

-- The next request of a Salesforce contact sync run, from its cursor (none
-- when the run's contacts are done, while a 403 REQUEST_LIMIT_EXCEEDED pause
-- lasts, or when the sync has used its share of the org's daily API limit:
-- the run stops there until the pause ends or the share frees up).
CREATE OR REPLACE FUNCTION wib.crm_salesforce_sync_request(i wib.crm_integrations, ctx jsonb, bearer text, base text)
    RETURNS wib.crm_request
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    cur     jsonb := coalesce(i.sync_cursor, '{}');
    run     jsonb := cur -> 'run';
    obj     text;
    oc      jsonb;
    m       jsonb;
    start_t timestamptz;
    end_t   timestamptz;
    settled timestamptz := (cur ->> 'settled')::timestamptz;
    allowed integer;
    used    integer;
    until   timestamptz;
    soql    text;
BEGIN
    IF run IS NULL OR run ->> 'sync_id' IS DISTINCT FROM ctx ->> 'sync_id' THEN
        cur := wib.crm_salesforce_run_begin(i, ctx);
        run := cur -> 'run';
    END IF;
    LOOP
        IF run ->> 'phase' = 'complete' THEN
            RETURN wib.crm_request_none('none');
        END IF;
        obj := run -> 'objects' ->> (run ->> 'i')::integer;
        oc := coalesce(cur -> 'objects' -> obj, '{}');
        start_t := (oc ->> 'deleted_through')::timestamptz;
        end_t := wib.clock_now();
        -- Nothing to ask about deletions: a full listing saw them, or the window is a minute or less.
        IF run ->> 'phase' = 'deleted'
           AND ((run ->> 'full')::boolean OR start_t IS NULL
                OR date_trunc('minute', end_t) - date_trunc('minute', start_t) <= interval '1 minute') THEN
            cur := wib.crm_salesforce_object_done(i, cur);
            run := cur -> 'run';
            CONTINUE;
        END IF;
        EXIT;
    END LOOP;

    -- After 403 REQUEST_LIMIT_EXCEEDED nothing is sent until the pause ends, a sync asked for now included.
    until := (i.worker_state #>> '{sf_api,paused_until}')::timestamptz;
    IF until > clock_timestamp() THEN
        PERFORM wib.crm_salesforce_hold(i.organization_id, i.id, until,
            format('Salesforce''s daily API request limit is spent (REQUEST_LIMIT_EXCEEDED); requests wait until %s', until), true);
        RETURN wib.crm_request_none('none');
    END IF;
    -- The sync's share of the org's daily limit.
    allowed := wib.crm_salesforce_allowance(i);
    used := wib.crm_salesforce_used(i);
    IF allowed IS NOT NULL AND used >= allowed THEN
        until := to_timestamp(((SELECT min(h.key::bigint) FROM jsonb_each(i.worker_state #> '{sf_api,hours}') h
                                 WHERE h.key::bigint > floor(extract(epoch FROM wib.clock_now()) / 3600)::bigint - 24) + 24) * 3600.0);
        PERFORM wib.crm_salesforce_hold(i.organization_id, i.id, until,
            format('the contact sync used its share of the Salesforce org''s daily API limit (%s of %s requests in 24 hours); it goes on at %s',
                   used, allowed, until), false);
        RETURN wib.crm_request_none('none');
    END IF;
    PERFORM wib.crm_salesforce_count(i.organization_id, i.id);
    ctx := ctx || jsonb_build_object('phase', run ->> 'phase', 'object', obj);

    IF run ->> 'phase' = 'deleted' THEN
        RETURN ROW('sync', 'GET', base || '/sobjects/' || obj || '/deleted/',
                   ARRAY['start', to_char(start_t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
                         'end', to_char(end_t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')],
                   NULL, NULL, bearer, NULL, false, true, ctx || jsonb_build_object('start', start_t))::wib.crm_request;
    END IF;
    IF run ? 'next' THEN
        RETURN ROW('sync', 'GET', (i.worker_state ->> 'instance_url') || (run ->> 'next'), NULL, NULL, NULL,
                   bearer, NULL, false, true, ctx)::wib.crm_request;
    END IF;
    m := wib.crm_salesforce_object_mapping(run -> 'map', obj);
    IF run ? 'pos_ts' THEN
        soql := wib.crm_salesforce_soql(obj, wib.crm_salesforce_fields(obj, m), (run ->> 'pos_ts')::timestamptz,
                                        run ->> 'pos_id', NULL, (run ->> 'full')::boolean);
    ELSIF (run ->> 'full')::boolean OR oc ->> 'ts' IS NULL THEN
        soql := wib.crm_salesforce_soql(obj, wib.crm_salesforce_fields(obj, m), NULL, NULL, NULL, (run ->> 'full')::boolean);
    ELSIF settled IS NOT NULL AND settled <= (oc ->> 'ts')::timestamptz THEN
        soql := wib.crm_salesforce_soql(obj, wib.crm_salesforce_fields(obj, m), NULL, NULL, settled, false);
    ELSE
        soql := wib.crm_salesforce_soql(obj, wib.crm_salesforce_fields(obj, m), (oc ->> 'ts')::timestamptz,
                                        oc ->> 'id', NULL, false);
    END IF;
    RETURN ROW('sync', 'GET', base || '/query', ARRAY['q', soql], NULL, NULL, bearer, NULL, false, true, ctx)::wib.crm_request;
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_sync_request(wib.crm_integrations, jsonb, text, text) IS
    'Internal: the next request of a Salesforce contact sync run (a SOQL query, its next batch, or the deleted records of an object); none when the run is done, while a REQUEST_LIMIT_EXCEEDED pause lasts, or when the sync has used its share of the org''s daily API limit.';

-- Applies an answer of a contact sync run and moves the cursor, in one transaction.
CREATE OR REPLACE FUNCTION wib.crm_salesforce_sync_apply(i wib.crm_integrations, ctx jsonb, status integer, body jsonb,
                                                         message text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    cur     jsonb := coalesce(i.sync_cursor, '{}');
    run     jsonb := cur -> 'run';
    obj     text := ctx ->> 'object';
    oc      jsonb;
    records jsonb := body -> 'records';
    n       integer;
    up      record;
    last    jsonb;
    next    text := body ->> 'nextRecordsUrl';
    removed integer;
    high    timestamptz;
BEGIN
    IF run IS NULL OR ctx ->> 'sync_id' IS DISTINCT FROM run ->> 'sync_id' OR ctx ->> 'phase' IS DISTINCT FROM run ->> 'phase'
       OR obj IS DISTINCT FROM run -> 'objects' ->> (run ->> 'i')::integer THEN
        RETURN '{}';	-- an answer to a position the cursor has left (cannot happen under a lease)
    END IF;
    IF status = 401 THEN
        RETURN '{}';	-- refreshed, then asked again
    END IF;
    oc := coalesce(cur -> 'objects' -> obj, '{}');

    IF run ->> 'phase' = 'deleted' THEN
        IF status = 200 AND jsonb_typeof(body -> 'deletedRecords') = 'array' THEN
            removed := wib.crm_salesforce_remove(i, ARRAY(SELECT d ->> 'id' FROM jsonb_array_elements(body -> 'deletedRecords') d
                                                           WHERE d ->> 'id' ~ '^[0-9A-Za-z]{18}$'));
            oc := oc || jsonb_build_object('deleted_through',
                                           coalesce(wib.crm_time(body ->> 'latestDateCovered'), (ctx ->> 'start')::timestamptz));
            cur := jsonb_set(cur, ARRAY['objects'], coalesce(cur -> 'objects', '{}') || jsonb_build_object(obj, oc));
            PERFORM wib.crm_salesforce_object_done(i, cur);
            RETURN jsonb_build_object('deleted', removed);
        END IF;
        IF status = 400 AND body #>> '{0,errorCode}' = 'INVALID_REPLICATION_DATE' THEN
            -- Salesforce no longer has the deletions of the window (older than it keeps, or its recycle bin was
            -- emptied): this run goes on as a full listing of every object and reconciles at its end.
            cur := (cur - 'objects') || jsonb_build_object('run', jsonb_build_object(
                'sync_id', run ->> 'sync_id', 'started', clock_timestamp(), 'full', true, 'objects', run -> 'objects',
                'i', 0, 'phase', 'query', 'map', run -> 'map', 'relisted', format('%s deletions: %s', obj, message)));
            UPDATE wib.crm_integrations x SET sync_cursor = cur WHERE x.organization_id = i.organization_id AND x.id = i.id;
            RETURN '{}';
        END IF;
        RETURN jsonb_build_object('pause', true, 'error', format('%s deletions: %s', obj, message));
    END IF;

    -- A query Salesforce has dropped (an idle or a surplus cursor) goes on with a new query after the position.
    IF status = 400 AND body #>> '{0,errorCode}' = 'INVALID_QUERY_LOCATOR' THEN
        UPDATE wib.crm_integrations x SET sync_cursor = jsonb_set(cur, '{run}', run - 'next')
         WHERE x.organization_id = i.organization_id AND x.id = i.id;
        RETURN '{}';
    END IF;
    IF status <> 200 OR jsonb_typeof(records) IS DISTINCT FROM 'array' THEN
        RETURN jsonb_build_object('pause', true, 'error', format('%s query: %s', obj, message));
    END IF;
    n := jsonb_array_length(records);
    SELECT * INTO up FROM wib.crm_salesforce_upsert(i, obj, records, wib.crm_salesforce_object_mapping(run -> 'map', obj),
                                                    CASE WHEN (run ->> 'full')::boolean THEN (run ->> 'started')::timestamptz END);
    IF n > 0 THEN
        last := records -> (n - 1);
        high := wib.crm_time(last ->> 'SystemModstamp');
        IF high IS NULL OR last ->> 'Id' !~ '^[0-9A-Za-z]{18}$' THEN
            RETURN jsonb_build_object('synced', up.changed, 'failed', up.failed, 'deleted', up.removed, 'pause', true,
                                      'error', format('%s query: a record without SystemModstamp or Id', obj));
        END IF;
        run := run || jsonb_build_object('pos_ts', high, 'pos_id', last ->> 'Id');
    END IF;
    IF NOT coalesce((body ->> 'done')::boolean, true) THEN
        IF next IS NULL OR next !~ '^/services/data/v[0-9]{1,3}\.[0-9]/query(All)?/[0-9A-Za-z]{15,18}-[0-9]{1,10}$' THEN
            RETURN jsonb_build_object('synced', up.changed, 'failed', up.failed, 'deleted', up.removed, 'pause', true,
                                      'error', format('%s query: the answer is not done and has no nextRecordsUrl of a query', obj));
        END IF;
        run := run || jsonb_build_object('next', next);
    ELSE
        -- The query is done: the object's cursor is its last record (later than the old one, unless records were deleted).
        IF run ? 'pos_ts' AND (oc ->> 'ts' IS NULL OR (run ->> 'pos_ts')::timestamptz > (oc ->> 'ts')::timestamptz
                               OR ((run ->> 'pos_ts')::timestamptz = (oc ->> 'ts')::timestamptz
                                   AND left(run ->> 'pos_id', 15) COLLATE "C" > left(oc ->> 'id', 15) COLLATE "C")) THEN
            oc := oc || jsonb_build_object('ts', run -> 'pos_ts', 'id', run -> 'pos_id');
        END IF;
        -- A full listing has seen every deletion before it began.
        IF (run ->> 'full')::boolean THEN
            oc := oc || jsonb_build_object('deleted_through',
                                           date_trunc('minute', (run ->> 'started')::timestamptz) - interval '1 minute');
        END IF;
        cur := jsonb_set(cur, ARRAY['objects'], coalesce(cur -> 'objects', '{}') || jsonb_build_object(obj, oc));
        run := (run - 'next' - 'pos_ts' - 'pos_id') || '{"phase": "deleted"}';
    END IF;
    UPDATE wib.crm_integrations x SET sync_cursor = cur || jsonb_build_object('run', run)
     WHERE x.organization_id = i.organization_id AND x.id = i.id;
    RETURN jsonb_build_object('synced', up.changed, 'failed', up.failed, 'deleted', up.removed);
END
$$;
COMMENT ON FUNCTION wib.crm_salesforce_sync_apply(wib.crm_integrations, jsonb, integer, jsonb, text) IS
    'Internal: writes a batch of a Salesforce contact sync (records, or deletions) and moves the cursor in the same transaction; a dropped query locator goes on with a new query after the position; a deletions window Salesforce refuses (INVALID_REPLICATION_DATE) turns the run into a full listing that reconciles; returns the counts for the run.';
