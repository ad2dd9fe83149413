/*
 * texml_rules.h
 *		What Telnyx accepts in TeXML attribute values and numbers: voices,
 *		language tags, URLs, E.164 numbers.
 *
 * Backend-free (libc only), never raises: each rule is a predicate, and the
 * server's glue (ivr/texml.c) turns a refusal into an error naming the field.
 */
#ifndef WIB_TEXML_RULES_H
#define WIB_TEXML_RULES_H

#include <stdbool.h>

/* The longest URL accepted in a document. */
#define TEXML_MAX_URL 2048

/* "+", a non-zero digit, then 1 to 14 digits. */
extern bool texml_is_e164(const char *number);

/* man, woman, alice, Polly.<Id> or Polly.<Id>-Neural (at most 40 bytes before the suffix). */
extern bool texml_is_voice(const char *voice);

/* A language tag like en-US, de-DE or arb: 2-3 lower-case letters, then optionally - and 2-4 letters or digits. */
extern bool texml_is_language(const char *language);

/*
 * A URL Telnyx could fetch and that survives as an attribute: 1 to 2048
 * bytes of printable ASCII without spaces; http(s) with a host-part unless
 * allow_relative.
 */
extern bool texml_is_url(const char *url, bool allow_relative);

#endif							/* WIB_TEXML_RULES_H */
