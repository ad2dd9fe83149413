/*
 * vault.c
 *		AES-256-GCM envelopes (see vault.h for the layout), with OpenSSL's EVP API.
 *
 * GCM writes plaintext before it knows whether the tag verifies, so every
 * failed open wipes what it wrote: a caller that ignores the result still
 * sees no unauthenticated bytes.
 */
#include "crypto/vault.h"
#include "crypto/vault_testing.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static EVP_CIPHER *gcm_alg = NULL;

/* Copies msg into reason (VAULT_REASON_LEN bytes) when the caller gave one. */
static void
vault_reason(char *reason, const char *msg)
{
	if (reason != NULL)
		snprintf(reason, VAULT_REASON_LEN, "%s", msg);
}

/* The envelope header for key_id and nonce, into hdr. */
static void
vault_header(uint32_t key_id, const uint8_t nonce[VAULT_NONCE_LEN], uint8_t hdr[VAULT_HEADER_LEN])
{
	hdr[0] = VAULT_VERSION;
	hdr[1] = (uint8_t) (key_id >> 24);
	hdr[2] = (uint8_t) (key_id >> 16);
	hdr[3] = (uint8_t) (key_id >> 8);
	hdr[4] = (uint8_t) key_id;
	memcpy(hdr + VAULT_VERSION_LEN + VAULT_KEY_ID_LEN, nonce, VAULT_NONCE_LEN);
}

/*
 * One AES-256-GCM pass: encrypts (enc) or decrypts len bytes of in into out,
 * authenticating aad1 || aad2 too.  Encryption writes the tag; decryption
 * checks it and returns false when it does not match.
 */
static bool
vault_gcm(bool enc, const uint8_t *key, const uint8_t *nonce,
		  const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2, size_t aad2_len,
		  const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t		final_block[32];
	int			n = 0;
	bool		ok;

	if (len > VAULT_DATA_MAX || aad1_len > VAULT_DATA_MAX || aad2_len > VAULT_DATA_MAX)
		return false;
	if (gcm_alg == NULL && (gcm_alg = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL)
		return false;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return false;
	/* The default IV length of GCM is the 96 bits used here. */
	ok = EVP_CipherInit_ex2(ctx, gcm_alg, key, nonce, enc ? 1 : 0, NULL) == 1;
	if (ok && aad1_len > 0)
		ok = EVP_CipherUpdate(ctx, NULL, &n, aad1, (int) aad1_len) == 1;
	if (ok && aad2_len > 0)
		ok = EVP_CipherUpdate(ctx, NULL, &n, aad2, (int) aad2_len) == 1;
	if (ok && len > 0)
		ok = EVP_CipherUpdate(ctx, out, &n, in, (int) len) == 1 && (size_t) n == len;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, VAULT_TAG_LEN, (void *) tag) == 1;
	/* GCM has no padding: the final call writes nothing, it computes or checks the tag. */
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, final_block, &n) == 1 && n == 0;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, VAULT_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);	/* also cleanses the key schedule */
	if (!ok && len > 0)
		OPENSSL_cleanse(out, len);
	return ok;
}

bool
vault_gcm_encrypt(const uint8_t key[VAULT_KEY_LEN], const uint8_t nonce[VAULT_NONCE_LEN],
				  const uint8_t *aad, size_t aad_len, const uint8_t *plain, size_t len,
				  uint8_t *ct, uint8_t tag[VAULT_TAG_LEN])
{
	return vault_gcm(true, key, nonce, aad, aad_len, NULL, 0, plain, len, ct, tag);
}

bool
vault_seal_with_nonce(const uint8_t key[VAULT_KEY_LEN], uint32_t key_id,
					  const uint8_t nonce[VAULT_NONCE_LEN],
					  const uint8_t *aad, size_t aad_len,
					  const uint8_t *plain, size_t len,
					  uint8_t *out, size_t cap, size_t *out_len, char *reason)
{
	*out_len = 0;
	if (len > VAULT_DATA_MAX)
	{
		vault_reason(reason, "plaintext too long");
		return false;
	}
	if (aad_len > VAULT_DATA_MAX)
	{
		vault_reason(reason, "additional data too long");
		return false;
	}
	if (cap < VAULT_SEALED_LEN(len))
	{
		vault_reason(reason, "output buffer too small");
		return false;
	}
	vault_header(key_id, nonce, out);
	if (!vault_gcm(true, key, nonce, out, VAULT_VERSION_LEN + VAULT_KEY_ID_LEN, aad, aad_len,
				   plain, len, out + VAULT_HEADER_LEN, out + VAULT_HEADER_LEN + len))
	{
		OPENSSL_cleanse(out, VAULT_SEALED_LEN(len));
		vault_reason(reason, "encryption failed");
		return false;
	}
	*out_len = VAULT_SEALED_LEN(len);
	return true;
}

bool
vault_seal(const uint8_t key[VAULT_KEY_LEN], uint32_t key_id,
		   const uint8_t *aad, size_t aad_len,
		   const uint8_t *plain, size_t len,
		   uint8_t *out, size_t cap, size_t *out_len, char *reason)
{
	uint8_t		nonce[VAULT_NONCE_LEN];

	*out_len = 0;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
	{
		vault_reason(reason, "random number generator failed");
		return false;
	}
	return vault_seal_with_nonce(key, key_id, nonce, aad, aad_len, plain, len,
								 out, cap, out_len, reason);
}

bool
vault_envelope_key_id(const uint8_t *env, size_t len, uint32_t *key_id)
{
	if (len < VAULT_OVERHEAD || env[0] != VAULT_VERSION)
		return false;
	*key_id = (uint32_t) env[1] << 24 | (uint32_t) env[2] << 16 |
		(uint32_t) env[3] << 8 | (uint32_t) env[4];
	return true;
}

bool
vault_open(const uint8_t key[VAULT_KEY_LEN],
		   const uint8_t *aad, size_t aad_len,
		   const uint8_t *env, size_t len,
		   uint8_t *out, size_t cap, size_t *out_len, char *reason)
{
	size_t		plain_len;
	uint8_t		tag[VAULT_TAG_LEN];

	*out_len = 0;
	if (len == 0)
	{
		vault_reason(reason, "empty envelope");
		return false;
	}
	if (env[0] != VAULT_VERSION)
	{
		vault_reason(reason, "unknown envelope version");
		return false;
	}
	if (len < VAULT_OVERHEAD)
	{
		vault_reason(reason, "truncated envelope");
		return false;
	}
	plain_len = len - VAULT_OVERHEAD;
	if (plain_len > VAULT_DATA_MAX || aad_len > VAULT_DATA_MAX)
	{
		vault_reason(reason, "envelope too long");
		return false;
	}
	if (cap < plain_len)
	{
		vault_reason(reason, "output buffer too small");
		return false;
	}
	memcpy(tag, env + VAULT_HEADER_LEN + plain_len, VAULT_TAG_LEN);
	if (!vault_gcm(false, key, env + VAULT_VERSION_LEN + VAULT_KEY_ID_LEN,
				   env, VAULT_VERSION_LEN + VAULT_KEY_ID_LEN, aad, aad_len,
				   env + VAULT_HEADER_LEN, plain_len, out, tag))
	{
		vault_reason(reason, "authentication failed: wrong key, other owner or altered data");
		return false;
	}
	*out_len = plain_len;
	return true;
}

/* Writes v as four big-endian bytes at p. */
static void
vault_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

size_t
vault_aad_build(const uint8_t *org,
				const char *context, size_t context_len,
				const char *row_id, size_t row_id_len,
				uint8_t *out, size_t cap)
{
	size_t		o = 0;

	if (context_len > UINT32_MAX / 2 || row_id_len > UINT32_MAX / 2 ||
		cap < VAULT_AAD_LEN(context_len, row_id_len))
		return 0;
	/* A flag, then 16 bytes of UUID or of zeros: the layout has a fixed length either way. */
	out[o++] = org != NULL ? 1 : 0;
	if (org != NULL)
		memcpy(out + o, org, 16);
	else
		memset(out + o, 0, 16);
	o += 16;
	vault_put_u32(out + o, (uint32_t) context_len);
	o += 4;
	if (context_len > 0)
		memcpy(out + o, context, context_len);
	o += context_len;
	vault_put_u32(out + o, (uint32_t) row_id_len);
	o += 4;
	if (row_id_len > 0)
		memcpy(out + o, row_id, row_id_len);
	o += row_id_len;
	return o;
}
