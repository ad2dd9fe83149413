/*
 * form_test.c
 *		The form decoder behind wib.form_value, on the cases of
 *		sql/30_ivr.sql and the edges around them: '+' and %XX, a value
 *		without '=', the first of repeated names, bad escapes (where they
 *		count and where they do not), values that are not UTF-8 text.
 *
 * Build: cc -I src -o form_test test/kernels/form_test.c src/http/form_decode.c src/core/utf8.c \
 *   src/crypto/codec.c
 */
#include <stdio.h>
#include <string.h>

#include "http/form_decode.h"

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* True when the value of name in body is want (for FORM_FOUND) with result r. */
static int
value_is(const char *body, const char *name, FormResult want_r, const char *want)
{
	char		out[256];
	size_t		len;
	FormResult	r = form_value(body, strlen(body), name, strlen(name), out, &len);

	if (r != want_r || (r == FORM_FOUND && (len != strlen(want) || memcmp(out, want, len) != 0)))
	{
		printf("# %s in %s: got %d \"%.*s\"\n", name, body, (int) r, (int) len, out);
		return 0;
	}
	return 1;
}

int
main(void)
{
	const char *callback = "CallSid=v3%3Aabc&To=%2B15551230000&Digits=&SpeechResult=hello+world";
	char		out[16];
	size_t		len;

	printf("1..7\n");
	check(value_is(callback, "To", FORM_FOUND, "+15551230000") &&
		  value_is(callback, "CallSid", FORM_FOUND, "v3:abc") &&
		  value_is(callback, "Digits", FORM_FOUND, "") &&
		  value_is(callback, "SpeechResult", FORM_FOUND, "hello world") &&
		  value_is("CallSid=v3%3Aabc", "From", FORM_ABSENT, NULL),
		  "a Telnyx callback: %XX and + decoded, an empty value, an absent name");
	check(value_is("a=1&a=2", "a", FORM_FOUND, "1") && value_is("flag&b=2", "flag", FORM_FOUND, "") &&
		  value_is("x%3D1=y", "x=1", FORM_FOUND, "y") && value_is("a=b=c", "a", FORM_FOUND, "b=c") &&
		  value_is("", "a", FORM_ABSENT, NULL),
		  "the first of repeated names; a name without '=' has the empty value; names are decoded");
	check(value_is("To=%2", "To", FORM_BAD_ESCAPE, NULL) && value_is("To=%zz", "To", FORM_BAD_ESCAPE, NULL) &&
		  value_is("%2=1&To=x", "To", FORM_BAD_ESCAPE, NULL) && value_is("To=x&b=%", "To", FORM_FOUND, "x") &&
		  value_is("a=%&To=x", "To", FORM_FOUND, "x"),
		  "a bad escape counts in the names read up to the match and the value found, nowhere else");
	check(value_is("To=%ff", "To", FORM_NOT_TEXT, NULL) && value_is("To=a%00b", "To", FORM_NOT_TEXT, NULL) &&
		  value_is("To=%c3%a9", "To", FORM_FOUND, "\xc3\xa9") && value_is("To=%ED%A0%80", "To", FORM_NOT_TEXT, NULL),
		  "a value must be UTF-8 text: no invalid bytes, surrogates or NULs");
	check(value_is("%54o=1", "To", FORM_FOUND, "1") && value_is("to=1", "To", FORM_ABSENT, NULL),
		  "names compare decoded and case-sensitively");
	check(form_decode("a+b%20c%2b%2B", 13, out, &len) && len == 7 && memcmp(out, "a b c++", 7) == 0,
		  "form_decode: + is a space, %XX of either case a byte");
	check(!form_decode("ab%4", 4, out, &len) && !form_decode("%", 1, out, &len) &&
		  !form_decode("%g0", 3, out, &len) && form_decode("", 0, out, &len) && len == 0,
		  "form_decode: a % without two hex digits is refused");

	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
