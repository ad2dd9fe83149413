/*
 * hmac.h
 *		The one HMAC-SHA256 (and SHA-256) of wib, over messages given in parts.
 *
 * Backend-free (OpenSSL only), never raises: usable by the deliverer outside
 * a transaction and by the fuzzers outside the server.  Parts let callers
 * sign "id.timestamp.body" or HKDF's "info || 0x01" without concatenating.
 */
#ifndef WIB_HMAC_H
#define WIB_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HMAC_SHA256_LEN		32
#define SHA256_LEN			32

/* One piece of a message. */
typedef struct HmacPart
{
	const void *data;
	size_t		len;
} HmacPart;

/* HMAC-SHA256 under key of the concatenated parts into out; false only if OpenSSL fails. */
extern bool hmac_sha256(const uint8_t *key, size_t key_len,
						const HmacPart *parts, int nparts, uint8_t out[HMAC_SHA256_LEN]);

/* SHA-256 of the concatenated parts into out; false only if OpenSSL fails. */
extern bool sha256_parts(const HmacPart *parts, int nparts, uint8_t out[SHA256_LEN]);

#endif							/* WIB_HMAC_H */
