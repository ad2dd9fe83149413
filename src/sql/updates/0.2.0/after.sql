-- wib 0.1.0 to 0.2.0, last step: data moved into the shape of 0.2.0.

-- The counterparty number of every call recorded before the update (the
-- trigger keeps it from now on).
SELECT wib.contact_numbers_refresh(o.id) FROM wib.organizations o;
