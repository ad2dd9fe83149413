/*
 * s3_xml_scan.c
 *		A small strict XML tokenizer: S3 answers with shallow documents of
 *		text-only leaves, so start tag, end tag, empty tag and text are all
 *		the readers need.  DOCTYPE, CDATA and processing instructions past
 *		the declaration are refused; text must be UTF-8 XML characters with
 *		only the five predefined entities and character references.
 */
#include "export/s3_xml_scan.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "export/s3_xml.h"

void
s3_xml_say(char *reason, const char *msg)
{
	if (reason)
		snprintf(reason, S3_XML_REASON_LEN, "%s", msg);
}

/* XML white space. */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Characters that may start and continue a tag or attribute name (ASCII, or any UTF-8 byte). */
static bool
is_name_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

static bool
is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Appends the UTF-8 of cp at out[*o] when it fits below cap; *o always advances. */
static void
put_utf8(uint32_t cp, char *out, size_t cap, size_t *o)
{
	char		b[4];
	int			n;

	if (cp < 0x80)
		b[0] = (char) cp, n = 1;
	else if (cp < 0x800)
		b[0] = (char) (0xc0 | cp >> 6), b[1] = (char) (0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		b[0] = (char) (0xe0 | cp >> 12), b[1] = (char) (0x80 | ((cp >> 6) & 0x3f)),
			b[2] = (char) (0x80 | (cp & 0x3f)), n = 3;
	else
		b[0] = (char) (0xf0 | cp >> 18), b[1] = (char) (0x80 | ((cp >> 12) & 0x3f)),
			b[2] = (char) (0x80 | ((cp >> 6) & 0x3f)), b[3] = (char) (0x80 | (cp & 0x3f)), n = 4;
	for (int i = 0; i < n; i++, (*o)++)
		if (out != NULL && *o < cap)
			out[*o] = b[i];
}

/* True for a character XML 1.0 allows in a document. */
static bool
is_xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
		(cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/* Code point of the reference "&...;" at s[0..n) (s[0] is '&'); 0 when malformed. */
static uint32_t
entity_value(const char *s, size_t n, size_t *used)
{
	static const struct
	{
		const char *name;
		char		value;
	}			named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
	const char *semi = memchr(s, ';', n < 12 ? n : 12);
	size_t		len;
	uint32_t	cp = 0;

	if (semi == NULL)
		return 0;
	len = semi - s - 1;			/* between '&' and ';' */
	*used = len + 2;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strlen(named[i].name) == len && memcmp(s + 1, named[i].name, len) == 0)
			return (uint32_t) named[i].value;
	if (len < 2 || s[1] != '#')
		return 0;
	if (s[2] == 'x')
	{
		if (len < 3)
			return 0;
		for (size_t i = 3; i <= len; i++)
		{
			char		c = s[i];
			int			d = (c >= '0' && c <= '9') ? c - '0' :
				(c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;

			if (d < 0 || cp > 0x10ffff)
				return 0;
			cp = cp * 16 + (uint32_t) d;
		}
	}
	else
	{
		for (size_t i = 2; i <= len; i++)
		{
			if (s[i] < '0' || s[i] > '9' || cp > 0x10ffff)
				return 0;
			cp = cp * 10 + (uint32_t) (s[i] - '0');
		}
	}
	return is_xml_char(cp) ? cp : 0;
}

/*
 * Decodes the text or attribute value s[0..n) (entities, UTF-8) into
 * out[0..cap) when out is given; *len gets the decoded length.  False when
 * malformed, or (with out) when the result does not fit below cap.
 */
static bool
decode_text(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
	size_t		o = 0;
	size_t		i = 0;

	while (i < n)
	{
		unsigned char c = (unsigned char) s[i];
		uint32_t	cp;

		if (c == '&')
		{
			size_t		used = 0;

			if ((cp = entity_value(s + i, n - i, &used)) == 0)
				return false;
			put_utf8(cp, out, cap, &o);
			i += used;
		}
		else if (c == '<')
			return false;
		else
		{
			int			k = utf8_seq((const unsigned char *) s + i, n - i, &cp);

			if (k == 0 || !is_xml_char(cp))
				return false;
			for (int j = 0; j < k; j++, o++)
				if (out != NULL && o < cap)
					out[o] = s[i + j];
			i += k;
		}
	}
	*len = o;
	return out == NULL || o < cap;
}

/* Length of the name at p (at most avail bytes); 0 when there is none. */
static size_t
name_length(const char *p, size_t avail)
{
	size_t		n = 0;

	if (avail == 0 || !is_name_start((unsigned char) p[0]))
		return 0;
	while (n < avail && is_name_char((unsigned char) p[n]))
		n++;
	return n;
}

/* Offset of the first occurrence of pat in s[0..n), or n when absent. */
static size_t
find(const char *s, size_t n, const char *pat)
{
	size_t		m = strlen(pat);

	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(s + i, pat, m) == 0)
			return i;
	return n;
}

/*
 * Reads the start or empty tag at xml[*pos] (a '<' then a name) with its
 * attributes; attribute values are checked but not kept.
 */
static S3XmlKind
read_start_tag(const char *xml, size_t len, size_t *pos, S3XmlToken *t)
{
	size_t		i = *pos + 1;

	t->name = xml + i;
	if ((t->name_len = name_length(xml + i, len - i)) == 0)
		return S3X_ERROR;
	i += t->name_len;
	for (;;)
	{
		bool		spaced = false;
		size_t		n;
		const char *close;
		size_t		vlen;
		char		quote;

		while (i < len && is_space(xml[i]))
			i++, spaced = true;
		if (i >= len)
			return S3X_ERROR;
		if (xml[i] == '>')
		{
			*pos = i + 1;
			return S3X_OPEN;
		}
		if (xml[i] == '/')
		{
			if (i + 1 >= len || xml[i + 1] != '>')
				return S3X_ERROR;
			*pos = i + 2;
			return S3X_EMPTY;
		}
		if (!spaced || (n = name_length(xml + i, len - i)) == 0)
			return S3X_ERROR;
		i += n;
		while (i < len && is_space(xml[i]))
			i++;
		if (i >= len || xml[i] != '=')
			return S3X_ERROR;
		i++;
		while (i < len && is_space(xml[i]))
			i++;
		if (i >= len || (xml[i] != '"' && xml[i] != '\''))
			return S3X_ERROR;
		quote = xml[i++];
		if ((close = memchr(xml + i, quote, len - i)) == NULL ||
			!decode_text(xml + i, close - (xml + i), NULL, 0, &vlen))
			return S3X_ERROR;
		i = close - xml + 1;
	}
}

S3XmlKind
s3_xml_next(const char *xml, size_t len, size_t *pos, S3XmlToken *t)
{
	for (;;)
	{
		size_t		i = *pos;
		const char *p = xml + i;
		size_t		avail = len - i;

		if (i >= len)
			return S3X_END;
		if (p[0] != '<')
		{
			const char *lt = memchr(p, '<', avail);

			t->text = p;
			t->text_len = lt ? (size_t) (lt - p) : avail;
			*pos = i + t->text_len;
			return S3X_TEXT;
		}
		if (avail >= 2 && p[1] == '?')
		{
			size_t		end;

			/* Only the declaration, and only at the very start. */
			if (i != 0 || avail < 6 || memcmp(p, "<?xml", 5) != 0 || !is_space(p[5]))
				return S3X_ERROR;
			if ((end = find(p, avail, "?>")) == avail)
				return S3X_ERROR;
			*pos = i + end + 2;
			continue;
		}
		if (avail >= 4 && memcmp(p, "<!--", 4) == 0)
		{
			size_t		dd = find(p + 4, avail - 4, "--");

			/* "--" may appear only as the end of the comment. */
			if (dd == avail - 4 || 4 + dd + 2 >= avail || p[4 + dd + 2] != '>')
				return S3X_ERROR;
			*pos = i + 4 + dd + 3;
			continue;
		}
		if (avail >= 2 && p[1] == '!')
			return S3X_ERROR;	/* DOCTYPE, CDATA: not in S3's answers */
		if (avail >= 2 && p[1] == '/')
		{
			size_t		j = i + 2;

			t->name = xml + j;
			if ((t->name_len = name_length(xml + j, len - j)) == 0)
				return S3X_ERROR;
			j += t->name_len;
			while (j < len && is_space(xml[j]))
				j++;
			if (j >= len || xml[j] != '>')
				return S3X_ERROR;
			*pos = j + 1;
			return S3X_CLOSE;
		}
		return read_start_tag(xml, len, pos, t);
	}
}

bool
s3_xml_name_is(const S3XmlToken *t, const char *name)
{
	return strlen(name) == t->name_len && memcmp(t->name, name, t->name_len) == 0;
}

bool
s3_xml_check(const char *xml, size_t len, char *reason)
{
	const char *open_name[S3_XML_MAX_DEPTH];
	size_t		open_len[S3_XML_MAX_DEPTH];
	int			depth = 0;
	bool		root_seen = false;
	size_t		pos = 0;
	S3XmlToken	t;
	size_t		n;

	if (xml == NULL)
	{
		s3_xml_say(reason, "no document");
		return false;
	}
	for (;;)
	{
		switch (s3_xml_next(xml, len, &pos, &t))
		{
			case S3X_END:
				if (depth == 0 && root_seen)
					return true;
				s3_xml_say(reason, root_seen || depth > 0 ? "document ends inside an element" : "document has no element");
				return false;
			case S3X_ERROR:
				s3_xml_say(reason, "malformed markup");
				return false;
			case S3X_TEXT:
				if (depth == 0)
				{
					for (size_t i = 0; i < t.text_len; i++)
						if (!is_space(t.text[i]))
						{
							s3_xml_say(reason, "text outside the root element");
							return false;
						}
				}
				else if (!decode_text(t.text, t.text_len, NULL, 0, &n))
				{
					s3_xml_say(reason, "malformed text or entity");
					return false;
				}
				break;
			case S3X_EMPTY:
				if (depth == 0 && root_seen)
				{
					s3_xml_say(reason, "second root element");
					return false;
				}
				root_seen = true;
				break;
			case S3X_OPEN:
				if (depth == 0 && root_seen)
				{
					s3_xml_say(reason, "second root element");
					return false;
				}
				root_seen = true;
				if (depth == S3_XML_MAX_DEPTH)
				{
					s3_xml_say(reason, "elements nested too deep");
					return false;
				}
				open_name[depth] = t.name;
				open_len[depth] = t.name_len;
				depth++;
				break;
			case S3X_CLOSE:
				if (depth == 0 || open_len[depth - 1] != t.name_len ||
					memcmp(open_name[depth - 1], t.name, t.name_len) != 0)
				{
					s3_xml_say(reason, "end tag does not match");
					return false;
				}
				depth--;
				break;
		}
	}
}

bool
s3_xml_element_text(const char *xml, size_t len, size_t *pos, char *out, size_t cap)
{
	size_t		o = 0;
	S3XmlToken	t;

	for (;;)
	{
		size_t		n = 0;

		switch (s3_xml_next(xml, len, pos, &t))
		{
			case S3X_TEXT:
				if (!decode_text(t.text, t.text_len, out + o, cap - o, &n))
					return false;
				o += n;
				break;
			case S3X_CLOSE:
				out[o] = '\0';
				return true;
			default:
				return false;
		}
	}
}
