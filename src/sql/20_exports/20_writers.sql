-- The C side of exports: writers, files and download tokens.  None of these is granted to applications.
CREATE OR REPLACE FUNCTION wib.export_render(query text, format text, formula_guard boolean DEFAULT true, max_rows bigint DEFAULT 0)
    RETURNS SETOF text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_render';
COMMENT ON FUNCTION wib.export_render(text, text, boolean, bigint) IS
    'Internal: the rows of a read-only query as chunks of whole CSV or JSON lines (the writer of every export); max_rows > 0 raises WB205 past that many rows.';

CREATE OR REPLACE FUNCTION wib.export_write_file(query text, format text, formula_guard boolean, max_rows bigint, storage_key text,
                                      OUT rows bigint, OUT bytes bigint, OUT sha256 text)
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_write_file';
COMMENT ON FUNCTION wib.export_write_file(text, text, boolean, bigint, text) IS
    'Internal: writes the rows of a query to the export file of storage_key (via a .part file renamed when complete); returns rows, bytes and SHA-256.';

CREATE OR REPLACE FUNCTION wib.export_file_read(storage_key text, "offset" bigint, length integer) RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_file_read';
COMMENT ON FUNCTION wib.export_file_read(text, bigint, integer) IS 'Internal: bytes of an export file.';

CREATE OR REPLACE FUNCTION wib.export_file_remove(storage_key text) RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_file_remove';
COMMENT ON FUNCTION wib.export_file_remove(text) IS 'Internal: removes an export file; false when it was already gone.';

-- Download tokens are signed tokens of the crypto layer (wib.token_sign) for
-- the purpose export-download, carrying "<job id>.<organization id>"
-- (src/export/download.c).
CREATE OR REPLACE FUNCTION wib.export_token_sign(job_id uuid, organization_id uuid, expires_at timestamptz) RETURNS text
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_token_sign';
COMMENT ON FUNCTION wib.export_token_sign(uuid, uuid, timestamptz) IS
    'Internal: the download token of a job: wib.token_sign for the purpose export-download under the key ring''s current key, valid until expires_at.';

CREATE OR REPLACE FUNCTION wib.export_token_verify(token text, OUT job_id uuid, OUT organization_id uuid, OUT expires_at timestamptz)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_token_verify';
COMMENT ON FUNCTION wib.export_token_verify(text) IS
    'Internal: checks a download token (WB201 forged, altered, malformed or minted for another purpose; WB202 expired) and opens its export for the rest of the transaction.';

CREATE OR REPLACE FUNCTION wib.export_token_org(job_id uuid) RETURNS uuid
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_token_org';
COMMENT ON FUNCTION wib.export_token_org(uuid) IS
    'Internal: the organization of job_id when a token for it was opened in this transaction, else NULL.';

-- Object storage (src/export/s3_*.c).  target is the jsonb of wib.export_storage_target():
-- endpoint, region, bucket, addressing and the credentials, secret included.
CREATE OR REPLACE FUNCTION wib.export_s3_begin(target jsonb, key text, content_type text) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_s3_begin';
COMMENT ON FUNCTION wib.export_s3_begin(jsonb, text, text) IS
    'Internal: starts a multipart upload of key (CreateMultipartUpload, retried when transient) and returns its upload id.';

CREATE OR REPLACE FUNCTION wib.export_s3_write(query text, format text, formula_guard boolean, max_rows bigint,
                                               storage_key text, target jsonb, key text, upload_id text,
                                               OUT rows bigint, OUT bytes bigint, OUT sha256 text)
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_s3_write';
COMMENT ON FUNCTION wib.export_s3_write(text, text, boolean, bigint, text, jsonb, text, text) IS
    'Internal: streams the rows of a query into the multipart upload upload_id of key, parts of wib.export_part_size sent wib.export_upload_concurrency at a time, and completes it; returns rows, bytes and SHA-256. On error the upload is left to the caller to abort.';

CREATE OR REPLACE FUNCTION wib.export_s3_presign(target jsonb, key text, expires_seconds integer, filename text)
    RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_s3_presign';
COMMENT ON FUNCTION wib.export_s3_presign(jsonb, text, integer, text) IS
    'Internal: a SigV4 presigned GET URL of key valid for expires_seconds (1 to 604800), offered as an attachment named filename.';

CREATE OR REPLACE FUNCTION wib.export_s3_list_uploads(target jsonb, prefix text)
    RETURNS TABLE (key text, upload_id text, initiated text)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'wib_export_s3_list_uploads';
COMMENT ON FUNCTION wib.export_s3_list_uploads(jsonb, text) IS
    'Internal: the multipart uploads in progress under prefix in the target''s bucket (ListMultipartUploads, every page).';

CREATE OR REPLACE FUNCTION wib.export_s3_endpoint(endpoint text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT
    AS 'MODULE_PATHNAME', 'wib_export_s3_endpoint';
COMMENT ON FUNCTION wib.export_s3_endpoint(text) IS
    'Internal: an object storage endpoint in its normal form (scheme://host[:port], lower-case, default port left out); 22023 invalid endpoint saying why.';
