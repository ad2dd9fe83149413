/*
 * texml.h
 *		A small writer for Telnyx TeXML documents that is always well-formed.
 */
#ifndef WIB_TEXML_H
#define WIB_TEXML_H

#include "lib/stringinfo.h"

#define TEXML_MAX_DEPTH 8

typedef struct TexmlWriter
{
	StringInfo	buf;
	int			depth;
	bool		pending;		/* start tag of the innermost element still open */
	const char *stack[TEXML_MAX_DEPTH];
} TexmlWriter;

extern void texml_begin(TexmlWriter *w, StringInfo buf);
extern void texml_open(TexmlWriter *w, const char *name);
extern void texml_attr(TexmlWriter *w, const char *name, const char *value);
extern void texml_attr_int(TexmlWriter *w, const char *name, int value, int min, int max);
extern void texml_text(TexmlWriter *w, const char *text);
extern void texml_close(TexmlWriter *w);
extern char *texml_finish(TexmlWriter *w);

extern void texml_escape(StringInfo out, const char *s, int len, bool in_attr);

extern void texml_check_voice(const char *voice);
extern void texml_check_language(const char *language);
extern void texml_check_url(const char *url, const char *field, bool allow_relative);
extern void texml_check_e164(const char *number, const char *field);
extern bool texml_is_e164(const char *number);

#endif							/* WIB_TEXML_H */
