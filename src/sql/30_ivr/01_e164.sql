-- E.164 numbers, as the IVR tables' checks read them.

CREATE OR REPLACE FUNCTION wib.ivr_is_e164(number text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN number ~ '^\+[1-9][0-9]{1,14}$';
COMMENT ON FUNCTION wib.ivr_is_e164(text) IS 'True for an E.164 number: +, a non-zero digit, then 1 to 14 digits.';
