-- Outbound HTTP: one request through the engine every feature shares, in the
-- caller's session, for operators' connectivity checks ("can this server reach
-- api.hubapi.com with its CA?").  An HTTP client: superuser only, granted to nobody.

CREATE OR REPLACE FUNCTION wib.http_fetch(method text, url text, headers jsonb DEFAULT '{}',
                               body bytea DEFAULT NULL, max_response integer DEFAULT 1048576,
                               guarded boolean DEFAULT true,
                               OUT status integer, OUT http_version text, OUT headers jsonb,
                               OUT body bytea, OUT error text, OUT duration_ms integer)
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'wib_http_fetch';
COMMENT ON FUNCTION wib.http_fetch(text, text, jsonb, bytea, integer, boolean) IS
    'Superuser only: sends one request (GET, POST, PUT, PATCH, DELETE, HEAD) through the outbound HTTP engine, with TLS verified against wib.http_ca_file or the system store, no proxy, no redirects, HTTP/2 when the server offers it. headers: a JSON object of string values (an empty value removes a header libcurl would send). max_response caps the body (0: 1 MiB; a longer body is an error). guarded: the SSRF guard judges the URL and every address connected to (false for operator-configured provider endpoints). Returns status (0 when no response), http_version (1.1, 2, ...), headers (a JSON array of [name, value] pairs of the final response, in order, duplicates kept), body, error (NULL when a response arrived) and duration_ms.';

-- The SSRF guard on a URL a tenant sets (the engine checks the address again at connect time).
CREATE OR REPLACE FUNCTION wib.url_check(url text) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'wib_url_check';
COMMENT ON FUNCTION wib.url_check(text) IS
    'SSRF guard: NULL when tenants may use the URL (https, no credentials, no private, loopback or reserved address however spelt), else the reason.';
