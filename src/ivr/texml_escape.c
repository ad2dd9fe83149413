/*
 * texml_escape.c
 *		Text and attribute values of TeXML documents, escaped so that the
 *		result is well-formed XML 1.0 in UTF-8 whatever the input holds.
 *
 * The rules (docs/ivr.md, "What the writer does to text"):
 *	- & < > are always escaped (so "]]>" can never appear), " and ' too in
 *	  attribute values;
 *	- an invalid UTF-8 byte sequence is replaced by U+FFFD, one per bad byte;
 *	- control characters XML 1.0 forbids (U+0000-U+0008, U+000B, U+000C,
 *	  U+000E-U+001F) and the C1 controls U+007F-U+009F become a space;
 *	  tab, line feed and carriage return are kept (as character references
 *	  in attribute values, so attribute normalization does not eat them,
 *	  and carriage return always, so end-of-line handling does not);
 *	- the noncharacters U+FFFE and U+FFFF become U+FFFD.
 */
#include "ivr/texml_escape.h"

#include <stdint.h>

#include "core/utf8.h"

/* Appends the entity or reference for one ASCII byte that needs one, or the byte. */
static void
texml_escape_ascii(ByteBuf *out, unsigned char c, bool in_attr)
{
	switch (c)
	{
		case '&':
			bytebuf_append(out, "&amp;", 5);
			break;
		case '<':
			bytebuf_append(out, "&lt;", 4);
			break;
		case '>':
			bytebuf_append(out, "&gt;", 4);
			break;
		case '"':
			if (in_attr)
				bytebuf_append(out, "&quot;", 6);
			else
				bytebuf_putc(out, '"');
			break;
		case '\'':
			if (in_attr)
				bytebuf_append(out, "&apos;", 6);
			else
				bytebuf_putc(out, '\'');
			break;
		case '\t':
			if (in_attr)
				bytebuf_append(out, "&#9;", 4);
			else
				bytebuf_putc(out, '\t');
			break;
		case '\n':
			if (in_attr)
				bytebuf_append(out, "&#10;", 5);
			else
				bytebuf_putc(out, '\n');
			break;
		case '\r':
			bytebuf_append(out, "&#13;", 5);
			break;
		default:
			/* The other C0 controls and DEL */
			bytebuf_putc(out, ' ');
			break;
	}
}

/* True for an ASCII byte copied as it is. */
static inline bool
texml_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7F && c != '&' && c != '<' && c != '>' &&
		c != '"' && c != '\'';
}

/* Appends s[0..len) escaped by the rules of the file header. */
void
texml_escape(ByteBuf *out, const char *s, size_t len, bool in_attr)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;

	while (p < end)
	{
		const unsigned char *run = p;
		uint32_t	cp;
		int			n;

		/* Runs that need nothing are copied at once. */
		while (p < end && texml_plain(*p))
			p++;
		if (p > run)
		{
			bytebuf_append(out, run, p - run);
			continue;
		}
		if (*p < 0x80)
		{
			texml_escape_ascii(out, *p, in_attr);
			p++;
			continue;
		}
		n = utf8_seq(p, end - p, &cp);
		if (n == 0)
		{
			bytebuf_append(out, TEXML_REPLACEMENT, 3);
			p++;
			continue;
		}
		if (cp <= 0x9F)
			bytebuf_putc(out, ' ');
		else if (cp == 0xFFFE || cp == 0xFFFF)
			bytebuf_append(out, TEXML_REPLACEMENT, 3);
		else
			bytebuf_append(out, p, n);
		p += n;
	}
}
