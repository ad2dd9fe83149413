/*
 * form_fuzz.c
 *		libFuzzer target of the form decoder behind wib.form_value
 *		(src/http/form_decode.c).
 *
 * Properties:
 *	- any bytes as a body, any name: the decoder answers without crashing,
 *	  a value it returns is UTF-8 text without NULs and no longer than the
 *	  body;
 *	- decoding an encoding is identity: bytes percent-encoded in either
 *	  style (src/http/percent.c) decode back to themselves;
 *	- names and values from the input, encoded into a body: the value of a
 *	  name is the value of its first pair (refused when it is not UTF-8
 *	  text), a name no pair has is absent.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o form_fuzz \
 *   test/fuzz/form_fuzz.c src/http/form_decode.c src/http/percent.c src/core/utf8.c src/crypto/codec.c
 * Run:   ./form_fuzz -max_total_time=60 test/fuzz/corpus/form   (or make fuzz)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "http/form_decode.h"
#include "http/percent.h"

#define MAX_PAIRS	8

static void
fail(const char *what)
{
	fprintf(stderr, "form_fuzz: %s\n", what);
	abort();
}

/* Any bytes as a body; the first byte says how long the name is. */
static void
check_bytes(const uint8_t *data, size_t size)
{
	size_t		name_len = size > 0 ? data[0] % 16 : 0;
	const char *name;
	const char *body;
	size_t		len;
	char	   *out;
	size_t		out_len;
	FormResult	r;

	if (size < 1 + name_len)
		return;
	name = (const char *) data + 1;
	body = name + name_len;
	len = size - 1 - name_len;
	out = malloc(len + 1);
	r = form_value(body, len, name, name_len, out, &out_len);
	if (r == FORM_FOUND &&
		(out_len > len || out[out_len] != '\0' || memchr(out, '\0', out_len) != NULL ||
		 !utf8_valid(out, out_len)))
		fail("a value found is not NUL-terminated UTF-8 text within the body's length");
	if (r != FORM_FOUND && r != FORM_ABSENT && r != FORM_BAD_ESCAPE && r != FORM_NOT_TEXT)
		fail("an answer that is not a FormResult");
	free(out);
}

/* Decoding an encoding of data, in both styles, gives data. */
static void
check_round_trip(const uint8_t *data, size_t size)
{
	char	   *enc = malloc(PERCENT_ENCODED_MAX(size));
	char	   *dec = malloc(3 * size + 1);
	size_t		n;

	for (int style = 0; style < 2; style++)
	{
		size_t		len = percent_encode((const char *) data, size, style ? PERCENT_FORM : PERCENT_URL, enc);

		if (!form_decode(enc, len, dec, &n) || n != size || memcmp(dec, data, size) != 0)
			fail("decoding an encoding does not give the bytes back");
	}
	free(enc);
	free(dec);
}

/* Pairs from the input, encoded into a body: each name's value is its first pair's. */
static void
check_pairs(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	const uint8_t *end = data + size;
	const uint8_t *names[MAX_PAIRS];
	const uint8_t *values[MAX_PAIRS];
	size_t		name_lens[MAX_PAIRS];
	size_t		value_lens[MAX_PAIRS];
	bool		has_eq[MAX_PAIRS];
	int			npairs = 0;
	char	   *body = malloc(PERCENT_ENCODED_MAX(size) * 2 + MAX_PAIRS * 2);
	size_t		len = 0;
	const uint8_t *want;
	size_t		want_len;
	char	   *out;
	size_t		out_len;
	FormResult	r;
	int			first = -1;

	/* Each pair: a byte with the name's length (low 3 bits) and the value's (the rest), then both. */
	while (p < end && npairs < MAX_PAIRS)
	{
		uint8_t		c = *p++;
		size_t		nl = c & 7;
		size_t		vl = c >> 3;

		nl = nl > (size_t) (end - p) ? end - p : nl;
		names[npairs] = p;
		name_lens[npairs] = nl;
		p += nl;
		vl = vl > (size_t) (end - p) ? end - p : vl;
		values[npairs] = p;
		value_lens[npairs] = vl;
		/* Without '=', an empty name would be an empty pair, which a body cannot show at its end. */
		has_eq[npairs] = vl > 0 || nl == 0 || (c & 0x80) == 0;
		p += vl;
		npairs++;
	}
	if (npairs == 0)
	{
		free(body);
		return;
	}
	for (int i = 0; i < npairs; i++)
	{
		if (i > 0)
			body[len++] = '&';
		len += percent_encode((const char *) names[i], name_lens[i], PERCENT_FORM, body + len);
		if (has_eq[i])
		{
			body[len++] = '=';
			len += percent_encode((const char *) values[i], value_lens[i], PERCENT_FORM, body + len);
		}
	}

	/* Ask for the last pair's name (or, from the rest of the input, maybe no pair's). */
	want = p < end ? p : names[npairs - 1];
	want_len = p < end ? (size_t) (end - p) : name_lens[npairs - 1];
	for (int i = 0; i < npairs && first < 0; i++)
		if (name_lens[i] == want_len && memcmp(names[i], want, want_len) == 0)
			first = i;

	out = malloc(len + 1);
	r = form_value(body, len, (const char *) want, want_len, out, &out_len);
	if (first < 0)
	{
		if (r != FORM_ABSENT)
			fail("a name no pair has is not absent");
	}
	else if (memchr(values[first], '\0', value_lens[first]) != NULL ||
			 !utf8_valid((const char *) values[first], value_lens[first]))
	{
		if (r != FORM_NOT_TEXT)
			fail("a value that is not UTF-8 text is not refused");
	}
	else if (r != FORM_FOUND || out_len != value_lens[first] ||
			 memcmp(out, values[first], out_len) != 0)
		fail("a name's value is not its first pair's value");
	free(out);
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_bytes(data, size);
	check_round_trip(data, size);
	check_pairs(data, size);
	return 0;
}
