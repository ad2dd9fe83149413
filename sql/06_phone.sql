-- Phone numbers into E.164 (wib.phone_e164) and the counterparty number each call keeps.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- The spellings of the platform design.
SELECT n AS number, c AS country, wib.phone_e164(n, c) AS e164
  FROM (VALUES ('(555) 123-4567', 'US'), ('+1 555-123-4567 ext. 9', 'US'), ('555.123.4567', 'US'),
               ('5551234567', 'US'), ('1-555-123-4567', 'US'), ('+44 20 7946 0958', 'US'),
               ('020 7946 0958', 'GB'), ('00 33 1 23 45 67 89', 'FR'), ('011 44 20 7946 0958', 'us'),
               ('+44 (0)20 7946 0958', 'US'), ('06 1234 5678', 'IT'), ('8 (812) 123-45-67', 'RU'),
               ('0011 61 2 9876 5432', 'AU'), ('tel:+1-201-555-0123;ext=7', 'US')) v(n, c);
-- The default country is US.
SELECT wib.phone_e164('(555) 123-4567');
-- What cannot be read as a number is NULL.
SELECT n AS number, wib.phone_e164(n) IS NULL AS refused
  FROM (VALUES ('1-800-FLOWERS'), ('555-1234'), (''), ('   '), ('+0 555 123 4567'), ('555+123+4567'),
               ('555-123-4567 ext.'), ('(055) 123-4567'), ('+1234567890123456'), (NULL)) v(n);
-- A result reads back unchanged in any country.
SELECT bool_and(wib.phone_e164(wib.phone_e164(n, 'GB'), c) = wib.phone_e164(n, 'GB')) AS idempotent
  FROM (VALUES ('020 7946 0958'), ('+1 555 123 4567'), ('00 49 30 123456')) v(n),
       (VALUES ('US'), ('GB'), ('JP'), ('IT')) w(c);
-- An unknown or missing default country is an error.
SELECT wib.phone_e164('555 123 4567', 'XX');
SELECT wib.phone_e164('555 123 4567', 'USA');
SELECT wib.phone_e164('555 123 4567', NULL);
SELECT wib.phone_e164(NULL, 'ZZ');

-- Each call keeps the other party's number, read in the organization's default country.
BEGIN;
SELECT wib.organization_create('Phone book', 'enterprise') AS org \gset
SELECT wib.set_context(:'org', 'agent', true);
INSERT INTO wib.calls (organization_id, direction, from_number, to_number, status) VALUES
    (:'org', 'outbound', '+15550100100', '(555) 123-4567', 'completed'),
    (:'org', 'inbound', '555.123.4567', '+15550100100', 'completed'),
    (:'org', 'inbound', 'anonymous', '+15550100100', 'completed'),
    (:'org', 'outbound', '+15550100100', NULL, 'queued');
SELECT direction, from_number, to_number, counterparty_e164 FROM wib.calls WHERE organization_id = :'org' ORDER BY direction, from_number;
-- Whatever is written to the column is replaced; a changed number is read again.
UPDATE wib.calls SET counterparty_e164 = 'made up' WHERE organization_id = :'org' AND from_number = 'anonymous';
UPDATE wib.calls SET to_number = '+44 20 7946 0958' WHERE organization_id = :'org' AND to_number IS NULL;
SELECT direction, from_number, to_number, counterparty_e164 FROM wib.calls WHERE organization_id = :'org' ORDER BY direction, from_number;
SELECT wib.contact_numbers_refresh(:'org') AS changed;
ROLLBACK;
