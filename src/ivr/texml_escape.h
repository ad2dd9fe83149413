/*
 * texml_escape.h
 *		Escaping of text for TeXML documents: any bytes in, well-formed XML
 *		character data or attribute value out.
 *
 * Backend-free (libc only), never raises.
 */
#ifndef WIB_TEXML_ESCAPE_H
#define WIB_TEXML_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/bytebuf.h"

/* UTF-8 of U+FFFD, what an invalid byte becomes. */
#define TEXML_REPLACEMENT "\xEF\xBF\xBD"

/*
 * Appends s[0..len) to out escaped for XML character data (in_attr false)
 * or a double-quoted attribute value (in_attr true); the rules are in
 * texml_escape.c.
 */
extern void texml_escape(ByteBuf *out, const char *s, size_t len, bool in_attr);

#endif							/* WIB_TEXML_ESCAPE_H */
