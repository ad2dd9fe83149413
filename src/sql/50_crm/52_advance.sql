-- One step of the CRM worker: record the answer to the last request, then
-- decide the next one.  In order: revoke tokens of a disconnected
-- integration, exchange an authorization code, look the account up, refresh
-- the access token ahead of its expiry (or after a 401), push due calls
-- (reconciling those whose outcome is unknown), sync contacts, finish the run.

-- Records the answer to a request: tokens, account, counters, and whatever
-- the adapter applies (rows and cursor in this same transaction).
CREATE OR REPLACE FUNCTION wib.crm_record(i wib.crm_integrations, kind text, ctx jsonb, status integer,
                                          body_text text, error text, attempts integer, limited integer)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    org    uuid := i.organization_id;
    body   jsonb := wib.crm_json(body_text);
    res    jsonb;
    reason text;
BEGIN
    IF i.current_sync_id IS NOT NULL THEN
        PERFORM wib.crm_run_add(org, i.current_sync_id,
                                jsonb_build_object('requests', coalesce(attempts, 1), 'rate_limited', coalesce(limited, 0)));
    END IF;
    -- Why a request failed, in words that never quote a token: the CRM's own
    -- error fields, the HTTP status, or the transport error.
    reason := coalesce(left(coalesce(body ->> 'error_description', body ->> 'message', body ->> 'error'), 300)
                       || format(' (HTTP %s)', status),
                       CASE WHEN status > 0 THEN format('HTTP %s', status) END,
                       error, 'no answer');

    IF kind = 'revoke' THEN
        -- Best effort: the ciphertext goes whatever the CRM answered.
        DELETE FROM wib.crm_tokens t WHERE t.organization_id = org AND t.id = (ctx ->> 'token_id')::uuid;
        RETURN;
    END IF;

    IF kind = 'exchange' THEN
        IF status = 200 AND wib.crm_tokens_store(org, i.id, body) THEN
            res := wib.crm_adapter_apply('exchange', i, ctx, status, body, error);
            IF res ? 'account_id' THEN
                PERFORM wib.crm_connected(org, i.id, res ->> 'account_id');
            END IF;
        ELSE
            PERFORM wib.crm_connect_failed(org, i.id, 'the authorization code was refused: ' || reason);
        END IF;
        RETURN;
    END IF;

    IF kind = 'account' THEN
        res := wib.crm_adapter_apply('account', i, ctx, status, body, error);
        IF res ? 'account_id' THEN
            PERFORM wib.crm_connected(org, i.id, res ->> 'account_id');
        ELSIF status BETWEEN 400 AND 499 OR status = 200 THEN
            PERFORM wib.crm_connect_failed(org, i.id, 'the CRM account could not be read: ' || coalesce(res ->> 'error', reason));
        ELSE
            PERFORM wib.crm_pause(org, i.id, 'the CRM account could not be read: ' || reason);
        END IF;
        RETURN;
    END IF;

    IF kind = 'refresh' THEN
        -- The adapter reads the rest of the answer (Salesforce: instance_url), or says why it was refused.
        IF status = 200 AND wib.crm_tokens_store(org, i.id, body) THEN
            res := wib.crm_adapter_apply('refresh', i, ctx, status, body, error);
            UPDATE wib.crm_integrations x SET worker_state = x.worker_state - 'force_refresh'
             WHERE x.organization_id = org AND x.id = i.id;
            IF res ? 'fatal' THEN
                PERFORM wib.crm_fail(org, i.id, res ->> 'fatal');
            END IF;
        ELSIF status BETWEEN 400 AND 499 THEN
            res := wib.crm_adapter_apply('refresh', i, ctx, status, body, error);
            PERFORM wib.crm_fail(org, i.id, coalesce(res ->> 'fatal', 'the CRM refused to refresh the access token: ' || reason
                                                                      || '; reconnect the CRM'));
        ELSE
            PERFORM wib.crm_pause(org, i.id, 'the access token could not be refreshed: ' || reason);
        END IF;
        RETURN;
    END IF;

    -- Not sent (status -1): the token expired while the request waited for the rate limit.
    IF status = -1 THEN
        UPDATE wib.crm_integrations x SET worker_state = x.worker_state || '{"force_refresh": true}'
         WHERE x.organization_id = org AND x.id = i.id;
        IF kind = 'push_call' THEN
            PERFORM wib.crm_push_result(org, (ctx ->> 'push_id')::uuid, 'retry', NULL, NULL, error);
        END IF;
        RETURN;
    END IF;

    -- API requests: a 401 asks for one refresh and a retry; a second 401 right after is fatal.
    IF status = 401 THEN
        res := wib.crm_adapter_apply(kind, i, ctx, status, body, error);
        IF coalesce((i.worker_state ->> 'auth_retried')::boolean, false) THEN
            PERFORM wib.crm_fail(org, i.id, 'the CRM refused a freshly refreshed access token: ' || reason
                                 || '; reconnect the CRM');
        ELSE
            UPDATE wib.crm_integrations x
               SET worker_state = x.worker_state || '{"force_refresh": true, "auth_retried": true}'
             WHERE x.organization_id = org AND x.id = i.id;
        END IF;
        RETURN;
    END IF;
    IF status BETWEEN 200 AND 299 AND i.worker_state ? 'auth_retried' THEN
        UPDATE wib.crm_integrations x SET worker_state = x.worker_state - 'auth_retried'
         WHERE x.organization_id = org AND x.id = i.id;
        i.worker_state := i.worker_state - 'auth_retried';
    END IF;
    res := wib.crm_adapter_apply(kind, i, ctx, status, body, error);
    IF i.current_sync_id IS NOT NULL AND res IS NOT NULL THEN
        PERFORM wib.crm_run_add(org, i.current_sync_id, res - 'pause' - 'fatal');
    END IF;
    IF res ? 'fatal' THEN
        PERFORM wib.crm_fail(org, i.id, res ->> 'fatal');
    ELSIF coalesce((res ->> 'pause')::boolean, false) THEN
        PERFORM wib.crm_pause(org, i.id, coalesce(res ->> 'error', reason));
    END IF;
END
$$;
COMMENT ON FUNCTION wib.crm_record(wib.crm_integrations, text, jsonb, integer, text, text, integer, integer) IS
    'Internal: records the answer to one request of the CRM worker (tokens, account, counters, the adapter''s rows and cursor) in the current transaction; status -1 means it was not sent because its access token expired while it waited.';

-- When the next call push of an integration is due, or NULL when none waits.
CREATE OR REPLACE FUNCTION wib.crm_calls_next_due(org uuid, integration uuid) RETURNS timestamptz
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    delay interval := current_setting('wib.crm_push_reconcile_delay')::interval;
    due   timestamptz;
BEGIN
    SELECT min(CASE WHEN p.status = 'pending' THEN p.due_at ELSE p.pushing_since + delay END) INTO due
      FROM wib.crm_call_pushes p
     WHERE p.organization_id = crm_calls_next_due.org AND p.integration_id = crm_calls_next_due.integration
       AND p.status IN ('pending', 'pushing', 'unknown');
    RETURN due;
END
$$;
COMMENT ON FUNCTION wib.crm_calls_next_due(uuid, uuid) IS
    'Internal: when the next call push of an integration is due (a pending one, or the reconciling of one whose outcome is unknown).';

-- Decides the next request of an integration (see the top of this file).
CREATE OR REPLACE FUNCTION wib.crm_next(i wib.crm_integrations) RETURNS wib.crm_request
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    org     uuid := i.organization_id;
    r       wib.crm_request;
    tok     uuid;
    st      uuid;
    p       wib.crm_call_pushes;
    run     wib.crm_sync_log;
    trigger text;
    -- A value, not an expression: on a Citus cluster the query below runs on
    -- a worker, which knows wib's settings only once it loaded wib's library.
    reconcile interval := current_setting('wib.crm_push_reconcile_delay')::interval;
BEGIN
    SELECT t.id INTO tok FROM wib.crm_tokens t
     WHERE t.organization_id = org AND t.integration_id = i.id AND t.revoke LIMIT 1;
    IF FOUND THEN
        RETURN wib.crm_adapter_request('revoke', i, jsonb_build_object('token_id', tok));
    END IF;

    IF i.status = 'pending' THEN
        SELECT s.id INTO st FROM wib.crm_oauth_states s
         WHERE s.organization_id = org AND s.integration_id = i.id AND s.code IS NOT NULL
         ORDER BY s.used_at DESC LIMIT 1;
        IF FOUND THEN
            r := wib.crm_adapter_request('exchange', i, jsonb_build_object('state_id', st));
            -- The code is used once: forgotten before it is sent.
            UPDATE wib.crm_oauth_states s SET code = NULL WHERE s.organization_id = org AND s.integration_id = i.id;
            RETURN r;
        END IF;
        IF EXISTS (SELECT 1 FROM wib.crm_tokens t WHERE t.organization_id = org AND t.integration_id = i.id) THEN
            RETURN wib.crm_adapter_request('account', i, '{}');
        END IF;
        RETURN wib.crm_request_none('done');
    END IF;
    IF i.status <> 'connected' OR NOT wib.crm_plan_allows(org, i.crm_type) THEN
        RETURN wib.crm_request_none('done');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM wib.crm_tokens t WHERE t.organization_id = org AND t.integration_id = i.id AND NOT t.revoke) THEN
        PERFORM wib.crm_fail(org, i.id, 'the integration has no tokens; reconnect the CRM');
        RETURN wib.crm_request_none('done');
    END IF;
    IF wib.crm_token_due(org, i.id, coalesce((i.worker_state ->> 'force_refresh')::boolean, false)) THEN
        RETURN wib.crm_adapter_request('refresh', i, '{}');
    END IF;

    -- Calls to push: a new one, or one whose outcome is unknown, once the CRM's search has caught up.
    SELECT * INTO p FROM wib.crm_call_pushes x
     WHERE x.organization_id = org AND x.integration_id = i.id
       AND ((x.status = 'pending' AND x.due_at <= wib.clock_now())
            OR (x.status IN ('pushing', 'unknown')
                AND x.pushing_since + reconcile <= wib.clock_now()))
     ORDER BY x.due_at, x.id
     LIMIT 1 FOR UPDATE;
    IF FOUND THEN
        IF i.current_sync_id IS NULL THEN
            PERFORM wib.crm_run_start(org, i.id, 'calls');
            SELECT * INTO i FROM wib.crm_integrations x WHERE x.organization_id = org AND x.id = i.id;
        END IF;
        r := wib.crm_adapter_request('setup', i, '{}');
        IF r.kind <> 'none' THEN
            RETURN r;
        END IF;
        IF p.status = 'pending' THEN
            -- Marked before it is sent (committed with this step): a crash after
            -- sending leaves it "pushing", to reconcile with the CRM, never to resend blindly.
            UPDATE wib.crm_call_pushes x
               SET status = 'pushing', pushing_since = wib.clock_now(), attempts = x.attempts + 1,
                   sync_id = i.current_sync_id
             WHERE x.organization_id = org AND x.id = p.id;
            RETURN wib.crm_adapter_request('push_call', i, jsonb_build_object('push_id', p.id, 'call_id', p.call_id));
        END IF;
        RETURN wib.crm_adapter_request('find_call', i, jsonb_build_object('push_id', p.id, 'call_id', p.call_id));
    END IF;
    UPDATE wib.crm_integrations x SET calls_due_at = wib.crm_calls_next_due(org, i.id)
     WHERE x.organization_id = org AND x.id = i.id AND x.calls_due_at IS DISTINCT FROM wib.crm_calls_next_due(org, i.id);

    -- Contacts: a run due by the schedule starts now.
    IF i.current_sync_id IS NULL AND i.next_sync_at <= wib.clock_now() THEN
        trigger := coalesce(i.worker_state ->> 'next_trigger', 'schedule');
        PERFORM wib.crm_run_start(org, i.id, trigger);
        SELECT * INTO i FROM wib.crm_integrations x WHERE x.organization_id = org AND x.id = i.id;
    END IF;
    IF i.current_sync_id IS NOT NULL THEN
        SELECT * INTO run FROM wib.crm_sync_log l WHERE l.organization_id = org AND l.id = i.current_sync_id;
        IF run.trigger <> 'calls' THEN
            r := wib.crm_adapter_request('sync', i, jsonb_build_object('sync_id', run.id, 'trigger', run.trigger));
            IF r.kind <> 'none' THEN
                RETURN r;
            END IF;
        END IF;
        PERFORM wib.crm_run_finish(org, i.id);
    END IF;
    RETURN wib.crm_request_none('done');
END
$$;
COMMENT ON FUNCTION wib.crm_next(wib.crm_integrations) IS
    'Internal: the next request of an integration''s work (revoke, exchange, account, refresh, setup, push_call, find_call, sync), or done.';

-- One step of a slice: records the answer to the previous request (none on
-- the first step), extends the lease, and returns the next request; lost
-- when the lease has passed to another holder, paused when want_next is false.
CREATE OR REPLACE FUNCTION wib.crm_advance(org uuid, integration uuid, lease uuid, want_next boolean,
                                           prev_kind text, prev_ctx jsonb, prev_status integer, prev_body text,
                                           prev_error text, prev_attempts integer, prev_limited integer)
    RETURNS wib.crm_request
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    i wib.crm_integrations;
    r wib.crm_request;
BEGIN
    SELECT * INTO i FROM wib.crm_integrations x WHERE x.organization_id = org AND x.id = integration FOR UPDATE;
    IF NOT FOUND OR i.lease_id IS DISTINCT FROM lease THEN
        RETURN wib.crm_request_none('lost');
    END IF;
    PERFORM wib.act_as(org);
    UPDATE wib.crm_integrations x
       SET leased_until = wib.clock_now() + current_setting('wib.crm_lease')::interval
     WHERE x.organization_id = org AND x.id = integration;
    IF prev_kind IS NOT NULL AND prev_kind NOT IN ('done', 'none', 'lost', 'paused') THEN
        PERFORM wib.crm_record(i, prev_kind, prev_ctx, prev_status, prev_body, prev_error, prev_attempts, prev_limited);
        SELECT * INTO i FROM wib.crm_integrations x WHERE x.organization_id = org AND x.id = integration;
    END IF;
    IF NOT want_next THEN
        RETURN wib.crm_request_none('paused');
    END IF;
    r := wib.crm_next(i);
    -- The sender does not send a bearer token that expires while it waits for the rate limit
    -- (a token whose end is not known expires at infinity).
    IF r.bearer IS NOT NULL THEN
        r.ctx := coalesce(r.ctx, '{}') || jsonb_build_object('not_after', (
            SELECT extract(epoch FROM t.expires_at) FROM wib.crm_tokens t
             WHERE t.organization_id = org AND t.integration_id = integration AND NOT t.revoke
               AND isfinite(t.expires_at)));
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION wib.crm_advance(uuid, uuid, uuid, boolean, text, jsonb, integer, text, text, integer, integer) IS
    'Internal: one step of the CRM worker on a leased integration: records the answer to the previous request and returns the next (done when there is nothing left, lost when the lease is gone, paused when want_next is false); a request with a bearer token says in ctx.not_after when the token expires.';
