/*
 * texml.h
 *		The TeXML writer as the server uses it: the backend-free writer of
 *		texml_doc.h in a memory context, with errors raised for misuse and for
 *		values Telnyx would refuse.
 */
#ifndef WIB_TEXML_H
#define WIB_TEXML_H

#include "core/bytebuf.h"
#include "ivr/texml_doc.h"

typedef struct TexmlWriter
{
	ByteBuf		buf;
	TexmlDoc	doc;
} TexmlWriter;

extern void texml_begin(TexmlWriter *w);
extern void texml_open(TexmlWriter *w, const char *name);
extern void texml_attr(TexmlWriter *w, const char *name, const char *value);
extern void texml_attr_int(TexmlWriter *w, const char *name, int value, int min, int max);
extern void texml_text(TexmlWriter *w, const char *text);
extern void texml_close(TexmlWriter *w);
extern char *texml_finish(TexmlWriter *w, int *len);

extern void texml_check_voice(const char *voice);
extern void texml_check_language(const char *language);
extern void texml_check_url(const char *url, const char *field, bool allow_relative);
extern void texml_check_e164(const char *number, const char *field);

#endif							/* WIB_TEXML_H */
