-- Calls pushed back to the CRM: a completed call of an organization with a
-- connected CRM is queued (once per integration) and the CRM worker is woken;
-- what a call says is gathered here for the adapters' mappings.

-- Trigger: queues a call that became completed for every connected CRM of its organization.
CREATE OR REPLACE FUNCTION wib.crm_calls_enqueue() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    delay interval;
BEGIN
    IF NEW.status <> 'completed' OR (TG_OP = 'UPDATE' AND OLD.status = 'completed') THEN
        RETURN NULL;
    END IF;
    -- Most organizations have no CRM: leave at once.
    IF NOT EXISTS (SELECT 1 FROM wib.crm_integrations i
                    WHERE i.organization_id = NEW.organization_id AND i.status = 'connected') THEN
        RETURN NULL;
    END IF;
    -- The worker is woken at commit.  (Called first: on a Citus cluster this
    -- runs on the call's shard, where wib's library is loaded on demand, and
    -- wib's settings are defined once it is.)
    PERFORM wib.wake('crm_sync');
    -- The delay lets a recording and a summary that follow the call be pushed with it.
    delay := current_setting('wib.crm_push_delay')::interval;
    INSERT INTO wib.crm_call_pushes (organization_id, integration_id, call_id, due_at)
    SELECT i.organization_id, i.id, NEW.id, now() + delay
      FROM wib.crm_integrations i
     WHERE i.organization_id = NEW.organization_id AND i.status = 'connected'
    ON CONFLICT ON CONSTRAINT crm_call_pushes_call_key DO NOTHING;
    UPDATE wib.crm_integrations i
       SET calls_due_at = least(coalesce(i.calls_due_at, 'infinity'), now() + delay)
     WHERE i.organization_id = NEW.organization_id AND i.status = 'connected';
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wib.crm_calls_enqueue() IS
    'Trigger on wib.calls: a call that became completed is queued for every connected CRM of its organization (after wib.crm_push_delay), and the CRM worker is woken at commit.';

CREATE OR REPLACE TRIGGER calls_crm_push AFTER INSERT OR UPDATE OF status ON wib.calls
    FOR EACH ROW EXECUTE FUNCTION wib.crm_calls_enqueue();

-- What a call says, as the mappings name it (see wib.crm_mapping_fields()).
-- PL/pgSQL, like the other functions of the CRM worker that read tenant
-- tables with parameters: Citus cannot plan such statements in SQL-language
-- functions (docs/scale-out.md).
CREATE OR REPLACE FUNCTION wib.crm_call_fields(org uuid, call_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    fields jsonb;
BEGIN
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'call_id', c.id,
               'title', initcap(c.direction) || ' call'
                        || coalesce(' with ' || cc.display_name, ' with ' || CASE c.direction WHEN 'inbound' THEN c.from_number ELSE c.to_number END, '')
                        || coalesce(' (agent ' || coalesce(u.name, u.id) || ')', ''),
               'direction', c.direction, 'status', c.status, 'disposition', c.disposition,
               'from_number', c.from_number, 'to_number', c.to_number,
               'started_at', c.started_at, 'ended_at', c.ended_at, 'duration_seconds', c.duration_seconds,
               'agent_id', c.agent_id, 'agent_name', u.name,
               'recording_url', (SELECT r.recording_url FROM wib.recordings r
                                  WHERE r.organization_id = c.organization_id AND r.call_id = c.id AND r.status = 'ready'
                                  ORDER BY r.created_at DESC LIMIT 1),
               'summary', s.summary, 'sentiment', s.overall_sentiment,
               'outcome', o.outcome, 'notes', o.notes))
      INTO fields
      FROM wib.calls c
      LEFT JOIN wib.users u ON u.organization_id = c.organization_id AND u.id = c.agent_id
      LEFT JOIN wib.ai_summaries s ON s.organization_id = c.organization_id AND s.call_id = c.id
      LEFT JOIN LATERAL (SELECT x.outcome, x.notes FROM wib.call_outcomes x
                          WHERE x.organization_id = c.organization_id AND x.call_id = c.id
                          ORDER BY x.created_at DESC LIMIT 1) o ON true
      LEFT JOIN LATERAL (SELECT k.display_name FROM wib.crm_contact_cache k
                          WHERE k.organization_id = c.organization_id
                            AND (k.phone_e164 = c.counterparty_e164 OR k.mobile_e164 = c.counterparty_e164)
                          ORDER BY k.crm_modified_at DESC NULLS LAST LIMIT 1) cc ON true
     WHERE c.organization_id = crm_call_fields.org AND c.id = crm_call_fields.call_id;
    RETURN fields;
END
$$;
COMMENT ON FUNCTION wib.crm_call_fields(uuid, uuid) IS
    'Internal: the fields of a call the CRM mappings may name (direction, numbers, times, duration, agent, recording URL, summary, outcome, a title), as JSON.';

-- The CRM contact a call's other party is: the cached contact of the integration with that number.
CREATE OR REPLACE FUNCTION wib.crm_call_contact(org uuid, integration uuid, call_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    contact text;
BEGIN
    SELECT k.crm_contact_id INTO contact
      FROM wib.calls c, wib.crm_contact_cache k
     WHERE c.organization_id = crm_call_contact.org AND c.id = crm_call_contact.call_id
       AND k.organization_id = c.organization_id AND k.integration_id = crm_call_contact.integration
       AND (k.phone_e164 = c.counterparty_e164 OR k.mobile_e164 = c.counterparty_e164)
     ORDER BY k.crm_modified_at DESC NULLS LAST, k.crm_contact_id
     LIMIT 1;
    RETURN contact;
END
$$;
COMMENT ON FUNCTION wib.crm_call_contact(uuid, uuid, uuid) IS
    'Internal: the CRM contact id of a call''s other party (wib.calls.counterparty_e164), from the integration''s contact cache (NULL when no cached contact has that number).';

-- Records the outcome of pushing a call: pushed (with the CRM object), failed
-- (refused for good, or too many attempts), unknown (no clear answer: to
-- reconcile with the CRM before any resend), pending again (not created:
-- rate limited, or the token was refused) or retry (the CRM has no such call:
-- create it now).
CREATE OR REPLACE FUNCTION wib.crm_push_result(org uuid, push_id uuid, outcome text, object_id text DEFAULT NULL,
                                               contact_id text DEFAULT NULL, error text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    p   wib.crm_call_pushes;
    max integer := current_setting('wib.crm_push_max_attempts')::integer;
    ts  timestamptz := wib.clock_now();
BEGIN
    SELECT * INTO p FROM wib.crm_call_pushes x WHERE x.organization_id = org AND x.id = push_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN '{}';
    END IF;
    IF outcome IN ('pending', 'unknown', 'retry') AND p.attempts >= max THEN
        outcome := 'failed';
        error := format('%s (gave up after %s attempts)', coalesce(error, 'no answer'), p.attempts);
    END IF;
    -- The new values of the row locked above, computed here: Citus refuses
    -- functions other than IMMUTABLE ones in a CASE of an UPDATE on a
    -- distributed table, and sends "CASE <parameter> WHEN ..." to the worker
    -- wrongly ("operator does not exist: text = boolean").
    p.status := CASE outcome WHEN 'retry' THEN 'pending' ELSE outcome END;
    p.crm_object_id := coalesce(object_id, p.crm_object_id);
    p.crm_contact_id := coalesce(contact_id, p.crm_contact_id);
    p.last_error := left(error, 2000);
    p.pushed_at := CASE WHEN outcome = 'pushed' THEN ts ELSE p.pushed_at END;
    p.due_at := CASE outcome WHEN 'pending' THEN ts + interval '30 seconds' WHEN 'retry' THEN ts ELSE p.due_at END;
    p.pushing_since := CASE WHEN outcome = 'unknown' THEN ts
                            WHEN outcome IN ('pending', 'retry') THEN NULL ELSE p.pushing_since END;
    UPDATE wib.crm_call_pushes x
       SET status = p.status, crm_object_id = p.crm_object_id, crm_contact_id = p.crm_contact_id,
           last_error = p.last_error, pushed_at = p.pushed_at, due_at = p.due_at, pushing_since = p.pushing_since
     WHERE x.organization_id = org AND x.id = push_id;
    RETURN CASE outcome
        WHEN 'pushed' THEN '{"pushed": 1}'::jsonb
        WHEN 'failed' THEN jsonb_build_object('push_failed', 1, 'error', format('call %s: %s', p.call_id, error))
        ELSE '{}'::jsonb END;
END
$$;
COMMENT ON FUNCTION wib.crm_push_result(uuid, uuid, text, text, text, text) IS
    'Internal: records how pushing a call ended (pushed, failed, unknown, pending again, retry at once) and returns the counts for the run.';
