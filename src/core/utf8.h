/*
 * utf8.h
 *		Well-formed UTF-8, for every kernel that reads text from outside: S3
 *		keys and XML, TeXML text, form values.  A byte string that is not
 *		well-formed could not round-trip through the services wib talks to.
 *
 * Backend-free (libc only), never raises.
 */
#ifndef WIB_UTF8_H
#define WIB_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length (1 to 4) of the well-formed UTF-8 sequence at p, with its code point
 * in *cp; 0 when the bytes there (at most avail) are not one: a stray
 * continuation byte, a truncated sequence, an overlong form, a surrogate or
 * a code point past U+10FFFF.
 */
extern int	utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp);

/* True when s[0..len) is well-formed UTF-8 throughout. */
extern bool utf8_valid(const char *s, size_t len);

#endif							/* WIB_UTF8_H */
