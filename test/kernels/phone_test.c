/*
 * phone_test.c
 *		The phone number reader: the spellings people use (national, with a
 *		trunk prefix, with "+", with an international prefix, with an
 *		extension), every country of the table in each of its forms, the
 *		table's own consistency, idempotence, and every refusal.
 *
 * Build: cc -std=gnu11 -I src -o /tmp/phone_test test/kernels/phone_test.c src/core/phone.c
 */
#include <stdio.h>
#include <string.h>

#include "core/phone.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* Reads in (a C string) in country; the status, the result in out. */
static PhoneStatus
read_number(const char *in, const char *country, char *out)
{
	char		reason[PHONE_REASON_LEN];

	return phone_to_e164(in, strlen(in), country, out, reason);
}

/* Checks that in, read in country, gives want. */
static void
expect(const char *in, const char *country, const char *want)
{
	char		out[PHONE_E164_BUFSIZE];
	char		what[256];
	PhoneStatus st = read_number(in, country, out);

	snprintf(what, sizeof(what), "\"%s\" in %s is %s", in, country, want);
	check(st == PHONE_OK && strcmp(out, want) == 0, what);
	if (st != PHONE_OK || strcmp(out, want) != 0)
		printf("# got status %s, \"%s\"\n", phone_status_name(st), out);
}

/* Checks that in, read in country, is refused with status want (and a reason, and no output). */
static void
refuse(const char *in, const char *country, PhoneStatus want)
{
	char		out[PHONE_E164_BUFSIZE];
	char		reason[PHONE_REASON_LEN];
	char		what[256];
	PhoneStatus st = phone_to_e164(in, strlen(in), country, out, reason);

	snprintf(what, sizeof(what), "\"%s\" in %s is refused: %s", in, country ? country : "(null)",
			 phone_status_name(want));
	check(st == want && out[0] == '\0' && reason[0] != '\0', what);
	if (st != want)
		printf("# got status %s, \"%s\"\n", phone_status_name(st), out);
}

/* True when out is "+" and 8 to 15 digits, the first not 0. */
static int
is_e164(const char *out)
{
	size_t		n = strlen(out);

	if (n < 1 + PHONE_E164_MIN_DIGITS || n > 1 + PHONE_E164_MAX_DIGITS || out[0] != '+' || out[1] == '0')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (out[i] < '0' || out[i] > '9')
			return 0;
	return 1;
}

/*
 * For each country of the table: a national significant number of every
 * allowed length, written nationally (with and without the trunk prefix),
 * with "+", with "00" and with each international prefix, gives one E.164
 * number; reading that again gives it back.
 */
static void
every_country_every_form(void)
{
	int			forms_ok = 1;
	int			idempotent = 1;
	int			checked = 0;

	for (size_t i = 0; i < phone_country_count(); i++)
	{
		const PhoneCountry *c = phone_country_at(i);

		for (int len = c->nsn_min; len <= c->nsn_max; len++)
		{
			char		nsn[32];
			char		want[64];
			char		in[128];
			char		out[PHONE_E164_BUFSIZE];
			char		again[PHONE_E164_BUFSIZE];

			if (strlen(c->calling_code) + len > PHONE_E164_MAX_DIGITS
				|| strlen(c->calling_code) + len < PHONE_E164_MIN_DIGITS)
				continue;
			/* First digit the lowest allowed but not the trunk digit, then 2..9 repeating. */
			nsn[0] = c->nsn_first_min;
			if (c->trunk_prefix[0] == nsn[0])
				nsn[0]++;
			for (int k = 1; k < len; k++)
				nsn[k] = (char) ('2' + (k * 3) % 8);
			nsn[len] = '\0';
			snprintf(want, sizeof(want), "+%s%s", c->calling_code, nsn);

			const char *forms[6];
			char		buf[6][96];
			int			nforms = 0;

			snprintf(buf[nforms], 96, "%s", nsn), forms[nforms] = buf[nforms], nforms++;
			snprintf(buf[nforms], 96, "%s%s", c->trunk_prefix, nsn), forms[nforms] = buf[nforms], nforms++;
			snprintf(buf[nforms], 96, "+%s %s", c->calling_code, nsn), forms[nforms] = buf[nforms], nforms++;
			snprintf(buf[nforms], 96, "00 %s-%s", c->calling_code, nsn), forms[nforms] = buf[nforms], nforms++;
			for (int k = 0; c->intl_prefixes[k] != NULL && nforms < 6; k++)
				snprintf(buf[nforms], 96, "%s (%s) %s", c->intl_prefixes[k], c->calling_code, nsn),
					forms[nforms] = buf[nforms], nforms++;
			for (int f = 0; f < nforms; f++)
			{
				snprintf(in, sizeof(in), "%s", forms[f]);
				checked++;
				if (read_number(in, c->iso2, out) != PHONE_OK || strcmp(out, want) != 0)
				{
					if (forms_ok)
						printf("# %s: \"%s\" gave \"%s\", wanted %s\n", c->iso2, in, out, want);
					forms_ok = 0;
					continue;
				}
				/* Read again, in the same country and in another. */
				if (!is_e164(out)
					|| read_number(out, c->iso2, again) != PHONE_OK || strcmp(again, out) != 0
					|| read_number(out, "JP", again) != PHONE_OK || strcmp(again, out) != 0)
					idempotent = 0;
			}
		}
	}
	check(forms_ok && checked > 500, "every country: national, trunk, +, 00 and international-prefix forms agree");
	check(idempotent, "every country: a result is E.164 and reads back unchanged in any country");
}

/* The table: codes unique, calling codes a prefix code, shared codes share rules. */
static void
table_is_consistent(void)
{
	int			unique = 1;
	int			prefix_free = 1;
	int			shared_rules = 1;
	int			sane = 1;

	for (size_t i = 0; i < phone_country_count(); i++)
	{
		const PhoneCountry *a = phone_country_at(i);

		if (strlen(a->iso2) != 2 || a->nsn_min > a->nsn_max || a->nsn_max > 14
			|| a->calling_code[0] < '1' || a->intl_prefixes[0] == NULL
			|| phone_country(a->iso2) != a)
			sane = 0;
		for (size_t j = i + 1; j < phone_country_count(); j++)
		{
			const PhoneCountry *b = phone_country_at(j);
			size_t		la = strlen(a->calling_code);
			size_t		lb = strlen(b->calling_code);

			if (strcmp(a->iso2, b->iso2) == 0)
				unique = 0;
			if (strcmp(a->calling_code, b->calling_code) == 0)
			{
				if (strcmp(a->trunk_prefix, b->trunk_prefix) != 0 || a->nsn_min != b->nsn_min
					|| a->nsn_max != b->nsn_max || a->nsn_first_min != b->nsn_first_min)
					shared_rules = 0;
			}
			else if (strncmp(a->calling_code, b->calling_code, la < lb ? la : lb) == 0)
				prefix_free = 0;
		}
	}
	check(sane, "table: every row has a 2-letter code, a calling code, a length range and an international prefix");
	check(unique, "table: each country appears once");
	check(prefix_free, "table: no calling code is a prefix of another");
	check(shared_rules, "table: countries sharing a calling code share its rules");
	check(phone_country_count() >= 45, "table: the NANP and the largest markets");
	check(phone_country("us") == phone_country("US") && phone_country("Gb") != NULL,
		  "country codes are read in either case");
}

int
main(void)
{
	printf("1..79\n");

	/* The spellings of the platform design, in the US. */
	expect("(555) 123-4567", "US", "+15551234567");
	expect("+1 555-123-4567 ext. 9", "US", "+15551234567");
	expect("555.123.4567", "US", "+15551234567");
	expect("5551234567", "US", "+15551234567");
	expect("1-555-123-4567", "US", "+15551234567");
	expect("+44 20 7946 0958", "US", "+442079460958");
	expect("020 7946 0958", "GB", "+442079460958");
	expect("00 33 1 23 45 67 89", "US", "+33123456789");
	expect("00 33 1 23 45 67 89", "FR", "+33123456789");
	expect("01 23 45 67 89", "FR", "+33123456789");

	/* Extensions, schemes and blanks. */
	expect("555-123-4567 x9", "US", "+15551234567");
	expect("555-123-4567 X 12", "US", "+15551234567");
	expect("555-123-4567#9", "US", "+15551234567");
	expect("555-123-4567 ext 9", "US", "+15551234567");
	expect("555-123-4567 extn. 123", "US", "+15551234567");
	expect("555-123-4567 Extension: 4", "US", "+15551234567");
	expect("tel:+1-201-555-0123;ext=42", "US", "+12015550123");
	expect("TEL:+1-201-555-0123", "US", "+12015550123");
	expect("  +1\t(201) 555/0123  ", "US", "+12015550123");
	expect("1 (201) 555-0123", "CA", "+12015550123");

	/* International prefixes of the home country, and 00 everywhere. */
	expect("011 44 20 7946 0958", "US", "+442079460958");
	expect("0011 61 2 9876 5432", "AU", "+61298765432");
	expect("02 9876 5432", "AU", "+61298765432");
	expect("010 81 3 1234 5678", "JP", "+81312345678");
	expect("03-1234-5678", "JP", "+81312345678");
	expect("001 852 2123 4567", "SG", "+85221234567");
	expect("810 7 495 123 45 67", "RU", "+74951234567");

	/* Trunk prefixes: "(0)" after the calling code, Russia's 8, Italy's kept 0. */
	expect("+44 (0)20 7946 0958", "US", "+442079460958");
	expect("+49 (0)30 123456", "DE", "+4930123456");
	expect("8 (812) 123-45-67", "RU", "+78121234567");
	expect("812 123 45 67", "RU", "+78121234567");
	expect("+7 812 123 45 67", "US", "+78121234567");
	expect("+7 8 812 123 45 67", "US", "+78121234567");
	expect("06 1234 5678", "IT", "+390612345678");
	expect("+39 06 1234 5678", "US", "+390612345678");
	expect("+1 1 555 123 4567", "US", "+15551234567");

	/* Calling codes outside the table: checked for the shape of E.164 only. */
	expect("+254 712 345678", "US", "+254712345678");
	expect("00 380 44 123 4567", "DE", "+380441234567");

	every_country_every_form();
	table_is_consistent();

	/* Refusals. */
	refuse("555 123 4567", "XX", PHONE_UNKNOWN_COUNTRY);
	refuse("555 123 4567", "USA", PHONE_UNKNOWN_COUNTRY);
	refuse("555 123 4567", "", PHONE_UNKNOWN_COUNTRY);
	refuse("555 123 4567", NULL, PHONE_UNKNOWN_COUNTRY);
	refuse("+44 20 7946 0958", "U1", PHONE_UNKNOWN_COUNTRY);
	refuse("", "US", PHONE_EMPTY);
	refuse("  ( ) - ", "US", PHONE_EMPTY);
	refuse("+", "US", PHONE_EMPTY);
	refuse("1-800-FLOWERS", "US", PHONE_BAD_CHARACTER);
	refuse("555-CALL-NOW", "US", PHONE_BAD_CHARACTER);
	refuse("ext 9", "US", PHONE_BAD_CHARACTER);
	refuse("555*123*4567", "US", PHONE_BAD_CHARACTER);
	refuse("555\xc2\xa0" "123 4567", "US", PHONE_BAD_CHARACTER);
	refuse("555-123-4567+", "US", PHONE_BAD_PLUS);
	refuse("++1 555 123 4567", "US", PHONE_BAD_PLUS);
	refuse("555-123-4567 ext.", "US", PHONE_BAD_EXTENSION);
	refuse("555-123-4567 x9a", "US", PHONE_BAD_EXTENSION);
	refuse("555-123-4567 x12345678901", "US", PHONE_BAD_EXTENSION);
	refuse("+0 555 123 4567", "US", PHONE_BAD_COUNTRY_CODE);
	refuse("00", "FR", PHONE_BAD_COUNTRY_CODE);
	refuse("011 0 44 20 7946 0958", "US", PHONE_BAD_COUNTRY_CODE);
	refuse("555-1234", "US", PHONE_BAD_LENGTH);
	refuse("555 123 45678", "US", PHONE_BAD_LENGTH);
	refuse("+1 555 123 456", "US", PHONE_BAD_LENGTH);
	refuse("+254 7123", "US", PHONE_BAD_LENGTH);
	refuse("+254 712 345 678 901 234", "US", PHONE_BAD_LENGTH);
	refuse("1234567890123456789012345", "US", PHONE_BAD_LENGTH);
	refuse("(055) 123-4567", "US", PHONE_BAD_NUMBER);
	refuse("(155) 123-4567", "US", PHONE_BAD_NUMBER);
	refuse("+44 0 0 20 7946 095", "US", PHONE_BAD_NUMBER);

	/* The result is always NUL-terminated within PHONE_E164_BUFSIZE, even for the longest. */
	{
		char		out[PHONE_E164_BUFSIZE + 4];
		char		reason[PHONE_REASON_LEN];

		memset(out, 'Z', sizeof(out));
		check(phone_to_e164("+254123456789012", 16, "US", out, reason) == PHONE_OK
			  && strlen(out) == 16 && out[PHONE_E164_BUFSIZE] == 'Z',
			  "a 15-digit number fills the buffer exactly");
	}
	/* Embedded NUL bytes are characters like any other. */
	{
		char		out[PHONE_E164_BUFSIZE];
		char		reason[PHONE_REASON_LEN];

		check(phone_to_e164("555\0001234567", 11, "US", out, reason) == PHONE_BAD_CHARACTER
			  && strstr(reason, "0x00") != NULL,
			  "a NUL byte inside the number is refused and named");
	}
	check(strcmp(phone_status_name(PHONE_BAD_NUMBER), "bad national number") == 0
		  && strcmp(phone_status_name((PhoneStatus) 99), "unknown status") == 0,
		  "status names");

	return failures == 0 ? 0 : 1;
}
