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

-- A text that looks like a secret whatever key holds it: a signing secret, an
-- Authorization value, a JSON Web Token, a provider API key; and in a URL, the
-- values of query parameters that carry credentials.
CREATE OR REPLACE FUNCTION wib.redact_text(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN value ~* '^\s*(whsec_|(sk|rk)_(live|test)_|(bearer|basic|vapid|token)\s+\S)'
          OR value ~ '^eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]*\.'
          OR value ~* '(authorization|cookie|x-api-key)\s*[:=]'
        THEN '[redacted]'
        ELSE regexp_replace(value,
                 '([?&;#](access_token|refresh_token|id_token|token|code|key|api_?key|secret|client_secret|password|sig|signature|auth|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#[:space:]]*',
                 '\1[redacted]', 'gi')
    END;
COMMENT ON FUNCTION wib.redact_text(text) IS
    'Internal: "[redacted]" for a text shaped like a secret (whsec_ secrets, Bearer/Basic/vapid credentials, JWTs, provider keys, header lines carrying them); credentials in URL query strings replaced in place.';

-- Redacts a JSON value before it is written to the audit log: values under keys
-- that name secrets, and strings shaped like secrets, at any depth.
CREATE OR REPLACE FUNCTION wib.redact(value jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
BEGIN
    -- PL/pgSQL keeps its queries' plans for the session, where a SQL function
    -- would plan them again on every call (and once more per nested value).
    CASE jsonb_typeof(value)
    WHEN 'object' THEN
        RETURN (SELECT coalesce(jsonb_object_agg(e.k,
                           CASE WHEN e.k ~* '(secret|token|password|passwd|api_?key|private_?key|credential|authorization|nonce|cookie|signature|session|verifier|^auth$|^code$)'
                                THEN to_jsonb('[redacted]'::text)
                                WHEN jsonb_typeof(e.v) = 'string' THEN to_jsonb(wib.redact_text(e.v #>> '{}'))
                                WHEN jsonb_typeof(e.v) NOT IN ('object', 'array') THEN e.v
                                ELSE wib.redact(e.v) END), '{}'::jsonb)
                  FROM jsonb_each(value) AS e(k, v));
    WHEN 'array' THEN
        RETURN (SELECT coalesce(jsonb_agg(wib.redact(a.v) ORDER BY a.n), '[]'::jsonb)
                  FROM jsonb_array_elements(value) WITH ORDINALITY AS a(v, n));
    WHEN 'string' THEN
        RETURN to_jsonb(wib.redact_text(value #>> '{}'));
    ELSE
        RETURN value;
    END CASE;
END
$$;
COMMENT ON FUNCTION wib.redact(jsonb) IS
    'Replaces values under keys naming secrets (secret, token, password, api_key, auth, cookie, signature, ...) and strings shaped like secrets (whsec_..., Bearer ..., JWTs, credentials in URL query strings) with "[redacted]", at any depth.';

-- Writes one audit row for the given organization.  Not granted to anyone: wib's
-- own definer-rights functions use it when they act for a tenant that is not
-- the one in context (operators, workers, inbound callbacks).
CREATE OR REPLACE FUNCTION wib.audit_for(organization_id uuid, action text, resource_type text, resource_id text,
                                         old_value jsonb DEFAULT NULL, new_value jsonb DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, wib, pg_temp
AS $$
BEGIN
    INSERT INTO wib.audit_log (organization_id, user_id, resource_type, resource_id, action, old_value, new_value)
    VALUES (audit_for.organization_id, wib.current_user_id(),
            audit_for.resource_type, audit_for.resource_id, audit_for.action,
            wib.redact(audit_for.old_value), wib.redact(audit_for.new_value));
END
$$;
COMMENT ON FUNCTION wib.audit_for(uuid, text, text, text, jsonb, jsonb) IS
    'Internal: appends an audit row of the given organization, secrets redacted; for wib''s own functions acting for a tenant not in context.';

-- Writes one audit row for the organization in context: applications may add
-- their own actions to their own log, never to another organization's.
CREATE OR REPLACE FUNCTION wib.audit(action text, resource_type text, resource_id text,
                                     old_value jsonb DEFAULT NULL, new_value jsonb DEFAULT NULL) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
BEGIN ATOMIC
    SELECT wib.audit_for(wib.require_org(), audit.action, audit.resource_type, audit.resource_id,
                         audit.old_value, audit.new_value);
END;
COMMENT ON FUNCTION wib.audit(text, text, text, jsonb, jsonb) IS
    'Appends an audit row for the organization in context (action like "invoice:sent"), secrets redacted; every API function that changes data calls it.';
