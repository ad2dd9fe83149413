-- Organizations: created and changed by operators, audited.

CREATE OR REPLACE FUNCTION wib.organization_create(name text, plan text DEFAULT 'free') RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    new_org wib.organizations;
BEGIN
    PERFORM wib.require_text(name, 'name', 200);
    IF wib.plan_rank(plan) IS NULL THEN
        PERFORM wib.invalid_field('plan', 'plan must be one of free, starter, pro, business, enterprise.');
    END IF;
    INSERT INTO wib.organizations (name, plan) VALUES (btrim(name), plan) RETURNING * INTO new_org;
    PERFORM wib.audit_for(new_org.id, 'organization:created', 'organization', new_org.id::text,
                          NULL, to_jsonb(new_org));
    RETURN new_org.id;
END
$$;
COMMENT ON FUNCTION wib.organization_create(text, text) IS 'Operators: creates an organization on a plan; audited organization:created.';

CREATE OR REPLACE FUNCTION wib.organization_update(id uuid, changes jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    old_row wib.organizations;
    new_row wib.organizations;
    country text;
BEGIN
    PERFORM wib.check_fields(changes, ARRAY['name', 'plan', 'default_country'], 'changes');
    IF changes ? 'plan' AND wib.plan_rank(wib.field_text(changes, 'plan')) IS NULL THEN
        PERFORM wib.invalid_field('plan', 'plan must be one of free, starter, pro, business, enterprise.');
    END IF;
    IF changes ? 'name' THEN
        PERFORM wib.require_text(wib.field_text(changes, 'name', 200), 'name', 200);
    END IF;
    IF changes ? 'default_country' THEN
        country := upper(btrim(wib.field_text(changes, 'default_country', 10)));
        IF country IS NULL OR country !~ '^[A-Z]{2}$' THEN
            PERFORM wib.invalid_field('default_country', 'default_country must be an ISO 3166 alpha-2 country code such as US or GB.');
        END IF;
        PERFORM wib.phone_e164(NULL, country);		-- 22023 for a country wib cannot read numbers of
    END IF;
    SELECT * INTO old_row FROM wib.organizations o WHERE o.id = organization_update.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = format('organization %s does not exist', id);
    END IF;
    UPDATE wib.organizations o
       SET name = coalesce(btrim(wib.field_text(changes, 'name')), o.name),
           plan = coalesce(wib.field_text(changes, 'plan'), o.plan),
           default_country = coalesce(country, o.default_country)
     WHERE o.id = organization_update.id
    RETURNING * INTO new_row;
    -- Numbers without a calling code are read again in the new country: calls' and cached contacts'.
    IF new_row.default_country IS DISTINCT FROM old_row.default_country THEN
        PERFORM wib.contact_numbers_refresh(organization_update.id);
        UPDATE wib.crm_contact_cache c
           SET phone_e164 = wib.phone_e164(left(c.phone_number, 64), new_row.default_country),
               mobile_e164 = wib.phone_e164(left(c.mobile_number, 64), new_row.default_country)
         WHERE c.organization_id = organization_update.id;
    END IF;
    PERFORM wib.audit_for(id, 'organization:updated', 'organization', id::text,
                          to_jsonb(old_row), to_jsonb(new_row));
END
$$;
COMMENT ON FUNCTION wib.organization_update(uuid, jsonb) IS
    'Operators: changes an organization''s name, plan or default country ({"name": ..., "plan": ..., "default_country": "GB"}: the ISO 3166 alpha-2 country in which its phone numbers without a calling code are read; calls'' and cached CRM contacts'' numbers are read again); audited organization:updated.';
