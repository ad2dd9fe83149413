-- Rotation of the vault's key: every sealed value of wib.vault_columns
-- re-sealed under the current key, so that older keys can leave the ring.

CREATE OR REPLACE FUNCTION wib.vault_rotate() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, wib, pg_temp
    -- A re-seal changes how a value is stored, not the row: no updated_at,
    -- no trigger of the feature fires.
    SET session_replication_role = replica
AS $$
DECLARE
    col     wib.vault_columns;
    r       record;
    cur     integer := wib.vault_current_key_id();
    total   bigint := 0;
    counts  jsonb;
    org     text;
    row_id  text;
    st      text;
    msg     text;
BEGIN
    FOR col IN SELECT * FROM wib.vault_columns c ORDER BY c.context LOOP
        counts := '{}';
        row_id := NULL;
        BEGIN
            -- Every value whose header is not "version 1, current key" (so a
            -- value that is no envelope at all is named below, not skipped).
            FOR r IN EXECUTE format(
                'SELECT t.ctid AS tid, %s AS org, t.%I::text AS row_id, t.%I AS sealed
                   FROM wib.%I t
                  WHERE t.%I IS NOT NULL
                    AND substring(t.%I FROM 1 FOR 5) IS DISTINCT FROM $1
                    FOR UPDATE OF t',
                CASE WHEN col.organization_column IS NULL THEN 'NULL::uuid'
                     ELSE format('t.%I', col.organization_column) END,
                col.row_id_column, col.column_name, col.table_name, col.column_name, col.column_name)
                USING '\x01'::bytea || int4send(cur)
            LOOP
                row_id := r.row_id;
                EXECUTE format('UPDATE wib.%I SET %I = wib.vault_seal_bytes(wib.vault_open_bytes($1, $2, $3, $4), $2, $3, $4)
                                 WHERE ctid = $5', col.table_name, col.column_name)
                    USING r.sealed, r.org, col.context, r.row_id, r.tid;
                org := coalesce(r.org::text, '');
                counts := jsonb_set(counts, ARRAY[org], to_jsonb(coalesce((counts ->> org)::bigint, 0) + 1));
                total := total + 1;
            END LOOP;
        EXCEPTION WHEN SQLSTATE 'WB009' OR undefined_object THEN
            -- Name the value that stops the rotation (never its contents).
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            RAISE EXCEPTION USING ERRCODE = st,
                MESSAGE = CASE WHEN row_id IS NULL THEN format('could not re-seal %s', col.context)
                               ELSE format('could not re-seal %s of row %s', col.context, row_id) END,
                DETAIL = msg || '.',
                HINT = 'Put the key it was sealed under back into the key ring and reload, or replace the value (a webhook''s with wib.webhook_rotate_secret); then rotate again.';
        END;
        FOR org IN SELECT jsonb_object_keys(counts) LOOP
            IF org = '' THEN
                RAISE LOG 'wib re-sealed % platform values of % under key %', counts ->> org, col.context, cur;
            ELSE
                PERFORM wib.audit_for(org::uuid, 'vault:rotated', 'vault', col.context, NULL,
                                      jsonb_build_object('context', col.context, 'resealed', (counts ->> org)::bigint,
                                                         'key_id', cur));
            END IF;
        END LOOP;
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION wib.vault_rotate() IS
    'Operators: re-seals under the current key every value of wib.vault_columns sealed under an older key (webhook signing secrets, ...) and returns how many; idempotent. Audited vault:rotated in each organization concerned. Run it after adding a key and before removing the old one.';
