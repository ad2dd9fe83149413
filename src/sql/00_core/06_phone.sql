-- Phone numbers as people write them, read into E.164 (src/core/phone.c): the
-- one normalizer for contacts (analytics predictions, CRM matching).

CREATE OR REPLACE FUNCTION wib.phone_e164(number text, default_country text DEFAULT 'US') RETURNS text
    LANGUAGE c IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_phone_e164';
COMMENT ON FUNCTION wib.phone_e164(text, text) IS
    'The E.164 form (+ and 8 to 15 digits) of a phone number as people write it: "(555) 123-4567", "+1 555-123-4567 ext. 9", "020 7946 0958" read in GB, "00 33 1 23 45 67 89". A number without + or an international prefix is read in default_country (ISO 3166 alpha-2; its calling code added, its trunk prefix removed); separators, a tel: scheme and an extension are dropped. NULL for NULL or for what cannot be read as a number (letters, a wrong length); 22023 for a NULL or unknown default_country.';
