/*
 * phone.h
 *		Phone numbers as people write them, read into E.164 (+ and at most 15
 *		digits): "(555) 123-4567", "+1 555-123-4567 ext. 9", "020 7946 0958"
 *		read in GB, "00 33 1 23 45 67 89".
 *
 * A number without "+" or an international prefix is read in a default
 * country (ISO 3166 alpha-2): its calling code is put in front and its
 * national trunk prefix (0 in most of Europe, 1 in the NANP, 8 in Russia)
 * taken off.  A table of countries gives each one's calling code, trunk and
 * international prefixes, and the length and first digit of its national
 * significant numbers; a number for a calling code outside the table is
 * checked only for the shape of E.164.
 *
 * Separators (space, tab, - . ( ) /) are ignored, an optional "tel:" scheme
 * and an extension ("ext. 9", "x9", "#9", ";ext=9") are dropped, anything
 * else (letters, other punctuation, non-ASCII bytes) is refused.  Results
 * have 8 to 15 digits; reading a result again gives it back unchanged.
 *
 * Backend-free: no PostgreSQL headers, no allocation, never raises.
 */
#ifndef WIB_CORE_PHONE_H
#define WIB_CORE_PHONE_H

#include <stdbool.h>
#include <stddef.h>

/* Digits of an E.164 number: at most 15 (ITU-T E.164), at least 8 accepted here. */
#define PHONE_E164_MAX_DIGITS	15
#define PHONE_E164_MIN_DIGITS	8
/* Bytes of a result: "+", the digits, the terminating NUL. */
#define PHONE_E164_BUFSIZE		(PHONE_E164_MAX_DIGITS + 2)
#define PHONE_REASON_LEN		128
/* Most digits of an extension that is dropped. */
#define PHONE_MAX_EXTENSION		10

typedef enum PhoneStatus
{
	PHONE_OK = 0,
	PHONE_UNKNOWN_COUNTRY,		/* the default country is not in the table */
	PHONE_EMPTY,				/* no digits at all */
	PHONE_BAD_CHARACTER,		/* a letter or a character no number has */
	PHONE_BAD_PLUS,				/* "+" anywhere but at the start */
	PHONE_BAD_EXTENSION,		/* an extension marker without 1-10 digits after it */
	PHONE_BAD_COUNTRY_CODE,		/* a calling code starting with 0, or none */
	PHONE_BAD_LENGTH,			/* too few or too many digits */
	PHONE_BAD_NUMBER			/* a national number no such country has */
} PhoneStatus;

/* One country of the table. */
typedef struct PhoneCountry
{
	const char *iso2;			/* ISO 3166-1 alpha-2, upper case */
	const char *calling_code;	/* digits, without "+" */
	const char *trunk_prefix;	/* dialled before national numbers at home, "" if none */
	const char *intl_prefixes[3];	/* dialled before a calling code, NULL-terminated */
	unsigned char nsn_min;		/* digits of a national significant number */
	unsigned char nsn_max;
	char		nsn_first_min;	/* lowest first digit of one ('2' in the NANP) */
} PhoneCountry;

extern const char *phone_status_name(PhoneStatus status);

/* The table: its size and its i-th row (for tests and documentation). */
extern size_t phone_country_count(void);
extern const PhoneCountry *phone_country_at(size_t i);

/* The country of an alpha-2 code in either case, or NULL. */
extern const PhoneCountry *phone_country(const char *iso2);

/*
 * The first country of the table whose calling code begins digits[0..n),
 * or NULL.  Calling codes are a prefix code, so at most one code matches.
 */
extern const PhoneCountry *phone_country_by_digits(const char *digits, size_t n);

/*
 * Reads in[0..len) (any bytes) as a phone number in country (a NUL-terminated
 * alpha-2 code) and writes its E.164 form, NUL-terminated, to out
 * (PHONE_E164_BUFSIZE bytes).  On failure out is the empty string and reason
 * (PHONE_REASON_LEN bytes) says why.
 */
extern PhoneStatus phone_to_e164(const char *in, size_t len, const char *country,
								 char *out, char *reason);

#endif							/* WIB_CORE_PHONE_H */
