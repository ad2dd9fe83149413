/*
 * vault_testing.h
 *		Entry points of vault.c for its tests only: sealing with a chosen
 *		nonce, and the bare AES-256-GCM under the envelope.
 *
 * Nothing in wib includes this header: a caller choosing nonces would reuse
 * them.  test/kernels/vault_test.c uses it to reproduce the published
 * AES-256-GCM vectors and to pin the envelope's layout.
 */
#ifndef WIB_VAULT_TESTING_H
#define WIB_VAULT_TESTING_H

#include "crypto/vault.h"

/* vault_seal with the given nonce instead of a random one. */
extern bool vault_seal_with_nonce(const uint8_t key[VAULT_KEY_LEN], uint32_t key_id,
								  const uint8_t nonce[VAULT_NONCE_LEN],
								  const uint8_t *aad, size_t aad_len,
								  const uint8_t *plain, size_t len,
								  uint8_t *out, size_t cap, size_t *out_len,
								  char *reason);

/* AES-256-GCM of plain (ciphertext into ct, len bytes) and its tag, with aad as the only AAD. */
extern bool vault_gcm_encrypt(const uint8_t key[VAULT_KEY_LEN],
							  const uint8_t nonce[VAULT_NONCE_LEN],
							  const uint8_t *aad, size_t aad_len,
							  const uint8_t *plain, size_t len,
							  uint8_t *ct, uint8_t tag[VAULT_TAG_LEN]);

#endif							/* WIB_VAULT_TESTING_H */
