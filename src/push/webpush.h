/*
 * webpush.h
 *		Web Push message encryption (RFC 8291 over RFC 8188's aes128gcm) and
 *		the P-256 keys it and VAPID (RFC 8292) are made of.
 *
 * Backend-free: libc and OpenSSL 3 only, no PostgreSQL headers, never raises
 * or exits, so the deliverer can call it outside a transaction and the
 * fuzzers outside the server.  Failure is a false return plus a short reason
 * in a caller-provided buffer of WEBPUSH_REASON_LEN bytes (reason may be NULL).
 * Keys are raw: a private key is its 32-byte big-endian scalar, a public key
 * its 65-byte uncompressed point (0x04 || X || Y), as browsers give p256dh.
 */
#ifndef WIB_WEBPUSH_H
#define WIB_WEBPUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define WEBPUSH_REASON_LEN		128

#define WEBPUSH_PRIVATE_LEN		32
#define WEBPUSH_PUBLIC_LEN		65
#define WEBPUSH_AUTH_LEN		16
#define WEBPUSH_SALT_LEN		16
#define WEBPUSH_SECRET_LEN		32
#define WEBPUSH_CEK_LEN			16
#define WEBPUSH_NONCE_LEN		12
#define WEBPUSH_TAG_LEN			16

/* The record size written into every message, and the push services' body limit. */
#define WEBPUSH_RECORD_SIZE		4096
#define WEBPUSH_MAX_BODY		4096

/* salt(16) || rs(4) || idlen(1) || keyid(65) */
#define WEBPUSH_HEADER_LEN		(WEBPUSH_SALT_LEN + 4 + 1 + WEBPUSH_PUBLIC_LEN)

/* Bytes of the message carrying len bytes of plaintext: header, plaintext, delimiter, tag. */
#define WEBPUSH_MESSAGE_LEN(len) (WEBPUSH_HEADER_LEN + (len) + 1 + WEBPUSH_TAG_LEN)

/* The same with pad zero bytes of padding after the delimiter. */
#define WEBPUSH_PADDED_LEN(len, pad) (WEBPUSH_MESSAGE_LEN(len) + (pad))

/* The most plaintext one 4096-byte message holds: 4096 - 86 - 1 - 16. */
#define WEBPUSH_MAX_PLAINTEXT	3993

/* For tests only: the application server's key and the salt, instead of fresh ones. */
typedef struct WebPushFixed
{
	uint8_t		as_private[WEBPUSH_PRIVATE_LEN];
	uint8_t		salt[WEBPUSH_SALT_LEN];
} WebPushFixed;

/*
 * Every intermediate of one encryption (RFC 8291 appendix A names them), for
 * tests.  It holds key material: the caller wipes it.
 */
typedef struct WebPushTrace
{
	uint8_t		ecdh_secret[WEBPUSH_SECRET_LEN];
	uint8_t		prk_key[WEBPUSH_SECRET_LEN];
	uint8_t		ikm[WEBPUSH_SECRET_LEN];
	uint8_t		prk[WEBPUSH_SECRET_LEN];
	uint8_t		cek[WEBPUSH_CEK_LEN];
	uint8_t		nonce[WEBPUSH_NONCE_LEN];
	uint8_t		as_public[WEBPUSH_PUBLIC_LEN];
} WebPushTrace;

/* True only for a 65-byte uncompressed point on P-256 (never the point at infinity). */
extern bool webpush_point_valid(const uint8_t *p, size_t len);

/* A fresh P-256 key pair from OpenSSL's random generator. */
extern bool webpush_keypair(uint8_t priv[WEBPUSH_PRIVATE_LEN], uint8_t pub[WEBPUSH_PUBLIC_LEN],
							char *reason);

/* The public key of priv; false when priv is not a scalar in [1, n-1]. */
extern bool webpush_public_from_private(const uint8_t priv[WEBPUSH_PRIVATE_LEN],
										uint8_t pub[WEBPUSH_PUBLIC_LEN], char *reason);

/*
 * OpenSSL key objects of raw keys, for the ECDH and ECDSA of this module and
 * VAPID's; NULL (with a reason) when the key is not valid.  Free with
 * EVP_PKEY_free, which wipes the private part.
 */
extern EVP_PKEY *webpush_private_pkey(const uint8_t priv[WEBPUSH_PRIVATE_LEN], char *reason);
extern EVP_PKEY *webpush_public_pkey(const uint8_t pub[WEBPUSH_PUBLIC_LEN], char *reason);

/* A fresh key object for one message (RFC 8291's as key), its public point in pub. */
extern EVP_PKEY *webpush_ephemeral_pkey(uint8_t pub[WEBPUSH_PUBLIC_LEN], char *reason);

/*
 * RFC 8291's ECDH on raw keys: the application server's key as_private (a
 * fresh one when NULL) with the subscription's public point, into secret (the
 * 32-byte X coordinate); the server's public point goes to as_public.
 */
extern bool webpush_agree(const uint8_t *as_private, const uint8_t ua_public[WEBPUSH_PUBLIC_LEN],
						  uint8_t as_public[WEBPUSH_PUBLIC_LEN], uint8_t secret[WEBPUSH_SECRET_LEN],
						  char *reason);

/* ECDH(own, peer_public) into secret (the 32-byte X coordinate). */
extern bool webpush_ecdh(EVP_PKEY *own, const uint8_t peer_public[WEBPUSH_PUBLIC_LEN],
						 uint8_t secret[WEBPUSH_SECRET_LEN], char *reason);

/*
 * Encrypts plaintext for the subscription (ua_public, auth_secret) into out,
 * which needs WEBPUSH_MESSAGE_LEN(len) bytes: one aes128gcm record, rs 4096,
 * the 0x02 delimiter and no padding (webpush_encrypt_padded adds some).  The key and salt are fresh for each
 * message unless fixed is given; trace, when not NULL, receives the
 * intermediates.
 */
extern bool webpush_encrypt(const uint8_t ua_public[WEBPUSH_PUBLIC_LEN],
							const uint8_t auth_secret[WEBPUSH_AUTH_LEN],
							const uint8_t *plaintext, size_t len,
							const WebPushFixed *fixed,
							uint8_t *out, size_t cap, size_t *out_len,
							WebPushTrace *trace, char *reason);

/*
 * webpush_encrypt with pad zero bytes after the delimiter (RFC 8188 section
 * 2), so the push service cannot tell messages apart by length; out needs
 * WEBPUSH_PADDED_LEN(len, pad) bytes and len + pad may not exceed
 * WEBPUSH_MAX_PLAINTEXT.
 */
extern bool webpush_encrypt_padded(const uint8_t ua_public[WEBPUSH_PUBLIC_LEN],
								   const uint8_t auth_secret[WEBPUSH_AUTH_LEN],
								   const uint8_t *plaintext, size_t len, size_t pad,
								   const WebPushFixed *fixed,
								   uint8_t *out, size_t cap, size_t *out_len,
								   WebPushTrace *trace, char *reason);

/*
 * The user agent's side: checks and decrypts a message for the subscription
 * (ua_private, ua_public, auth_secret) into out, which needs at least
 * len - WEBPUSH_HEADER_LEN - WEBPUSH_TAG_LEN bytes; *out_len is the
 * plaintext's length without delimiter and padding.
 */
extern bool webpush_decrypt(const uint8_t ua_private[WEBPUSH_PRIVATE_LEN],
							const uint8_t ua_public[WEBPUSH_PUBLIC_LEN],
							const uint8_t auth_secret[WEBPUSH_AUTH_LEN],
							const uint8_t *msg, size_t len,
							uint8_t *out, size_t cap, size_t *out_len, char *reason);

#endif							/* WIB_WEBPUSH_H */
