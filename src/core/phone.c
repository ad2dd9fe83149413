/*
 * phone.c
 *		Reading phone numbers into E.164 (see phone.h): the table of countries,
 *		the scanner that keeps the digits and drops separators and extensions,
 *		and the rules that put a calling code in front and take a trunk prefix
 *		off.
 *
 * The facts of the table are ITU-T's list of country calling codes and the
 * national numbering plans (trunk and international prefixes, lengths of
 * national significant numbers).  Lengths are the plans' ranges, a little
 * generous where a plan has short service numbers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/phone.h"

/* Most digits scanned: 15, plus a 4-digit international prefix, plus slack. */
#define PHONE_SCAN_MAX	24

#define NANP(cc)	{cc, "1", "1", {"011", NULL}, 10, 10, '2'}

static const PhoneCountry phone_countries[] = {
	/* The North American Numbering Plan: one calling code, one set of rules. */
	NANP("US"), NANP("CA"), NANP("PR"), NANP("VI"), NANP("GU"), NANP("AS"), NANP("MP"),
	NANP("AG"), NANP("AI"), NANP("BB"), NANP("BM"), NANP("BS"), NANP("DM"), NANP("DO"),
	NANP("GD"), NANP("JM"), NANP("KN"), NANP("KY"), NANP("LC"), NANP("MS"), NANP("SX"),
	NANP("TC"), NANP("TT"), NANP("VC"), NANP("VG"),
	/* Europe. */
	{"GB", "44", "0", {"00", NULL}, 7, 10, '1'},
	{"IE", "353", "0", {"00", NULL}, 7, 9, '1'},
	{"FR", "33", "0", {"00", NULL}, 9, 9, '1'},
	{"DE", "49", "0", {"00", NULL}, 6, 13, '1'},
	{"ES", "34", "", {"00", NULL}, 9, 9, '1'},
	{"IT", "39", "", {"00", NULL}, 6, 11, '0'},	/* the leading 0 of landlines is dialled from abroad */
	{"NL", "31", "0", {"00", NULL}, 9, 9, '1'},
	{"BE", "32", "0", {"00", NULL}, 8, 9, '1'},
	{"CH", "41", "0", {"00", NULL}, 9, 9, '1'},
	{"AT", "43", "0", {"00", NULL}, 4, 13, '1'},
	{"SE", "46", "0", {"00", NULL}, 6, 10, '1'},
	{"NO", "47", "", {"00", NULL}, 8, 8, '1'},
	{"DK", "45", "", {"00", NULL}, 8, 8, '1'},
	{"FI", "358", "0", {"00", "990", NULL}, 5, 12, '1'},
	{"PL", "48", "", {"00", NULL}, 9, 9, '1'},
	{"PT", "351", "", {"00", NULL}, 9, 9, '1'},
	{"GR", "30", "", {"00", NULL}, 10, 10, '1'},
	{"CZ", "420", "", {"00", NULL}, 9, 9, '1'},
	{"TR", "90", "0", {"00", NULL}, 10, 10, '1'},
	{"RU", "7", "8", {"810", NULL}, 10, 10, '1'},
	{"KZ", "7", "8", {"810", NULL}, 10, 10, '1'},
	/* Asia and the Pacific. */
	{"AU", "61", "0", {"0011", NULL}, 6, 10, '1'},
	{"NZ", "64", "0", {"00", NULL}, 8, 10, '1'},
	{"IN", "91", "0", {"00", NULL}, 10, 10, '1'},
	{"JP", "81", "0", {"010", NULL}, 9, 10, '1'},
	{"SG", "65", "", {"000", "001", NULL}, 8, 8, '1'},
	{"HK", "852", "", {"001", NULL}, 8, 8, '1'},
	{"CN", "86", "0", {"00", NULL}, 8, 11, '1'},
	{"KR", "82", "0", {"001", "002", NULL}, 8, 10, '1'},
	{"PH", "63", "0", {"00", NULL}, 8, 10, '1'},
	/* The Americas beyond the NANP, Africa, the Middle East. */
	{"MX", "52", "", {"00", NULL}, 10, 10, '1'},
	{"BR", "55", "0", {"00", NULL}, 10, 11, '1'},
	{"ZA", "27", "0", {"00", NULL}, 9, 9, '1'},
	{"IL", "972", "0", {"00", NULL}, 8, 9, '1'},
	{"AE", "971", "0", {"00", NULL}, 8, 9, '1'},
};

#define PHONE_COUNTRIES	(sizeof(phone_countries) / sizeof(phone_countries[0]))

/* A short name of each status, for messages and tests. */
const char *
phone_status_name(PhoneStatus status)
{
	switch (status)
	{
		case PHONE_OK:
			return "ok";
		case PHONE_UNKNOWN_COUNTRY:
			return "unknown country";
		case PHONE_EMPTY:
			return "no digits";
		case PHONE_BAD_CHARACTER:
			return "bad character";
		case PHONE_BAD_PLUS:
			return "misplaced plus";
		case PHONE_BAD_EXTENSION:
			return "bad extension";
		case PHONE_BAD_COUNTRY_CODE:
			return "bad country code";
		case PHONE_BAD_LENGTH:
			return "bad length";
		case PHONE_BAD_NUMBER:
			return "bad national number";
	}
	return "unknown status";
}

size_t
phone_country_count(void)
{
	return PHONE_COUNTRIES;
}

const PhoneCountry *
phone_country_at(size_t i)
{
	return i < PHONE_COUNTRIES ? &phone_countries[i] : NULL;
}

/* Upper-cases an ASCII letter; anything else unchanged. */
static char
ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char) (c - 'a' + 'A') : c;
}

const PhoneCountry *
phone_country(const char *iso2)
{
	char		code[3];

	if (iso2 == NULL || iso2[0] == '\0' || iso2[1] == '\0' || iso2[2] != '\0')
		return NULL;
	code[0] = ascii_upper(iso2[0]);
	code[1] = ascii_upper(iso2[1]);
	code[2] = '\0';
	for (size_t i = 0; i < PHONE_COUNTRIES; i++)
		if (memcmp(phone_countries[i].iso2, code, 3) == 0)
			return &phone_countries[i];
	return NULL;
}

/* True when s[0..n) begins with the NUL-terminated prefix. */
static bool
starts_with(const char *s, size_t n, const char *prefix)
{
	size_t		pl = strlen(prefix);

	return pl <= n && memcmp(s, prefix, pl) == 0;
}

const PhoneCountry *
phone_country_by_digits(const char *digits, size_t n)
{
	for (size_t i = 0; i < PHONE_COUNTRIES; i++)
		if (starts_with(digits, n, phone_countries[i].calling_code))
			return &phone_countries[i];
	return NULL;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Separators people put between digit groups. */
static bool
is_separator(char c)
{
	return is_space(c) || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

/* True when s[0..n) begins with word, ASCII letters compared in either case. */
static bool
starts_with_word(const char *s, size_t n, const char *word)
{
	size_t		wl = strlen(word);

	if (wl > n)
		return false;
	for (size_t i = 0; i < wl; i++)
		if (ascii_upper(s[i]) != ascii_upper(word[i]))
			return false;
	return true;
}

/*
 * Length of the extension marker at s[0..n) (";ext=", "extension", "extn",
 * "ext", "x", "#"), or 0 when there is none.
 */
static size_t
extension_marker(const char *s, size_t n)
{
	static const char *const markers[] = {";ext=", "extension", "extn", "ext", "x", "#"};

	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
		if (starts_with_word(s, n, markers[i]))
			return strlen(markers[i]);
	return 0;
}

/*
 * Checks that s[0..n), what follows an extension marker, is an extension:
 * optional punctuation, 1 to PHONE_MAX_EXTENSION digits, trailing blanks.
 */
static bool
valid_extension(const char *s, size_t n)
{
	size_t		i = 0;
	size_t		digits = 0;

	while (i < n && (is_space(s[i]) || s[i] == '.' || s[i] == ':' || s[i] == '='))
		i++;
	while (i < n && is_digit(s[i]))
	{
		i++;
		digits++;
	}
	while (i < n && is_space(s[i]))
		i++;
	return i == n && digits >= 1 && digits <= PHONE_MAX_EXTENSION;
}

/* Describes the byte c for a reason: 'c' when printable ASCII, else its code. */
static void
describe_byte(char c, char *buf, size_t size)
{
	unsigned char u = (unsigned char) c;

	if (u >= 0x20 && u < 0x7f)
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02X", u);
}

/* Fails with status and a formatted reason (out left empty). */
static PhoneStatus phone_fail(PhoneStatus status, char *reason, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static PhoneStatus
phone_fail(PhoneStatus status, char *reason, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(reason, PHONE_REASON_LEN, fmt, ap);
	va_end(ap);
	return status;
}

/*
 * The digits of in[0..len) into digits[] (at most PHONE_SCAN_MAX, *nd set to
 * the count, which may exceed it), whether it began with "+", its extension
 * checked and dropped.
 */
static PhoneStatus
phone_scan(const char *in, size_t len, char *digits, size_t *nd, bool *plus, char *reason)
{
	size_t		i = 0;
	char		what[16];

	*nd = 0;
	*plus = false;
	while (i < len && is_space(in[i]))
		i++;
	if (starts_with_word(in + i, len - i, "tel:"))
		i += 4;
	while (i < len && is_space(in[i]))
		i++;
	if (i < len && in[i] == '+')
	{
		*plus = true;
		i++;
	}
	for (; i < len; i++)
	{
		char		c = in[i];
		size_t		marker;

		if (is_digit(c))
		{
			if (*nd < PHONE_SCAN_MAX)
				digits[*nd] = c;
			(*nd)++;
			continue;
		}
		if (is_separator(c))
			continue;
		if (c == '+')
			return phone_fail(PHONE_BAD_PLUS, reason,
							  "\"+\" may only begin a number");
		marker = (*nd > 0) ? extension_marker(in + i, len - i) : 0;
		if (marker > 0)
		{
			if (!valid_extension(in + i + marker, len - i - marker))
				return phone_fail(PHONE_BAD_EXTENSION, reason,
								  "an extension must be 1 to %d digits after its marker",
								  PHONE_MAX_EXTENSION);
			break;
		}
		describe_byte(c, what, sizeof(what));
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			return phone_fail(PHONE_BAD_CHARACTER, reason,
							  "letters are not read as digits (found %s)", what);
		return phone_fail(PHONE_BAD_CHARACTER, reason,
						  "%s is not part of a phone number", what);
	}
	if (*nd == 0)
		return phone_fail(PHONE_EMPTY, reason, "no digits");
	if (*nd > PHONE_SCAN_MAX)
		return phone_fail(PHONE_BAD_LENGTH, reason,
						  "more than %d digits", PHONE_SCAN_MAX);
	return PHONE_OK;
}

PhoneStatus
phone_to_e164(const char *in, size_t len, const char *country, char *out, char *reason)
{
	const PhoneCountry *home = phone_country(country);
	const PhoneCountry *cty;
	char		digits[PHONE_SCAN_MAX];
	const char *p = digits;
	size_t		n;
	bool		plus;
	bool		international;
	const char *cc;
	size_t		cc_len;
	size_t		trunk_len;
	PhoneStatus st;

	out[0] = '\0';
	reason[0] = '\0';
	if (home == NULL)
		return phone_fail(PHONE_UNKNOWN_COUNTRY, reason,
						  "the default country must be an ISO 3166 alpha-2 code of the table");
	st = phone_scan(in, len, digits, &n, &plus, reason);
	if (st != PHONE_OK)
		return st;

	/* International: "+", the home country's international prefix, or 00. */
	international = plus;
	for (int k = 0; !international && home->intl_prefixes[k] != NULL; k++)
	{
		if (starts_with(p, n, home->intl_prefixes[k]))
		{
			size_t		pl = strlen(home->intl_prefixes[k]);

			p += pl;
			n -= pl;
			international = true;
		}
	}
	if (!international && starts_with(p, n, "00"))
	{
		p += 2;
		n -= 2;
		international = true;
	}

	if (international)
	{
		if (n == 0 || p[0] == '0')
			return phone_fail(PHONE_BAD_COUNTRY_CODE, reason,
							  "a country calling code cannot start with 0 or be missing");
		cty = phone_country_by_digits(p, n);
		if (cty == NULL)
		{
			/* A calling code outside the table: only the shape is checked. */
			if (n < PHONE_E164_MIN_DIGITS || n > PHONE_E164_MAX_DIGITS)
				return phone_fail(PHONE_BAD_LENGTH, reason,
								  "%zu digits; an international number has %d to %d",
								  n, PHONE_E164_MIN_DIGITS, PHONE_E164_MAX_DIGITS);
			out[0] = '+';
			memcpy(out + 1, p, n);
			out[n + 1] = '\0';
			return PHONE_OK;
		}
		cc = cty->calling_code;
		cc_len = strlen(cc);
		p += cc_len;
		n -= cc_len;
	}
	else
	{
		cty = home;
		cc = cty->calling_code;
		cc_len = strlen(cc);
	}

	/*
	 * The trunk prefix, when the number carries one: it must leave a number
	 * of the right length, and either no national number can begin with its
	 * digit (0 in most of Europe, 1 in the NANP) or the number is too long
	 * without it (8 in Russia, where numbers may begin with 8).  The same rule
	 * drops the "(0)" of "+44 (0)20 ...".
	 */
	trunk_len = strlen(cty->trunk_prefix);
	if (trunk_len > 0 && starts_with(p, n, cty->trunk_prefix)
		&& n - trunk_len >= cty->nsn_min && n - trunk_len <= cty->nsn_max
		&& (cty->trunk_prefix[0] < cty->nsn_first_min || n > cty->nsn_max))
	{
		p += trunk_len;
		n -= trunk_len;
	}
	if (n < cty->nsn_min || n > cty->nsn_max)
	{
		if (cty->nsn_min == cty->nsn_max)
			return phone_fail(PHONE_BAD_LENGTH, reason,
							  "a national number of calling code +%s has %d digits, not %zu",
							  cc, cty->nsn_min, n);
		return phone_fail(PHONE_BAD_LENGTH, reason,
						  "a national number of calling code +%s has %d to %d digits, not %zu",
						  cc, cty->nsn_min, cty->nsn_max, n);
	}
	if (p[0] < cty->nsn_first_min)
		return phone_fail(PHONE_BAD_NUMBER, reason,
						  "no national number of calling code +%s starts with %c", cc, p[0]);
	if (cc_len + n < PHONE_E164_MIN_DIGITS || cc_len + n > PHONE_E164_MAX_DIGITS)
		return phone_fail(PHONE_BAD_LENGTH, reason,
						  "%zu digits; an international number has %d to %d",
						  cc_len + n, PHONE_E164_MIN_DIGITS, PHONE_E164_MAX_DIGITS);
	out[0] = '+';
	memcpy(out + 1, cc, cc_len);
	memcpy(out + 1 + cc_len, p, n);
	out[1 + cc_len + n] = '\0';
	return PHONE_OK;
}
