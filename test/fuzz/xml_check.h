/*
 * xml_check.h
 *		A small strict XML 1.0 well-formedness checker for the fuzz targets,
 *		written from the specification (W3C XML 1.0, fifth edition) and
 *		sharing nothing with the writers it checks.
 *
 * It accepts a subset of well-formed documents (an optional XML
 * declaration naming UTF-8, one root element, white space around it; no
 * DOCTYPE, comments, processing instructions or CDATA sections, which the
 * writers never produce) and rejects everything that is not well-formed:
 * bytes that are not UTF-8, characters XML forbids, unknown or malformed
 * references, "]]>" in character data, a '<' or unescaped quote in an
 * attribute value, a repeated attribute, mismatched tags, anything after
 * the root.
 *
 * What the document says comes out as a canonical list of events, with
 * references resolved, line ends normalised and attribute values
 * normalised as an XML processor must:
 *		<Name ATTRS>	an element starts; ATTRS are " name=LEN:value" each
 *		TLEN:text		character data (adjacent runs merged)
 *		/				an element ends
 * so that a document can be compared with what was meant to be written.
 * Header only: include it in one fuzz target.
 */
#ifndef WIB_FUZZ_XML_CHECK_H
#define WIB_FUZZ_XML_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/bytebuf.h"

#define XML_CHECK_MAX_DEPTH	64
#define XML_CHECK_MAX_ATTRS	64

typedef struct XmlCheck
{
	const unsigned char *start;
	const unsigned char *p;
	const unsigned char *end;
	ByteBuf    *events;
	ByteBuf		text;			/* character data not yet written as an event */
	char		error[160];
} XmlCheck;

/*
 * Decodes the well-formed UTF-8 sequence at p (RFC 3629, table 3-7 of
 * Unicode: the second byte's range depends on the first); its length, or
 * 0 when the bytes there are not one.
 */
static int
xml_utf8(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	size_t		avail = end - p;
	unsigned char b0,
				lo = 0x80,
				hi = 0xBF;
	int			n;

	if (avail == 0)
		return 0;
	b0 = p[0];
	if (b0 <= 0x7F)
	{
		*cp = b0;
		return 1;
	}
	if (b0 >= 0xC2 && b0 <= 0xDF)
		n = 2;
	else if (b0 >= 0xE0 && b0 <= 0xEF)
	{
		n = 3;
		if (b0 == 0xE0)
			lo = 0xA0;
		if (b0 == 0xED)
			hi = 0x9F;
	}
	else if (b0 >= 0xF0 && b0 <= 0xF4)
	{
		n = 4;
		if (b0 == 0xF0)
			lo = 0x90;
		if (b0 == 0xF4)
			hi = 0x8F;
	}
	else
		return 0;
	if (avail < (size_t) n || p[1] < lo || p[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	if (n == 2)
		*cp = (uint32_t) (b0 & 0x1F) << 6 | (p[1] & 0x3F);
	else if (n == 3)
		*cp = (uint32_t) (b0 & 0x0F) << 12 | (uint32_t) (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
	else
		*cp = (uint32_t) (b0 & 0x07) << 18 | (uint32_t) (p[1] & 0x3F) << 12 |
			(uint32_t) (p[2] & 0x3F) << 6 | (p[3] & 0x3F);
	return n;
}

/* Appends code point cp as UTF-8. */
static void
xml_put_cp(ByteBuf *b, uint32_t cp)
{
	char		u[4];

	if (cp < 0x80)
		bytebuf_putc(b, (char) cp);
	else if (cp < 0x800)
	{
		u[0] = (char) (0xC0 | cp >> 6);
		u[1] = (char) (0x80 | (cp & 0x3F));
		bytebuf_append(b, u, 2);
	}
	else if (cp < 0x10000)
	{
		u[0] = (char) (0xE0 | cp >> 12);
		u[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char) (0x80 | (cp & 0x3F));
		bytebuf_append(b, u, 3);
	}
	else
	{
		u[0] = (char) (0xF0 | cp >> 18);
		u[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char) (0x80 | (cp & 0x3F));
		bytebuf_append(b, u, 4);
	}
}

/* Production [2] Char. */
static bool
xml_is_char(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
		(c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Production [4] NameStartChar. */
static bool
xml_is_name_start(uint32_t c)
{
	return c == ':' || (c >= 'A' && c <= 'Z') || c == '_' || (c >= 'a' && c <= 'z') ||
		(c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) ||
		(c >= 0x370 && c <= 0x37D) || (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) ||
		(c >= 0x2070 && c <= 0x218F) || (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) ||
		(c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF);
}

/* Production [4a] NameChar. */
static bool
xml_is_name_char(uint32_t c)
{
	return xml_is_name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7 ||
		(c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

/* Records why the document is not well-formed; always false. */
static bool
xml_fail(XmlCheck *x, const char *why)
{
	if (x->error[0] == '\0')
		snprintf(x->error, sizeof(x->error), "%s at byte %ld", why, (long) (x->p - x->start));
	return false;
}

/* The character at the cursor (not consumed) and its length; 0 at the end or for bad bytes. */
static int
xml_peek(XmlCheck *x, uint32_t *cp)
{
	int			n = xml_utf8(x->p, x->end, cp);

	if (n > 0 && !xml_is_char(*cp))
		return 0;
	return n;
}

/* Consumes one character; false (with the reason) when there is none that XML allows. */
static bool
xml_take(XmlCheck *x, uint32_t *cp)
{
	int			n;

	if (x->p >= x->end)
		return xml_fail(x, "unexpected end of document");
	n = xml_peek(x, cp);
	if (n == 0)
		return xml_fail(x, "a byte sequence that is not UTF-8 or a character XML forbids");
	x->p += n;
	return true;
}

/* True (and consumed) when the document continues with the ASCII text s. */
static bool
xml_accept(XmlCheck *x, const char *s)
{
	size_t		n = strlen(s);

	if ((size_t) (x->end - x->p) < n || memcmp(x->p, s, n) != 0)
		return false;
	x->p += n;
	return true;
}

/* Production [3] S, optional; true when some white space was there. */
static bool
xml_space(XmlCheck *x)
{
	const unsigned char *from = x->p;

	while (x->p < x->end && (*x->p == 0x20 || *x->p == 0x9 || *x->p == 0xD || *x->p == 0xA))
		x->p++;
	return x->p > from;
}

/* Production [5] Name, appended to name. */
static bool
xml_name(XmlCheck *x, ByteBuf *name)
{
	uint32_t	c;
	int			n = xml_peek(x, &c);

	if (n == 0 || !xml_is_name_start(c))
		return xml_fail(x, "a name expected");
	do
	{
		bytebuf_append(name, x->p, n);
		x->p += n;
		n = xml_peek(x, &c);
	} while (n > 0 && xml_is_name_char(c));
	return true;
}

/* Productions [66] CharRef and [68] EntityRef (predefined entities only), after '&'. */
static bool
xml_reference(XmlCheck *x, ByteBuf *out)
{
	static const struct
	{
		const char *name;
		char		c;
	}			predefined[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"apos;", '\''}, {"quot;", '"'}};

	if (xml_accept(x, "#x"))
	{
		uint32_t	v = 0;
		int			digits = 0;

		for (; x->p < x->end && *x->p != ';'; x->p++, digits++)
		{
			unsigned char c = *x->p;
			int			d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 :
				(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;

			if (d < 0)
				return xml_fail(x, "a hexadecimal character reference with a non-hex digit");
			if (v <= 0x10FFFF)
				v = v * 16 + d;
		}
		if (digits == 0 || !xml_accept(x, ";") || !xml_is_char(v))
			return xml_fail(x, "a character reference to no XML character");
		xml_put_cp(out, v);
		return true;
	}
	if (xml_accept(x, "#"))
	{
		uint32_t	v = 0;
		int			digits = 0;

		for (; x->p < x->end && *x->p != ';'; x->p++, digits++)
		{
			if (*x->p < '0' || *x->p > '9')
				return xml_fail(x, "a decimal character reference with a non-digit");
			if (v <= 0x10FFFF)
				v = v * 10 + (*x->p - '0');
		}
		if (digits == 0 || !xml_accept(x, ";") || !xml_is_char(v))
			return xml_fail(x, "a character reference to no XML character");
		xml_put_cp(out, v);
		return true;
	}
	for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++)
		if (xml_accept(x, predefined[i].name))
		{
			bytebuf_putc(out, predefined[i].c);
			return true;
		}
	return xml_fail(x, "a reference to an undeclared entity");
}

/*
 * Production [10] AttValue, normalised (section 3.3.3): references
 * resolved, each literal white space character (a CR LF pair counting as
 * one) a space.
 */
static bool
xml_attvalue(XmlCheck *x, ByteBuf *out)
{
	unsigned char quote;

	if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
		return xml_fail(x, "an attribute value must be quoted");
	quote = *x->p++;
	for (;;)
	{
		uint32_t	c;

		if (x->p < x->end && *x->p == quote)
		{
			x->p++;
			return true;
		}
		if (x->p < x->end && *x->p == '<')
			return xml_fail(x, "'<' in an attribute value");
		if (xml_accept(x, "&"))
		{
			if (!xml_reference(x, out))
				return false;
			continue;
		}
		if (!xml_take(x, &c))
			return false;
		if (c == 0xD && x->p < x->end && *x->p == 0xA)
			x->p++;
		if (c == 0x20 || c == 0x9 || c == 0xA || c == 0xD)
			bytebuf_putc(out, ' ');
		else
			xml_put_cp(out, c);
	}
}

/* Writes the character data gathered so far as one event. */
static void
xml_flush_text(XmlCheck *x)
{
	char		head[32];

	if (x->text.len == 0)
		return;
	snprintf(head, sizeof(head), "T%zu:", x->text.len);
	bytebuf_puts(x->events, head);
	bytebuf_append(x->events, x->text.data, x->text.len);
	bytebuf_reset(&x->text);
}

/* Production [39] element, the '<' already seen and consumed. */
static bool
xml_element(XmlCheck *x, int depth)
{
	ByteBuf		name;
	ByteBuf		attrs[XML_CHECK_MAX_ATTRS];
	int			nattrs = 0;
	bool		ok = false;

	if (depth > XML_CHECK_MAX_DEPTH)
		return xml_fail(x, "elements nested too deeply for the checker");
	bytebuf_init(&name, NULL, NULL, 0);
	if (!xml_name(x, &name))
		goto done;
	xml_flush_text(x);
	bytebuf_putc(x->events, '<');
	bytebuf_append(x->events, name.data, name.len);

	/* Attributes, each after white space, each name once. */
	for (;;)
	{
		bool		spaced = xml_space(x);
		ByteBuf		value;
		char		head[32];

		if (xml_accept(x, "/>"))
		{
			bytebuf_append(x->events, ">/", 2);
			ok = true;
			goto done;
		}
		if (xml_accept(x, ">"))
			break;
		if (!spaced)
		{
			xml_fail(x, "white space expected before an attribute");
			goto done;
		}
		if (nattrs == XML_CHECK_MAX_ATTRS)
		{
			xml_fail(x, "too many attributes for the checker");
			goto done;
		}
		bytebuf_init(&attrs[nattrs], NULL, NULL, 0);
		if (!xml_name(x, &attrs[nattrs++]))
			goto done;
		for (int i = 0; i < nattrs - 1; i++)
			if (attrs[i].len == attrs[nattrs - 1].len &&
				memcmp(attrs[i].data, attrs[nattrs - 1].data, attrs[i].len) == 0)
			{
				xml_fail(x, "an attribute repeated in one tag");
				goto done;
			}
		xml_space(x);
		if (!xml_accept(x, "="))
		{
			xml_fail(x, "'=' expected after an attribute name");
			goto done;
		}
		xml_space(x);
		bytebuf_init(&value, NULL, NULL, 0);
		if (!xml_attvalue(x, &value))
		{
			bytebuf_free(&value);
			goto done;
		}
		bytebuf_putc(x->events, ' ');
		bytebuf_append(x->events, attrs[nattrs - 1].data, attrs[nattrs - 1].len);
		snprintf(head, sizeof(head), "=%zu:", value.len);
		bytebuf_puts(x->events, head);
		bytebuf_append(x->events, value.data, value.len);
		bytebuf_free(&value);
	}
	bytebuf_putc(x->events, '>');

	/* Content: character data, references and elements, up to the matching end tag. */
	for (;;)
	{
		uint32_t	c;

		if (xml_accept(x, "</"))
		{
			ByteBuf		end_name;
			bool		same;

			bytebuf_init(&end_name, NULL, NULL, 0);
			same = xml_name(x, &end_name) && end_name.len == name.len &&
				memcmp(end_name.data, name.data, name.len) == 0;
			bytebuf_free(&end_name);
			if (!same)
			{
				xml_fail(x, "an end tag that does not match its start tag");
				goto done;
			}
			xml_space(x);
			if (!xml_accept(x, ">"))
			{
				xml_fail(x, "'>' expected to end an end tag");
				goto done;
			}
			xml_flush_text(x);
			bytebuf_putc(x->events, '/');
			ok = true;
			goto done;
		}
		if (xml_accept(x, "<"))
		{
			if (x->p < x->end && (*x->p == '!' || *x->p == '?'))
			{
				xml_fail(x, "markup the checker does not accept (comment, CDATA, PI)");
				goto done;
			}
			if (!xml_element(x, depth + 1))
				goto done;
			continue;
		}
		if (xml_accept(x, "&"))
		{
			if (!xml_reference(x, &x->text))
				goto done;
			continue;
		}
		if (!xml_take(x, &c))
			goto done;
		if (c == '>' && x->p - x->start >= 3 && x->p[-2] == ']' && x->p[-3] == ']')
		{
			xml_fail(x, "\"]]>\" in character data");
			goto done;
		}
		if (c == 0xD)
		{
			if (x->p < x->end && *x->p == 0xA)
				x->p++;
			c = 0xA;
		}
		xml_put_cp(&x->text, c);
	}

done:
	for (int i = 0; i < nattrs; i++)
		bytebuf_free(&attrs[i]);
	bytebuf_free(&name);
	return ok;
}

/* Production [23] XMLDecl, when the document starts with one; it must name UTF-8 if it names an encoding. */
static bool
xml_declaration(XmlCheck *x)
{
	const unsigned char *at = x->p;
	unsigned char q;

	if (!xml_accept(x, "<?xml") || !xml_space(x))
	{
		x->p = at;
		return true;
	}
	if (!xml_accept(x, "version"))
		return xml_fail(x, "version expected in the XML declaration");
	xml_space(x);
	if (!xml_accept(x, "="))
		return xml_fail(x, "'=' expected after version");
	xml_space(x);
	if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
		return xml_fail(x, "a quoted version expected");
	q = *x->p++;
	if (!xml_accept(x, "1.") || x->p >= x->end || *x->p < '0' || *x->p > '9')
		return xml_fail(x, "the version must be 1.<digits>");
	while (x->p < x->end && *x->p >= '0' && *x->p <= '9')
		x->p++;
	if (x->p >= x->end || *x->p++ != q)
		return xml_fail(x, "the version's quote is not closed");
	at = x->p;
	if (xml_space(x) && xml_accept(x, "encoding"))
	{
		xml_space(x);
		if (!xml_accept(x, "="))
			return xml_fail(x, "'=' expected after encoding");
		xml_space(x);
		if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
			return xml_fail(x, "a quoted encoding expected");
		q = *x->p++;
		if (!(xml_accept(x, "UTF-8") || xml_accept(x, "utf-8")) || x->p >= x->end || *x->p++ != q)
			return xml_fail(x, "the checker reads UTF-8 documents only");
		at = x->p;
	}
	else
		x->p = at;
	if (xml_space(x) && xml_accept(x, "standalone"))
	{
		xml_space(x);
		if (!xml_accept(x, "="))
			return xml_fail(x, "'=' expected after standalone");
		xml_space(x);
		if (!(xml_accept(x, "\"yes\"") || xml_accept(x, "\"no\"") ||
			  xml_accept(x, "'yes'") || xml_accept(x, "'no'")))
			return xml_fail(x, "standalone must be yes or no");
	}
	else
		x->p = at;
	xml_space(x);
	if (!xml_accept(x, "?>"))
		return xml_fail(x, "the XML declaration is not closed");
	return true;
}

/*
 * Checks doc[0..len); true when it is well-formed (in the subset above),
 * with its events appended to events; else false with the reason in
 * x->error.
 */
static bool
xml_check(XmlCheck *x, const char *doc, size_t len, ByteBuf *events)
{
	bool		ok;

	memset(x, 0, sizeof(*x));
	x->start = x->p = (const unsigned char *) doc;
	x->end = x->start + len;
	x->events = events;
	bytebuf_init(&x->text, NULL, NULL, 0);
	ok = xml_declaration(x);
	if (ok)
	{
		xml_space(x);
		ok = xml_accept(x, "<") ? xml_element(x, 1) : xml_fail(x, "a root element expected");
	}
	if (ok)
	{
		xml_space(x);
		if (x->p != x->end)
			ok = xml_fail(x, "something after the root element");
	}
	bytebuf_free(&x->text);
	return ok;
}

#endif							/* WIB_FUZZ_XML_CHECK_H */
