/*
 * texml_rules.c
 *		The predicates of texml_rules.h: Telnyx's rules for voices, language
 *		tags, URLs and numbers, checked before a value goes into a document.
 */
#include "ivr/texml_rules.h"

#include <string.h>

/* True for an ASCII letter. */
static inline bool
texml_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* True when s starts with prefix, ASCII letters compared without case. */
static bool
texml_prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
	{
		char		a = (*s >= 'A' && *s <= 'Z') ? *s + ('a' - 'A') : *s;

		if (a != *prefix)
			return false;
	}
	return true;
}

/* True for an E.164 number: "+", a non-zero digit, then 1 to 14 digits. */
bool
texml_is_e164(const char *number)
{
	int			n = 0;

	if (number == NULL || number[0] != '+' || number[1] < '1' || number[1] > '9')
		return false;
	for (const char *p = number + 1; *p; p++, n++)
		if (*p < '0' || *p > '9')
			return false;
	return n >= 2 && n <= 15;
}

/* True for a voice Telnyx knows: man, woman, alice, Polly.<Id>[-Neural]. */
bool
texml_is_voice(const char *voice)
{
	const char *p;

	if (voice == NULL)
		return false;
	if (strcmp(voice, "man") == 0 || strcmp(voice, "woman") == 0 || strcmp(voice, "alice") == 0)
		return true;
	if (strncmp(voice, "Polly.", 6) == 0)
	{
		for (p = voice + 6; texml_alpha(*p); p++)
			;
		/* An Id of one letter or more: "Polly.-Neural" names no voice. */
		if (p > voice + 6 && p - voice <= 40 && (*p == '\0' || strcmp(p, "-Neural") == 0))
			return true;
	}
	return false;
}

/* True for a language tag such as en-US, de-DE or arb. */
bool
texml_is_language(const char *language)
{
	const char *p = language;
	int			n = 0;

	if (p == NULL)
		return false;
	while (*p >= 'a' && *p <= 'z')
		p++, n++;
	if (n < 2 || n > 3)
		return false;
	if (*p == '\0')
		return true;
	if (*p == '-')
	{
		int			m = 0;

		for (p++; texml_alpha(*p) || (*p >= '0' && *p <= '9'); p++)
			m++;
		if (*p == '\0' && m >= 2 && m <= 4)
			return true;
	}
	return false;
}

/* True for a URL Telnyx could fetch (see texml_rules.h). */
bool
texml_is_url(const char *url, bool allow_relative)
{
	size_t		len;

	if (url == NULL)
		return false;
	len = strlen(url);
	if (len == 0 || len > TEXML_MAX_URL)
		return false;
	for (const unsigned char *p = (const unsigned char *) url; *p; p++)
		if (*p <= 0x20 || *p >= 0x7F)
			return false;
	if (allow_relative)
		return true;
	return (texml_prefix_nocase(url, "https://") && len > 8) ||
		(texml_prefix_nocase(url, "http://") && len > 7);
}
