/*
 * vapid.h
 *		VAPID (RFC 8292): the ES256 JWT an application server signs for a push
 *		service, its audience, and the Authorization header that carries it.
 *
 * Backend-free: libc and OpenSSL 3 only, never raises; failure is a false
 * (or zero) return plus a short reason in a buffer of VAPID_REASON_LEN bytes
 * (reason may be NULL).  Keys are raw P-256 keys as in webpush.h.
 */
#ifndef WIB_VAPID_H
#define WIB_VAPID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "push/webpush.h"

#define VAPID_REASON_LEN		WEBPUSH_REASON_LEN

/* Longest origin and subject (NUL included), and claims JSON, a token carries. */
#define VAPID_AUD_MAX			256
#define VAPID_SUB_MAX			256
#define VAPID_CLAIMS_MAX		1024

/* Room for any token vapid_jwt_sign makes: header, claims, signature, dots, NUL. */
#define VAPID_JWT_MAX			1536

/* Room for "vapid t=<token>, k=<87-character key>". */
#define VAPID_AUTHORIZATION_MAX	(VAPID_JWT_MAX + 128)

/* RFC 8292 section 2: exp no further ahead than 24 hours. */
#define VAPID_MAX_LIFETIME		86400

/* The claims of a token, decoded. */
typedef struct VapidClaims
{
	char		aud[VAPID_AUD_MAX];
	int64_t		exp;
	char		sub[VAPID_SUB_MAX];
} VapidClaims;

/*
 * The origin of a push endpoint, the token's aud: "https://host", with
 * ":port" only when it is not the scheme's default, host in lower case.
 * False for anything but an absolute https URL with a host (http too when
 * allow_http, for loopback tests), or when cap is too small.
 */
extern bool vapid_audience(const char *endpoint, char *aud, size_t cap, bool allow_http);

/*
 * Signs a token for aud (the endpoint's origin), expiring at exp (Unix
 * seconds), naming sub (a mailto: or https: contact URI) with the VAPID
 * private key priv; writes it NUL-terminated into out (cap bytes;
 * VAPID_JWT_MAX is always enough).  Refused when the claims, JSON-escaped,
 * are longer than VAPID_CLAIMS_MAX: vapid_jwt_verify would refuse them.
 */
extern bool vapid_jwt_sign(const uint8_t priv[WEBPUSH_PRIVATE_LEN], const char *aud, int64_t exp,
						   const char *sub, char *out, size_t cap, char *reason);

/*
 * True when jwt[0..len) is a compact ES256 JWT (three unpadded base64url
 * parts, header alg ES256, typ JWT if present, JSON header and claims) whose
 * raw r||s signature verifies under pub.  The claims' values are not judged
 * here: see vapid_jwt_claims.
 */
extern bool vapid_jwt_verify(const uint8_t pub[WEBPUSH_PUBLIC_LEN], const char *jwt, size_t len,
							 char *reason);

/*
 * Decodes the claims of a token without checking its signature: aud and sub
 * must be strings (or absent: empty), exp an integer (or absent: 0).
 */
extern bool vapid_jwt_claims(const char *jwt, size_t len, VapidClaims *claims, char *reason);

/*
 * Writes the Authorization header value "vapid t=<jwt>, k=<base64url pub>"
 * into out; returns its length, or 0 when pub is not a P-256 point or the
 * value does not fit in cap.
 */
extern size_t vapid_authorization(const char *jwt, const uint8_t pub[WEBPUSH_PUBLIC_LEN],
								  char *out, size_t cap);

#endif							/* WIB_VAPID_H */
