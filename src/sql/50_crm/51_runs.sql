-- Sync runs and the integration's state changes: a run starts (crm_sync_log
-- row, audited crm:sync_started), adds up what it did, and finishes (success,
-- partial or failed; audited crm:sync_completed or crm:sync_failed; event
-- crm.sync_completed or crm.sync_failed).  An integration becomes connected
-- (event crm.connected, audited crm:connected) or falls into error.

CREATE OR REPLACE FUNCTION wib.crm_run_start(org uuid, integration uuid, trigger text) RETURNS uuid
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    i      wib.crm_integrations;
    run_id uuid;
BEGIN
    SELECT * INTO i FROM wib.crm_integrations x WHERE x.organization_id = org AND x.id = integration FOR UPDATE;
    IF i.current_sync_id IS NOT NULL THEN
        RETURN i.current_sync_id;
    END IF;
    INSERT INTO wib.crm_sync_log AS l (organization_id, integration_id, crm_type, trigger, started_at)
    VALUES (org, integration, i.crm_type, trigger, wib.clock_now())
    RETURNING l.id INTO run_id;
    UPDATE wib.crm_integrations x
       SET current_sync_id = run_id, last_sync_status = 'running',
           worker_state = x.worker_state - 'next_trigger'
     WHERE x.organization_id = org AND x.id = integration;
    PERFORM wib.audit_for(org, 'crm:sync_started', 'crm_sync', run_id::text, NULL,
                          jsonb_build_object('integration_id', integration, 'crm_type', i.crm_type, 'trigger', trigger));
    RETURN run_id;
END
$$;
COMMENT ON FUNCTION wib.crm_run_start(uuid, uuid, text) IS
    'Internal: starts a sync run of an integration (or returns the one running): a crm_sync_log row, audited crm:sync_started.';

-- Adds what a request did to the run in progress: counters, and the first errors.
CREATE OR REPLACE FUNCTION wib.crm_run_add(org uuid, run_id uuid, counts jsonb) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    -- Computed here: Citus refuses functions other than IMMUTABLE ones in a
    -- CASE of an UPDATE on a distributed table.
    entry jsonb := CASE WHEN counts ? 'error'
                        THEN jsonb_build_array(jsonb_build_object('at', wib.clock_now(), 'error', left(counts ->> 'error', 500)))
                   END;
BEGIN
    UPDATE wib.crm_sync_log l
       SET records_synced = l.records_synced + coalesce((counts ->> 'synced')::integer, 0),
           records_failed = l.records_failed + coalesce((counts ->> 'failed')::integer, 0),
           records_deleted = l.records_deleted + coalesce((counts ->> 'deleted')::integer, 0),
           calls_pushed = l.calls_pushed + coalesce((counts ->> 'pushed')::integer, 0),
           calls_failed = l.calls_failed + coalesce((counts ->> 'push_failed')::integer, 0),
           requests = l.requests + coalesce((counts ->> 'requests')::integer, 0),
           rate_limited = l.rate_limited + coalesce((counts ->> 'rate_limited')::integer, 0),
           errors = CASE WHEN entry IS NOT NULL AND jsonb_array_length(l.errors) < 10
                         THEN l.errors || entry ELSE l.errors END
     WHERE l.organization_id = crm_run_add.org AND l.id = crm_run_add.run_id AND l.status = 'running';
END
$$;
COMMENT ON FUNCTION wib.crm_run_add(uuid, uuid, jsonb) IS
    'Internal: adds counts ({"synced", "failed", "deleted", "pushed", "push_failed", "requests", "rate_limited", "error"}) to a running sync run; the first 10 errors are kept.';

-- Finishes the run in progress: success, partial (some records or calls
-- failed, or it stopped early after syncing some), or failed.
CREATE OR REPLACE FUNCTION wib.crm_run_finish(org uuid, integration uuid, failure text DEFAULT NULL,
                                              fatal boolean DEFAULT false) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    i       wib.crm_integrations;
    l       wib.crm_sync_log;
    result  text;
    payload jsonb;
    next_at timestamptz;
BEGIN
    SELECT * INTO i FROM wib.crm_integrations x WHERE x.organization_id = org AND x.id = integration FOR UPDATE;
    IF i.current_sync_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO l FROM wib.crm_sync_log x WHERE x.organization_id = org AND x.id = i.current_sync_id FOR UPDATE;
    result := CASE
        WHEN fatal THEN 'failed'
        WHEN failure IS NOT NULL AND l.records_synced + l.records_deleted + l.calls_pushed = 0 THEN 'failed'
        WHEN failure IS NOT NULL OR l.records_failed > 0 OR l.calls_failed > 0 THEN 'partial'
        ELSE 'success' END;
    UPDATE wib.crm_sync_log x
       SET status = result, finished_at = wib.clock_now(), error_detail = left(failure, 2000)
     WHERE x.organization_id = org AND x.id = l.id
    RETURNING * INTO l;
    -- Computed here: Citus refuses functions other than IMMUTABLE ones in a
    -- CASE of an UPDATE on a distributed table.
    next_at := CASE WHEN result = 'failed'
                    THEN wib.clock_now() + least(current_setting('wib.crm_sync_interval')::interval, interval '5 minutes')
                    ELSE wib.clock_now() + current_setting('wib.crm_sync_interval')::interval END;
    UPDATE wib.crm_integrations x
       SET current_sync_id = NULL, last_sync_at = l.finished_at, last_sync_status = result,
           records_synced = x.records_synced + l.records_synced,
           records_failed = x.records_failed + l.records_failed + l.calls_failed,
           error_detail = CASE WHEN x.status = 'error' THEN x.error_detail ELSE left(failure, 2000) END,
           next_sync_at = CASE WHEN l.trigger = 'calls' THEN x.next_sync_at ELSE next_at END
     WHERE x.organization_id = org AND x.id = integration;
    payload := jsonb_build_object('integration_id', integration, 'crm_type', i.crm_type, 'sync_id', l.id,
                                  'trigger', l.trigger, 'status', result, 'records_synced', l.records_synced,
                                  'records_failed', l.records_failed, 'records_deleted', l.records_deleted,
                                  'calls_pushed', l.calls_pushed, 'calls_failed', l.calls_failed,
                                  'started_at', l.started_at, 'finished_at', l.finished_at);
    IF result = 'failed' THEN
        payload := payload || jsonb_build_object('error', left(failure, 500));
        PERFORM wib.audit_for(org, 'crm:sync_failed', 'crm_sync', l.id::text, NULL, payload);
        PERFORM wib.event_publish(org, 'crm.sync_failed', payload);
    ELSE
        PERFORM wib.audit_for(org, 'crm:sync_completed', 'crm_sync', l.id::text, NULL, payload);
        PERFORM wib.event_publish(org, 'crm.sync_completed', payload);
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION wib.crm_run_finish(uuid, uuid, text, boolean) IS
    'Internal: finishes the running sync run (failure: why it stopped early; fatal: an error the user must fix, so failed whatever it did) as success, partial or failed; audited crm:sync_completed or crm:sync_failed, event crm.sync_completed or crm.sync_failed; schedules the next run.';

-- The integration falls into error: the worker stops until the user reconnects.
CREATE OR REPLACE FUNCTION wib.crm_fail(org uuid, integration uuid, reason text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    i wib.crm_integrations;
BEGIN
    UPDATE wib.crm_integrations x SET status = 'error', error_detail = left(reason, 2000),
                                      worker_state = x.worker_state - 'force_refresh' - 'auth_retried'
     WHERE x.organization_id = org AND x.id = integration
    RETURNING * INTO i;
    IF i.current_sync_id IS NOT NULL THEN
        PERFORM wib.crm_run_add(org, i.current_sync_id, jsonb_build_object('error', reason));
        -- A run that stops on an error the user must fix has failed, whatever it did before.
        PERFORM wib.crm_run_finish(org, integration, reason, true);
    ELSE
        PERFORM wib.audit_for(org, 'crm:sync_failed', 'crm_integration', integration::text, NULL,
                              jsonb_build_object('integration_id', integration, 'crm_type', i.crm_type,
                                                 'error', left(reason, 500)));
        PERFORM wib.event_publish(org, 'crm.sync_failed',
                                  jsonb_build_object('integration_id', integration, 'crm_type', i.crm_type,
                                                     'status', 'failed', 'error', left(reason, 500)));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.crm_fail(uuid, uuid, text) IS
    'Internal: sets an integration''s status to error with the reason, fails its running run (audited crm:sync_failed, event crm.sync_failed); the worker leaves it until the user reconnects.';

-- Stops for now after a failure that may pass (the CRM down, rate limits that
-- did not let up): the run finishes with what it did, the next one comes sooner.
CREATE OR REPLACE FUNCTION wib.crm_pause(org uuid, integration uuid, reason text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    i    wib.crm_integrations;
    soon timestamptz;
BEGIN
    SELECT * INTO i FROM wib.crm_integrations x WHERE x.organization_id = org AND x.id = integration;
    IF i.current_sync_id IS NOT NULL THEN
        PERFORM wib.crm_run_add(org, i.current_sync_id, jsonb_build_object('error', reason));
        PERFORM wib.crm_run_finish(org, integration, reason);
    END IF;
    -- (a value, not an expression: Citus refuses functions other than
    -- IMMUTABLE ones in a CASE of an UPDATE on a distributed table)
    soon := wib.clock_now() + interval '1 minute';
    UPDATE wib.crm_integrations x
       SET next_sync_at = greatest(x.next_sync_at, soon),
           calls_due_at = CASE WHEN x.calls_due_at IS NULL THEN NULL ELSE greatest(x.calls_due_at, soon) END,
           error_detail = left(reason, 2000)
     WHERE x.organization_id = org AND x.id = integration;
END
$$;
COMMENT ON FUNCTION wib.crm_pause(uuid, uuid, text) IS
    'Internal: after a failure that may pass, finishes the running run with the reason and leaves the integration for at least a minute.';

-- The OAuth exchange or the account lookup failed: the connection is refused.
CREATE OR REPLACE FUNCTION wib.crm_connect_failed(org uuid, integration uuid, reason text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    i wib.crm_integrations;
BEGIN
    UPDATE wib.crm_integrations x SET status = 'error', error_detail = left(reason, 2000)
     WHERE x.organization_id = org AND x.id = integration
    RETURNING * INTO i;
    DELETE FROM wib.crm_tokens t WHERE t.organization_id = org AND t.integration_id = integration AND NOT t.revoke;
    PERFORM wib.audit_for(org, 'crm:connect_failed', 'crm_integration', integration::text, NULL,
                          jsonb_build_object('crm_type', i.crm_type, 'status', 'error', 'error', left(reason, 500)));
END
$$;
COMMENT ON FUNCTION wib.crm_connect_failed(uuid, uuid, text) IS
    'Internal: the code exchange or account lookup of a connection failed: status error with the reason, audited crm:connect_failed.';

-- The integration is connected to a CRM account: a first sync is due at once.
CREATE OR REPLACE FUNCTION wib.crm_connected(org uuid, integration uuid, account_id text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    i wib.crm_integrations;
BEGIN
    SELECT * INTO i FROM wib.crm_integrations x WHERE x.organization_id = org AND x.id = integration FOR UPDATE;
    -- Another account than before: what was cached from the old one goes.
    IF i.external_account_id IS DISTINCT FROM account_id THEN
        DELETE FROM wib.crm_contact_cache c WHERE c.organization_id = org AND c.integration_id = integration;
        UPDATE wib.crm_integrations x SET sync_cursor = NULL, contact_count = 0,
                                          worker_state = x.worker_state - 'call_property'
         WHERE x.organization_id = org AND x.id = integration;
    END IF;
    UPDATE wib.crm_integrations x
       SET status = 'connected', external_account_id = account_id, connected_at = wib.clock_now(),
           error_detail = NULL, next_sync_at = wib.clock_now(),
           worker_state = x.worker_state - 'force_refresh' - 'auth_retried' || '{"next_trigger": "connect"}'
     WHERE x.organization_id = org AND x.id = integration
    RETURNING * INTO i;
    PERFORM wib.audit_for(org, 'crm:connected', 'crm_integration', integration::text, NULL,
                          jsonb_build_object('crm_type', i.crm_type, 'status', 'connected',
                                             'external_account_id', account_id, 'connected_by', i.connected_by));
    PERFORM wib.event_publish(org, 'crm.connected',
                              jsonb_build_object('integration_id', integration, 'crm_type', i.crm_type,
                                                 'account_id', account_id, 'connected_at', i.connected_at));
END
$$;
COMMENT ON FUNCTION wib.crm_connected(uuid, uuid, text) IS
    'Internal: marks an integration connected to a CRM account (a different account than before clears the cache); audited crm:connected, event crm.connected; the first sync is due at once.';
