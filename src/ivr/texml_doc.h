/*
 * texml_doc.h
 *		The TeXML document writer: elements, attributes and text, always a
 *		well-formed XML 1.0 document.
 *
 * Backend-free (libc only), never raises.  A misuse (an attribute after
 * content, a name that is not one, too deep a nesting) or a failed
 * allocation stops the writer: the status says what happened, every later
 * call does nothing and returns false, and the output must not be used.
 * Names are copied: a caller may build them in a buffer it reuses.
 */
#ifndef WIB_TEXML_DOC_H
#define WIB_TEXML_DOC_H

#include <stdbool.h>

#include "core/bytebuf.h"

#define TEXML_MAX_DEPTH		8	/* elements open at once, <Response> included */
#define TEXML_MAX_ATTRS		16	/* attributes of one element */
#define TEXML_MAX_NAME		32	/* bytes of an element or attribute name */

typedef enum TexmlStatus
{
	TEXML_OK,
	TEXML_TOO_DEEP,
	TEXML_BAD_NAME,
	TEXML_ATTR_AFTER_CONTENT,
	TEXML_DUPLICATE_ATTR,
	TEXML_TOO_MANY_ATTRS,
	TEXML_ATTR_RANGE,
	TEXML_NOTHING_OPEN,
	TEXML_COMPLETE,
	TEXML_OUT_OF_MEMORY
} TexmlStatus;

typedef struct TexmlDoc
{
	ByteBuf    *out;
	int			depth;
	bool		pending;		/* start tag of the innermost element still open */
	int			nattrs;			/* attributes written in that start tag */
	char		attrs[TEXML_MAX_ATTRS][TEXML_MAX_NAME + 1];
	char		stack[TEXML_MAX_DEPTH][TEXML_MAX_NAME + 1];
	TexmlStatus status;			/* the first failure; TEXML_OK until one */
} TexmlDoc;

/* Starts a document in out: the XML declaration and the <Response> root. */
extern bool texml_doc_begin(TexmlDoc *d, ByteBuf *out);

/* Opens element name inside the current one. */
extern bool texml_doc_open(TexmlDoc *d, const char *name);

/* Adds an attribute to the element just opened; a NULL value writes nothing. */
extern bool texml_doc_attr(TexmlDoc *d, const char *name, const char *value);

/* Adds an integer attribute, refused (TEXML_ATTR_RANGE) outside min..max. */
extern bool texml_doc_attr_int(TexmlDoc *d, const char *name, int value, int min, int max);

/* Writes text[0..len) as character data of the current element. */
extern bool texml_doc_text(TexmlDoc *d, const char *text, size_t len);

/* Closes the innermost element ("<x/>" when it has no content). */
extern bool texml_doc_close(TexmlDoc *d);

/* Closes every open element, <Response> last; the status of the document. */
extern TexmlStatus texml_doc_finish(TexmlDoc *d);

/* A short lower-case description of a status. */
extern const char *texml_status_string(TexmlStatus status);

#endif							/* WIB_TEXML_DOC_H */
