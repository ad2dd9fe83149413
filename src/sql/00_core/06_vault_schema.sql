-- What the vault holds: one row per column of sealed values, so that
-- wib.vault_rotate finds every value to re-seal when a key is retired.  A
-- feature that seals a column adds its row (INSERT ... ON CONFLICT) in its
-- own catalogue part.

CREATE TABLE wib.vault_columns (
    context             text NOT NULL,
    table_name          text NOT NULL,
    column_name         text NOT NULL,
    organization_column text,
    row_id_column       text NOT NULL,
    description         text NOT NULL,
    CONSTRAINT vault_columns_pkey PRIMARY KEY (context),
    CONSTRAINT vault_columns_context_check CHECK (context = table_name || '.' || column_name),
    CONSTRAINT vault_columns_names_check CHECK (
        table_name ~ '^[a-z_][a-z0-9_]*$' AND column_name ~ '^[a-z_][a-z0-9_]*$'
        AND row_id_column ~ '^[a-z_][a-z0-9_]*$'
        AND (organization_column IS NULL OR organization_column ~ '^[a-z_][a-z0-9_]*$'))
);
COMMENT ON TABLE wib.vault_columns IS
    'The columns of schema wib that hold values sealed by the vault: each value is sealed with the context <table>.<column>, its row''s organization_column (NULL: a platform secret) and its row''s row_id_column as additional data; wib.vault_rotate re-seals them all.';
