-- The audit log: every create, update and delete of the API, append-only, secrets redacted.

-- Only the table's owner may rewrite history (an organization's cascade delete runs as the owner).
CREATE OR REPLACE FUNCTION wib.audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = 'wib.audit_log is append-only',
            DETAIL = format('%s is not allowed.', TG_OP);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION wib.audit_log_append_only() IS 'Trigger: refuses UPDATE, DELETE and TRUNCATE of the audit log.';

CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON wib.audit_log
    FOR EACH ROW EXECUTE FUNCTION wib.audit_log_append_only();
CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON wib.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION wib.audit_log_append_only();

-- Replaces the value of every key that names a secret, at any depth.
CREATE OR REPLACE FUNCTION wib.redact(value jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'object' THEN (
            SELECT coalesce(jsonb_object_agg(k,
                       CASE WHEN k ~* '(secret|token|password|passwd|api_?key|private_?key|credential|authorization|nonce)'
                            THEN to_jsonb('[redacted]'::text)
                            ELSE wib.redact(v) END), '{}'::jsonb)
              FROM jsonb_each(value) AS e(k, v))
        WHEN 'array' THEN (
            SELECT coalesce(jsonb_agg(wib.redact(v) ORDER BY n), '[]'::jsonb)
              FROM jsonb_array_elements(value) WITH ORDINALITY AS a(v, n))
        ELSE value
    END
$$;
COMMENT ON FUNCTION wib.redact(jsonb) IS
    'Replaces values under keys naming secrets (secret, token, password, api_key, ...) with "[redacted]".';

-- Writes one audit row for the organization in context (or the one given, for operators).
CREATE OR REPLACE FUNCTION wib.audit(action text, resource_type text, resource_id text,
                          old_value jsonb DEFAULT NULL, new_value jsonb DEFAULT NULL,
                          organization_id uuid DEFAULT NULL) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib
BEGIN ATOMIC
    INSERT INTO wib.audit_log (organization_id, user_id, resource_type, resource_id, action, old_value, new_value)
    VALUES (coalesce(audit.organization_id, wib.require_org()), wib.current_user_id(),
            audit.resource_type, audit.resource_id, audit.action,
            wib.redact(audit.old_value), wib.redact(audit.new_value));
END;
COMMENT ON FUNCTION wib.audit(text, text, text, jsonb, jsonb, uuid) IS
    'Internal: appends an audit row with secrets redacted; used by every API function that changes data.';
