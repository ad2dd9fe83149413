/*
 * sigv4_check.h
 *		Checks of a SigV4 request before it is signed (sigv4.c's helpers).
 *
 * Backend-free (libc only), never raises.
 */
#ifndef WIB_SIGV4_CHECK_H
#define WIB_SIGV4_CHECK_H

#include "export/sigv4.h"

/* Writes msg into reason (SIGV4_REASON_LEN bytes, may be NULL) and returns false. */
extern bool sigv4_fail(char *reason, const char *msg);

/* True when every field of r a signature depends on is well-formed; else reason says which. */
extern bool sigv4_check_request(const SigV4Request *r, bool presign, char *reason);

/* True for a header name: 1 to 64 RFC 9110 token characters. */
extern bool sigv4_header_name_ok(const char *s);

/* True for the characters SigV4 never percent-encodes: A-Z a-z 0-9 - . _ ~ */
static inline bool
sigv4_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

#endif							/* WIB_SIGV4_CHECK_H */
