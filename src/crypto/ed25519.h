/*
 * ed25519.h
 *		Ed25519 signature checks (RFC 8032, through OpenSSL) with the public
 *		key parsed once: a verifier keeps the key's OpenSSL object, a
 *		verification context and a message buffer between calls.
 *
 * Backend-free (libc and OpenSSL), never raises.  A zeroed Ed25519Verifier
 * is an empty one; ed25519_verifier_free releases what it holds.
 */
#ifndef WIB_ED25519_H
#define WIB_ED25519_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define ED25519_KEY_LEN 32
#define ED25519_SIG_LEN 64

/* The largest message buffer a verifier keeps between calls. */
#define ED25519_KEEP_MAX (64 * 1024)

typedef struct Ed25519Verifier
{
	EVP_PKEY   *pkey;			/* NULL until a key is set */
	EVP_MD_CTX *ctx;			/* initialised for pkey */
	bool		used;			/* ctx has verified since it was initialised */
	uint8_t		key[ED25519_KEY_LEN];
	unsigned char *buf;			/* scratch for messages built from parts */
	size_t		buf_cap;
} Ed25519Verifier;

/* Decodes strict base64 of a 32-byte public key (44 characters) into out; false if it is not one. */
extern bool ed25519_decode_key(const char *b64, size_t len, uint8_t *out);

/* Makes key the verifier's key; parses it only when it differs from the current one. */
extern bool ed25519_verifier_set_key(Ed25519Verifier *v, const uint8_t *key);

/* True when signature (64 bytes) is a valid signature of message under the verifier's key. */
extern bool ed25519_verifier_check(Ed25519Verifier *v, const uint8_t *signature,
								   const unsigned char *message, size_t len);

/*
 * The same for the message a || sep || b (sep a single byte), built in the
 * verifier's buffer (ED25519_KEEP_MAX bytes, kept; a longer message gets a
 * buffer of its own for the call).  Returns false, as for a bad signature,
 * when memory cannot be had.
 */
extern bool ed25519_verifier_check_parts(Ed25519Verifier *v, const uint8_t *signature,
										 const char *a, size_t a_len, char sep,
										 const char *b, size_t b_len);

/* Releases what the verifier holds; it is empty (and usable) afterwards. */
extern void ed25519_verifier_free(Ed25519Verifier *v);

#endif							/* WIB_ED25519_H */
