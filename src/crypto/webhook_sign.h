/*
 * webhook_sign.h
 *		Standard Webhooks signatures (HMAC-SHA256 over id.timestamp.body).
 */
#ifndef WIB_WEBHOOK_SIGN_H
#define WIB_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* Longest HMAC key a secret may carry, and the room one "v1,<base64>" entry needs. */
#define WEBHOOK_KEY_MAX			64
#define WEBHOOK_SIG_LEN			48		/* "v1," + 44 base64 characters + NUL */

/*
 * Decodes a "whsec_<base64>" secret (the prefix is optional) into its HMAC key.
 * Returns the key length, or -1 when the secret is malformed.  Never raises,
 * so the deliverer can call it outside a transaction.
 */
extern int	webhook_secret_key(const char *secret, uint8_t *key);

/*
 * Writes "v1,<base64 signature>" of msg_id.ts.body with key into out
 * (WEBHOOK_SIG_LEN bytes).  Returns false only if OpenSSL fails.
 */
extern bool webhook_sign(const uint8_t *key, int key_len, const char *msg_id,
						 int64_t ts, const char *body, size_t body_len, char *out);

#endif							/* WIB_WEBHOOK_SIGN_H */
