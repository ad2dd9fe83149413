-- The CRM worker's SQL side (the C side is src/crm/sync.c).  A slice of work
-- on one integration is: claim it with a lease (committed), then repeatedly
-- ask wib.crm_advance for the next request, send it with no transaction open,
-- and hand the answer back to wib.crm_advance, which records it (rows, cursor,
-- tokens, counters: all in one transaction) and says what to send next.
-- What is generic lives here; each CRM's adapter builds its requests and
-- reads its answers (wib.crm_<crm>_request, wib.crm_<crm>_apply).

-- A JSON document from an answer body, or NULL when it is not JSON.  The body
-- may carry tokens: the parse error (which quotes the input) never leaves here.
CREATE OR REPLACE FUNCTION wib.crm_json(body text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN body::jsonb;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.crm_json(text) IS
    'Internal: body as jsonb, NULL when it is not JSON (the parse error, which would quote the body, is swallowed).';

-- An epoch-millisecond number of a timestamp.
CREATE OR REPLACE FUNCTION wib.crm_epoch_ms(t timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN floor(extract(epoch FROM t) * 1000)::bigint;
COMMENT ON FUNCTION wib.crm_epoch_ms(timestamptz) IS 'Internal: a timestamp as Unix milliseconds.';

-- Whether the plan of org still includes the CRM (a downgraded organization stops syncing).
CREATE OR REPLACE FUNCTION wib.crm_plan_allows(org uuid, crm_type text) RETURNS boolean
    LANGUAGE sql STABLE
    RETURN wib.org_has_feature(org, (SELECT a.feature FROM wib.crm_adapters() a WHERE a.crm_type = crm_plan_allows.crm_type));
COMMENT ON FUNCTION wib.crm_plan_allows(uuid, text) IS 'Internal: whether the plan of org includes the CRM.';

-- Leases a crashed holder left behind are given up (the worker calls this as it starts).
-- PL/pgSQL, like the other functions of the CRM worker that read tenant tables
-- with parameters: Citus cannot plan such statements in SQL-language functions
-- (docs/scale-out.md).
CREATE OR REPLACE FUNCTION wib.crm_release_stale(holder text) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    UPDATE wib.crm_integrations i SET lease_id = NULL, leased_until = NULL, leased_by = NULL
     WHERE i.leased_by = crm_release_stale.holder;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.crm_release_stale(text) IS
    'Internal: gives up the leases of a holder that died (the CRM worker, as it starts), so its integrations are due at once.';

-- Claims the most overdue integration with work (a revocation, a code to
-- exchange, a run in progress or due, calls to push), leasing it; only_integration: that
-- integration alone.  Committed before any request is sent.  On a Citus
-- cluster: wib.crm_claim_by_org.
CREATE OR REPLACE FUNCTION wib.crm_claim(lease_seconds integer, only_integration uuid, holder text)
    RETURNS TABLE (organization_id uuid, integration_id uuid, crm_type text, lease_id uuid)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF wib.is_distributed('wib.crm_integrations') THEN
        RETURN QUERY SELECT * FROM wib.crm_claim_by_org(lease_seconds, only_integration, holder);
        RETURN;
    END IF;
    RETURN QUERY
    WITH due AS (
        SELECT i.organization_id, i.id
          FROM wib.crm_integrations i
         WHERE (i.leased_until IS NULL OR i.leased_until < wib.clock_now())
           AND (crm_claim.only_integration IS NULL OR i.id = crm_claim.only_integration)
           AND (EXISTS (SELECT 1 FROM wib.crm_tokens t
                         WHERE t.organization_id = i.organization_id AND t.integration_id = i.id AND t.revoke)
                OR (i.status = 'pending'
                    AND EXISTS (SELECT 1 FROM wib.crm_oauth_states s
                                 WHERE s.organization_id = i.organization_id AND s.integration_id = i.id
                                   AND s.code IS NOT NULL))
                OR (i.status = 'connected'
                    AND (i.current_sync_id IS NOT NULL OR i.next_sync_at <= wib.clock_now()
                         OR i.calls_due_at <= wib.clock_now())
                    AND wib.crm_plan_allows(i.organization_id, i.crm_type)))
         ORDER BY least(i.next_sync_at, i.calls_due_at) NULLS FIRST, i.id
         LIMIT 1
         FOR UPDATE OF i SKIP LOCKED)
    UPDATE wib.crm_integrations x
       SET lease_id = gen_random_uuid(),
           leased_until = wib.clock_now() + make_interval(secs => crm_claim.lease_seconds),
           leased_by = crm_claim.holder
      FROM due
     WHERE x.organization_id = due.organization_id AND x.id = due.id
    RETURNING x.organization_id, x.id, x.crm_type, x.lease_id;
END
$$;
COMMENT ON FUNCTION wib.crm_claim(integer, uuid, text) IS
    'Internal: leases the most overdue integration with work for lease_seconds (only_integration: that one), for holder (worker or session); returns it, or nothing.';

-- The claim on a Citus cluster, where FOR UPDATE runs only in statements
-- routed to one shard: the integrations with work are listed first (a
-- multi-shard read, most overdue first, no lock), then each candidate is
-- locked (SKIP LOCKED) and leased by statements routed to its organization's
-- shard, its work checked again under the lock; the first one locked is
-- returned.  The plan check runs here, on the coordinator.
CREATE OR REPLACE FUNCTION wib.crm_claim_by_org(lease_seconds integer, only_integration uuid, holder text)
    RETURNS TABLE (organization_id uuid, integration_id uuid, crm_type text, lease_id uuid)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    cand   record;
    allows boolean;
    -- Computed here: Citus refuses VOLATILE functions in an UPDATE.
    lease  uuid := gen_random_uuid();
BEGIN
    FOR cand IN
        SELECT i.organization_id AS org, i.id AS integration, i.crm_type AS kind
          FROM wib.crm_integrations i
         WHERE (i.leased_until IS NULL OR i.leased_until < wib.clock_now())
           AND (crm_claim_by_org.only_integration IS NULL OR i.id = crm_claim_by_org.only_integration)
           AND (EXISTS (SELECT 1 FROM wib.crm_tokens t
                         WHERE t.organization_id = i.organization_id AND t.integration_id = i.id AND t.revoke)
                OR (i.status = 'pending'
                    AND EXISTS (SELECT 1 FROM wib.crm_oauth_states s
                                 WHERE s.organization_id = i.organization_id AND s.integration_id = i.id
                                   AND s.code IS NOT NULL))
                OR (i.status = 'connected'
                    AND (i.current_sync_id IS NOT NULL OR i.next_sync_at <= wib.clock_now()
                         OR i.calls_due_at <= wib.clock_now())))
         ORDER BY least(i.next_sync_at, i.calls_due_at) NULLS FIRST, i.id
    LOOP
        allows := wib.crm_plan_allows(cand.org, cand.kind);
        -- The row alone is locked (Citus runs FOR UPDATE only in a statement
        -- on one table routed to one shard), then its work checked again.
        PERFORM 1
           FROM wib.crm_integrations i
          WHERE i.organization_id = cand.org AND i.id = cand.integration
            AND (i.leased_until IS NULL OR i.leased_until < wib.clock_now())
            FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        PERFORM 1
           FROM wib.crm_integrations i
          WHERE i.organization_id = cand.org AND i.id = cand.integration
            AND (EXISTS (SELECT 1 FROM wib.crm_tokens t
                          WHERE t.organization_id = i.organization_id AND t.integration_id = i.id AND t.revoke)
                 OR (i.status = 'pending'
                     AND EXISTS (SELECT 1 FROM wib.crm_oauth_states s
                                  WHERE s.organization_id = i.organization_id AND s.integration_id = i.id
                                    AND s.code IS NOT NULL))
                 OR (i.status = 'connected' AND allows
                     AND (i.current_sync_id IS NOT NULL OR i.next_sync_at <= wib.clock_now()
                          OR i.calls_due_at <= wib.clock_now())));
        CONTINUE WHEN NOT FOUND;
        RETURN QUERY
        UPDATE wib.crm_integrations x
           SET lease_id = lease,
               leased_until = wib.clock_now() + make_interval(secs => crm_claim_by_org.lease_seconds),
               leased_by = crm_claim_by_org.holder
         WHERE x.organization_id = cand.org AND x.id = cand.integration
        RETURNING x.organization_id, x.id, x.crm_type, x.lease_id;
        RETURN;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.crm_claim_by_org(integer, uuid, text) IS
    'Internal (CRM worker, on a Citus cluster): wib.crm_claim one candidate integration at a time, locking and leasing with statements routed to its organization''s shard.';

-- Gives the lease up at the end of a slice.
CREATE OR REPLACE FUNCTION wib.crm_release(org uuid, integration uuid, lease uuid) RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    UPDATE wib.crm_integrations i SET lease_id = NULL, leased_until = NULL, leased_by = NULL
     WHERE i.organization_id = crm_release.org AND i.id = crm_release.integration AND i.lease_id = crm_release.lease;
END;
COMMENT ON FUNCTION wib.crm_release(uuid, uuid, uuid) IS 'Internal: ends a slice of the CRM worker, giving up its lease.';

-- The opened access token of an integration (NULL without one).  The sealed
-- value is read first and opened here: on a Citus cluster the key ring is the
-- coordinator's alone.
CREATE OR REPLACE FUNCTION wib.crm_access_token(org uuid, integration uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    sealed bytea;
    row_id uuid;
BEGIN
    SELECT t.access_token, t.id INTO sealed, row_id
      FROM wib.crm_tokens t
     WHERE t.organization_id = crm_access_token.org AND t.integration_id = crm_access_token.integration
       AND NOT t.revoke;
    RETURN wib.vault_open(sealed, org, 'crm_tokens.access_token', row_id::text);
END
$$;
COMMENT ON FUNCTION wib.crm_access_token(uuid, uuid) IS 'Internal: the opened access token of an integration.';

CREATE OR REPLACE FUNCTION wib.crm_refresh_token(org uuid, integration uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    sealed bytea;
    row_id uuid;
BEGIN
    SELECT t.refresh_token, t.id INTO sealed, row_id
      FROM wib.crm_tokens t
     WHERE t.organization_id = crm_refresh_token.org AND t.integration_id = crm_refresh_token.integration
       AND NOT t.revoke;
    RETURN wib.vault_open(sealed, org, 'crm_tokens.refresh_token', row_id::text);
END
$$;
COMMENT ON FUNCTION wib.crm_refresh_token(uuid, uuid) IS 'Internal: the opened refresh token of an integration.';

-- Stores the tokens of an OAuth token answer (RFC 6749 section 5.1), sealed;
-- false when the answer has no usable access token.  A refresh answer without
-- a refresh token keeps the one stored.
CREATE OR REPLACE FUNCTION wib.crm_tokens_store(org uuid, integration uuid, answer jsonb) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    access   text := answer ->> 'access_token';
    refresh  text := answer ->> 'refresh_token';
    lifetime integer;
    old      wib.crm_tokens;
    new_id   uuid := gen_random_uuid();
    sealed_access  bytea;
    sealed_refresh bytea;
BEGIN
    IF jsonb_typeof(answer) IS DISTINCT FROM 'object' OR jsonb_typeof(answer -> 'access_token') IS DISTINCT FROM 'string'
       OR length(access) NOT BETWEEN 1 AND 4096 OR length(refresh) > 4096 THEN
        RETURN false;
    END IF;
    lifetime := CASE WHEN jsonb_typeof(answer -> 'expires_in') = 'number'
                      AND (answer ->> 'expires_in')::numeric BETWEEN 1 AND 31536000
                     THEN (answer ->> 'expires_in')::numeric::integer
                     WHEN (answer ->> 'expires_in') ~ '^[0-9]{1,8}$' THEN (answer ->> 'expires_in')::integer
                     ELSE 1800 END;
    SELECT * INTO old FROM wib.crm_tokens t
     WHERE t.organization_id = org AND t.integration_id = integration AND NOT t.revoke FOR UPDATE;
    IF FOUND THEN
        new_id := old.id;
        IF refresh IS NULL THEN
            refresh := wib.vault_open(old.refresh_token, org, 'crm_tokens.refresh_token', old.id::text);
        END IF;
        -- Sealed first: Citus refuses VOLATILE functions in an UPDATE.
        sealed_access := wib.vault_seal(access, org, 'crm_tokens.access_token', new_id::text);
        sealed_refresh := wib.vault_seal(refresh, org, 'crm_tokens.refresh_token', new_id::text);
        UPDATE wib.crm_tokens t
           SET access_token = sealed_access,
               refresh_token = sealed_refresh,
               expires_at = wib.clock_now() + make_interval(secs => lifetime),
               lifetime_seconds = lifetime,
               scopes = coalesce(string_to_array(answer ->> 'scope', ' '), t.scopes)
         WHERE t.organization_id = org AND t.id = new_id;
    ELSE
        INSERT INTO wib.crm_tokens (organization_id, id, integration_id, access_token, refresh_token, expires_at,
                                    lifetime_seconds, scopes)
        VALUES (org, new_id, integration,
                wib.vault_seal(access, org, 'crm_tokens.access_token', new_id::text),
                wib.vault_seal(refresh, org, 'crm_tokens.refresh_token', new_id::text),
                wib.clock_now() + make_interval(secs => lifetime), lifetime,
                string_to_array(answer ->> 'scope', ' '));
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION wib.crm_tokens_store(uuid, uuid, jsonb) IS
    'Internal: seals the tokens of an OAuth token answer for an integration (the refresh token kept when the answer has none); false when the answer carries no access token.';

-- Whether the access token should be refreshed now: little of its lifetime is
-- left (wib.crm_token_refresh_margin, at most a third of the lifetime), or a
-- 401 asked for it.
CREATE OR REPLACE FUNCTION wib.crm_token_due(org uuid, integration uuid, force boolean) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    margin interval := current_setting('wib.crm_token_refresh_margin')::interval;
    due    boolean;
BEGIN
    SELECT coalesce(crm_token_due.force, false)
        OR t.expires_at IS NULL
        OR t.expires_at - least(margin, make_interval(secs => coalesce(t.lifetime_seconds, 1800) / 3.0))
           <= wib.clock_now()
      INTO due
      FROM wib.crm_tokens t
     WHERE t.organization_id = crm_token_due.org AND t.integration_id = crm_token_due.integration AND NOT t.revoke;
    RETURN due;
END
$$;
COMMENT ON FUNCTION wib.crm_token_due(uuid, uuid, boolean) IS
    'Internal: whether an integration''s access token is to be refreshed now (little lifetime left, or a 401 asked for it).';

-- The result of an adapter for the request builders: the adapter's function
-- named wib.crm_<crm>_<job>, called with the integration and a context.
CREATE OR REPLACE FUNCTION wib.crm_adapter_request(job text, i wib.crm_integrations, ctx jsonb)
    RETURNS wib.crm_request
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    r wib.crm_request;
BEGIN
    EXECUTE format('SELECT * FROM wib.%I($1, $2, $3)', 'crm_' || i.crm_type || '_request') INTO r USING job, i, ctx;
    RETURN r;
END
$$;
COMMENT ON FUNCTION wib.crm_adapter_request(text, wib.crm_integrations, jsonb) IS
    'Internal: the request of a kind (exchange, refresh, account, revoke, setup, push_call, find_call, sync) built by the integration''s CRM adapter.';

CREATE OR REPLACE FUNCTION wib.crm_adapter_apply(job text, i wib.crm_integrations, ctx jsonb, status integer,
                                                 body jsonb, error text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    result jsonb;
BEGIN
    EXECUTE format('SELECT wib.%I($1, $2, $3, $4, $5, $6)', 'crm_' || i.crm_type || '_apply')
       INTO result USING job, i, ctx, status, body, error;
    RETURN result;
END
$$;
COMMENT ON FUNCTION wib.crm_adapter_apply(text, wib.crm_integrations, jsonb, integer, jsonb, text) IS
    'Internal: hands an answer to the integration''s CRM adapter, which applies it and says what happened.';

-- The kind-less "nothing to send" answer of wib.crm_advance.
CREATE OR REPLACE FUNCTION wib.crm_request_none(kind text) RETURNS wib.crm_request
    LANGUAGE sql IMMUTABLE
    RETURN ROW(kind, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, NULL)::wib.crm_request;
COMMENT ON FUNCTION wib.crm_request_none(text) IS 'Internal: a request that sends nothing (done, lost).';
