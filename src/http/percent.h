/*
 * percent.h
 *		Percent-encoding of bytes for URLs and form bodies (backend-free).
 */
#ifndef WIB_HTTP_PERCENT_H
#define WIB_HTTP_PERCENT_H

#include <stdbool.h>
#include <stddef.h>

/* Room percent_encode needs for len input bytes, the NUL included. */
#define PERCENT_ENCODED_MAX(len)	(3 * (len) + 1)

typedef enum PercentStyle
{
	PERCENT_URL,				/* RFC 3986: A-Z a-z 0-9 - . _ ~ kept, space as %20 */
	PERCENT_FORM				/* WHATWG urlencoded: A-Z a-z 0-9 * - . _ kept, space as + */
} PercentStyle;

/*
 * Encodes len bytes of in (any bytes) into out, which has room for
 * PERCENT_ENCODED_MAX(len) bytes, with upper-case hex; NUL-terminates it and
 * returns its length.
 */
extern size_t percent_encode(const char *in, size_t len, PercentStyle style, char *out);

#endif							/* WIB_HTTP_PERCENT_H */
