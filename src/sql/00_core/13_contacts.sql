-- Contacts: the people an organization talks to, identified by the other
-- party's number of its calls in E.164 (wib.calls.counterparty_e164).  The
-- CRM contact cache, when present, adds names to the same numbers.

-- The country in which an organization's numbers without a calling code are
-- read: the organization's default_country (changed with
-- wib.organization_update, which runs wib.contact_numbers_refresh(org) then).
CREATE OR REPLACE FUNCTION wib.org_default_country(org uuid) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    -- PL/pgSQL: Citus cannot plan an SQL function reading a distributed table with a parameter.
    RETURN coalesce((SELECT o.default_country FROM wib.organizations o WHERE o.id = org), 'US');
END
$$;
COMMENT ON FUNCTION wib.org_default_country(uuid) IS
    'The ISO 3166 alpha-2 country in which the organization''s phone numbers without a calling code are read: its default_country (US when the organization is not visible).';

-- The other party's number of a call, as contacts are matched.
CREATE OR REPLACE FUNCTION wib.call_counterparty(org uuid, direction text, from_number text, to_number text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN wib.phone_e164(CASE direction WHEN 'inbound' THEN from_number ELSE to_number END,
                          wib.org_default_country(org));
COMMENT ON FUNCTION wib.call_counterparty(uuid, text, text, text) IS
    'The other party''s number of a call in E.164 (to_number of an outbound call, from_number of an inbound one), read in the organization''s default country; NULL when it cannot be read.';

CREATE OR REPLACE FUNCTION wib.calls_set_counterparty() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.counterparty_e164 := wib.call_counterparty(NEW.organization_id, NEW.direction, NEW.from_number, NEW.to_number);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION wib.calls_set_counterparty() IS
    'Trigger on wib.calls: sets counterparty_e164 from the direction and the numbers of the call.';

CREATE OR REPLACE TRIGGER calls_counterparty
    BEFORE INSERT OR UPDATE OF organization_id, direction, from_number, to_number, counterparty_e164 ON wib.calls
    FOR EACH ROW EXECUTE FUNCTION wib.calls_set_counterparty();

-- Reads the numbers of every call of org again (after an update of wib, or
-- when the organization's default country changes); returns the calls changed.
CREATE OR REPLACE FUNCTION wib.contact_numbers_refresh(org uuid) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, wib, pg_temp
    SET wib.org_id = ''
    SET wib.user_id = ''
AS $$
DECLARE
    changed bigint;
BEGIN
    PERFORM wib.act_as(org);
    UPDATE wib.calls c
       SET counterparty_e164 = wib.call_counterparty(c.organization_id, c.direction, c.from_number, c.to_number)
     WHERE c.organization_id = org
       AND c.counterparty_e164 IS DISTINCT FROM wib.call_counterparty(c.organization_id, c.direction, c.from_number, c.to_number);
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;
COMMENT ON FUNCTION wib.contact_numbers_refresh(uuid) IS
    'Internal: recomputes counterparty_e164 of every call of the organization (after an update of wib, or when its default country changes); returns the calls changed.';
