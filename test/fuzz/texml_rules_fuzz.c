/*
 * texml_rules_fuzz.c
 *		libFuzzer target of the checks a tenant's menu values pass before they
 *		go into a TeXML document (src/ivr/texml_rules.c): E.164 numbers,
 *		voices, language tags and URLs.
 *
 * The input, cut at its first NUL, is one value given to every rule (and,
 * for URLs, with and without allow_relative).  Property: each rule's verdict
 * is that of a reference written here from texml_rules.h's text, and what a
 * rule accepts needs nothing beyond XML's escaping of & < > " ' (only
 * printable ASCII), so the document writer never has to alter it.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -o /tmp/texml_rules_fuzz \
 *            test/fuzz/texml_rules_fuzz.c src/ivr/texml_rules.c
 * Run:   /tmp/texml_rules_fuzz -max_total_time=60 test/fuzz/corpus/texml_rules   (or make fuzz)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ivr/texml_rules.h"

/* Stops the run with a crash report when a property fails. */
static void
require(int ok)
{
	if (!ok)
		abort();
}

/* Characters of s from the start that are in set. */
static size_t
run_of(const char *s, const char *set)
{
	return strspn(s, set);
}

#define DIGITS	"0123456789"
#define LOWER	"abcdefghijklmnopqrstuvwxyz"
#define UPPER	"ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* "+", a non-zero digit, then 1 to 14 digits. */
static bool
ref_e164(const char *s)
{
	size_t		len = strlen(s);

	return len >= 3 && len <= 16 && s[0] == '+' && s[1] >= '1' && s[1] <= '9' &&
		run_of(s + 1, DIGITS) == len - 1;
}

/* man, woman, alice, Polly.<letters>[-Neural], at most 40 bytes before the suffix. */
static bool
ref_voice(const char *s)
{
	size_t		len = strlen(s);
	size_t		id;

	if (strcmp(s, "man") == 0 || strcmp(s, "woman") == 0 || strcmp(s, "alice") == 0)
		return true;
	if (strncmp(s, "Polly.", 6) != 0)
		return false;
	id = run_of(s + 6, LOWER UPPER);
	if (id == 0 || 6 + id > 40)
		return false;
	return 6 + id == len || strcmp(s + 6 + id, "-Neural") == 0;
}

/* 2-3 lower-case letters, then optionally - and 2-4 letters or digits. */
static bool
ref_language(const char *s)
{
	size_t		len = strlen(s);
	size_t		primary = run_of(s, LOWER);
	size_t		sub;

	if (primary < 2 || primary > 3)
		return false;
	if (primary == len)
		return true;
	if (s[primary] != '-')
		return false;
	sub = run_of(s + primary + 1, LOWER UPPER DIGITS);
	return sub >= 2 && sub <= 4 && primary + 1 + sub == len;
}

/* 1-2048 bytes of printable ASCII without spaces; http(s):// and more unless relative. */
static bool
ref_url(const char *s, bool allow_relative)
{
	size_t		len = strlen(s);

	if (len == 0 || len > TEXML_MAX_URL)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f)
			return false;
	if (allow_relative)
		return true;
	return (len > 8 && strncasecmp(s, "https://", 8) == 0) ||
		(len > 7 && strncasecmp(s, "http://", 7) == 0);
}

/* Only printable ASCII: what the writer keeps as it is, apart from XML's five. */
static bool
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);
	bool		verdicts[5];

	memcpy(s, data, size);
	s[size] = '\0';

	verdicts[0] = texml_is_e164(s);
	verdicts[1] = texml_is_voice(s);
	verdicts[2] = texml_is_language(s);
	verdicts[3] = texml_is_url(s, false);
	verdicts[4] = texml_is_url(s, true);
	require(verdicts[0] == ref_e164(s));
	require(verdicts[1] == ref_voice(s));
	require(verdicts[2] == ref_language(s));
	require(verdicts[3] == ref_url(s, false));
	require(verdicts[4] == ref_url(s, true));
	require(!verdicts[3] || verdicts[4]);
	for (int i = 0; i < 5; i++)
		require(!verdicts[i] || printable(s));
	require(!texml_is_e164(NULL) && !texml_is_voice(NULL) && !texml_is_language(NULL) &&
			!texml_is_url(NULL, true));
	free(s);
	return 0;
}
