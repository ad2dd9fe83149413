/*
 * s3_utf8.h
 *		UTF-8 checks for what goes to and comes from S3: object keys, query
 *		values, XML text.  S3 keys are UTF-8, so a byte string that is not
 *		could never round-trip through the service.
 *
 * Backend-free (libc only), never raises.
 */
#ifndef WIB_S3_UTF8_H
#define WIB_S3_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length (1 to 4) of the well-formed UTF-8 sequence at p, with its code point
 * in *cp; 0 when the bytes there (at most avail) are not one: a stray
 * continuation byte, a truncated sequence, an overlong form, a surrogate or
 * a code point past U+10FFFF.
 */
extern int	s3_utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp);

/* True when s[0..len) is well-formed UTF-8 throughout. */
extern bool s3_utf8_valid(const char *s, size_t len);

#endif							/* WIB_S3_UTF8_H */
