/*
 * utf8.c
 *		Well-formed UTF-8 (RFC 3629): the shortest form of a code point in
 *		U+0000..U+10FFFF other than the surrogates.
 */
#include "core/utf8.h"

int
utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp)
{
	unsigned char c;
	int			n;
	uint32_t	v;

	if (avail == 0)
		return 0;
	c = p[0];
	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, v = c & 0x07;
	else
		return 0;
	if (avail < (size_t) n)
		return 0;
	for (int k = 1; k < n; k++)
	{
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[k] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
		v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < len)
	{
		uint32_t	cp;
		int			n = utf8_seq(p + i, len - i, &cp);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}
