/*
 * vault.h
 *		The vault: AES-256-GCM sealing of secrets stored in tables.
 *
 * A sealed value (an "envelope") is
 *
 *		version (1 byte, 0x01) || key id (uint32, big-endian) || nonce (12)
 *		|| ciphertext (as long as the plaintext) || tag (16)
 *
 * The nonce is fresh from the CSPRNG for every seal.  The GCM additional data
 * is the envelope's version and key id followed by the caller's AAD, which
 * binds a ciphertext to its owner (organization, table and column, row): a
 * value copied to another row or tenant, or relabelled with another key id,
 * does not open.  vault_aad_build gives callers one canonical AAD.
 *
 * Backend-free (libc and OpenSSL only), never raises: failures return false
 * with a short reason that never contains key or plaintext bytes.
 */
#ifndef WIB_VAULT_H
#define WIB_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VAULT_KEY_LEN		32
#define VAULT_VERSION		0x01
#define VAULT_VERSION_LEN	1
#define VAULT_KEY_ID_LEN	4
#define VAULT_NONCE_LEN		12
#define VAULT_TAG_LEN		16
/* version || key id || nonce */
#define VAULT_HEADER_LEN	(VAULT_VERSION_LEN + VAULT_KEY_ID_LEN + VAULT_NONCE_LEN)
/* Bytes an envelope adds to its plaintext. */
#define VAULT_OVERHEAD		(VAULT_HEADER_LEN + VAULT_TAG_LEN)
#define VAULT_SEALED_LEN(plain_len)	((plain_len) + VAULT_OVERHEAD)
/* Longest plaintext or AAD accepted: 1 GB, PostgreSQL's largest field. */
#define VAULT_DATA_MAX		((size_t) 0x3FFFFFFF)

/* Size of the reason buffers the functions below fill on failure. */
#define VAULT_REASON_LEN	96

/* Length of the AAD vault_aad_build writes for a context and row id of these lengths. */
#define VAULT_AAD_LEN(context_len, row_id_len) \
	(1 + 16 + 4 + (context_len) + 4 + (row_id_len))

/*
 * Seals len bytes of plain under key into out (VAULT_SEALED_LEN(len) bytes
 * at least, not overlapping plain), labelled key_id, with a fresh random
 * nonce; aad (which may be empty) must be given again to open it.
 */
extern bool vault_seal(const uint8_t key[VAULT_KEY_LEN], uint32_t key_id,
					   const uint8_t *aad, size_t aad_len,
					   const uint8_t *plain, size_t len,
					   uint8_t *out, size_t cap, size_t *out_len, char *reason);

/*
 * The key id of an envelope, so the caller can find its key; false when env
 * is too short or of an unknown version.  The id is not authenticated until
 * vault_open succeeds.
 */
extern bool vault_envelope_key_id(const uint8_t *env, size_t len, uint32_t *key_id);

/*
 * Opens an envelope under key with the same aad it was sealed with, writing
 * the plaintext (len - VAULT_OVERHEAD bytes) to out.  False, with out wiped,
 * when the version is unknown, the envelope truncated, or the tag does not
 * verify (wrong key, other AAD, any altered byte).
 */
extern bool vault_open(const uint8_t key[VAULT_KEY_LEN],
					   const uint8_t *aad, size_t aad_len,
					   const uint8_t *env, size_t len,
					   uint8_t *out, size_t cap, size_t *out_len, char *reason);

/*
 * Writes the canonical AAD of (organization, context, row id) into out and
 * returns its length (VAULT_AAD_LEN), or 0 when cap is too small or a part
 * is too long.  org is the 16 bytes of the owning organization's UUID, or
 * NULL for a platform-wide secret; context names the table and column
 * ("webhook_subscriptions.secret"); row_id identifies the row.  Every part is
 * length-prefixed, so distinct triples never give the same AAD.
 */
extern size_t vault_aad_build(const uint8_t *org,
							  const char *context, size_t context_len,
							  const char *row_id, size_t row_id_len,
							  uint8_t *out, size_t cap);

#endif							/* WIB_VAULT_H */
