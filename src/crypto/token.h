/*
 * token.h
 *		Purpose-bound, expiring signed tokens.
 *
 * A token is the text
 *
 *		v2.<key id>.<expiry, Unix seconds>.<base64url payload>.<base64url MAC>
 *
 * where MAC is HMAC-SHA256 under key <key id> over a domain separator, the
 * length-prefixed purpose ("export-download", "qr-login", ...) and the token
 * text before the last dot.  The purpose is not written in the token: a
 * token minted for one purpose fails verification for any other, and
 * changing any character of it breaks the MAC.  Numbers are canonical
 * decimals and base64url is strict, so each (key, purpose, expiry, payload)
 * has exactly one token text.  Payloads are signed, not encrypted.
 *
 * Backend-free (libc and OpenSSL only), never raises.
 */
#ifndef WIB_TOKEN_H
#define WIB_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/codec.h"

/* Largest payload a token carries, in bytes. */
#define TOKEN_PAYLOAD_MAX	4096
/* Longest purpose, in bytes. */
#define TOKEN_PURPOSE_MAX	255
/* Shortest signing key accepted, in bytes. */
#define TOKEN_KEY_MIN		16

/*
 * Characters of a token carrying payload_len bytes at most, NUL included:
 * "v2." + 10-digit key id + "." + 19-digit expiry + "." + payload + "." + 43-character MAC.
 */
#define TOKEN_LEN(payload_len) \
	(3 + 10 + 1 + 19 + 1 + (CODEC_BASE64URL_LEN(payload_len) - 1) + 1 + 43 + 1)
/* Longest token text verification looks at (NUL excluded). */
#define TOKEN_TEXT_MAX		(TOKEN_LEN(TOKEN_PAYLOAD_MAX) - 1)

typedef enum TokenStatus
{
	TOKEN_OK,
	TOKEN_MALFORMED,			/* not a v2 token, or a field out of range */
	TOKEN_UNKNOWN_KEY,			/* well formed, but its key id is not known */
	TOKEN_BAD_SIGNATURE,		/* forged, altered, or minted for another purpose */
	TOKEN_EXPIRED				/* genuine, but now is at or past its expiry */
} TokenStatus;

/*
 * The caller's key ring: the key of key_id and its length, or NULL when
 * there is no such key.  The bytes must stay valid until token_verify returns.
 */
typedef const uint8_t *(*TokenKeyLookup) (uint32_t key_id, size_t *key_len, void *arg);

/*
 * Writes the token for (purpose, expires, payload) signed with key (key_id)
 * into out (TOKEN_LEN(payload_len) characters at least).  False when the
 * purpose is empty or longer than TOKEN_PURPOSE_MAX, the payload longer than
 * TOKEN_PAYLOAD_MAX, expires negative, the key shorter than TOKEN_KEY_MIN,
 * out too small, or OpenSSL fails.
 */
extern bool token_sign(const uint8_t *key, size_t key_len, uint32_t key_id,
					   const char *purpose, int64_t expires,
					   const uint8_t *payload, size_t payload_len,
					   char *out, size_t cap);

/*
 * Checks len characters of token for purpose at time now (Unix seconds),
 * finding its key through lookup.  On TOKEN_OK writes the payload (at most
 * cap bytes; a longer one is TOKEN_MALFORMED) to payload_out and its length
 * to payload_len; on anything else payload_out is wiped and *payload_len 0.
 * The signature is checked before the expiry: a forged token is never
 * reported as merely expired.
 */
extern TokenStatus token_verify(const char *token, size_t len, const char *purpose,
								int64_t now, TokenKeyLookup lookup, void *arg,
								uint8_t *payload_out, size_t cap, size_t *payload_len);

/*
 * The expiry written in len characters of token (Unix seconds), for a caller
 * that keeps what a verified token grants until it expires.  Reads the field
 * and nothing else: trust it only once token_verify has accepted the token.
 * False when the token does not start "v2.<key id>.<expiry>.".
 */
extern bool token_expiry(const char *token, size_t len, int64_t *expires);

/* A short English name of status ("malformed token", "bad signature", ...). */
extern const char *token_status_string(TokenStatus status);

#endif							/* WIB_TOKEN_H */
