/*
 * form.c
 *		Form bodies and query strings for API clients: OAuth token requests
 *		(application/x-www-form-urlencoded) and query parameters.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "http/engine.h"
#include "http/percent.h"

/* Appends s percent-encoded in style to buf. */
static void
append_encoded(StringInfo buf, const char *s, PercentStyle style)
{
	size_t		len = strlen(s);

	enlargeStringInfo(buf, (int) PERCENT_ENCODED_MAX(len));
	buf->len += (int) percent_encode(s, len, style, buf->data + buf->len);
}

/* name=value pairs as an application/x-www-form-urlencoded body (see engine.h). */
char *
http_form_encode(const char *const *names, const char *const *values, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, '&');
		append_encoded(&buf, names[i], PERCENT_FORM);
		appendStringInfoChar(&buf, '=');
		append_encoded(&buf, values[i] ? values[i] : "", PERCENT_FORM);
	}
	return buf.data;
}

/* s percent-encoded for a URL (RFC 3986 unreserved characters kept, space as %20). */
char *
http_url_encode(const char *s)
{
	size_t		len = strlen(s);
	char	   *out = palloc(PERCENT_ENCODED_MAX(len));

	percent_encode(s, len, PERCENT_URL, out);
	return out;
}
