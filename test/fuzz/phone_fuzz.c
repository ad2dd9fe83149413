/*
 * phone_fuzz.c
 *		libFuzzer target of the phone number reader (src/core/phone.c).  The
 *		input is a default country, a newline, then the number's bytes.  The
 *		result is either "+" and 8 to 15 digits (the first not 0), with no
 *		reason, or a refusal with an empty result and a reason; the country is
 *		refused exactly when the table lacks it; a result reads back unchanged
 *		in its own country and in others (idempotence), and a second reading
 *		of the input gives the same answer.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o /tmp/phone_fuzz \
 *            test/fuzz/phone_fuzz.c src/core/phone.c
 * Run:   /tmp/phone_fuzz -max_total_time=60 test/fuzz/corpus/phone
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/phone.h"

/* True when out is "+" and 8 to 15 digits, the first not 0. */
static int
is_e164(const char *out)
{
	size_t		n = strnlen(out, PHONE_E164_BUFSIZE);

	if (n < 1 + PHONE_E164_MIN_DIGITS || n > 1 + PHONE_E164_MAX_DIGITS || out[0] != '+' || out[1] == '0')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (out[i] < '0' || out[i] > '9')
			return 0;
	return 1;
}

/* Reads out again in country; aborts unless it comes back unchanged. */
static void
check_reads_back(const char *out, const char *country)
{
	char		again[PHONE_E164_BUFSIZE];
	char		reason[PHONE_REASON_LEN];

	if (phone_to_e164(out, strlen(out), country, again, reason) != PHONE_OK || strcmp(again, out) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t		clen = nl ? (size_t) (nl - data) : 0;
	char		country[8];
	const char *number = (const char *) (nl ? nl + 1 : data);
	size_t		nlen = nl ? size - clen - 1 : size;
	char		out[PHONE_E164_BUFSIZE];
	char		out2[PHONE_E164_BUFSIZE];
	char		reason[PHONE_REASON_LEN];
	char		reason2[PHONE_REASON_LEN];
	PhoneStatus st;

	/* The country as SQL passes it: a C string (bytes after a NUL are cut). */
	if (clen > sizeof(country) - 1)
		clen = sizeof(country) - 1;
	memcpy(country, data, clen);
	country[clen] = '\0';
	if (!nl)
		strcpy(country, "US");

	memset(reason, 'R', sizeof(reason));
	st = phone_to_e164(number, nlen, country, out, reason);
	if (memchr(reason, '\0', sizeof(reason)) == NULL)
		abort();
	if ((st == PHONE_UNKNOWN_COUNTRY) != (phone_country(country) == NULL))
		abort();
	if (st == PHONE_OK)
	{
		if (!is_e164(out) || reason[0] != '\0')
			abort();
		check_reads_back(out, country);
		check_reads_back(out, "US");
		check_reads_back(out, "IT");
		check_reads_back(out, "RU");
	}
	else if (out[0] != '\0' || reason[0] == '\0')
		abort();

	if (phone_to_e164(number, nlen, country, out2, reason2) != st || strcmp(out, out2) != 0
		|| strcmp(reason, reason2) != 0)
		abort();
	return 0;
}
