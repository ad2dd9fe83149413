-- The deliverer's side of Web Push (src/push/push_deliver.c): claim due pushes
-- with a lease, record what the push service answered, retry with backoff.
-- 201: delivered.  404 or 410: the subscription is gone, deactivated at once
-- (audited).  413: failed, too large.  429, 5xx, no answer: retried, waiting
-- wib.push_retry_base doubled per attempt (at most an hour) or the service's
-- Retry-After when longer, until wib.push_max_attempts.  Anything else
-- (400, 401, 403: the request or its VAPID token refused): failed.

-- Claims up to max_items due pushes for lease, returning what sending them needs:
-- the subscription's endpoint and keys (the auth secret opened from the vault),
-- the plaintext (the notification plus the push's id and type), and the VAPID key.
-- Pushes whose subscription went inactive or whose device was revoked are failed instead.
CREATE OR REPLACE FUNCTION wib.push_claim(max_items integer, lease interval)
    RETURNS TABLE (organization_id uuid, id uuid, attempt_number integer, endpoint text, p256dh text,
                   auth bytea, payload text, urgency text, topic text, vapid_key_id integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    IF wib.is_distributed('wib.push_deliveries') THEN
        RETURN QUERY SELECT * FROM wib.push_claim_by_org(max_items, lease);
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM wib.push_claim_local(max_items, lease);
END
$$;
COMMENT ON FUNCTION wib.push_claim(integer, interval) IS
    'Internal (deliverer): leases due pushes (wib.push_claim_local; on a Citus cluster wib.push_claim_by_org).';

CREATE OR REPLACE FUNCTION wib.push_claim_local(max_items integer, lease interval)
    RETURNS TABLE (organization_id uuid, id uuid, attempt_number integer, endpoint text, p256dh text,
                   auth bytea, payload text, urgency text, topic text, vapid_key_id integer)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    -- Walk the due index in order (see wib.webhook_claim).
    SET enable_bitmapscan = off
    SET enable_seqscan = off
AS $$
    WITH due AS (
        SELECT d.organization_id, d.id, d.subscription_id
          FROM wib.push_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.next_retry_at <= now()
         ORDER BY d.next_retry_at
         LIMIT max_items
           FOR UPDATE SKIP LOCKED),
    judged AS (
        SELECT due.organization_id, due.id,
               coalesce(s.active AND dev.revoked_at IS NULL AND s.push_type = 'web', false) AS sendable
          FROM due
          LEFT JOIN wib.push_subscriptions s ON s.organization_id = due.organization_id AND s.id = due.subscription_id
          LEFT JOIN wib.mobile_devices dev ON dev.organization_id = s.organization_id AND dev.id = s.device_id),
    claimed AS (
        UPDATE wib.push_deliveries d
           SET attempt_number = d.attempt_number + 1,
               status = CASE WHEN j.sendable THEN d.status ELSE 'failed' END,
               last_error = CASE WHEN j.sendable THEN d.last_error
                                 ELSE 'the subscription is inactive or its device revoked' END,
               next_retry_at = CASE WHEN j.sendable THEN now() + lease ELSE d.next_retry_at END,
               leased_until = CASE WHEN j.sendable THEN now() + lease END
          FROM judged j
         WHERE d.organization_id = j.organization_id AND d.id = j.id
        RETURNING d.organization_id, d.id, d.subscription_id, d.attempt_number, d.event_type, d.notification,
                  d.urgency, d.topic, j.sendable)
    SELECT c.organization_id, c.id, c.attempt_number, s.endpoint, s.p256dh_key,
           wib.vault_open_bytes(s.auth_key, s.organization_id, 'push_subscriptions.auth_key', s.id::text),
           (c.notification || jsonb_build_object('id', c.id, 'type', coalesce(c.event_type, 'notification')))::text,
           c.urgency, c.topic, s.vapid_key_id
      FROM claimed c
      JOIN wib.push_subscriptions s ON s.organization_id = c.organization_id AND s.id = c.subscription_id
     WHERE c.sendable
$$;
COMMENT ON FUNCTION wib.push_claim_local(integer, interval) IS
    'Internal (deliverer, single node): leases due pushes with FOR UPDATE SKIP LOCKED and returns what sending them needs (the auth secret opened from the vault); a lease that expires makes a push due again.';

-- Marks pushes failed that the deliverer could not prepare (a key the encryption refuses).
CREATE OR REPLACE FUNCTION wib.push_fail(org_ids uuid[], ids uuid[], errors text[]) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF wib.is_distributed('wib.push_deliveries') THEN
        RETURN wib.push_fail_by_org(org_ids, ids, errors);
    END IF;
    WITH failed AS (
        UPDATE wib.push_deliveries d
           SET status = 'failed', last_error = left(f.error, 1024), leased_until = NULL, last_attempt_at = now()
          FROM unnest(org_ids, ids, errors) AS f(organization_id, id, error)
         WHERE d.organization_id = f.organization_id AND d.id = f.id
        RETURNING 1)
    SELECT count(*)::integer INTO n FROM failed;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.push_fail(uuid[], uuid[], text[]) IS
    'Internal (deliverer): fails pushes that could not be prepared for sending, with the reason.';

-- The error recorded for a push service's answer.
CREATE OR REPLACE FUNCTION wib.push_status_error(status integer, body text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN left(CASE
        WHEN status IN (404, 410) THEN format('the push service answered %s: the subscription has expired or was withdrawn', status)
        WHEN status = 413 THEN 'the push service refused the message as too large (413 Payload Too Large)'
        WHEN status = 429 THEN 'the push service asked to slow down (429 Too Many Requests)'
        WHEN status >= 500 THEN format('the push service failed (%s)', status)
        WHEN status IN (400, 401, 403) THEN format('the push service refused the request or its VAPID token (%s)', status)
        ELSE format('the push service answered %s', status)
    END || coalesce(': ' || nullif(btrim(body), ''), ''), 1024);
COMMENT ON FUNCTION wib.push_status_error(integer, text) IS
    'Internal: the last_error of a push the service did not accept, from its status and the head of its answer.';

-- Records the results of one batch of attempts (see the top of this file).
CREATE OR REPLACE FUNCTION wib.push_record(org_ids uuid[], ids uuid[], attempts integer[], http_status integer[],
                                           errors text[], bodies text[], durations integer[], retry_after integer[])
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    n            integer;
    max_attempts integer := current_setting('wib.push_max_attempts')::integer;
    base         integer := extract(epoch FROM current_setting('wib.push_retry_base')::interval)::integer;
    sub          record;
BEGIN
    IF wib.is_distributed('wib.push_deliveries') THEN
        RETURN wib.push_record_by_org(org_ids, ids, attempts, http_status, errors, bodies, durations, retry_after);
    END IF;
    WITH r AS (
        SELECT * FROM unnest(org_ids, ids, attempts, http_status, errors, bodies, durations, retry_after)
                   AS r(organization_id, id, attempt, http_status, error, body, duration_ms, retry_after)),
    rd AS MATERIALIZED (
        SELECT r.*, d.subscription_id
          FROM r
          JOIN wib.push_deliveries d ON d.organization_id = r.organization_id AND d.id = r.id
         WHERE d.attempt_number = r.attempt AND d.status IN ('pending', 'retrying')),
    outcome AS (
        SELECT rd.*,
               CASE WHEN rd.http_status BETWEEN 200 AND 299 THEN 'delivered'
                    WHEN (rd.http_status = 0 OR rd.http_status = 429 OR rd.http_status >= 500)
                         AND rd.attempt < max_attempts THEN 'retrying'
                    ELSE 'failed' END AS new_status,
               CASE WHEN rd.http_status BETWEEN 200 AND 299 THEN NULL
                    WHEN rd.http_status = 0 THEN coalesce(rd.error, 'no answer from the push service')
                    ELSE wib.push_status_error(rd.http_status, rd.body) END AS message
          FROM rd),
    upd AS (
        UPDATE wib.push_deliveries d
           SET status = o.new_status,
               response_status = nullif(o.http_status, 0),
               last_error = left(o.message, 1024),
               duration_ms = o.duration_ms,
               last_attempt_at = now(),
               leased_until = NULL,
               delivered_at = CASE WHEN o.new_status = 'delivered' THEN now() END,
               next_retry_at = CASE WHEN o.new_status = 'retrying'
                                    THEN now() + make_interval(secs => greatest(
                                             least(base * power(2, least(o.attempt - 1, 20)), 3600),
                                             coalesce(o.retry_after, 0)))
                                    ELSE d.next_retry_at END
          FROM outcome o
         WHERE d.organization_id = o.organization_id AND d.id = o.id
        RETURNING d.organization_id, d.subscription_id, d.status, o.http_status, o.message, o.attempt),
    per_sub AS (
        SELECT u.organization_id, u.subscription_id,
               bool_or(u.status = 'delivered') AS delivered,
               count(*) FILTER (WHERE u.status <> 'delivered') AS failures,
               (array_agg(u.http_status ORDER BY u.status = 'delivered', u.attempt))[1] AS last_status,
               (array_agg(u.message ORDER BY u.status = 'delivered', u.attempt))[1] AS last_error
          FROM upd u GROUP BY 1, 2),
    health AS (
        UPDATE wib.push_subscriptions s
           SET last_status = nullif(p.last_status, 0),
               last_error = CASE WHEN p.delivered THEN NULL ELSE left(p.last_error, 1024) END,
               failure_count = CASE WHEN p.delivered THEN 0 ELSE s.failure_count + p.failures::integer END,
               last_success_at = CASE WHEN p.delivered THEN now() ELSE s.last_success_at END
          FROM per_sub p
         WHERE s.organization_id = p.organization_id AND s.id = p.subscription_id
        RETURNING 1)
    SELECT count(*) INTO n FROM upd;

    -- 404 and 410: the subscription is gone for good.
    FOR sub IN
        SELECT DISTINCT ON (s.organization_id, s.id) s.organization_id, s.id, s.device_id, g.http_status
          FROM unnest(org_ids, ids, http_status) AS g(organization_id, id, http_status)
          JOIN wib.push_deliveries d ON d.organization_id = g.organization_id AND d.id = g.id
          JOIN wib.push_subscriptions s ON s.organization_id = d.organization_id AND s.id = d.subscription_id
         WHERE g.http_status IN (404, 410) AND s.active
    LOOP
        PERFORM wib.push_deactivate(sub.organization_id, sub.id,
                                    format('the push service answered %s: the subscription has expired or was withdrawn',
                                           sub.http_status));
        PERFORM wib.audit_for(sub.organization_id, 'mobile:push_subscription_expired', 'push_subscription',
                              sub.id::text, NULL,
                              jsonb_build_object('device_id', sub.device_id, 'status', sub.http_status));
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.push_record(uuid[], uuid[], integer[], integer[], text[], text[], integer[], integer[]) IS
    'Internal (deliverer): records a batch of push attempts: delivered on 2xx; 404 and 410 deactivate the subscription at once (audited mobile:push_subscription_expired); 413 and other refusals fail; 429, 5xx and no answer retry with backoff (Retry-After when longer) up to wib.push_max_attempts.';

-- Makes pushes leased by a deliverer that died due again (run when the worker starts).
CREATE OR REPLACE FUNCTION wib.push_release_leases() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF wib.is_distributed('wib.push_deliveries') THEN
        RETURN wib.release_leases_by_org('wib.push_deliveries');
    END IF;
    WITH stale AS (
        SELECT d.organization_id, d.id FROM wib.push_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.leased_until > now()
           FOR UPDATE SKIP LOCKED),
    released AS (
        UPDATE wib.push_deliveries d SET next_retry_at = now(), leased_until = NULL
          FROM stale
         WHERE d.organization_id = stale.organization_id AND d.id = stale.id
        RETURNING 1)
    SELECT count(*)::integer INTO n FROM released;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.push_release_leases() IS
    'Internal (deliverer): makes the pushes leased before a restart due at once.';

INSERT INTO wib.retention_policies (name, command, description) VALUES
    ('push_deliveries',
     $q$WITH gone AS (DELETE FROM wib.push_deliveries
                       WHERE created_at < now() - interval '7 days' AND status IN ('delivered', 'failed')
                       RETURNING 1)
        SELECT count(*) FROM gone$q$,
     'Finished pushes older than 7 days.'),
    ('qr_auth',
     $q$WITH nonces AS (DELETE FROM wib.qr_auth_nonces WHERE expires_at < now() - interval '1 day' RETURNING 1),
             sessions AS (DELETE FROM wib.qr_auth_sessions WHERE expires_at < now() - interval '30 days' RETURNING 1)
        SELECT (SELECT count(*) FROM nonces) + (SELECT count(*) FROM sessions)$q$,
     'QR sign-in nonces a day after they expired, and approved sign-ins after 30 days.')
ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, description = EXCLUDED.description;
