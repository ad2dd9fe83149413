-- The inbound call log for the platform's "Inbound" tab: newest first, a page
-- at a time.

-- Keyset pagination: a page ends with the call whose id the next call passes
-- as after_id; the next page starts strictly after it in (started_at, id)
-- order, descending, so calls logged meanwhile never shift a page and no call
-- is skipped or shown twice.
CREATE OR REPLACE FUNCTION wib.ivr_calls(from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                         max_rows integer DEFAULT 50, after_id uuid DEFAULT NULL)
    RETURNS SETOF wib.inbound_call_log
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    org   uuid := wib.require_org();
    after wib.inbound_call_log;
BEGIN
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
        PERFORM wib.invalid_field('max_rows', 'max_rows must be between 1 and 1000.');
    END IF;
    IF from_ts IS NOT NULL AND to_ts IS NOT NULL AND from_ts > to_ts THEN
        PERFORM wib.invalid_field('to_ts', 'to_ts must not be before from_ts.');
    END IF;
    IF after_id IS NOT NULL THEN
        SELECT * INTO after FROM wib.inbound_call_log l WHERE l.organization_id = org AND l.id = after_id;
        IF NOT FOUND THEN
            PERFORM wib.invalid_field('after_id', 'after_id must be the id of the last call of the previous page.');
        END IF;
    END IF;
    RETURN QUERY
        SELECT l.* FROM wib.inbound_call_log l
         WHERE l.organization_id = org
           AND (from_ts IS NULL OR l.started_at >= from_ts)
           AND (to_ts IS NULL OR l.started_at < to_ts)
           AND (after_id IS NULL OR (l.started_at, l.id) < (after.started_at, after.id))
         ORDER BY l.started_at DESC, l.id DESC
         LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION wib.ivr_calls(timestamptz, timestamptz, integer, uuid) IS
    'The inbound call log of the organization in context, newest first: calls started in [from_ts, to_ts) (either open), at most max_rows (1-1000), after the call after_id (the last of the previous page; keyset pagination).';
