/*
 * percent_test.c
 *		Percent-encoding for URLs (RFC 3986) and form bodies (WHATWG
 *		application/x-www-form-urlencoded): which bytes are kept, how space is
 *		written, upper-case hex, and a round trip over every byte value.
 *
 * Build: cc -I src -o percent_test test/kernels/percent_test.c src/http/percent.c
 */
#include <stdio.h>
#include <string.h>

#include "http/percent.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* True when encoding in (len bytes) in style gives want. */
static int
encodes_to(const char *in, size_t len, PercentStyle style, const char *want)
{
	char		out[PERCENT_ENCODED_MAX(64)];
	size_t		n = percent_encode(in, len, style, out);

	if (n != strlen(want) || strcmp(out, want) != 0)
	{
		printf("# got \"%s\", want \"%s\"\n", out, want);
		return 0;
	}
	return 1;
}

/* Decodes %XX and (for forms) '+'; returns the decoded length or -1 when malformed. */
static int
decode(const char *in, PercentStyle style, unsigned char *out)
{
	int			n = 0;

	for (const char *p = in; *p; p++)
	{
		if (*p == '%')
		{
			unsigned int v;

			if (sscanf(p + 1, "%2X", &v) != 1 || !strchr("0123456789ABCDEF", p[1]) ||
				!strchr("0123456789ABCDEF", p[2]))
				return -1;
			out[n++] = (unsigned char) v;
			p += 2;
		}
		else if (*p == '+' && style == PERCENT_FORM)
			out[n++] = ' ';
		else
			out[n++] = (unsigned char) *p;
	}
	return n;
}

int
main(void)
{
	char		all[256];
	char		enc[PERCENT_ENCODED_MAX(256)];
	unsigned char dec[256];
	int			kept_url = 0;
	int			kept_form = 0;
	size_t		n;

	printf("1..10\n");
	for (int i = 0; i < 256; i++)
		all[i] = (char) i;

	check(encodes_to("a b", 3, PERCENT_FORM, "a+b") && encodes_to("a b", 3, PERCENT_URL, "a%20b"),
		  "space_is_plus_in_forms_and_percent_20_in_urls");
	check(encodes_to("*-._~", 5, PERCENT_FORM, "*-._%7E"),
		  "form_keeps_star_dash_dot_underscore_and_encodes_tilde");
	check(encodes_to("*-._~", 5, PERCENT_URL, "%2A-._~"),
		  "url_keeps_rfc3986_unreserved_and_encodes_star");
	check(encodes_to("https://client.example.com/cb?x=1&y=2", 37, PERCENT_FORM,
					 "https%3A%2F%2Fclient.example.com%2Fcb%3Fx%3D1%26y%3D2"),
		  "form_encodes_a_redirect_uri");
	check(encodes_to("caf\xc3\xa9 \xff\x00z", 9, PERCENT_URL, "caf%C3%A9%20%FF%00z"),
		  "url_encodes_utf8_and_binary_bytes_with_upper_case_hex");
	check(encodes_to("", 0, PERCENT_FORM, ""), "empty_input_gives_empty_output");

	for (int i = 0; i < 256; i++)
	{
		char		one[PERCENT_ENCODED_MAX(1)];

		kept_url += percent_encode(&all[i], 1, PERCENT_URL, one) == 1 && one[0] == all[i];
		kept_form += percent_encode(&all[i], 1, PERCENT_FORM, one) == 1 && one[0] == all[i];
	}
	n = percent_encode(all, 256, PERCENT_URL, enc);
	check(decode(enc, PERCENT_URL, dec) == 256 && memcmp(dec, all, 256) == 0 && strlen(enc) == n,
		  "url_round_trip_over_every_byte_value");
	check(kept_url == 66 && n == 66 + 3 * 190, "url_keeps_exactly_66_byte_values");

	n = percent_encode(all, 256, PERCENT_FORM, enc);
	check(decode(enc, PERCENT_FORM, dec) == 256 && memcmp(dec, all, 256) == 0,
		  "form_round_trip_over_every_byte_value");
	check(kept_form == 66 && n == 66 + 1 + 3 * 189, "form_keeps_66_byte_values_and_writes_space_as_plus");

	return failures == 0 ? 0 : 1;
}
