/*
 * webhook_sign.h
 *		Standard Webhooks signatures (HMAC-SHA256 over id.timestamp.body):
 *		secrets, signing, and the verifier of "v1," signature headers.
 *
 * Backend-free (libc and OpenSSL), never raises, so the deliverer can sign
 * outside a transaction and the fuzzers can run it outside the server.
 */
#ifndef WIB_WEBHOOK_SIGN_H
#define WIB_WEBHOOK_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest HMAC key a secret may carry, and the room one "v1,<base64>" entry needs. */
#define WEBHOOK_KEY_MAX			64
#define WEBHOOK_SIG_LEN			48		/* "v1," + 44 base64 characters + NUL */

/* What the verifier found. */
typedef enum WebhookVerdict
{
	WEBHOOK_VALID,				/* an entry of the header signs the message */
	WEBHOOK_STALE,				/* the timestamp is outside the tolerance */
	WEBHOOK_MISMATCH,			/* no entry signs the message */
	WEBHOOK_FAILED				/* OpenSSL failed */
} WebhookVerdict;

/*
 * Decodes a "whsec_<base64>" secret (the prefix is optional; strict
 * base64, crypto/codec.h) into its HMAC key of WEBHOOK_KEY_MAX bytes at
 * most.  Returns the key length, or -1 when the secret is malformed.
 */
extern int	webhook_secret_key(const char *secret, uint8_t *key);

/*
 * Writes "v1,<base64 signature>" of msg_id.ts.body with key into out
 * (WEBHOOK_SIG_LEN bytes).  Returns false only if OpenSSL fails.
 */
extern bool webhook_sign(const uint8_t *key, int key_len, const char *msg_id,
						 int64_t ts, const char *body, size_t body_len, char *out);

/*
 * True when one of the space-separated entries of header is exactly
 * expected.  Every entry is compared in constant time, so timing says
 * nothing about which one matched or how much of it.
 */
extern bool webhook_header_matches(const char *header, const char *expected);

/*
 * Verifies a delivery: ts within tolerance seconds of now (Unix seconds),
 * then some entry of header the signature of msg_id.ts.body under key.
 */
extern WebhookVerdict webhook_verify(const uint8_t *key, int key_len, const char *msg_id,
									 int64_t ts, const char *body, size_t body_len,
									 const char *header, int64_t now, int32_t tolerance);

#endif							/* WIB_WEBHOOK_SIGN_H */
