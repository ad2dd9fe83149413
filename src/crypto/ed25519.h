/*
 * ed25519.h
 *		Ed25519 signature checks (OpenSSL) and Telnyx's webhook signature scheme.
 */
#ifndef WIB_ED25519_H
#define WIB_ED25519_H

#include "c.h"

extern bool ed25519_verify(const unsigned char *public_key, const unsigned char *signature,
						   const unsigned char *message, size_t len);
extern bool ed25519_decode_key(const char *b64, unsigned char *out);
extern bool telnyx_signature_ok(const char *body, size_t body_len, const char *signature,
								const char *ts, const unsigned char *public_key,
								int tolerance_seconds);

#endif							/* WIB_ED25519_H */
