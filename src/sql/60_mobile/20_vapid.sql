-- The platform's VAPID key (RFC 8292): created by an operator, its private
-- half sealed by the vault, its public half what browsers subscribe with.

-- Raises 22023 naming subject unless it is a mailto: or https: contact.
CREATE OR REPLACE FUNCTION wib.vapid_check_subject(subject text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    PERFORM wib.require_text(subject, 'subject', 255);
    IF subject !~ '^(mailto:[^@[:space:]]+@[^@[:space:]]+|https://[^[:space:]/]+[^[:space:]]*)$' THEN
        PERFORM wib.invalid_field('subject',
            'subject must be a contact push services can reach: mailto:ops@example.com or https://example.com/contact.');
    END IF;
    RETURN subject;
END
$$;
COMMENT ON FUNCTION wib.vapid_check_subject(text) IS
    'Internal: the VAPID subject (a mailto: or https: contact), or 22023 naming subject.';

CREATE OR REPLACE FUNCTION wib.vapid_configure(subject text, rotate boolean DEFAULT false) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    current wib.vapid_keys;
    new_id  integer;
    made    record;
BEGIN
    PERFORM wib.vapid_check_subject(subject);
    LOCK TABLE wib.vapid_keys IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO current FROM wib.vapid_keys k WHERE k.is_current;
    IF FOUND AND NOT coalesce(rotate, false) THEN
        UPDATE wib.vapid_keys k SET subject = vapid_configure.subject WHERE k.id = current.id;
        RETURN wib.base64url_encode(current.public_key);
    END IF;
    new_id := coalesce((SELECT max(k.id) FROM wib.vapid_keys k), 0) + 1;
    made := wib.vapid_generate_key(new_id::text);
    UPDATE wib.vapid_keys k SET is_current = false, retired_at = now() WHERE k.is_current;
    INSERT INTO wib.vapid_keys (id, public_key, private_key, subject)
    VALUES (new_id, made.public_key, made.private_key, vapid_configure.subject);
    RETURN wib.base64url_encode(made.public_key);
END
$$;
COMMENT ON FUNCTION wib.vapid_configure(text, boolean) IS
    'Operators: creates the platform''s VAPID key pair (private key sealed by the vault) with subject, a mailto: or https: contact, and returns the public key; afterwards changes only the subject, unless rotate makes a new current key (existing subscriptions keep the key they were made with).';

CREATE OR REPLACE FUNCTION wib.vapid_public_key() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
AS $$
DECLARE
    key bytea := (SELECT k.public_key FROM wib.vapid_keys k WHERE k.is_current);
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB603',
            MESSAGE = 'Web Push is not configured: there is no VAPID key',
            HINT = 'An operator runs SELECT wib.vapid_configure(''mailto:ops@example.com'').';
    END IF;
    RETURN wib.base64url_encode(key);
END
$$;
COMMENT ON FUNCTION wib.vapid_public_key() IS
    'The platform''s current VAPID public key, base64url: the applicationServerKey browsers pass to PushManager.subscribe. WB603 until an operator ran wib.vapid_configure.';

-- What the mobile feature seals, for wib.vault_rotate.
INSERT INTO wib.vault_columns (context, table_name, column_name, organization_column, row_id_column, description) VALUES
    ('vapid_keys.private_key', 'vapid_keys', 'private_key', NULL, 'id',
     'The private key of one of the platform''s VAPID key pairs.'),
    ('push_subscriptions.auth_key', 'push_subscriptions', 'auth_key', 'organization_id', 'id',
     'The auth secret of a browser''s push subscription.')
ON CONFLICT (context) DO UPDATE SET table_name = EXCLUDED.table_name, column_name = EXCLUDED.column_name,
    organization_column = EXCLUDED.organization_column, row_id_column = EXCLUDED.row_id_column,
    description = EXCLUDED.description;
