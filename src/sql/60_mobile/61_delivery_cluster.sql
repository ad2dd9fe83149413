-- The deliverer's side of Web Push on a Citus cluster (wib.push_claim,
-- wib.push_record, wib.push_fail and wib.push_release_leases call these when
-- wib.push_deliveries is distributed).  Citus runs FOR UPDATE only in
-- statements routed to one shard, and cannot join a batch passed as arrays
-- with a distributed table in an UPDATE: every statement here names one
-- organization, so it is routed to that organization's shard.  Outcomes and
-- retry times are computed on the coordinator, and the subscriptions' auth
-- secrets are opened there, where the key ring is: neither leaves it.  The
-- lease, the retries and what a crash leaves behind are those of one node
-- (src/sql/60_mobile/60_delivery.sql).

-- Claims up to max_items due pushes, one organization at a time (oldest due
-- first): its due rows are locked (SKIP LOCKED) and leased, pushes whose
-- subscription went inactive or whose device was revoked are failed instead.
CREATE OR REPLACE FUNCTION wib.push_claim_by_org(max_items integer, lease interval)
    RETURNS TABLE (organization_id uuid, id uuid, attempt_number integer, endpoint text, p256dh text,
                   auth bytea, payload text, urgency text, topic text, vapid_key_id integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    org      uuid;
    budget   integer := max_items;
    ids      uuid[];
    sendable uuid[];
    c        record;
    s        wib.push_subscriptions;
    -- (a value: Citus refuses functions other than IMMUTABLE ones in a CASE
    -- of an UPDATE on a distributed table)
    lease_end timestamptz := now() + lease;
BEGIN
    FOR org IN
        SELECT d.organization_id FROM wib.push_deliveries d
         WHERE d.status IN ('pending', 'retrying') AND d.next_retry_at <= now()
         GROUP BY d.organization_id ORDER BY min(d.next_retry_at) LIMIT max_items
    LOOP
        ids := '{}';
        FOR c IN
            SELECT d.id FROM wib.push_deliveries d
             WHERE d.organization_id = org AND d.status IN ('pending', 'retrying') AND d.next_retry_at <= now()
             ORDER BY d.next_retry_at LIMIT budget
               FOR UPDATE SKIP LOCKED
        LOOP
            ids := ids || c.id;
        END LOOP;
        CONTINUE WHEN cardinality(ids) = 0;
        sendable := ARRAY(
            SELECT d.id
              FROM wib.push_deliveries d
              JOIN wib.push_subscriptions x ON x.organization_id = d.organization_id AND x.id = d.subscription_id
              LEFT JOIN wib.mobile_devices dev ON dev.organization_id = x.organization_id AND dev.id = x.device_id
             WHERE d.organization_id = org AND x.organization_id = org AND d.id = ANY (ids)
               AND x.active AND dev.revoked_at IS NULL AND x.push_type = 'web');
        FOR c IN
            UPDATE wib.push_deliveries d
               SET attempt_number = d.attempt_number + 1,
                   status = CASE WHEN d.id = ANY (sendable) THEN d.status ELSE 'failed' END,
                   last_error = CASE WHEN d.id = ANY (sendable) THEN d.last_error
                                     ELSE 'the subscription is inactive or its device revoked' END,
                   next_retry_at = CASE WHEN d.id = ANY (sendable) THEN lease_end ELSE d.next_retry_at END,
                   leased_until = CASE WHEN d.id = ANY (sendable) THEN lease_end END
             WHERE d.organization_id = org AND d.id = ANY (ids)
            RETURNING d.id, d.subscription_id, d.attempt_number, d.event_type, d.notification, d.urgency, d.topic,
                      d.id = ANY (sendable) AS sendable
        LOOP
            CONTINUE WHEN NOT c.sendable;
            SELECT * INTO s FROM wib.push_subscriptions x WHERE x.organization_id = org AND x.id = c.subscription_id;
            organization_id := org;
            id := c.id;
            attempt_number := c.attempt_number;
            endpoint := s.endpoint;
            p256dh := s.p256dh_key;
            auth := wib.vault_open_bytes(s.auth_key, org, 'push_subscriptions.auth_key', s.id::text);
            payload := (c.notification || jsonb_build_object('id', c.id, 'type', coalesce(c.event_type, 'notification')))::text;
            urgency := c.urgency;
            topic := c.topic;
            vapid_key_id := s.vapid_key_id;
            RETURN NEXT;
        END LOOP;
        budget := budget - cardinality(ids);
        EXIT WHEN budget <= 0;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wib.push_claim_by_org(integer, interval) IS
    'Internal (deliverer, on a Citus cluster): wib.push_claim one organization at a time, locking and leasing with statements routed to its shard and opening the auth secrets on the coordinator.';

-- Records a batch of push attempts (the outcomes of wib.push_record), one
-- organization at a time.
CREATE OR REPLACE FUNCTION wib.push_record_by_org(org_ids uuid[], ids uuid[], attempts integer[], http_status integer[],
                                                  errors text[], bodies text[], durations integer[], retry_after integer[])
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n            integer := 0;
    max_attempts integer := current_setting('wib.push_max_attempts')::integer;
    base         integer := extract(epoch FROM current_setting('wib.push_retry_base')::interval)::integer;
    ts           timestamptz := now();
    org          uuid;
    r            record;
    i            integer;
    k            integer;
    new_status   text;
    message      text;
    done_at      timestamptz;
    next_at      timestamptz;
    -- Per subscription of the organization: any delivered, failures, and the
    -- status and error of the first failed attempt (as on one node).
    sub_ids      uuid[];
    sub_ok       boolean[];
    sub_failures integer[];
    sub_attempt  integer[];
    sub_status   integer[];
    sub_error    text[];
    gone_ids     uuid[];
    gone_status  integer[];
    sub          record;
BEGIN
    FOR org IN SELECT DISTINCT o FROM unnest(org_ids) o
    LOOP
        sub_ids := '{}'; sub_ok := '{}'; sub_failures := '{}'; sub_attempt := '{}';
        sub_status := '{}'; sub_error := '{}'; gone_ids := '{}'; gone_status := '{}';
        FOR r IN
            SELECT d.id, d.subscription_id, d.attempt_number, d.next_retry_at
              FROM wib.push_deliveries d
             WHERE d.organization_id = org AND d.id = ANY (ids) AND d.status IN ('pending', 'retrying')
        LOOP
            i := array_position(ids, r.id);
            CONTINUE WHEN org_ids[i] <> org OR attempts[i] <> r.attempt_number;
            new_status := CASE WHEN http_status[i] BETWEEN 200 AND 299 THEN 'delivered'
                               WHEN (http_status[i] = 0 OR http_status[i] = 429 OR http_status[i] >= 500)
                                    AND attempts[i] < max_attempts THEN 'retrying'
                               ELSE 'failed' END;
            message := CASE WHEN http_status[i] BETWEEN 200 AND 299 THEN NULL
                            WHEN http_status[i] = 0 THEN coalesce(errors[i], 'no answer from the push service')
                            ELSE wib.push_status_error(http_status[i], bodies[i]) END;
            -- Values, not expressions: Citus refuses functions other than
            -- IMMUTABLE ones (timestamptz + interval is STABLE) in a CASE of an UPDATE.
            done_at := CASE WHEN new_status = 'delivered' THEN ts END;
            next_at := CASE WHEN new_status = 'retrying'
                            THEN ts + make_interval(secs => greatest(
                                     least(base * power(2, least(attempts[i] - 1, 20)), 3600),
                                     coalesce(retry_after[i], 0)))
                            ELSE r.next_retry_at END;
            UPDATE wib.push_deliveries x
               SET status = new_status,
                   response_status = nullif(http_status[i], 0),
                   last_error = left(message, 1024),
                   duration_ms = durations[i],
                   last_attempt_at = ts,
                   leased_until = NULL,
                   delivered_at = done_at,
                   next_retry_at = next_at
             WHERE x.organization_id = org AND x.id = r.id;
            n := n + 1;
            k := array_position(sub_ids, r.subscription_id);
            IF k IS NULL THEN
                sub_ids := sub_ids || r.subscription_id;
                sub_ok := sub_ok || false;
                sub_failures := sub_failures || 0;
                sub_attempt := sub_attempt || NULL::integer;
                sub_status := sub_status || http_status[i];
                sub_error := sub_error || message;
                k := cardinality(sub_ids);
            END IF;
            IF new_status = 'delivered' THEN
                sub_ok[k] := true;
            ELSE
                sub_failures[k] := sub_failures[k] + 1;
                IF sub_attempt[k] IS NULL OR attempts[i] < sub_attempt[k] THEN
                    sub_attempt[k] := attempts[i];
                    sub_status[k] := http_status[i];
                    sub_error[k] := message;
                END IF;
            END IF;
            IF http_status[i] IN (404, 410) AND NOT (r.subscription_id = ANY (gone_ids)) THEN
                gone_ids := gone_ids || r.subscription_id;
                gone_status := gone_status || http_status[i];
            END IF;
        END LOOP;
        FOR k IN 1 .. coalesce(cardinality(sub_ids), 0)
        LOOP
            UPDATE wib.push_subscriptions s
               SET last_status = nullif(sub_status[k], 0),
                   last_error = CASE WHEN sub_ok[k] THEN NULL ELSE left(sub_error[k], 1024) END,
                   failure_count = CASE WHEN sub_ok[k] THEN 0 ELSE s.failure_count + sub_failures[k] END,
                   last_success_at = CASE WHEN sub_ok[k] THEN ts ELSE s.last_success_at END
             WHERE s.organization_id = org AND s.id = sub_ids[k];
        END LOOP;
        -- 404 and 410: the subscription is gone for good.
        FOR k IN 1 .. coalesce(cardinality(gone_ids), 0)
        LOOP
            SELECT s.organization_id, s.id, s.device_id INTO sub
              FROM wib.push_subscriptions s WHERE s.organization_id = org AND s.id = gone_ids[k] AND s.active;
            CONTINUE WHEN NOT FOUND;
            PERFORM wib.push_deactivate(sub.organization_id, sub.id,
                                        format('the push service answered %s: the subscription has expired or was withdrawn',
                                               gone_status[k]));
            PERFORM wib.audit_for(sub.organization_id, 'mobile:push_subscription_expired', 'push_subscription',
                                  sub.id::text, NULL,
                                  jsonb_build_object('device_id', sub.device_id, 'status', gone_status[k]));
        END LOOP;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.push_record_by_org(uuid[], uuid[], integer[], integer[], text[], text[], integer[], integer[]) IS
    'Internal (deliverer, on a Citus cluster): wib.push_record one organization at a time, outcomes and retry times computed on the coordinator, rows written by statements routed to the organization''s shard.';

-- Fails pushes that could not be prepared, one statement per push (routed).
CREATE OR REPLACE FUNCTION wib.push_fail_by_org(org_ids uuid[], ids uuid[], errors text[]) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    n     integer := 0;
    found integer;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(ids), 0)
    LOOP
        UPDATE wib.push_deliveries d
           SET status = 'failed', last_error = left(errors[i], 1024), leased_until = NULL, last_attempt_at = now()
         WHERE d.organization_id = org_ids[i] AND d.id = ids[i];
        GET DIAGNOSTICS found = ROW_COUNT;
        n := n + found;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION wib.push_fail_by_org(uuid[], uuid[], text[]) IS
    'Internal (deliverer, on a Citus cluster): wib.push_fail with one statement per push, routed to its organization''s shard.';

