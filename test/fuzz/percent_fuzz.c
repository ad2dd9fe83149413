/*
 * percent_fuzz.c
 *		libFuzzer target of the percent-encoder (src/http/percent.c): for any
 *		bytes and both styles, the output has exactly the promised length bound,
 *		uses only kept characters, '+' (forms) and upper-case %XX, and decodes
 *		back to the input.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o /tmp/percent_fuzz \
 *            test/fuzz/percent_fuzz.c src/http/percent.c
 * Run:   /tmp/percent_fuzz -max_total_time=60 test/fuzz/corpus/percent
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/percent.h"

/* Value of an upper-case hex digit, -1 for anything else. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Checks one style on data; aborts (a finding) when a property fails. */
static void
check_style(const uint8_t *data, size_t size, PercentStyle style)
{
	char	   *out = malloc(PERCENT_ENCODED_MAX(size));
	uint8_t    *back = malloc(size + 1);
	size_t		len = percent_encode((const char *) data, size, style, out);
	size_t		n = 0;

	if (len != strlen(out) || len > 3 * size)
		abort();
	for (size_t i = 0; i < len; i++)
	{
		char		c = out[i];

		if (c == '%')
		{
			int			hi = i + 2 < len ? hex_value(out[i + 1]) : -1;
			int			lo = i + 2 < len ? hex_value(out[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				abort();
			back[n++] = (uint8_t) (hi * 16 + lo);
			i += 2;
		}
		else if (c == '+' && style == PERCENT_FORM)
			back[n++] = ' ';
		else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				 c == '-' || c == '.' || c == '_' ||
				 (style == PERCENT_FORM ? c == '*' : c == '~'))
			back[n++] = (uint8_t) c;
		else
			abort();			/* a character neither kept nor escaped */
		if (n > size)
			abort();
	}
	if (n != size || memcmp(back, data, size) != 0)
		abort();
	free(out);
	free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_style(data, size, PERCENT_URL);
	check_style(data, size, PERCENT_FORM);
	return 0;
}
