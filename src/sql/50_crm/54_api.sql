-- The application's CRM calls besides connecting: a sync now, the dashboard
-- widget, and the caller popover's lookup; plus what operators run.

CREATE OR REPLACE FUNCTION wib.crm_sync_now(crm_type text, idempotency_key text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org    uuid := wib.require_org();
    i      wib.crm_integrations;
    replay jsonb;
    run_id uuid;
BEGIN
    PERFORM wib.crm_require_feature(crm_type);
    IF idempotency_key IS NOT NULL THEN
        replay := wib.idempotency_begin(idempotency_key, jsonb_build_object('crm_type', crm_type, 'sync_now', true));
        IF replay IS NOT NULL THEN
            RETURN (replay #>> '{}')::uuid;
        END IF;
    END IF;
    SELECT * INTO i FROM wib.crm_integrations x
     WHERE x.organization_id = org AND x.crm_type = crm_sync_now.crm_type FOR UPDATE;
    IF NOT FOUND OR i.status <> 'connected' THEN
        RAISE EXCEPTION USING ERRCODE = 'WB505',
            MESSAGE = format('CRM "%s" is not connected', crm_type),
            DETAIL = CASE WHEN i.id IS NOT NULL THEN format('Its status is %s%s.', i.status, coalesce(': ' || i.error_detail, ''))
                          ELSE 'The organization has not connected it.' END,
            HINT = 'Connect it with wib.crm_connect.';
    END IF;
    -- While a run is in progress, a sync now is that run.
    run_id := i.current_sync_id;
    IF run_id IS NULL THEN
        PERFORM wib.rate_limit_internal(org, 'crm_sync_now', 30, interval '1 minute');
        run_id := wib.crm_run_start(org, i.id, 'manual');
        PERFORM wib.wake('crm_sync');
    END IF;
    IF idempotency_key IS NOT NULL THEN
        PERFORM wib.idempotency_finish(idempotency_key, to_jsonb(run_id));
    END IF;
    RETURN run_id;
END
$$;
COMMENT ON FUNCTION wib.crm_sync_now(text, text) IS
    'Starts a sync of a connected CRM now (plan-gated, rate-limited) and returns its crm_sync_log id; while a run is in progress it returns that run''s id (never two runs at once). WB505 when not connected. Audited crm:sync_started.';

CREATE OR REPLACE FUNCTION wib.crm_status()
    RETURNS TABLE (crm_type text, status text, last_sync_at timestamptz, last_sync_status text, contacts bigint,
                   errors_24h bigint, next_sync_at timestamptz)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    SELECT i.crm_type, i.status, i.last_sync_at, i.last_sync_status, i.contact_count,
           (SELECT coalesce(sum(l.records_failed + l.calls_failed + CASE WHEN l.status = 'failed' THEN 1 ELSE 0 END), 0)::bigint
              FROM wib.crm_sync_log l
             WHERE l.organization_id = i.organization_id AND l.integration_id = i.id
               AND l.started_at > now() - interval '24 hours'),
           CASE WHEN i.status = 'connected' THEN
                CASE WHEN i.current_sync_id IS NOT NULL THEN now() ELSE least(i.next_sync_at, i.calls_due_at) END
           END
      FROM wib.crm_integrations i
     WHERE i.organization_id = wib.require_org()
     ORDER BY i.crm_type;
END;
COMMENT ON FUNCTION wib.crm_status() IS
    'The CRM widget of the dashboard ("HubSpot: synced 5m ago, 142 contacts, 3 errors"): per CRM of the organization in context, its status, last sync and its outcome, contacts cached, records and calls that failed (and failed runs) in the last 24 hours, and when the next sync is due.';

CREATE OR REPLACE FUNCTION wib.crm_contact_lookup(phone text) RETURNS SETOF wib.crm_contact_cache
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org uuid := wib.require_org();
    n   text;
BEGIN
    IF phone IS NULL OR btrim(phone) = '' OR length(phone) > 64 THEN
        PERFORM wib.invalid_field('phone', 'phone must be a phone number of at most 64 characters, such as (555) 123-4567 or +15551234567.');
    END IF;
    n := wib.phone_e164(phone, wib.org_default_country(org));
    IF n IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT c.* FROM wib.crm_contact_cache c
         WHERE c.organization_id = org AND (c.phone_e164 = n OR c.mobile_e164 = n)
         ORDER BY c.crm_modified_at DESC NULLS LAST, c.crm_type, c.crm_contact_id
         LIMIT 20;
END
$$;
COMMENT ON FUNCTION wib.crm_contact_lookup(text) IS
    'The caller popover: the cached CRM contacts whose phone or mobile number is this number, however it is written ((555) 123-4567, +1 555-123-4567 ext. 9, 5551234567); numbers without a calling code are read in the organization''s default_country. No rows for a number that cannot be read; 22023 for NULL, blank or longer than 64 characters.';

-- Operators and pg_cron: runs an integration's due work now, in this
-- session (src/crm/sync.c), and returns the records and calls it applied.
CREATE OR REPLACE FUNCTION wib.crm_sync(integration uuid) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    AS 'MODULE_PATHNAME', 'wib_crm_sync';
COMMENT ON FUNCTION wib.crm_sync(uuid) IS
    'Operators and pg_cron: runs the work of one integration now, in this session and transaction (the same code as the CRM worker: a sync run is started when none is in progress, then followed to its end); returns the contacts changed or deleted and calls pushed. Returns 0 when the worker holds the integration.';
