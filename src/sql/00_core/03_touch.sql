-- Keeps updated_at true on every table that has one.

-- Keeps updated_at true on every table that has one.
CREATE OR REPLACE FUNCTION wib.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION wib.touch_updated_at() IS 'Trigger: sets updated_at on every update.';
