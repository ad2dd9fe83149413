/*
 * s3_xml_scan.h
 *		The tokenizer under the S3 XML readers (s3_xml.c): start, end and
 *		empty tags and text, a whole-document well-formedness check, and
 *		entity decoding.
 *
 * Backend-free (libc only), never raises, never reads past len.
 */
#ifndef WIB_S3_XML_SCAN_H
#define WIB_S3_XML_SCAN_H

#include <stdbool.h>
#include <stddef.h>

typedef enum S3XmlKind
{
	S3X_END,
	S3X_ERROR,
	S3X_OPEN,					/* <name ...> */
	S3X_EMPTY,					/* <name .../> */
	S3X_CLOSE,					/* </name> */
	S3X_TEXT					/* character data up to the next '<' */
} S3XmlKind;

typedef struct S3XmlToken
{
	const char *name;			/* tag name (OPEN, EMPTY, CLOSE) */
	size_t		name_len;
	const char *text;			/* raw text (TEXT) */
	size_t		text_len;
} S3XmlToken;

/* Writes msg into reason (S3_XML_REASON_LEN bytes) when given. */
extern void s3_xml_say(char *reason, const char *msg);

/* The next token from xml[*pos], advancing *pos; comments and the XML declaration are skipped. */
extern S3XmlKind s3_xml_next(const char *xml, size_t len, size_t *pos, S3XmlToken *t);

/* True when the token's tag name is name. */
extern bool s3_xml_name_is(const S3XmlToken *t, const char *name);

/*
 * True when xml[0..len) is one well-formed element, with an optional
 * declaration, comments and blanks around it; else reason says why.
 */
extern bool s3_xml_check(const char *xml, size_t len, char *reason);

/*
 * Decodes the text of the element whose start tag was just read, up to its
 * end tag, into out (cap bytes, NUL-terminated); false when it has child
 * elements or its text does not fit.
 */
extern bool s3_xml_element_text(const char *xml, size_t len, size_t *pos, char *out, size_t cap);

#endif							/* WIB_S3_XML_SCAN_H */
