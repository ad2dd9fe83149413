/*
 * hmac.c
 *		HMAC-SHA256 and SHA-256 over messages in parts, with OpenSSL's EVP API.
 *
 * The MAC and digest fetched from OpenSSL are kept for the life of the
 * process: fetching them is the costly part of a short HMAC.
 */
#include "crypto/hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

static EVP_MAC *hmac_alg = NULL;
static EVP_MD *sha256_alg = NULL;

bool
hmac_sha256(const uint8_t *key, size_t key_len,
			const HmacPart *parts, int nparts, uint8_t out[HMAC_SHA256_LEN])
{
	EVP_MAC_CTX *ctx;
	OSSL_PARAM	params[2];
	size_t		out_len = 0;
	bool		ok;
	static const uint8_t empty_key[1] = {0};

	if (hmac_alg == NULL && (hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return false;
	if ((ctx = EVP_MAC_CTX_new(hmac_alg)) == NULL)
		return false;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	/* OpenSSL refuses a NULL key; HMAC with an empty key is still well defined. */
	ok = EVP_MAC_init(ctx, key_len ? key : empty_key, key_len, params) == 1;
	for (int i = 0; ok && i < nparts; i++)
		if (parts[i].len > 0)
			ok = EVP_MAC_update(ctx, parts[i].data, parts[i].len) == 1;
	ok = ok && EVP_MAC_final(ctx, out, &out_len, HMAC_SHA256_LEN) == 1 && out_len == HMAC_SHA256_LEN;
	EVP_MAC_CTX_free(ctx);		/* also cleanses the keyed state */
	if (!ok)
		OPENSSL_cleanse(out, HMAC_SHA256_LEN);
	return ok;
}

bool
sha256_parts(const HmacPart *parts, int nparts, uint8_t out[SHA256_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int out_len = 0;
	bool		ok;

	if (sha256_alg == NULL && (sha256_alg = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return false;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return false;
	ok = EVP_DigestInit_ex(ctx, sha256_alg, NULL) == 1;
	for (int i = 0; ok && i < nparts; i++)
		if (parts[i].len > 0)
			ok = EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, &out_len) == 1 && out_len == SHA256_LEN;
	EVP_MD_CTX_free(ctx);
	return ok;
}
