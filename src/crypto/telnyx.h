/*
 * telnyx.h
 *		Telnyx's webhook signatures (API v2): Ed25519 over
 *		timestamp "|" raw body, the timestamp within a window of now.
 *
 * Backend-free (libc and OpenSSL), never raises.
 */
#ifndef WIB_TELNYX_H
#define WIB_TELNYX_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ed25519.h"

#define TELNYX_MAX_TOLERANCE	86400

typedef enum TelnyxVerdict
{
	TELNYX_VALID,
	TELNYX_BAD_TIMESTAMP,		/* not 1 to 12 decimal digits */
	TELNYX_STALE,				/* outside the window around now */
	TELNYX_BAD_SIGNATURE,		/* not base64 of 64 bytes */
	TELNYX_MISMATCH,			/* not a signature of the message under the key */
	TELNYX_NO_KEY				/* the verifier has no key */
} TelnyxVerdict;

/*
 * Checks one callback: ts (ts_len bytes) is Unix seconds within
 * tolerance_seconds of now, and signature (sig_len bytes) is strict base64
 * of an Ed25519 signature of ts "|" body under the verifier's key.  The
 * timestamp is checked first: a stale request costs no curve arithmetic.
 */
extern TelnyxVerdict telnyx_verify(Ed25519Verifier *v, const char *body, size_t body_len,
								   const char *signature, size_t sig_len,
								   const char *ts, size_t ts_len,
								   int64_t now, int tolerance_seconds);

/* A short lower-case description of a verdict. */
extern const char *telnyx_verdict_string(TelnyxVerdict verdict);

#endif							/* WIB_TELNYX_H */
