/*
 * format.c
 *		ISO 8601 timestamps and UUIDs for the export writers (see format.h).
 */
#include "export/format.h"

#include "crypto/codec.h"

/* Writes n as exactly width digits (zero-padded) into p; returns the end. */
static inline char *
put_digits(char *p, unsigned int n, int width)
{
	char	   *q = p + width;

	while (q > p)
	{
		*--q = '0' + n % 10;
		n /= 10;
	}
	return p + width;
}

/* Writes t as ISO 8601 (see format.h). */
int
export_format_time(const ExportTime *t, bool utc, char *out)
{
	char	   *p = out;

	if (t->year < 0 || t->year > 9999)
	{
		unsigned int year = t->year < 0 ? 0u - (unsigned int) t->year : (unsigned int) t->year;
		int			width = 4;

		for (unsigned int y = year / 10000; y > 0; y /= 10)
			width++;
		*p++ = t->year < 0 ? '-' : '+';
		p = put_digits(p, year, width);
	}
	else
		p = put_digits(p, t->year, 4);
	*p++ = '-';
	p = put_digits(p, t->mon, 2);
	*p++ = '-';
	p = put_digits(p, t->mday, 2);
	*p++ = 'T';
	p = put_digits(p, t->hour, 2);
	*p++ = ':';
	p = put_digits(p, t->min, 2);
	*p++ = ':';
	p = put_digits(p, t->sec, 2);
	if (t->usec != 0)
	{
		*p++ = '.';
		p = put_digits(p, t->usec, 6);
		while (p[-1] == '0')
			p--;
	}
	if (utc)
		*p++ = 'Z';
	*p = '\0';
	return p - out;
}

/* Writes a UUID in its canonical 8-4-4-4-12 form; returns 36. */
int
export_format_uuid(const uint8_t *u, char *out)
{
	static const int groups[5] = {4, 2, 2, 2, 6};
	char	   *p = out;

	for (int g = 0; g < 5; g++)
	{
		if (g > 0)
			*p++ = '-';
		p += codec_hex_encode(u, groups[g], p);
		u += groups[g];
	}
	return 36;
}
