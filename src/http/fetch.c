/*
 * fetch.c
 *		wib.http_fetch(): one request through the outbound HTTP engine,
 *		synchronously in the caller's session.
 *
 * For operators checking connectivity from the server itself ("does this
 * server reach api.hubapi.com, with its CA store, over HTTP/2?") and for
 * tests of the engine.  It is an HTTP client with the server's network
 * position, so it is superuser-only: its SQL definition revokes it from
 * PUBLIC.  Failures of the request are results (status 0 and error), not
 * errors; only bad arguments raise.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "http/engine.h"

#define FETCH_COLUMNS		6
#define FETCH_MAX_RESPONSE	((int) (MaxAllocSize - VARHDRSZ - 1))	/* the body must fit a bytea */

/* True when c may appear in a header name (an RFC 9110 token). */
static bool
is_token_char(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The request header lines of a jsonb object of string values; raises on anything else. */
static const char **
header_lines(Jsonb *jb, int *count)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	const char **lines;
	char	   *name = NULL;
	int			n = 0;

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("headers must be a JSON object of header names and string values")));
	lines = palloc(sizeof(char *) * Max(JB_ROOT_COUNT(jb), 1));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			name = pnstrdup(v.val.string.val, v.val.string.len);
			for (const char *p = name; *p; p++)
				if (!is_token_char((unsigned char) *p))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("invalid header name \"%s\"", name)));
			if (name[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("header names cannot be empty")));
		}
		else if (tok == WJB_VALUE)
		{
			char	   *value;

			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the value of header \"%s\" must be a string", name)));
			value = pnstrdup(v.val.string.val, v.val.string.len);
			if (strpbrk(value, "\r\n") != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the value of header \"%s\" contains a line break", name)));
			lines[n++] = psprintf("%s: %s", name, value);
		}
	}
	*count = n;
	return lines;
}

/* s as valid text of the database encoding: unchanged when valid, else non-ASCII bytes as '?'. */
static char *
valid_text(const char *s)
{
	char	   *copy;

	if (pg_verifymbstr(s, strlen(s), true))
		return (char *) s;
	copy = pstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char) *p >= 0x80)
			*p = '?';
	return copy;
}

/* Appends one JSON string to an array being built. */
static void
push_string(JsonbParseState **state, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = valid_text(s);
	v.val.string.len = strlen(v.val.string.val);
	pushJsonbValue(state, WJB_ELEM, &v);
}

/* The response headers as a JSON array of [name, value] pairs, in order. */
static Datum
headers_json(const HttpResult *res)
{
	JsonbParseState *state = NULL;
	JsonbValue *root;

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < res->nheaders; i++)
	{
		pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
		push_string(&state, res->headers[i].name);
		push_string(&state, res->headers[i].value);
		pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	}
	root = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(root));
}

/* The text form of an engine protocol version: "1.1", "2", ...; NULL when none. */
static const char *
version_text(int v)
{
	switch (v)
	{
		case 10:
			return "1.0";
		case 11:
			return "1.1";
		case 2:
			return "2";
		case 3:
			return "3";
		default:
			return NULL;
	}
}

PG_FUNCTION_INFO_V1(wib_http_fetch);

/*
 * wib.http_fetch(method, url, headers, body, max_response, guarded): one
 * request, answered as (status, http_version, headers, body, error,
 * duration_ms).
 */
Datum
wib_http_fetch(PG_FUNCTION_ARGS)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
	char	   *method;
	char	   *url;
	Jsonb	   *headers = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	bytea	   *body = PG_ARGISNULL(3) ? NULL : PG_GETARG_BYTEA_PP(3);
	int32		max_response = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);
	bool		guarded = PG_ARGISNULL(5) ? true : PG_GETARG_BOOL(5);
	HttpRequest req;
	TupleDesc	desc;
	Datum		values[FETCH_COLUMNS];
	bool		nulls[FETCH_COLUMNS] = {0};
	const char *version;
	bool		known = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("method and url must not be null")));
	method = text_to_cstring(PG_GETARG_TEXT_PP(0));
	url = text_to_cstring(PG_GETARG_TEXT_PP(1));
	for (char *p = method; *p; p++)
		*p = pg_toupper((unsigned char) *p);
	for (int i = 0; i < lengthof(methods); i++)
		known = known || strcmp(method, methods[i]) == 0;
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid method \"%s\"", method),
				 errdetail("The method must be GET, POST, PUT, PATCH, DELETE or HEAD.")));
	if (max_response < 0 || max_response > FETCH_MAX_RESPONSE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_response must be between 0 and %d", FETCH_MAX_RESPONSE),
				 errdetail("Got %d.", max_response)));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("wib.http_fetch must be called in a context that accepts a record")));

	http_request_init(&req, method, url);
	if (headers != NULL)
		req.headers = header_lines(headers, &req.nheaders);
	if (body != NULL)
	{
		req.body = VARDATA_ANY(body);
		req.body_len = VARSIZE_ANY_EXHDR(body);
	}
	req.max_response = (size_t) max_response;
	req.guarded = guarded;

	http_engine_run(&req, 1);

	values[0] = Int32GetDatum((int32) req.result.status);
	version = version_text(req.result.http_version);
	nulls[1] = version == NULL;
	values[1] = version ? CStringGetTextDatum(version) : (Datum) 0;
	values[2] = headers_json(&req.result);
	nulls[3] = req.result.status == 0;
	if (!nulls[3])
	{
		bytea	   *out = palloc(VARHDRSZ + req.result.body_len);

		SET_VARSIZE(out, VARHDRSZ + req.result.body_len);
		if (req.result.body_len > 0)
			memcpy(VARDATA(out), req.result.body, req.result.body_len);
		values[3] = PointerGetDatum(out);
	}
	nulls[4] = req.result.error[0] == '\0';
	values[4] = nulls[4] ? (Datum) 0 : CStringGetTextDatum(valid_text(req.result.error));
	values[5] = Int32GetDatum(req.result.duration_ms);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
