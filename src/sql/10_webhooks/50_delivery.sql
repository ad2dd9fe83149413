-- The deliverer's side: claim due deliveries with a lease, record results, retry on schedule.

-- The deliverer's side (called by the worker and by wib.deliver_due)

-- Delay before retry number attempt (1-based) of a policy, from the schedule the
-- setting's check parsed (C), so what the setting accepts is what retries use.
CREATE OR REPLACE FUNCTION wib.webhook_retry_delay(policy text, attempt integer) RETURNS interval
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_webhook_retry_delay';
COMMENT ON FUNCTION wib.webhook_retry_delay(text, integer) IS
    'Internal: the wait before a retry: exponential takes the attempt''s step of wib.webhook_retry_schedule (the last one repeats), linear the first step times the attempt; NULL for none.';

-- The live signing secrets of a subscription, opened: the current one, and
-- the previous one while it still signs; NULL when the current one does not
-- open (its key left the ring, or the value was copied from another row), so
-- that nothing is ever sent unsigned.
CREATE OR REPLACE FUNCTION wib.webhook_secrets(s wib.webhook_subscriptions) RETURNS text[]
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    cur  text;
    prev text;
BEGIN
    BEGIN
        cur := wib.vault_open(s.secret, s.organization_id, 'webhook_subscriptions.secret', s.id::text);
    EXCEPTION WHEN SQLSTATE 'WB009' OR undefined_object THEN
        RAISE WARNING 'webhook subscription % has a signing secret that does not open: %', s.id, SQLERRM
            USING HINT = 'Its deliveries wait until the key is back in the ring or the secret is rotated (wib.webhook_rotate_secret).';
        RETURN NULL;
    END;
    IF s.previous_secret IS NULL OR NOT s.previous_secret_expires_at > now() THEN
        RETURN ARRAY[cur];
    END IF;
    BEGIN
        prev := wib.vault_open(s.previous_secret, s.organization_id, 'webhook_subscriptions.previous_secret', s.id::text);
    EXCEPTION WHEN SQLSTATE 'WB009' OR undefined_object THEN
        RAISE WARNING 'webhook subscription % has a previous signing secret that does not open: %', s.id, SQLERRM
            USING HINT = 'Its deliveries are signed with the current secret only.';
        RETURN ARRAY[cur];
    END;
    RETURN ARRAY[cur, prev];
END
$$;
COMMENT ON FUNCTION wib.webhook_secrets(wib.webhook_subscriptions) IS
    'Internal (deliverer): a subscription''s live signing secrets opened from the vault (the previous one too while it is valid), or NULL when the current one does not open.';

-- Claims up to max_items due deliveries for lease, returning what sending
-- them needs, the signing secrets opened (they leave the database only in
-- the deliverer's memory).  The lease is leased_until alone: the claim
-- changes no indexed column, so its update is a heap-only tuple (no index
-- entries written), and the rows locked by the scan are updated through
-- their ctid (no second index probe).
CREATE OR REPLACE FUNCTION wib.webhook_claim(max_items integer, lease interval)
    RETURNS TABLE (organization_id uuid, id uuid, attempt_number integer, message_id text,
                   target_url text, body text, secrets text[])
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    -- Walk the due index in order: a plain index scan stops after max_items live
    -- rows and marks the dead entries a busy queue leaves behind, where a bitmap
    -- scan would re-read them all on every claim until the next vacuum.
    SET enable_bitmapscan = off
    SET enable_seqscan = off
    -- A generic plan cannot see the batch size.
    SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    IF wib.is_distributed('wib.webhook_deliveries') THEN
        RETURN QUERY SELECT * FROM wib.webhook_claim_by_org(max_items, lease);
        RETURN;
    END IF;
    RETURN QUERY
    WITH due AS (
        SELECT d.ctid AS row_id, d.organization_id, d.subscription_id
          FROM wib.webhook_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.next_retry_at <= now()
           AND (d.leased_until IS NULL OR d.leased_until <= now())
         ORDER BY d.next_retry_at
         LIMIT max_items
           FOR UPDATE SKIP LOCKED),
    -- Each subscription's secrets, opened once per claim.
    keyed AS MATERIALIZED (
        SELECT s.organization_id, s.id, s.target_url, wib.webhook_secrets(s) AS secrets
          FROM wib.webhook_subscriptions s
         WHERE (s.organization_id, s.id) IN (SELECT due.organization_id, due.subscription_id FROM due)),
    claimed AS (
        UPDATE wib.webhook_deliveries d
           SET attempt_number = d.attempt_number + 1,
               leased_until = now() + lease
          FROM due
          JOIN keyed k ON k.organization_id = due.organization_id AND k.id = due.subscription_id
         WHERE d.ctid = due.row_id AND k.secrets IS NOT NULL
        RETURNING d.organization_id, d.id, d.subscription_id, d.attempt_number, d.message_id,
                  d.event_type, d.created_at, d.payload),
    -- A delivery whose secret does not open is not sent unsigned: it waits one
    -- step of the retry schedule without spending an attempt.
    held AS (
        UPDATE wib.webhook_deliveries d
           SET next_retry_at = now() + wib.webhook_retry_delay('exponential', 1),
               last_error = 'not sent: the subscription''s signing secret does not open'
          FROM due
          JOIN keyed k ON k.organization_id = due.organization_id AND k.id = due.subscription_id
         WHERE d.ctid = due.row_id AND k.secrets IS NULL
        RETURNING 1)
    SELECT c.organization_id, c.id, c.attempt_number, c.message_id, k.target_url,
           jsonb_build_object('type', c.event_type,
                              'timestamp', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                              'data', c.payload)::text,
           k.secrets
      FROM claimed c
      JOIN keyed k ON k.organization_id = c.organization_id AND k.id = c.subscription_id;
END
$$;
COMMENT ON FUNCTION wib.webhook_claim(integer, interval) IS
    'Internal (deliverer): leases due deliveries with FOR UPDATE SKIP LOCKED and returns them with their subscriptions'' signing secrets opened from the vault; a lease that expires makes the delivery due again; a delivery whose secret does not open waits unsent.';

-- The claim on a Citus cluster, where FOR UPDATE runs only in statements
-- routed to one shard: the organizations with due deliveries are found first
-- (oldest due first), then each one's due rows are locked (SKIP LOCKED) and
-- leased by statements routed to its shard.  The lease and what a crash
-- leaves behind are those of the single-node claim.  The signing secrets are
-- opened here, on the coordinator, which alone holds the key ring: neither
-- they nor the keys are sent to a worker.
CREATE OR REPLACE FUNCTION wib.webhook_claim_by_org(max_items integer, lease interval)
    RETURNS TABLE (organization_id uuid, id uuid, attempt_number integer, message_id text,
                   target_url text, body text, secrets text[])
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    org     uuid;
    budget  integer := max_items;
    due     record;
    sub     wib.webhook_subscriptions;
    subs    uuid[];
    keyed   jsonb;
    ok_ids  uuid[];
    held    uuid[];
    c       record;
BEGIN
    FOR org IN
        SELECT d.organization_id FROM wib.webhook_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.next_retry_at <= now()
         GROUP BY d.organization_id ORDER BY min(d.next_retry_at) LIMIT max_items
    LOOP
        subs := '{}'; ok_ids := '{}'; held := '{}'; keyed := '{}';
        FOR due IN
            SELECT d.id, d.subscription_id FROM wib.webhook_deliveries d
             WHERE d.organization_id = org AND d.status IN ('pending', 'retrying') AND d.next_retry_at <= now()
             ORDER BY d.next_retry_at LIMIT budget
               FOR UPDATE SKIP LOCKED
        LOOP
            IF NOT (due.subscription_id = ANY (subs)) THEN
                subs := subs || due.subscription_id;
                SELECT s.* INTO sub FROM wib.webhook_subscriptions s
                 WHERE s.organization_id = org AND s.id = due.subscription_id;
                keyed := keyed || jsonb_build_object(due.subscription_id::text,
                    jsonb_build_object('url', sub.target_url, 'secrets', to_jsonb(wib.webhook_secrets(sub))));
            END IF;
            IF jsonb_typeof(keyed -> due.subscription_id::text -> 'secrets') = 'array' THEN
                ok_ids := ok_ids || due.id;
            ELSE
                held := held || due.id;
            END IF;
        END LOOP;
        CONTINUE WHEN cardinality(ok_ids) + cardinality(held) = 0;
        IF cardinality(held) > 0 THEN
            UPDATE wib.webhook_deliveries d
               SET next_retry_at = now() + wib.webhook_retry_delay('exponential', 1),
                   last_error = 'not sent: the subscription''s signing secret does not open'
             WHERE d.organization_id = org AND d.id = ANY (held);
        END IF;
        FOR c IN
            UPDATE wib.webhook_deliveries d
               SET attempt_number = d.attempt_number + 1,
                   next_retry_at = now() + lease,
                   leased_until = now() + lease
             WHERE d.organization_id = org AND d.id = ANY (ok_ids)
            RETURNING d.id, d.subscription_id, d.attempt_number, d.message_id, d.event_type, d.created_at, d.payload
        LOOP
            organization_id := org;
            id := c.id;
            attempt_number := c.attempt_number;
            message_id := c.message_id;
            target_url := keyed -> c.subscription_id::text ->> 'url';
            body := jsonb_build_object('type', c.event_type,
                                       'timestamp', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                       'data', c.payload)::text;
            secrets := ARRAY(SELECT jsonb_array_elements_text(keyed -> c.subscription_id::text -> 'secrets'));
            RETURN NEXT;
        END LOOP;
        budget := budget - cardinality(ok_ids) - cardinality(held);
        EXIT WHEN budget <= 0;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.webhook_claim_by_org(integer, interval) IS
    'Internal (deliverer, on a Citus cluster): wib.webhook_claim one organization at a time, locking and leasing with statements routed to the organization''s shard and opening the signing secrets on the coordinator.';

-- Records the results of one batch of attempts, schedules retries, and
-- deactivates subscriptions after wib.webhook_disable_after failed deliveries in a row.
-- Each delivery is found once by primary key; the update goes through the ctid
-- found then (in the same statement, its snapshot), and rechecks the attempt.
CREATE OR REPLACE FUNCTION wib.webhook_record(org_ids uuid[], ids uuid[], attempts integer[], http_status integer[],
                                   errors text[], durations integer[], bodies text[], retry_after integer[])
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    -- A generic plan cannot see the batch size and picks scans of the whole table.
    SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    n             integer;
    disable_after integer := current_setting('wib.webhook_disable_after')::integer;
    to_check_orgs uuid[];
    to_check_ids  uuid[];
    sub           record;
BEGIN
    IF wib.is_distributed('wib.webhook_deliveries') THEN
        RETURN wib.webhook_record_by_org(org_ids, ids, attempts, http_status, errors, durations, bodies, retry_after);
    END IF;
    WITH r AS (
        SELECT * FROM unnest(org_ids, ids, attempts, http_status, errors, durations, bodies, retry_after)
                   AS r(organization_id, id, attempt, http_status, error, duration_ms, body, retry_after)),
    -- The batch's rows, each found by primary key (a lateral subquery the planner
    -- keeps as it is, whose condition only the primary key serves: neither a
    -- hash of every due delivery nor a walk of the due or subscription index),
    -- materialized with their ctid and outcome.
    outcome AS MATERIALIZED (
        SELECT r.*, d.row_id, d.subscription_id, s.retry_policy,
               CASE WHEN r.http_status BETWEEN 200 AND 299 THEN 'delivered'
                    WHEN r.http_status = 410 OR s.retry_policy = 'none' OR r.attempt > s.max_retries THEN 'failed'
                    ELSE 'retrying' END AS new_status
          FROM r
          CROSS JOIN LATERAL (SELECT x.ctid AS row_id, x.subscription_id, x.attempt_number, x.status
                                FROM wib.webhook_deliveries x
                               WHERE x.organization_id = r.organization_id AND x.id = r.id
                              OFFSET 0) d
          JOIN wib.webhook_subscriptions s ON s.organization_id = r.organization_id AND s.id = d.subscription_id
         WHERE d.attempt_number = r.attempt AND d.status IN ('pending', 'retrying')),
    upd AS (
        UPDATE wib.webhook_deliveries d
           SET status = o.new_status,
               response_status = nullif(o.http_status, 0),
               response_body = left(o.body, 1024),
               last_error = o.error,
               duration_ms = o.duration_ms,
               last_attempt_at = now(),
               leased_until = NULL,
               delivered_at = CASE WHEN o.new_status = 'delivered' THEN now() END,
               next_retry_at = CASE WHEN o.new_status = 'retrying'
                                    THEN now() + greatest(wib.webhook_retry_delay(o.retry_policy, o.attempt),
                                                          CASE WHEN o.http_status IN (429, 503)
                                                               THEN make_interval(secs => coalesce(o.retry_after, 0))
                                                               ELSE interval '0' END)
                                    ELSE d.next_retry_at END
          FROM outcome o
         WHERE d.ctid = o.row_id AND d.attempt_number = o.attempt AND d.status IN ('pending', 'retrying')
        RETURNING d.organization_id, d.subscription_id, d.status),
    per_sub AS (
        SELECT u.organization_id, u.subscription_id,
               count(*) FILTER (WHERE u.status = 'delivered') AS delivered,
               count(*) FILTER (WHERE u.status = 'failed') AS failed
          FROM upd u GROUP BY 1, 2),
    -- Failure runs: a delivered message resets the count, each failed delivery adds one.
    counted AS (
        UPDATE wib.webhook_subscriptions s
           SET consecutive_failures = CASE WHEN p.delivered > 0 THEN 0 ELSE s.consecutive_failures + p.failed END
          FROM per_sub p
         WHERE s.organization_id = p.organization_id AND s.id = p.subscription_id
           AND (p.failed > 0 OR (p.delivered > 0 AND s.consecutive_failures > 0))
        RETURNING 1),
    -- The batch's active subscriptions whose run of failures reaches the limit.
    over_limit AS (
        SELECT s.organization_id, s.id
          FROM per_sub p
          JOIN wib.webhook_subscriptions s ON s.organization_id = p.organization_id AND s.id = p.subscription_id
         WHERE disable_after > 0 AND s.is_active
           AND CASE WHEN p.delivered > 0 THEN 0 ELSE s.consecutive_failures + p.failed END >= disable_after)
    SELECT (SELECT count(*) FROM upd),
           (SELECT array_agg(l.organization_id) FROM over_limit l),
           (SELECT array_agg(l.id) FROM over_limit l)
      INTO n, to_check_orgs, to_check_ids;

    IF to_check_ids IS NOT NULL THEN
        FOR sub IN
            UPDATE wib.webhook_subscriptions s
               SET is_active = false, disabled_at = now(),
                   disabled_reason = format('%s failed deliveries in a row', s.consecutive_failures)
              FROM unnest(to_check_orgs, to_check_ids) AS t(organization_id, id)
             WHERE s.organization_id = t.organization_id AND s.id = t.id
               AND s.is_active AND s.consecutive_failures >= disable_after
            RETURNING s.organization_id, s.id, s.name, s.consecutive_failures
        LOOP
            UPDATE wib.webhook_deliveries d
               SET status = 'failed', last_error = 'subscription deactivated after repeated failures',
                   leased_until = NULL
             WHERE d.organization_id = sub.organization_id AND d.subscription_id = sub.id
               AND d.status IN ('pending', 'retrying') AND (d.leased_until IS NULL OR d.leased_until < now());
            PERFORM wib.audit_for(sub.organization_id, 'webhook:disabled', 'webhook', sub.id::text, NULL,
                                  jsonb_build_object('consecutive_failures', sub.consecutive_failures));
            PERFORM wib.event_publish(sub.organization_id, 'webhook.disabled',
                                       jsonb_build_object('subscription_id', sub.id, 'name', sub.name,
                                                          'consecutive_failures', sub.consecutive_failures));
        END LOOP;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.webhook_record(uuid[], uuid[], integer[], integer[], text[], integer[], text[], integer[]) IS
    'Internal (deliverer): records a batch of attempts: delivered on 2xx, failed on 410 or when retries are spent, else retrying on the schedule (Retry-After on 429/503 when longer).';

-- The record on a Citus cluster: the same outcomes, computed here on the
-- coordinator (the retry schedule is its setting) and written by statements
-- routed to each organization's shard: one UPDATE of the organization's
-- deliveries of the batch (each round trip to a worker costs more than the
-- row it writes).
CREATE OR REPLACE FUNCTION wib.webhook_record_by_org(org_ids uuid[], ids uuid[], attempts integer[], http_status integer[],
                                          errors text[], durations integer[], bodies text[], retry_after integer[])
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n             integer := 0;
    disable_after integer := current_setting('wib.webhook_disable_after')::integer;
    ts            timestamptz := now();
    org           uuid;
    r             record;
    i             integer;
    new_status    text;
    next_at       timestamptz;
    sub_ids       uuid[];
    sub_delivered integer[];
    sub_failed    integer[];
    k             integer;
    sub           record;
    -- The organization's rows to write: id, status, response status, body, error, duration, next retry.
    w_ids         uuid[];
    w_status      text[];
    w_code        integer[];
    w_body        text[];
    w_error       text[];
    w_duration    integer[];
    w_next        timestamptz[];
BEGIN
    FOR org IN SELECT DISTINCT o FROM unnest(org_ids) o
    LOOP
        sub_ids := '{}'; sub_delivered := '{}'; sub_failed := '{}';
        w_ids := '{}'; w_status := '{}'; w_code := '{}'; w_body := '{}'; w_error := '{}'; w_duration := '{}'; w_next := '{}';
        FOR r IN
            SELECT d.id, d.subscription_id, d.attempt_number, d.next_retry_at, s.retry_policy, s.max_retries
              FROM wib.webhook_deliveries d
              JOIN wib.webhook_subscriptions s ON s.organization_id = d.organization_id AND s.id = d.subscription_id
             WHERE d.organization_id = org AND s.organization_id = org
               AND d.id = ANY (ids) AND d.status IN ('pending', 'retrying')
        LOOP
            i := array_position(ids, r.id);
            CONTINUE WHEN org_ids[i] <> org OR attempts[i] <> r.attempt_number;
            new_status := CASE WHEN http_status[i] BETWEEN 200 AND 299 THEN 'delivered'
                               WHEN http_status[i] = 410 OR r.retry_policy = 'none' OR attempts[i] > r.max_retries THEN 'failed'
                               ELSE 'retrying' END;
            next_at := CASE WHEN new_status = 'retrying'
                            THEN ts + greatest(wib.webhook_retry_delay(r.retry_policy, attempts[i]),
                                               CASE WHEN http_status[i] IN (429, 503)
                                                    THEN make_interval(secs => coalesce(retry_after[i], 0))
                                                    ELSE interval '0' END)
                            ELSE r.next_retry_at END;
            w_ids := w_ids || r.id;
            w_status := w_status || new_status;
            w_code := w_code || nullif(http_status[i], 0);
            w_body := w_body || left(bodies[i], 1024);
            w_error := w_error || errors[i];
            w_duration := w_duration || durations[i];
            w_next := w_next || next_at;
            k := array_position(sub_ids, r.subscription_id);
            IF k IS NULL THEN
                sub_ids := sub_ids || r.subscription_id;
                sub_delivered := sub_delivered || 0;
                sub_failed := sub_failed || 0;
                k := cardinality(sub_ids);
            END IF;
            IF new_status = 'delivered' THEN
                sub_delivered[k] := sub_delivered[k] + 1;
            ELSIF new_status = 'failed' THEN
                sub_failed[k] := sub_failed[k] + 1;
            END IF;
        END LOOP;
        UPDATE wib.webhook_deliveries x
           SET status = w.status, response_status = w.code, response_body = w.body, last_error = w.error,
               duration_ms = w.duration_ms, last_attempt_at = ts, leased_until = NULL,
               delivered_at = CASE WHEN w.status = 'delivered' THEN ts END,
               next_retry_at = w.next_retry_at
          FROM unnest(w_ids, w_status, w_code, w_body, w_error, w_duration, w_next)
               AS w(id, status, code, body, error, duration_ms, next_retry_at)
         WHERE x.organization_id = org AND x.id = w.id;
        n := n + cardinality(w_ids);
        -- Failure runs, as on one node: a delivered message resets the count, each failure adds one.
        FOR k IN 1 .. coalesce(cardinality(sub_ids), 0)
        LOOP
            IF sub_failed[k] > 0 OR sub_delivered[k] > 0 THEN
                UPDATE wib.webhook_subscriptions s
                   SET consecutive_failures = CASE WHEN sub_delivered[k] > 0 THEN 0
                                                   ELSE s.consecutive_failures + sub_failed[k] END
                 WHERE s.organization_id = org AND s.id = sub_ids[k]
                   AND (sub_failed[k] > 0 OR s.consecutive_failures > 0);
            END IF;
            CONTINUE WHEN disable_after <= 0;
            FOR sub IN
                UPDATE wib.webhook_subscriptions s
                   SET is_active = false, disabled_at = ts,
                       -- (no format(): Citus refuses STABLE functions of columns in an UPDATE)
                       disabled_reason = s.consecutive_failures::text || ' failed deliveries in a row'
                 WHERE s.organization_id = org AND s.id = sub_ids[k]
                   AND s.is_active AND s.consecutive_failures >= disable_after
                RETURNING s.organization_id, s.id, s.name, s.consecutive_failures
            LOOP
                UPDATE wib.webhook_deliveries x
                   SET status = 'failed', last_error = 'subscription deactivated after repeated failures',
                       leased_until = NULL
                 WHERE x.organization_id = org AND x.subscription_id = sub.id
                   AND x.status IN ('pending', 'retrying') AND (x.leased_until IS NULL OR x.leased_until < ts);
                PERFORM wib.audit_for(sub.organization_id, 'webhook:disabled', 'webhook', sub.id::text, NULL,
                                      jsonb_build_object('consecutive_failures', sub.consecutive_failures));
                PERFORM wib.event_publish(sub.organization_id, 'webhook.disabled',
                                           jsonb_build_object('subscription_id', sub.id, 'name', sub.name,
                                                              'consecutive_failures', sub.consecutive_failures));
            END LOOP;
        END LOOP;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.webhook_record_by_org(uuid[], uuid[], integer[], integer[], text[], integer[], text[], integer[]) IS
    'Internal (deliverer, on a Citus cluster): wib.webhook_record one organization at a time, outcomes and retry times computed on the coordinator, rows written by statements routed to the organization''s shard.';

-- Makes deliveries leased by a deliverer that died due again (run when the worker starts).
CREATE OR REPLACE FUNCTION wib.webhook_release_leases() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    IF wib.is_distributed('wib.webhook_deliveries') THEN
        RETURN wib.release_leases_by_org('wib.webhook_deliveries');
    END IF;
    RETURN wib.webhook_release_leases_local();
END
$$;
COMMENT ON FUNCTION wib.webhook_release_leases() IS
    'Internal (deliverer): makes the deliveries leased before a restart due at once.';

-- The release on one node: one statement over every organization.
CREATE OR REPLACE FUNCTION wib.webhook_release_leases_local() RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    -- Rows locked by a live wib.deliver_due() session are its own business: skip them.
    WITH stale AS (
        SELECT d.organization_id, d.id FROM wib.webhook_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.leased_until > now()
           FOR UPDATE SKIP LOCKED),
    released AS (
        UPDATE wib.webhook_deliveries d SET next_retry_at = now(), leased_until = NULL
          FROM stale
         WHERE d.organization_id = stale.organization_id AND d.id = stale.id
        RETURNING 1)
    SELECT count(*)::integer FROM released;
END;
COMMENT ON FUNCTION wib.webhook_release_leases_local() IS
    'Internal (deliverer, single node): makes the deliveries leased before a restart due at once.';

-- The release on a Citus cluster: one organization at a time, with
-- statements routed to its shard (FOR UPDATE runs only in those).  Shared by
-- the deliveries of webhooks and of pushes, whose leases have the same columns.
CREATE OR REPLACE FUNCTION wib.release_leases_by_org(deliveries regclass) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org   uuid;
    ids   uuid[];
    total integer := 0;
BEGIN
    FOR org IN EXECUTE format(
        'SELECT DISTINCT d.organization_id FROM %s d WHERE d.status IN (''pending'', ''retrying'') AND d.leased_until > now()',
        deliveries)
    LOOP
        EXECUTE format('SELECT ARRAY(SELECT d.id FROM %s d
                                      WHERE d.organization_id = $1 AND d.status IN (''pending'', ''retrying'')
                                        AND d.leased_until > now()
                                        FOR UPDATE SKIP LOCKED)', deliveries)
           INTO ids USING org;
        EXECUTE format('UPDATE %s d SET next_retry_at = now(), leased_until = NULL
                         WHERE d.organization_id = $1 AND d.id = ANY ($2)', deliveries)
          USING org, ids;
        total := total + cardinality(ids);
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION wib.release_leases_by_org(regclass) IS
    'Internal (deliverer, on a Citus cluster): makes the deliveries of the table (wib.webhook_deliveries or wib.push_deliveries) leased before a restart due at once, one organization at a time.';

CREATE OR REPLACE FUNCTION wib.deliver_due(max_items integer DEFAULT 1000) RETURNS integer
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    AS 'MODULE_PATHNAME', 'wib_deliver_due';
COMMENT ON FUNCTION wib.deliver_due(integer) IS
    'Operators: one delivery pass in the caller''s session, the same code the deliverer worker runs (claim, send concurrently, record); returns the number of deliveries attempted.';

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('webhook_deliveries',
     $q$WITH gone AS (DELETE FROM wib.webhook_deliveries
                       WHERE created_at < now() - interval '7 days' AND status IN ('delivered', 'failed')
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Finished webhook deliveries older than 7 days.')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;
