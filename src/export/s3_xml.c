/*
 * s3_xml.c
 *		A small strict XML reader and the CompleteMultipartUpload writer.
 *
 * S3 answers with shallow documents of text-only leaves, so the reader is a
 * tokenizer (start tag, end tag, empty tag, text) plus a check that the
 * whole document is well-formed; the readers then walk the tokens again.
 * It never looks at a byte past len and needs no NUL terminator.
 */
#include "export/s3_xml.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "export/s3_utf8.h"

typedef enum XmlKind
{
	XML_END,
	XML_ERROR,
	XML_OPEN,					/* <name ...> */
	XML_EMPTY,					/* <name .../> */
	XML_CLOSE,					/* </name> */
	XML_TEXT					/* character data up to the next '<' */
} XmlKind;

typedef struct XmlToken
{
	const char *name;			/* tag name (OPEN, EMPTY, CLOSE) */
	size_t		name_len;
	const char *text;			/* raw text (TEXT) */
	size_t		text_len;
} XmlToken;

/* Writes msg into reason when given. */
static void
say(char *reason, const char *msg)
{
	if (reason)
		snprintf(reason, S3_XML_REASON_LEN, "%s", msg);
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

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
			int			k = s3_utf8_seq((const unsigned char *) s + i, n - i, &cp);

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
static XmlKind
read_start_tag(const char *xml, size_t len, size_t *pos, XmlToken *t)
{
	size_t		i = *pos + 1;

	t->name = xml + i;
	if ((t->name_len = name_length(xml + i, len - i)) == 0)
		return XML_ERROR;
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
			return XML_ERROR;
		if (xml[i] == '>')
		{
			*pos = i + 1;
			return XML_OPEN;
		}
		if (xml[i] == '/')
		{
			if (i + 1 >= len || xml[i + 1] != '>')
				return XML_ERROR;
			*pos = i + 2;
			return XML_EMPTY;
		}
		if (!spaced || (n = name_length(xml + i, len - i)) == 0)
			return XML_ERROR;
		i += n;
		while (i < len && is_space(xml[i]))
			i++;
		if (i >= len || xml[i] != '=')
			return XML_ERROR;
		i++;
		while (i < len && is_space(xml[i]))
			i++;
		if (i >= len || (xml[i] != '"' && xml[i] != '\''))
			return XML_ERROR;
		quote = xml[i++];
		if ((close = memchr(xml + i, quote, len - i)) == NULL ||
			!decode_text(xml + i, close - (xml + i), NULL, 0, &vlen))
			return XML_ERROR;
		i = close - xml + 1;
	}
}

/* The next token from xml[*pos]; comments and the XML declaration are skipped. */
static XmlKind
xml_next(const char *xml, size_t len, size_t *pos, XmlToken *t)
{
	for (;;)
	{
		size_t		i = *pos;
		const char *p = xml + i;
		size_t		avail = len - i;

		if (i >= len)
			return XML_END;
		if (p[0] != '<')
		{
			const char *lt = memchr(p, '<', avail);

			t->text = p;
			t->text_len = lt ? (size_t) (lt - p) : avail;
			*pos = i + t->text_len;
			return XML_TEXT;
		}
		if (avail >= 2 && p[1] == '?')
		{
			size_t		end;

			/* Only the declaration, and only at the very start. */
			if (i != 0 || avail < 6 || memcmp(p, "<?xml", 5) != 0 || !is_space(p[5]))
				return XML_ERROR;
			if ((end = find(p, avail, "?>")) == avail)
				return XML_ERROR;
			*pos = i + end + 2;
			continue;
		}
		if (avail >= 4 && memcmp(p, "<!--", 4) == 0)
		{
			size_t		dd = find(p + 4, avail - 4, "--");

			/* "--" may appear only as the end of the comment. */
			if (dd == avail - 4 || 4 + dd + 2 >= avail || p[4 + dd + 2] != '>')
				return XML_ERROR;
			*pos = i + 4 + dd + 3;
			continue;
		}
		if (avail >= 2 && p[1] == '!')
			return XML_ERROR;	/* DOCTYPE, CDATA: not in S3's answers */
		if (avail >= 2 && p[1] == '/')
		{
			size_t		j = i + 2;

			t->name = xml + j;
			if ((t->name_len = name_length(xml + j, len - j)) == 0)
				return XML_ERROR;
			j += t->name_len;
			while (j < len && is_space(xml[j]))
				j++;
			if (j >= len || xml[j] != '>')
				return XML_ERROR;
			*pos = j + 1;
			return XML_CLOSE;
		}
		return read_start_tag(xml, len, pos, t);
	}
}

static bool
name_is(const XmlToken *t, const char *name)
{
	return strlen(name) == t->name_len && memcmp(t->name, name, t->name_len) == 0;
}

/* True when xml[0..len) is one well-formed element (with optional declaration, comments, blanks). */
static bool
xml_check(const char *xml, size_t len, char *reason)
{
	const char *open_name[S3_XML_MAX_DEPTH];
	size_t		open_len[S3_XML_MAX_DEPTH];
	int			depth = 0;
	bool		root_seen = false;
	size_t		pos = 0;
	XmlToken	t;
	size_t		n;

	if (xml == NULL)
	{
		say(reason, "no document");
		return false;
	}
	for (;;)
	{
		switch (xml_next(xml, len, &pos, &t))
		{
			case XML_END:
				if (depth == 0 && root_seen)
					return true;
				say(reason, root_seen || depth > 0 ? "document ends inside an element" : "document has no element");
				return false;
			case XML_ERROR:
				say(reason, "malformed markup");
				return false;
			case XML_TEXT:
				if (depth == 0)
				{
					for (size_t i = 0; i < t.text_len; i++)
						if (!is_space(t.text[i]))
						{
							say(reason, "text outside the root element");
							return false;
						}
				}
				else if (!decode_text(t.text, t.text_len, NULL, 0, &n))
				{
					say(reason, "malformed text or entity");
					return false;
				}
				break;
			case XML_EMPTY:
				if (depth == 0 && root_seen)
				{
					say(reason, "second root element");
					return false;
				}
				root_seen = true;
				break;
			case XML_OPEN:
				if (depth == 0 && root_seen)
				{
					say(reason, "second root element");
					return false;
				}
				root_seen = true;
				if (depth == S3_XML_MAX_DEPTH)
				{
					say(reason, "elements nested too deep");
					return false;
				}
				open_name[depth] = t.name;
				open_len[depth] = t.name_len;
				depth++;
				break;
			case XML_CLOSE:
				if (depth == 0 || open_len[depth - 1] != t.name_len ||
					memcmp(open_name[depth - 1], t.name, t.name_len) != 0)
				{
					say(reason, "end tag does not match");
					return false;
				}
				depth--;
				break;
		}
	}
}

/*
 * Decodes the text of the element whose start tag was just read, up to its
 * end tag, into out; false when it has child elements or does not fit.
 */
static bool
element_text(const char *xml, size_t len, size_t *pos, char *out, size_t cap)
{
	size_t		o = 0;
	XmlToken	t;

	for (;;)
	{
		size_t		n = 0;

		switch (xml_next(xml, len, pos, &t))
		{
			case XML_TEXT:
				if (!decode_text(t.text, t.text_len, out + o, cap - o, &n))
					return false;
				o += n;
				break;
			case XML_CLOSE:
				out[o] = '\0';
				return true;
			default:
				return false;
		}
	}
}

bool
s3_xml_text_at(const char *xml, size_t len, const char *element, int index, char *out, size_t cap)
{
	size_t		pos = 0;
	int			seen = 0;
	XmlToken	t;
	XmlKind		k;

	if (out == NULL || cap == 0)
		return false;
	out[0] = '\0';
	if (element == NULL || element[0] == '\0' || index < 0 || !xml_check(xml, len, NULL))
		return false;
	while ((k = xml_next(xml, len, &pos, &t)) != XML_END && k != XML_ERROR)
	{
		if ((k != XML_OPEN && k != XML_EMPTY) || !name_is(&t, element) || seen++ < index)
			continue;
		if (k == XML_EMPTY)
			return true;
		if (element_text(xml, len, &pos, out, cap))
			return true;
		out[0] = '\0';
		return false;
	}
	return false;
}

bool
s3_xml_text(const char *xml, size_t len, const char *element, char *out, size_t cap)
{
	return s3_xml_text_at(xml, len, element, 0, out, cap);
}

bool
s3_xml_root(const char *xml, size_t len, char *out, size_t cap)
{
	size_t		pos = 0;
	XmlToken	t;
	XmlKind		k;

	if (out == NULL || cap == 0)
		return false;
	out[0] = '\0';
	if (!xml_check(xml, len, NULL))
		return false;
	while ((k = xml_next(xml, len, &pos, &t)) == XML_TEXT)
		;
	if ((k != XML_OPEN && k != XML_EMPTY) || t.name_len >= cap)
		return false;
	memcpy(out, t.name, t.name_len);
	out[t.name_len] = '\0';
	return true;
}

/* Text appended with a running length, written only below cap - 1 (snprintf-like). */
typedef struct XmlOut
{
	char	   *out;
	size_t		cap;
	size_t		len;
} XmlOut;

static void
out_add(XmlOut *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->cap)
			o->out[o->len] = s[i];
}

static void
out_str(XmlOut *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* Appends s with &, <, >, " and ' escaped. */
static void
out_escaped(XmlOut *o, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				out_str(o, "&amp;");
				break;
			case '<':
				out_str(o, "&lt;");
				break;
			case '>':
				out_str(o, "&gt;");
				break;
			case '"':
				out_str(o, "&quot;");
				break;
			case '\'':
				out_str(o, "&apos;");
				break;
			default:
				out_add(o, s, 1);
		}
	}
}

size_t
s3_complete_xml(const char *const *etags, int nparts, char *out, size_t cap)
{
	XmlOut		o = {out, cap, 0};

	if (etags == NULL || nparts < 1 || nparts > S3_XML_MAX_PARTS)
		return 0;
	for (int i = 0; i < nparts; i++)
	{
		const char *e = etags[i];
		size_t		n;

		if (e == NULL || (n = strlen(e)) == 0 || n > 1024 || !s3_utf8_valid(e, n))
			return 0;
		for (size_t j = 0; j < n; j++)
			if ((unsigned char) e[j] < 0x20 || e[j] == 0x7f)
				return 0;
	}
	if (out == NULL)
		o.cap = 0;
	out_str(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (int i = 0; i < nparts; i++)
	{
		char		num[16];

		snprintf(num, sizeof(num), "%d", i + 1);
		out_str(&o, "<Part><PartNumber>");
		out_str(&o, num);
		out_str(&o, "</PartNumber><ETag>");
		out_escaped(&o, etags[i]);
		out_str(&o, "</ETag></Part>");
	}
	out_str(&o, "</CompleteMultipartUpload>");
	if (o.cap > 0)
		out[o.len < o.cap ? o.len : 0] = '\0';
	return o.len;
}

bool
s3_uploads_begin(S3UploadList *list, const char *xml, size_t len, char *reason)
{
	char		root[64];

	if (list == NULL)
	{
		say(reason, "no list");
		return false;
	}
	memset(list, 0, sizeof(*list));
	if (!xml_check(xml, len, reason))
		return false;
	if (!s3_xml_root(xml, len, root, sizeof(root)) || strcmp(root, "ListMultipartUploadsResult") != 0)
	{
		say(reason, "root element is not ListMultipartUploadsResult");
		return false;
	}
	list->xml = xml;
	list->len = len;
	return true;
}

/* Reads one <Upload> whose start tag was just read (depth 2) through its end tag. */
static int
read_upload(S3UploadList *l, S3Upload *u, char *reason)
{
	bool		have_key = false,
				have_id = false,
				have_time = false;
	XmlToken	t;
	XmlKind		k;

	memset(u, 0, sizeof(*u));
	while ((k = xml_next(l->xml, l->len, &l->pos, &t)) != XML_END && k != XML_ERROR)
	{
		char	   *field = NULL;
		size_t		cap = 0;
		bool	   *have = NULL;

		if (k == XML_CLOSE && --l->depth == 1)
		{
			if (!have_key || !have_id || u->key[0] == '\0' || u->upload_id[0] == '\0')
			{
				say(reason, "Upload without Key or UploadId");
				return -1;
			}
			return 1;
		}
		if ((k != XML_OPEN && k != XML_EMPTY) || l->depth != 2)
		{
			if (k == XML_OPEN)
				l->depth++;
			continue;
		}
		if (name_is(&t, "Key"))
			field = u->key, cap = sizeof(u->key), have = &have_key;
		else if (name_is(&t, "UploadId"))
			field = u->upload_id, cap = sizeof(u->upload_id), have = &have_id;
		else if (name_is(&t, "Initiated"))
			field = u->initiated, cap = sizeof(u->initiated), have = &have_time;
		if (field == NULL)
		{
			if (k == XML_OPEN)
				l->depth++;
			continue;
		}
		if (*have)
		{
			say(reason, "Upload has the same element twice");
			return -1;
		}
		*have = true;
		if (k == XML_OPEN && !element_text(l->xml, l->len, &l->pos, field, cap))
		{
			say(reason, "Upload element has children or is too long");
			return -1;
		}
	}
	say(reason, "document ends inside an Upload");
	return -1;
}

int
s3_uploads_next(S3UploadList *list, S3Upload *u, char *reason)
{
	XmlToken	t;
	XmlKind		k;

	if (list == NULL || list->xml == NULL || u == NULL)
	{
		say(reason, "list not begun");
		return -1;
	}
	while ((k = xml_next(list->xml, list->len, &list->pos, &t)) != XML_END)
	{
		if (k == XML_ERROR)
		{
			say(reason, "malformed markup");
			return -1;
		}
		if (k == XML_CLOSE)
			list->depth--;
		else if (k == XML_OPEN && ++list->depth == 2 && name_is(&t, "Upload"))
			return read_upload(list, u, reason);
		else if (k == XML_EMPTY && list->depth == 1 && name_is(&t, "Upload"))
		{
			say(reason, "Upload without Key or UploadId");
			return -1;
		}
	}
	return 0;
}
