/*
 * format_fuzz.c
 *		libFuzzer target of the values both export writers spell alike
 *		(src/export/format.c): ISO 8601 timestamps and UUIDs.
 *
 * The input (zero-padded to 31 bytes) is read as 16 bytes of a UUID, a
 * year (4 bytes, any int), month, day, hour, minute, second (a byte each,
 * brought into their ranges), microseconds (4 bytes, modulo 1,000,000) and
 * a byte whose low bit asks for UTC.  Properties checked:
 *   - the timestamp is exactly what a strict ISO 8601 reader written here
 *     reads back as those fields: four-digit years 0000-9999 without a sign,
 *     other years with a sign and at least four digits and no more than
 *     they need, fractions without trailing zeros (none when zero), a Z
 *     exactly when asked; it fits EXPORT_TIME_LEN and its length is returned;
 *   - the UUID is 36 characters, 8-4-4-4-12 lower-case hex that decodes back
 *     to the 16 bytes.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o /tmp/format_fuzz \
 *            test/fuzz/format_fuzz.c src/export/format.c src/crypto/codec.c
 * Run:   /tmp/format_fuzz -max_total_time=60 test/fuzz/corpus/format   (or make fuzz)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/codec.h"
#include "export/format.h"

#define INPUT_LEN 31

/* Stops the run with a crash report when a property fails. */
static void
require(int ok)
{
	if (!ok)
		abort();
}

/* Reads exactly width digits at *p into *v (as a long long); false if any is not a digit. */
static bool
read_digits(const char **p, int width, long long *v)
{
	*v = 0;
	for (int i = 0; i < width; i++)
	{
		char		c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		*v = *v * 10 + (c - '0');
	}
	*p += width;
	return true;
}

/* Reads the field at *p, of width digits, then the separator sep; aborts unless it is want. */
static void
expect_field(const char **p, int width, int want, char sep)
{
	long long	v;

	require(read_digits(p, width, &v) && v == want);
	if (sep != '\0')
	{
		require(**p == sep);
		(*p)++;
	}
}

/* Reads a timestamp back and compares it with t (see the file's header). */
static void
check_time(const ExportTime *t, bool utc)
{
	char		out[EXPORT_TIME_LEN + 16];
	int			len;
	const char *p = out;
	long long	year;
	size_t		ndigits = 0;

	memset(out, 0x7f, sizeof(out));
	len = export_format_time(t, utc, out);
	require(len > 0 && len < EXPORT_TIME_LEN && (size_t) len == strlen(out));

	/* The year: signed and as long as it needs past four digits, or plain. */
	if (t->year >= 0 && t->year <= 9999)
		require(read_digits(&p, 4, &year) && year == t->year);
	else
	{
		require(*p == (t->year < 0 ? '-' : '+'));
		p++;
		while (p[ndigits] >= '0' && p[ndigits] <= '9')
			ndigits++;
		require(ndigits >= 4 && (ndigits == 4 || *p != '0'));
		require(read_digits(&p, ndigits, &year));
		require((t->year < 0 ? -year : year) == t->year);
	}
	require(*p++ == '-');
	expect_field(&p, 2, t->mon, '-');
	expect_field(&p, 2, t->mday, 'T');
	expect_field(&p, 2, t->hour, ':');
	expect_field(&p, 2, t->min, ':');
	expect_field(&p, 2, t->sec, '\0');

	/* The fraction: up to six digits, no trailing zero, absent when zero. */
	if (t->usec == 0)
		require(*p != '.');
	else
	{
		long long	usec = 0;
		int			n = 0;

		require(*p++ == '.');
		while (p[n] >= '0' && p[n] <= '9')
			n++;
		require(n >= 1 && n <= 6 && p[n - 1] != '0');
		for (int i = 0; i < 6; i++)
			usec = usec * 10 + (i < n ? p[i] - '0' : 0);
		require(usec == t->usec);
		p += n;
	}
	if (utc)
		require(*p++ == 'Z');
	require(*p == '\0');
}

/* Checks a UUID's spelling (see the file's header). */
static void
check_uuid(const uint8_t *u)
{
	char		out[EXPORT_UUID_LEN + 8];
	char		hex[33];
	uint8_t		back[16];
	int			n = 0;

	memset(out, 0x7f, sizeof(out));
	require(export_format_uuid(u, out) == 36 && strlen(out) == 36);
	for (int i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
			require(out[i] == '-');
		else
		{
			require((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f'));
			hex[n++] = out[i];
		}
	}
	require(codec_hex_decode(hex, 32, back, sizeof(back)) == 16);
	require(memcmp(back, u, 16) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		in[INPUT_LEN] = {0};
	ExportTime	t;
	uint32_t	year;
	uint32_t	usec;

	memcpy(in, data, size < INPUT_LEN ? size : INPUT_LEN);
	check_uuid(in);

	memcpy(&year, in + 16, 4);
	memcpy(&usec, in + 25, 4);
	t.year = (int32_t) year;
	t.mon = 1 + in[20] % 12;
	t.mday = 1 + in[21] % 31;
	t.hour = in[22] % 24;
	t.min = in[23] % 60;
	t.sec = in[24] % 60;
	t.usec = usec % 1000000;
	check_time(&t, in[29] & 1);
	return 0;
}
