/*
 * csv.c
 *		Text fields of CSV (RFC 4180): quoted only when they hold a comma, a
 *		double quote, CR or LF, quotes doubled inside, the formula guard
 *		applied (see csv.h).
 */
#include "export/csv.h"

/* True when a field must be quoted: it holds a comma, a quote, CR or LF. */
static inline bool
csv_needs_quotes(const char *s, size_t len)
{
	const char *end = s + len;

	for (; s < end; s++)
	{
		char		c = *s;

		if (c == ',' || c == '"' || c == '\n' || c == '\r')
			return true;
	}
	return false;
}

/* True for text a spreadsheet would take for a formula: = + - @, tab or CR first. */
bool
csv_guarded(const char *s, size_t len)
{
	return len > 0 &&
		(s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
		 s[0] == '\t' || s[0] == '\r');
}

/* Writes one CSV text field (see csv.h). */
void
csv_text(ByteBuf *out, const char *s, size_t len, bool guard)
{
	bool		prefix = guard && csv_guarded(s, len);
	const char *end = s + len;
	const char *run;

	if (len == 0)
	{
		bytebuf_append(out, "\"\"", 2);
		return;
	}
	if (!csv_needs_quotes(s, len))
	{
		if (prefix)
			bytebuf_putc(out, '\'');
		bytebuf_append(out, s, len);
		return;
	}
	bytebuf_putc(out, '"');
	if (prefix)
		bytebuf_putc(out, '\'');
	for (run = s; s < end; s++)
	{
		if (*s == '"')
		{
			bytebuf_append(out, run, s - run + 1);
			bytebuf_putc(out, '"');
			run = s + 1;
		}
	}
	bytebuf_append(out, run, end - run);
	bytebuf_putc(out, '"');
}
