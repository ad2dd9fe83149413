/*
 * texml.c
 *		The server's side of the TeXML writer: documents in the current memory
 *		context, an error for a misuse of the writer (a bug here, so internal)
 *		or for a value Telnyx would refuse (22023 naming the field), and
 *		wib.texml_escape() to show what the escaper does.
 *
 * What a document may contain is decided by the backend-free kernels
 * texml_doc.c, texml_escape.c and texml_rules.c.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "core/bytebuf_pg.h"
#include "ivr/texml.h"
#include "ivr/texml_escape.h"
#include "ivr/texml_rules.h"

/* Raises the writer's failure, if any. */
static void
texml_raise(TexmlWriter *w, bool ok)
{
	if (ok)
		return;
	bytebuf_check_pg(&w->buf);
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg_internal("TeXML writer: %s", texml_status_string(w->doc.status))));
}

/* Starts a document: the XML declaration and the <Response> root. */
void
texml_begin(TexmlWriter *w)
{
	bytebuf_init_pg(&w->buf);
	texml_raise(w, texml_doc_begin(&w->doc, &w->buf));
}

/* Opens element name (a constant of this code) inside the current one. */
void
texml_open(TexmlWriter *w, const char *name)
{
	texml_raise(w, texml_doc_open(&w->doc, name));
}

/* Adds an attribute to the element just opened; NULL values are left out. */
void
texml_attr(TexmlWriter *w, const char *name, const char *value)
{
	texml_raise(w, texml_doc_attr(&w->doc, name, value));
}

/* Adds an integer attribute after checking it against Telnyx's range for it. */
void
texml_attr_int(TexmlWriter *w, const char *name, int value, int min, int max)
{
	if (value < min || value > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid TeXML attribute %s", name),
				 errdetail("%s must be between %d and %d; got %d.", name, min, max, value)));
	texml_raise(w, texml_doc_attr_int(&w->doc, name, value, min, max));
}

/* Writes escaped character data inside the current element. */
void
texml_text(TexmlWriter *w, const char *text)
{
	texml_raise(w, texml_doc_text(&w->doc, text, text ? strlen(text) : 0));
}

/* Closes the innermost element ("<x/>" when it has no content). */
void
texml_close(TexmlWriter *w)
{
	texml_raise(w, texml_doc_close(&w->doc));
}

/* Closes every open element, <Response> last, and returns the document. */
char *
texml_finish(TexmlWriter *w, int *len)
{
	texml_raise(w, texml_doc_finish(&w->doc) == TEXML_OK);
	*len = (int) w->buf.len;
	return w->buf.data;
}

/* Refuses a number that is not E.164, naming the field. */
void
texml_check_e164(const char *number, const char *field)
{
	if (!texml_is_e164(number))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("%s must be an E.164 number such as +15551234567.", field)));
}

/* Refuses a voice Telnyx does not know: man, woman, alice, Polly.<Id>[-Neural]. */
void
texml_check_voice(const char *voice)
{
	if (!texml_is_voice(voice))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid voice"),
				 errdetail("voice must be man, woman, alice, Polly.<Id> or Polly.<Id>-Neural.")));
}

/* Refuses a language that is not a tag like en-US, de-DE or arb. */
void
texml_check_language(const char *language)
{
	if (!texml_is_language(language))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid language"),
				 errdetail("language must be a language tag such as en-US.")));
}

/*
 * Refuses a URL that Telnyx could not fetch or that would not survive as an
 * attribute: http(s) only (or a relative path when allowed), at most 2048
 * bytes, no spaces, controls or non-ASCII.
 */
void
texml_check_url(const char *url, const char *field, bool allow_relative)
{
	if (!texml_is_url(url, allow_relative))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", field),
				 errdetail("%s must be an http or https URL of at most 2048 characters without spaces.", field)));
}

PG_FUNCTION_INFO_V1(wib_texml_escape);

/*
 * wib.texml_escape(raw bytea, in_attribute boolean DEFAULT false): raw bytes
 * as the writer would put them in a document, for tests and previews of
 * what happens to control characters and invalid UTF-8.
 */
Datum
wib_texml_escape(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	bool		in_attr = PG_GETARG_BOOL(1);
	ByteBuf		buf;
	text	   *result;

	bytebuf_init_pg(&buf);
	texml_escape(&buf, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), in_attr);
	bytebuf_check_pg(&buf);
	result = cstring_to_text_with_len(buf.data ? buf.data : "", (int) buf.len);
	bytebuf_free(&buf);
	PG_RETURN_TEXT_P(result);
}
