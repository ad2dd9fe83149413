/*
 * texml_doc.c
 *		The TeXML document writer (see texml_doc.h): tags from checked names,
 *		text and attribute values through texml_escape, so that the output
 *		is well-formed whatever the values hold.
 */
#include "ivr/texml_doc.h"

#include <stdio.h>
#include <string.h>

#include "ivr/texml_escape.h"

/* Records the first failure and returns false. */
static bool
texml_fail(TexmlDoc *d, TexmlStatus status)
{
	if (d->status == TEXML_OK)
		d->status = status;
	return false;
}

/* True while nothing has failed, the output buffer included. */
static bool
texml_usable(TexmlDoc *d)
{
	if (d->status == TEXML_OK && d->out->failed)
		d->status = TEXML_OUT_OF_MEMORY;
	return d->status == TEXML_OK;
}

/* True for the names this writer allows: an ASCII letter, then letters and digits. */
static bool
texml_name_ok(const char *name)
{
	size_t		n = 0;

	if (name == NULL ||
		!((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')))
		return false;
	for (const char *p = name; *p; p++, n++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) ||
			n >= TEXML_MAX_NAME)
			return false;
	return true;
}

/* Ends the start tag of the innermost element if attributes were still allowed. */
static void
texml_seal(TexmlDoc *d)
{
	if (d->pending)
	{
		bytebuf_putc(d->out, '>');
		d->pending = false;
	}
}

/* Writes the start of element name, the root when nothing is open yet. */
static bool
texml_start(TexmlDoc *d, const char *name)
{
	if (!texml_name_ok(name))
		return texml_fail(d, TEXML_BAD_NAME);
	if (d->depth >= TEXML_MAX_DEPTH)
		return texml_fail(d, TEXML_TOO_DEEP);
	texml_seal(d);
	bytebuf_putc(d->out, '<');
	bytebuf_puts(d->out, name);
	strcpy(d->stack[d->depth++], name);
	d->pending = true;
	d->nattrs = 0;
	return texml_usable(d);
}

/* Starts a document in out: the XML declaration and the <Response> root. */
bool
texml_doc_begin(TexmlDoc *d, ByteBuf *out)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	bytebuf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	return texml_start(d, "Response");
}

/* Opens element name inside the current one; none after the root is closed. */
bool
texml_doc_open(TexmlDoc *d, const char *name)
{
	if (!texml_usable(d))
		return false;
	if (d->depth == 0)
		return texml_fail(d, TEXML_COMPLETE);
	return texml_start(d, name);
}

/* Adds an attribute to the element just opened; a NULL value writes nothing. */
bool
texml_doc_attr(TexmlDoc *d, const char *name, const char *value)
{
	if (!texml_usable(d))
		return false;
	if (!d->pending)
		return texml_fail(d, TEXML_ATTR_AFTER_CONTENT);
	if (!texml_name_ok(name))
		return texml_fail(d, TEXML_BAD_NAME);
	if (value == NULL)
		return true;
	for (int i = 0; i < d->nattrs; i++)
		if (strcmp(d->attrs[i], name) == 0)
			return texml_fail(d, TEXML_DUPLICATE_ATTR);
	if (d->nattrs >= TEXML_MAX_ATTRS)
		return texml_fail(d, TEXML_TOO_MANY_ATTRS);
	strcpy(d->attrs[d->nattrs++], name);
	bytebuf_putc(d->out, ' ');
	bytebuf_puts(d->out, name);
	bytebuf_append(d->out, "=\"", 2);
	texml_escape(d->out, value, strlen(value), true);
	bytebuf_putc(d->out, '"');
	return texml_usable(d);
}

/* Adds an integer attribute after checking it against min..max. */
bool
texml_doc_attr_int(TexmlDoc *d, const char *name, int value, int min, int max)
{
	char		num[16];

	if (!texml_usable(d))
		return false;
	if (value < min || value > max)
		return texml_fail(d, TEXML_ATTR_RANGE);
	snprintf(num, sizeof(num), "%d", value);
	return texml_doc_attr(d, name, num);
}

/* Writes text[0..len) escaped as character data of the current element. */
bool
texml_doc_text(TexmlDoc *d, const char *text, size_t len)
{
	if (!texml_usable(d))
		return false;
	if (d->depth == 0)
		return texml_fail(d, TEXML_COMPLETE);
	texml_seal(d);
	if (text != NULL)
		texml_escape(d->out, text, len, false);
	return texml_usable(d);
}

/* Closes the innermost element ("<x/>" when it has no content). */
bool
texml_doc_close(TexmlDoc *d)
{
	const char *name;

	if (!texml_usable(d))
		return false;
	if (d->depth == 0)
		return texml_fail(d, TEXML_NOTHING_OPEN);
	name = d->stack[--d->depth];
	if (d->pending)
	{
		bytebuf_append(d->out, "/>", 2);
		d->pending = false;
	}
	else
	{
		bytebuf_append(d->out, "</", 2);
		bytebuf_puts(d->out, name);
		bytebuf_putc(d->out, '>');
	}
	return texml_usable(d);
}

/* Closes every open element, <Response> last; the document's status. */
TexmlStatus
texml_doc_finish(TexmlDoc *d)
{
	while (d->depth > 0 && texml_doc_close(d))
		;
	texml_usable(d);
	return d->status;
}

/* Describes a status, for errors. */
const char *
texml_status_string(TexmlStatus status)
{
	switch (status)
	{
		case TEXML_OK:
			return "ok";
		case TEXML_TOO_DEEP:
			return "elements nested too deeply";
		case TEXML_BAD_NAME:
			return "element or attribute name is not a plain ASCII name";
		case TEXML_ATTR_AFTER_CONTENT:
			return "attribute written after element content";
		case TEXML_DUPLICATE_ATTR:
			return "attribute written twice";
		case TEXML_TOO_MANY_ATTRS:
			return "too many attributes";
		case TEXML_ATTR_RANGE:
			return "attribute value out of range";
		case TEXML_NOTHING_OPEN:
			return "element closed twice";
		case TEXML_COMPLETE:
			return "document already complete";
		case TEXML_OUT_OF_MEMORY:
			return "out of memory";
	}
	return "unknown status";
}
