/*
 * s3_xml.c
 *		The readers of S3's answers and the CompleteMultipartUpload writer.
 *
 * Each reader first checks that the whole document is well-formed, then
 * walks its tokens (s3_xml_scan.c) again.  Nothing here looks at a byte
 * past len or needs a NUL terminator.
 */
#include "export/s3_xml.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "export/s3_xml_scan.h"

bool
s3_xml_text_at(const char *xml, size_t len, const char *element, int index, char *out, size_t cap)
{
	size_t		pos = 0;
	int			seen = 0;
	S3XmlToken	t;
	S3XmlKind	k;

	if (out == NULL || cap == 0)
		return false;
	out[0] = '\0';
	if (element == NULL || element[0] == '\0' || index < 0 || !s3_xml_check(xml, len, NULL))
		return false;
	while ((k = s3_xml_next(xml, len, &pos, &t)) != S3X_END && k != S3X_ERROR)
	{
		if ((k != S3X_OPEN && k != S3X_EMPTY) || !s3_xml_name_is(&t, element) || seen++ < index)
			continue;
		if (k == S3X_EMPTY)
			return true;
		if (s3_xml_element_text(xml, len, &pos, out, cap))
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
	S3XmlToken	t;
	S3XmlKind	k;

	if (out == NULL || cap == 0)
		return false;
	out[0] = '\0';
	if (!s3_xml_check(xml, len, NULL))
		return false;
	while ((k = s3_xml_next(xml, len, &pos, &t)) == S3X_TEXT)
		;
	if ((k != S3X_OPEN && k != S3X_EMPTY) || t.name_len >= cap)
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

		if (e == NULL || (n = strlen(e)) == 0 || n > 1024 || !utf8_valid(e, n))
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
		s3_xml_say(reason, "no list");
		return false;
	}
	memset(list, 0, sizeof(*list));
	if (!s3_xml_check(xml, len, reason))
		return false;
	if (!s3_xml_root(xml, len, root, sizeof(root)) || strcmp(root, "ListMultipartUploadsResult") != 0)
	{
		s3_xml_say(reason, "root element is not ListMultipartUploadsResult");
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
	S3XmlToken	t;
	S3XmlKind	k;

	memset(u, 0, sizeof(*u));
	while ((k = s3_xml_next(l->xml, l->len, &l->pos, &t)) != S3X_END && k != S3X_ERROR)
	{
		char	   *field = NULL;
		size_t		cap = 0;
		bool	   *have = NULL;

		if (k == S3X_CLOSE && --l->depth == 1)
		{
			if (!have_key || !have_id || u->key[0] == '\0' || u->upload_id[0] == '\0')
			{
				s3_xml_say(reason, "Upload without Key or UploadId");
				return -1;
			}
			return 1;
		}
		if ((k != S3X_OPEN && k != S3X_EMPTY) || l->depth != 2)
		{
			if (k == S3X_OPEN)
				l->depth++;
			continue;
		}
		if (s3_xml_name_is(&t, "Key"))
			field = u->key, cap = sizeof(u->key), have = &have_key;
		else if (s3_xml_name_is(&t, "UploadId"))
			field = u->upload_id, cap = sizeof(u->upload_id), have = &have_id;
		else if (s3_xml_name_is(&t, "Initiated"))
			field = u->initiated, cap = sizeof(u->initiated), have = &have_time;
		if (field == NULL)
		{
			if (k == S3X_OPEN)
				l->depth++;
			continue;
		}
		if (*have)
		{
			s3_xml_say(reason, "Upload has the same element twice");
			return -1;
		}
		*have = true;
		if (k == S3X_OPEN && !s3_xml_element_text(l->xml, l->len, &l->pos, field, cap))
		{
			s3_xml_say(reason, "Upload element has children or is too long");
			return -1;
		}
	}
	s3_xml_say(reason, "document ends inside an Upload");
	return -1;
}

int
s3_uploads_next(S3UploadList *list, S3Upload *u, char *reason)
{
	S3XmlToken	t;
	S3XmlKind	k;

	if (list == NULL || list->xml == NULL || u == NULL)
	{
		s3_xml_say(reason, "list not begun");
		return -1;
	}
	while ((k = s3_xml_next(list->xml, list->len, &list->pos, &t)) != S3X_END)
	{
		if (k == S3X_ERROR)
		{
			s3_xml_say(reason, "malformed markup");
			return -1;
		}
		if (k == S3X_CLOSE)
			list->depth--;
		else if (k == S3X_OPEN && ++list->depth == 2 && s3_xml_name_is(&t, "Upload"))
			return read_upload(list, u, reason);
		else if (k == S3X_EMPTY && list->depth == 1 && s3_xml_name_is(&t, "Upload"))
		{
			s3_xml_say(reason, "Upload without Key or UploadId");
			return -1;
		}
	}
	return 0;
}
