/*
 * texml.c
 *		The TeXML writer: elements, attributes and text, escaped so that the
 *		output is a well-formed XML 1.0 document whatever the input holds.
 *
 * Text and attribute values are written as UTF-8 with these rules (see
 * docs/ivr.md, "What the writer does to text"):
 *	- & < > are always escaped (so "]]>" can never appear), " and ' too in
 *	  attribute values;
 *	- an invalid UTF-8 byte sequence is replaced by U+FFFD, one per bad byte;
 *	- control characters XML 1.0 forbids (U+0000-U+0008, U+000B, U+000C,
 *	  U+000E-U+001F) and the C1 controls U+007F-U+009F become a space;
 *	  tab, line feed and carriage return are kept (as character references
 *	  in attribute values, so attribute normalization does not eat them);
 *	- the noncharacters U+FFFE and U+FFFF become U+FFFD.
 * Element and attribute names come from this code, never from data.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "ivr/texml.h"

#define TEXML_REPLACEMENT "\xEF\xBF\xBD"

/* Starts a document: the XML declaration and the <Response> root. */
void
texml_begin(TexmlWriter *w, StringInfo buf)
{
	w->buf = buf;
	w->depth = 0;
	w->pending = false;
	appendStringInfoString(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	texml_open(w, "Response");
}

/* Ends the start tag of the innermost element if attributes were still allowed. */
static void
texml_seal(TexmlWriter *w)
{
	if (w->pending)
	{
		appendStringInfoChar(w->buf, '>');
		w->pending = false;
	}
}

/* Opens element name (a constant of this code) inside the current one. */
void
texml_open(TexmlWriter *w, const char *name)
{
	if (w->depth >= TEXML_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("TeXML elements nested too deeply")));
	texml_seal(w);
	appendStringInfoChar(w->buf, '<');
	appendStringInfoString(w->buf, name);
	w->stack[w->depth++] = name;
	w->pending = true;
}

/* Adds an attribute to the element just opened; NULL values are left out. */
void
texml_attr(TexmlWriter *w, const char *name, const char *value)
{
	if (!w->pending)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("TeXML attribute \"%s\" written after element content", name)));
	if (value == NULL)
		return;
	appendStringInfoChar(w->buf, ' ');
	appendStringInfoString(w->buf, name);
	appendStringInfoString(w->buf, "=\"");
	texml_escape(w->buf, value, strlen(value), true);
	appendStringInfoChar(w->buf, '"');
}

/* Adds an integer attribute after checking it against Telnyx's range for it. */
void
texml_attr_int(TexmlWriter *w, const char *name, int value, int min, int max)
{
	char		num[16];

	if (value < min || value > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid TeXML attribute %s", name),
				 errdetail("%s must be between %d and %d; got %d.", name, min, max, value)));
	snprintf(num, sizeof(num), "%d", value);
	texml_attr(w, name, num);
}

/* Writes escaped character data inside the current element. */
void
texml_text(TexmlWriter *w, const char *text)
{
	texml_seal(w);
	if (text != NULL)
		texml_escape(w->buf, text, strlen(text), false);
}

/* Closes the innermost element ("<x/>" when it has no content). */
void
texml_close(TexmlWriter *w)
{
	const char *name;

	if (w->depth == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("TeXML element closed twice")));
	name = w->stack[--w->depth];
	if (w->pending)
	{
		appendStringInfoString(w->buf, "/>");
		w->pending = false;
		return;
	}
	appendStringInfoString(w->buf, "</");
	appendStringInfoString(w->buf, name);
	appendStringInfoChar(w->buf, '>');
}

/* Closes every open element, <Response> last, and returns the document. */
char *
texml_finish(TexmlWriter *w)
{
	while (w->depth > 0)
		texml_close(w);
	return w->buf->data;
}

/* Appends code point cp (already known to be a valid scalar) as UTF-8. */
static void
texml_append_cp(StringInfo out, pg_wchar cp)
{
	unsigned char tmp[4];
	int			n;

	unicode_to_utf8(cp, tmp);
	n = pg_utf_mblen(tmp);
	appendBinaryStringInfo(out, (char *) tmp, n);
}

/*
 * Appends s[0..len) escaped for XML text (in_attr false) or a double-quoted
 * attribute value (in_attr true), applying the rules in the file header.
 */
void
texml_escape(StringInfo out, const char *s, int len, bool in_attr)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;

	while (p < end)
	{
		unsigned char c = *p;

		if (c >= 0x20 && c < 0x7F)
		{
			/* ASCII printable: copy runs that need nothing. */
			const unsigned char *run = p;

			while (p < end && *p >= 0x20 && *p < 0x7F && *p != '&' && *p != '<' &&
				   *p != '>' && *p != '"' && *p != '\'')
				p++;
			if (p > run)
			{
				appendBinaryStringInfo(out, (const char *) run, p - run);
				continue;
			}
			switch (c)
			{
				case '&':
					appendStringInfoString(out, "&amp;");
					break;
				case '<':
					appendStringInfoString(out, "&lt;");
					break;
				case '>':
					appendStringInfoString(out, "&gt;");
					break;
				case '"':
					appendStringInfoString(out, in_attr ? "&quot;" : "\"");
					break;
				case '\'':
					appendStringInfoString(out, in_attr ? "&apos;" : "'");
					break;
			}
			p++;
			continue;
		}
		if (c < 0x80)
		{
			/* C0 controls and DEL */
			if (c == '\t' || c == '\n' || c == '\r')
			{
				if (in_attr || c == '\r')
					appendStringInfo(out, "&#%d;", c);
				else
					appendStringInfoChar(out, c);
			}
			else
				appendStringInfoChar(out, ' ');
			p++;
			continue;
		}
		else
		{
			int			n = pg_utf_mblen(p);
			pg_wchar	cp;

			if (n < 2 || n > 4 || end - p < n || !pg_utf8_islegal(p, n))
			{
				appendStringInfoString(out, TEXML_REPLACEMENT);
				p++;
				continue;
			}
			cp = utf8_to_unicode(p);
			if (cp >= 0x80 && cp <= 0x9F)
				appendStringInfoChar(out, ' ');
			else if (cp == 0xFFFE || cp == 0xFFFF)
				appendStringInfoString(out, TEXML_REPLACEMENT);
			else
				texml_append_cp(out, cp);
			p += n;
		}
	}
}

/* True for an E.164 number: "+", a non-zero digit, then 1 to 14 digits. */
bool
texml_is_e164(const char *number)
{
	int			n = 0;

	if (number == NULL || number[0] != '+' || number[1] < '1' || number[1] > '9')
		return false;
	for (const char *p = number + 1; *p; p++, n++)
		if (*p < '0' || *p > '9')
			return false;
	return n >= 2 && n <= 15;
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
	const char *p;

	if (strcmp(voice, "man") == 0 || strcmp(voice, "woman") == 0 || strcmp(voice, "alice") == 0)
		return;
	if (strncmp(voice, "Polly.", 6) == 0 && voice[6] != '\0')
	{
		for (p = voice + 6; *p && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')); p++)
			;
		if (p - voice <= 40 && (*p == '\0' || strcmp(p, "-Neural") == 0))
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid voice"),
			 errdetail("voice must be man, woman, alice, Polly.<Id> or Polly.<Id>-Neural.")));
}

/* Refuses a language that is not a tag like en-US, de-DE or arb. */
void
texml_check_language(const char *language)
{
	const char *p = language;
	int			n = 0;

	while (*p >= 'a' && *p <= 'z')
		p++, n++;
	if (n >= 2 && n <= 3)
	{
		if (*p == '\0')
			return;
		if (*p == '-')
		{
			int			m = 0;

			for (p++; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'); p++)
				m++;
			if (*p == '\0' && m >= 2 && m <= 4)
				return;
		}
	}
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
	size_t		len = strlen(url);
	bool		ok = len > 0 && len <= 2048;

	for (const unsigned char *p = (const unsigned char *) url; ok && *p; p++)
		if (*p <= 0x20 || *p >= 0x7F)
			ok = false;
	if (ok && !allow_relative)
		ok = (pg_strncasecmp(url, "https://", 8) == 0 && len > 8) ||
			(pg_strncasecmp(url, "http://", 7) == 0 && len > 7);
	if (!ok)
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
	StringInfoData buf;

	initStringInfo(&buf);
	texml_escape(&buf, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), in_attr);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
