/*
 * percent.c
 *		Percent-encoding for URL query strings (RFC 3986) and
 *		application/x-www-form-urlencoded bodies (WHATWG URL standard), the
 *		two encodings OAuth token requests and provider APIs need.
 *
 * Backend-free (libc only), so it is tested on its own in
 * test/kernels/percent_test.c.
 */
#include "http/percent.h"

/* True when byte c is written as itself in style. */
static bool
percent_keeps(unsigned char c, PercentStyle style)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	if (c == '-' || c == '.' || c == '_')
		return true;
	return style == PERCENT_FORM ? c == '*' : c == '~';
}

/* Encodes in[0..len) into out (see percent.h); returns the encoded length. */
size_t
percent_encode(const char *in, size_t len, PercentStyle style, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) in[i];

		if (percent_keeps(c, style))
			out[o++] = (char) c;
		else if (c == ' ' && style == PERCENT_FORM)
			out[o++] = '+';
		else
		{
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0x0F];
		}
	}
	out[o] = '\0';
	return o;
}
